package wt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"
)

// Handler serves one session. The server calls it on a new goroutine after
// the client has opened its bidirectional stream, and closes the session
// with CodeNormal, after flushing the stream, when it returns without
// closing the session itself. A panic in Handler is recovered, logged and
// ends the session with CodeInternalError.
type Handler func(s *Session)

// Server accepts WebTransport sessions on one UDP socket and passes them to
// a Handler. Create it with NewServer, then call Start once and Shutdown
// once. Its methods are safe for concurrent use.
type Server struct {
	cfg     ServerConfig
	handler Handler
	logger  *slog.Logger
	origins originPolicy
	wt      *webtransport.Server

	// rejectedOrigins and failedUpgrades count rejected requests. Their
	// warnings are logged only when the count is a power of two, so that a
	// misbehaving client cannot flood the log.
	rejectedOrigins atomic.Uint64
	failedUpgrades  atomic.Uint64

	// sessionGroup tracks every session goroutine. Add is only called with
	// mu held and closing false, so Shutdown's Wait waits for every session.
	sessionGroup sync.WaitGroup

	// connGroup tracks the accept loop and one goroutine per QUIC
	// connection. The accept loop is a member until the listener closes, so
	// its Add calls never race with Shutdown's Wait.
	connGroup sync.WaitGroup

	mu       sync.Mutex
	started  bool
	closing  bool
	conn     *net.UDPConn
	listener *quic.EarlyListener
	sessions map[*Session]struct{}
}

// connContextKey is the request context key under which the server stores
// the request's QUIC connection.
type connContextKey struct{}

// NewServer returns a server for cfg, with zero fields set to their
// defaults. It returns an error wrapping ErrInvalidConfig when cfg is
// invalid. It does not bind the socket; Start does.
func NewServer(cfg ServerConfig, h Handler) (*Server, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: handler is nil", ErrInvalidConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()

	s := &Server{
		cfg:      cfg,
		handler:  h,
		logger:   cfg.Logger,
		origins:  newOriginPolicy(cfg.AllowedOrigins),
		sessions: make(map[*Session]struct{}),
	}
	s.wt = &webtransport.Server{
		H3: &http3.Server{
			Handler: http.HandlerFunc(s.serveHTTP),
			TLSConfig: &tls.Config{
				Certificates: []tls.Certificate{cfg.Certificate},
				NextProtos:   []string{http3.NextProtoH3},
				MinVersion:   tls.VersionTLS13,
			},
			QUICConfig: &quic.Config{
				MaxIdleTimeout:  cfg.MaxIdleTimeout,
				KeepAlivePeriod: cfg.KeepAlivePeriod,
				// webtransport-go requires both.
				EnableDatagrams:                  true,
				EnableStreamResetPartialDelivery: true,
			},
			ConnContext: func(ctx context.Context, conn *quic.Conn) context.Context {
				return context.WithValue(ctx, connContextKey{}, conn)
			},
			Logger: cfg.Logger,
		},
		// serveHTTP checks the Origin before upgrading, so that a rejected
		// request gets 403 and a log line.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return s, nil
}

// Start binds the UDP socket and serves sessions on goroutines owned by the
// server until Shutdown. It returns ErrServerStarted when called twice or
// after Shutdown.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.started || s.closing {
		return ErrServerStarted
	}

	udpAddr, err := net.ResolveUDPAddr("udp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("resolve WebTransport address %s: %w", s.cfg.Addr, err)
	}
	conn, err := net.ListenUDP("udp", udpAddr)
	if err != nil {
		return fmt.Errorf("listen on UDP %s: %w", s.cfg.Addr, err)
	}
	listener, err := quic.ListenEarly(conn, s.wt.H3.TLSConfig, s.wt.H3.QUICConfig)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("listen for QUIC on %s: %w", conn.LocalAddr(), err)
	}
	s.conn = conn
	s.listener = listener
	s.started = true

	s.connGroup.Go(func() { s.acceptConns(listener) })

	s.logger.Info("WebTransport server started", "addr", conn.LocalAddr().String(), "path", s.cfg.Path)
	return nil
}

