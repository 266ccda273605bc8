package wt

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/convene/convene/transport/certs"
)

// testLogWriter forwards log lines to t.Log until the test's cleanup ends,
// so that a late line from a server goroutine cannot fail the test binary.
type testLogWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(p))
	}
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	w := &testLogWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

var (
	testCertOnce sync.Once
	testCert     *certs.Certificate
	testCertErr  error
)

// sharedCert returns one self-signed certificate for all tests, because key
// generation is the slowest part of a server start.
func sharedCert(t testing.TB) *certs.Certificate {
	t.Helper()
	testCertOnce.Do(func() {
		testCert, testCertErr = certs.SelfSigned(time.Now(), 0)
	})
	if testCertErr != nil {
		t.Fatalf("SelfSigned: %v", testCertErr)
	}
	return testCert
}

// startServer starts a server on 127.0.0.1 with a free port. edit may change
// the config before the server is created.
func startServer(t *testing.T, edit func(*ServerConfig), h Handler) *Server {
	t.Helper()
	cfg := ServerConfig{
		Addr:        "127.0.0.1:0",
		Certificate: sharedCert(t).TLS,
		Logger:      testLogger(t),
	}
	if edit != nil {
		edit(&cfg)
	}

	srv, err := NewServer(cfg, h)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return srv
}

func pinnedOptions(t testing.TB) DialOptions {
	t.Helper()
	return DialOptions{CertHashes: [][32]byte{sharedCert(t).SHA256}, HandshakeTimeout: 5 * time.Second}
}

func dial(t *testing.T, url string, opts DialOptions) *ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	c, err := Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("Dial(%s): %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close(CodeNormal, "") })
	return c
}

// echo copies everything it reads back to the client until the session ends.
func echo(s *Session) { _, _ = io.Copy(s, s) }

// roundTrip writes msg and reads the same number of bytes back.
func roundTrip(c *ClientSession, msg []byte) ([]byte, error) {
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return nil, err
	}
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return nil, err
	}
	return got, nil
}

// readUntilError reads and discards data until the session fails, within a
// five-second deadline, and returns the error.
func readUntilError(r interface {
	io.Reader
	SetReadDeadline(time.Time) error
}) error {
	if err := r.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, r)
	if err == nil {
		return errors.New("stream ended with FIN, want a session error")
	}
	return err
}

func certPool(c *certs.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(c.Leaf)
	return pool
}
