package control

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// healthMethodPrefix starts the full method name of every method of the
// standard health service, which needs no token so that load balancers and
// orchestrators can probe the node. Server reflection is not exempt.
const healthMethodPrefix = "/grpc.health.v1.Health/"

// bearerAuth checks the "authorization: Bearer <token>" metadata of a call.
type bearerAuth struct {
	// tokenDigest is the SHA-256 of the configured token. Comparing digests
	// keeps the comparison time independent of the presented token's length.
	tokenDigest [sha256.Size]byte
}

func newBearerAuth(token string) *bearerAuth {
	return &bearerAuth{tokenDigest: sha256.Sum256([]byte(token))}
}

// authorize returns nil when fullMethod is exempt or ctx carries exactly one
// authorization value with the configured bearer token, and an
// UNAUTHENTICATED status error otherwise.
func (a *bearerAuth) authorize(ctx context.Context, fullMethod string) error {
	if strings.HasPrefix(fullMethod, healthMethodPrefix) {
		return nil
	}

	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) == 0 {
		return status.Error(codes.Unauthenticated, "missing bearer token")
	}
	if len(values) > 1 {
		return status.Error(codes.Unauthenticated, "invalid bearer token: more than one authorization value")
	}

	// HTTP authentication scheme names are case-insensitive, so "bearer"
	// is accepted too.
	scheme, token, found := strings.Cut(values[0], " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return status.Error(codes.Unauthenticated, "missing bearer token")
	}

	digest := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if subtle.ConstantTimeCompare(digest[:], a.tokenDigest[:]) != 1 {
		return status.Error(codes.Unauthenticated, "invalid bearer token")
	}
	return nil
}

func (a *bearerAuth) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := a.authorize(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (a *bearerAuth) streamInterceptor(srv any, stream grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := a.authorize(stream.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, stream)
}

// callLogger logs every call at Debug with its method, status code, duration
// and peer address. It never logs metadata, so the token stays out of logs.
type callLogger struct {
	logger *slog.Logger
}

func (l *callLogger) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	l.logCall(ctx, info.FullMethod, err, time.Since(start))
	return resp, err
}

func (l *callLogger) streamInterceptor(srv any, stream grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	err := handler(srv, stream)
	l.logCall(stream.Context(), info.FullMethod, err, time.Since(start))
	return err
}

func (l *callLogger) logCall(ctx context.Context, method string, err error, duration time.Duration) {
	if !l.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}

	peerAddr := ""
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		peerAddr = p.Addr.String()
	}
	l.logger.LogAttrs(ctx, slog.LevelDebug, "control call",
		slog.String("method", method),
		slog.String("code", status.Code(err).String()),
		slog.Duration("duration", duration),
		slog.String("peer", peerAddr),
	)
}