// acceptConns accepts QUIC connections until the listener is closed. It
// serves each through webtransport.Server.ServeQUICConn rather than
// webtransport.Server.Serve, because Server.Close races with a concurrent
// Serve call that has not yet registered itself (webtransport-go v0.13.0
// calls WaitGroup.Add and Wait concurrently), and the race detector reports
// it.
func (s *Server) acceptConns(listener *quic.EarlyListener) {
	for {
		qconn, err := listener.Accept(context.Background())
		if err != nil {
			return // the listener was closed by Shutdown
		}
		s.connGroup.Go(func() {
			err := s.wt.ServeQUICConn(qconn)
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.logger.Debug("serving QUIC connection failed", "remote_addr", qconn.RemoteAddr().String(), "error", err)
			}
		})
	}
}

// Addr returns the bound UDP address, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.conn == nil {
		return nil
	}
	return s.conn.LocalAddr()
}

// URL returns the session URL, such as "https://127.0.0.1:4433/signaling",
// or "" before Start. When the server listens on an unspecified address
// (0.0.0.0 or ::), the URL uses the loopback address of that family.
func (s *Server) URL() string {
	addr, ok := s.Addr().(*net.UDPAddr)
	if !ok {
		return ""
	}

	ip := addr.IP
	switch {
	case ip.To4() != nil && ip.IsUnspecified():
		ip = net.IPv4(127, 0, 0, 1)
	case ip.IsUnspecified():
		ip = net.IPv6loopback
	}
	return "https://" + net.JoinHostPort(ip.String(), fmt.Sprint(addr.Port)) + s.cfg.Path
}

// Shutdown stops accepting sessions, closes every open session with
// CodeGoingAway, waits until all handlers have returned or ctx is done, and
// then closes all QUIC connections and the socket. Each session waits up to
// DefaultCloseLinger for its client to close the connection, so that the
// code arrives. It returns ctx's error
// when ctx ended first; handlers still running then see their session fail
// and are not waited for. A handler that must tell its client why it ends
// should send its own goodbye message before Shutdown is called.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	started := s.started
	open := make([]*Session, 0, len(s.sessions))
	for sess := range s.sessions {
		open = append(open, sess)
	}
	s.mu.Unlock()

	if !started {
		return nil
	}
	s.logger.Info("WebTransport server shutting down", "open_sessions", len(open))

	for _, sess := range open {
		_ = sess.Close(CodeGoingAway, "server shutting down") // always returns nil
	}

	handlersDone := make(chan struct{})
	go func() {
		s.sessionGroup.Wait()
		close(handlersDone)
	}()
	var waitErr error
	select {
	case <-handlersDone:
	case <-ctx.Done():
		waitErr = fmt.Errorf("wait for WebTransport session handlers: %w", ctx.Err())
	}

	// wt.Close closes the QUIC connections, which ends ServeQUICConn. The
	// listener and socket are closed after it so that the CONNECTION_CLOSE
	// frames are still sent.
	closeErr := s.wt.Close()
	if err := s.listener.Close(); err != nil && closeErr == nil {
		closeErr = fmt.Errorf("close QUIC listener: %w", err)
	}
	if err := s.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) && closeErr == nil {
		closeErr = fmt.Errorf("close UDP socket: %w", err)
	}
	s.connGroup.Wait()

	s.logger.Info("WebTransport server stopped")
	return errors.Join(waitErr, closeErr)
}

// serveHTTP handles the extended CONNECT request of a new session. It
// returns right after the upgrade, because the session outlives the request
// and runs on its own goroutine.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.cfg.Path {
		s.logger.Debug("rejected session request for unknown path", "path", r.URL.Path, "remote_addr", r.RemoteAddr)
		http.NotFound(w, r)
		return
	}

	origin := r.Header.Get("Origin")
	if !s.origins.allows(origin) {
		if n := s.rejectedOrigins.Add(1); n&(n-1) == 0 {
			s.logger.Warn("rejected session request from disallowed origin",
				"origin", origin, "remote_addr", r.RemoteAddr, "rejected_total", n)
		}
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}

	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	s.sessionGroup.Add(1)
	s.mu.Unlock()

	ws, err := s.wt.Upgrade(w, r)
	if err != nil {
		s.sessionGroup.Done()
		if n := s.failedUpgrades.Add(1); n&(n-1) == 0 {
			s.logger.Warn("WebTransport upgrade failed",
				"remote_addr", r.RemoteAddr, "error", err, "failed_total", n)
		}
		w.WriteHeader(http.StatusBadRequest)
		return
	}

	conn, _ := r.Context().Value(connContextKey{}).(*quic.Conn)
	go s.runSession(&Session{ws: ws, conn: conn})
}
