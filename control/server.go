package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/convene/convene/messages/controlv1"
)

// ServiceName is the health service name of the control API. The health
// service also reports the empty name, which is the whole server.
const ServiceName = "convene.control.v1.ControlService"

// MinTokenBytes is the minimum length of [ServerConfig.Token].
const MinTokenBytes = 16

// DefaultMaxRecvMsgSize is the maximum request size, in bytes, when
// [ServerConfig.MaxRecvMsgSize] is 0. It equals the grpc-go default.
const DefaultMaxRecvMsgSize = 4 << 20

// ServerConfig configures a [Server].
type ServerConfig struct {
	// Addr is the TCP address to listen on, such as "127.0.0.1:7400". Port 0
	// picks a free port, which [Server.Addr] reports after Start. Required.
	Addr string

	// Token is the shared secret that callers send as
	// "authorization: Bearer <token>". Required: at least MinTokenBytes
	// bytes of visible ASCII (0x21 to 0x7E), because it travels in a
	// gRPC metadata value.
	Token string

	// Logger receives start and stop lines at Info, one line per call at
	// Debug and unexpected backend errors at Error. Nil discards logs.
	Logger *slog.Logger

	// MaxRecvMsgSize is the maximum size of a request message, in bytes.
	// 0 means DefaultMaxRecvMsgSize. Negative values are invalid.
	MaxRecvMsgSize int
}

// Validate returns an error that names the first invalid field and its
// limit, or nil. It never includes the token in the message.
func (c ServerConfig) Validate() error {
	if c.Addr == "" {
		return errors.New("control server config: Addr: missing")
	}
	if c.Token == "" {
		return errors.New("control server config: Token: missing")
	}
	if len(c.Token) < MinTokenBytes {
		return fmt.Errorf("control server config: Token: %d bytes, want at least %d", len(c.Token), MinTokenBytes)
	}
	for i := 0; i < len(c.Token); i++ {
		if c.Token[i] < 0x21 || c.Token[i] > 0x7e {
			return fmt.Errorf("control server config: Token: byte %d is not visible ASCII (0x21 to 0x7E)", i)
		}
	}
	if c.MaxRecvMsgSize < 0 {
		return fmt.Errorf("control server config: MaxRecvMsgSize: %d is negative", c.MaxRecvMsgSize)
	}
	return nil
}

type serverState int

const (
	stateNew serverState = iota
	stateStarted
	stateStopped
)

// Server is the gRPC server of the control API. It serves
// convene.control.v1.ControlService, the standard health service and server
// reflection on one listener. Its methods are safe for concurrent use.
type Server struct {
	addr   string
	logger *slog.Logger
	grpc   *grpc.Server
	health *health.Server

	mu       sync.Mutex
	state    serverState
	listener net.Listener
	serving  sync.WaitGroup // the Serve goroutine
	stopDone chan struct{}  // closed when the first Stop returns
}

// NewServer validates cfg and builds a Server over backend. It does not
// listen yet; call [Server.Start]. The health status starts as SERVING.
func NewServer(cfg ServerConfig, backend Backend) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if backend == nil {
		return nil, errors.New("control server: backend: missing")
	}

	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With(slog.String("component", "control"))

	maxRecv := cfg.MaxRecvMsgSize
	if maxRecv == 0 {
		maxRecv = DefaultMaxRecvMsgSize
	}

	auth := newBearerAuth(cfg.Token)
	calls := &callLogger{logger: logger}
	// The call logger runs first, so rejected calls are logged with their
	// UNAUTHENTICATED code too.
	grpcServer := grpc.NewServer(
		grpc.MaxRecvMsgSize(maxRecv),
		grpc.ChainUnaryInterceptor(calls.unaryInterceptor, auth.unaryInterceptor),
		grpc.ChainStreamInterceptor(calls.streamInterceptor, auth.streamInterceptor),
	)

	controlv1.RegisterControlServiceServer(grpcServer, &controlService{backend: backend, logger: logger})

	healthServer := health.NewServer()
	healthServer.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthServer.SetServingStatus(ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(grpcServer, healthServer)

	reflection.Register(grpcServer)

	return &Server{
		addr:     cfg.Addr,
		logger:   logger,
		grpc:     grpcServer,
		health:   healthServer,
		stopDone: make(chan struct{}),
	}, nil
}

// Start binds the listener and serves on a goroutine that the Server owns
// until Stop. It returns the listen error, [ErrServerStarted] on a second
// call or [ErrServerStopped] after Stop.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()

	switch s.state {
	case stateStarted:
		return ErrServerStarted
	case stateStopped:
		return ErrServerStopped
	}

	listener, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("control server: listen on %s: %w", s.addr, err)
	}
	s.listener = listener
	s.state = stateStarted

	s.serving.Go(func() {
		// Serve returns nil after Stop or GracefulStop, and an error only
		// when accepting connections fails.
		if err := s.grpc.Serve(listener); err != nil {
			s.logger.Error("control server stopped serving", slog.Any("error", err))
		}
	})

	s.logger.Info("control server started", slog.String("addr", listener.Addr().String()))
	return nil
}

// Addr returns the bound address, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.listener == nil {
		return nil
	}
	return s.listener.Addr()
}

// SetServing sets the health status of both "" and [ServiceName] to SERVING
// or NOT_SERVING. The node calls SetServing(false) when it starts draining.
// After Stop the status stays NOT_SERVING and SetServing has no effect.
func (s *Server) SetServing(serving bool) {
	status := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		status = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus("", status)
	s.health.SetServingStatus(ServiceName, status)
}

// Stop sets the health status to NOT_SERVING, then stops gracefully: it
// stops accepting connections and waits for running calls, including open
// health Watch streams. When ctx ends first, it closes every connection and
// returns an error that wraps ctx.Err(). Stop returns after the Serve
// goroutine has exited. Calling it before Start is allowed. Later calls wait
// for the first one (or for their own ctx) and return nil.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	previous := s.state
	s.state = stateStopped
	s.mu.Unlock()

	if previous == stateStopped {
		select {
		case <-s.stopDone:
		case <-ctx.Done():
		}
		return nil
	}
	defer close(s.stopDone)

	// Shutdown sets every status to NOT_SERVING and ignores later updates,
	// so health checkers stop routing here before connections close.
	s.health.Shutdown()

	if previous == stateNew {
		s.grpc.Stop()
		return nil
	}

	// Both branches below wait for gracefulDone, so this goroutine never
	// outlives Stop.
	gracefulDone := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(gracefulDone)
	}()

	var err error
	select {
	case <-gracefulDone:
	case <-ctx.Done():
		// Stop closes the remaining connections, which also makes the
		// pending GracefulStop return.
		s.grpc.Stop()
		<-gracefulDone
		err = fmt.Errorf("control server: graceful stop did not finish, closed remaining connections: %w", ctx.Err())
	}

	s.serving.Wait()
	s.logger.Info("control server stopped", slog.Bool("graceful", err == nil))
	return err
}
