package wt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/webtransport-go"
)

// maxReasonLen is the maximum length in bytes of a close reason. The
// WebTransport over HTTP/3 draft limits the WT_CLOSE_SESSION message to
// 1024 bytes.
const maxReasonLen = 1024

// Stream is the bidirectional stream of a session. Close closes only the
// write side (it sends FIN), and reads keep working until the peer closes
// its side.
type Stream interface {
	io.Reader
	io.Writer
	Close() error
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

var _ Stream = (*webtransport.Stream)(nil)

// Session is one server-side WebTransport session with its bidirectional
// stream. Read and Write may be called concurrently with each other, and
// Close and CloseAfterFlush from any goroutine.
type Session struct {
	ws   *webtransport.Session
	str  *webtransport.Stream
	conn *quic.Conn // nil only if webtransport-go did not provide it

	mu            sync.Mutex
	closed        bool
	closedLocally bool // this side sent the close capsule
}

// Stream returns the bidirectional stream that the client opened.
func (s *Session) Stream() Stream { return s.str }

// Read reads from the stream. After the peer closed the session, the error
// carries its code; see SessionErrorCode.
func (s *Session) Read(p []byte) (int, error) { return s.str.Read(p) }

// Write writes to the stream.
func (s *Session) Write(p []byte) (int, error) { return s.str.Write(p) }

// SetReadDeadline sets the deadline for pending and future Read calls. A zero
// t disables it.
func (s *Session) SetReadDeadline(t time.Time) error { return s.str.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline for pending and future Write calls. A
// zero t disables it.
func (s *Session) SetWriteDeadline(t time.Time) error { return s.str.SetWriteDeadline(t) }

// Context returns a context that is done when the session has ended, closed
// by either side or by the connection failing.
func (s *Session) Context() context.Context { return s.ws.Context() }

// Err returns nil while the session is open, and the error that ended it
// afterwards. SessionErrorCode extracts the peer's code from it.
func (s *Session) Err() error { return sessionErr(s.ws) }

// sessionErr returns the error that ended ws, or nil while it is open.
func sessionErr(ws *webtransport.Session) error {
	if ws.Context().Err() == nil {
		return nil
	}
	// webtransport-go (checked in v0.13.0) does not expose the close error
	// directly, but AcceptStream on a closed session returns it before it
	// looks at its context or at queued streams.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ws.AcceptStream(done)
	return err
}

// RemoteAddr returns the client's UDP address.
func (s *Session) RemoteAddr() net.Addr { return s.ws.RemoteAddr() }

// Close closes the session with an application error code and a reason,
// truncated to 1024 bytes, which reach the peer in a WT_CLOSE_SESSION
// capsule. It resets the stream, so data written shortly before may be
// lost; use CloseAfterFlush to avoid that. Only the first call has an
// effect. It always returns nil.
func (s *Session) Close(code uint32, reason string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	// A session already ended by the peer sends no capsule.
	s.closedLocally = s.ws.Context().Err() == nil
	s.mu.Unlock()

	// CloseWithError returns only after the capsule write finished or timed
	// out (webtransport-go v0.13.0 allows it 10 ms), and always returns nil.
	return s.ws.CloseWithError(webtransport.SessionErrorCode(code), truncateReason(reason))
}

// CloseAfterFlush closes the write side of the stream (sending FIN after all
// written data), waits until the peer ends the session or wait has passed,
// and then closes the session like Close. A wait of zero or less selects
// DefaultCloseLinger. The wait does not confirm delivery, because QUIC does
// not report acknowledgements to the application, but on a working path one
// round trip is enough.
func (s *Session) CloseAfterFlush(code uint32, reason string, wait time.Duration) error {
	if wait <= 0 {
		wait = DefaultCloseLinger
	}
	if s.str != nil {
		// An error means the stream is already reset, and Close below ends the
		// session either way.
		_ = s.str.Close()
	}

	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-s.ws.Context().Done():
	case <-timer.C:
	}
	return s.Close(code, reason)
}

func truncateReason(reason string) string {
	if len(reason) <= maxReasonLen {
		return reason
	}
	cut := maxReasonLen
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut]
}

// runSession waits for the client's bidirectional stream, runs the handler
// and then closes the session and its QUIC connection. It owns one count of
// s.sessionGroup.
func (s *Server) runSession(sess *Session) {
	defer s.sessionGroup.Done()

	if !s.track(sess) {
		_ = sess.Close(CodeGoingAway, "server shutting down")
		s.closeConn(sess)
		return
	}
	defer s.untrack(sess)

	logger := s.logger.With("remote_addr", sess.RemoteAddr().String())

	ctx, cancel := context.WithTimeout(sess.Context(), s.cfg.AcceptStreamTimeout)
	str, err := sess.ws.AcceptStream(ctx)
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			logger.Info("closing session without a stream", "timeout", s.cfg.AcceptStreamTimeout.String())
			_ = sess.Close(CodeStreamTimeout, fmt.Sprintf("no bidirectional stream opened within %s", s.cfg.AcceptStreamTimeout))
		} else {
			logger.Debug("session ended before opening a stream", "error", err)
			_ = sess.Close(CodeNormal, "")
		}
		s.closeConn(sess)
		return
	}
	sess.str = str

	logger.Debug("session started")
	s.callHandler(sess, logger)
	_ = sess.CloseAfterFlush(CodeNormal, "", DefaultCloseLinger)
	s.closeConn(sess)
	logger.Debug("session ended")
}

func (s *Server) callHandler(sess *Session, logger *slog.Logger) {
	defer func() {
		if p := recover(); p != nil {
			logger.Error("session handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			_ = sess.Close(CodeInternalError, "internal error")
		}
	}()
	s.handler(sess)
}

// closeConn closes the session's QUIC connection once the session has
// ended. When this side sent the close capsule, it first waits up to
// DefaultCloseLinger for the peer to close the connection, so that the
// capsule is not discarded with the connection.
//
// NOTE: a connection carries only one session at a time here, because the
// server does not enable WebTransport flow control, which webtransport-go
// requires for concurrent sessions on one connection.
func (s *Server) closeConn(sess *Session) {
	if sess.conn == nil {
		return
	}

	sess.mu.Lock()
	linger := sess.closedLocally
	sess.mu.Unlock()

	if linger {
		timer := time.NewTimer(DefaultCloseLinger)
		select {
		case <-sess.conn.Context().Done():
		case <-timer.C:
		}
		timer.Stop()
	}
	_ = sess.conn.CloseWithError(0, "") // always nil in quic-go v0.62.0
}

// track registers sess for Shutdown. It returns false when the server is
// shutting down, in which case Shutdown will not see sess.
func (s *Server) track(sess *Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.closing {
		return false
	}
	s.sessions[sess] = struct{}{}
	return true
}

func (s *Server) untrack(sess *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()

	delete(s.sessions, sess)
}
