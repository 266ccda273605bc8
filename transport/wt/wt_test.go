package wt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/webtransport-go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestServer_Echo(t *testing.T) {
	srv := startServer(t, nil, echo)
	c := dial(t, srv.URL(), pinnedOptions(t))

	for i := range 3 {
		msg := []byte(fmt.Sprintf("message %d", i))
		got, err := roundTrip(c, msg)
		if err != nil {
			t.Fatalf("round trip %d: %v", i, err)
		}
		if !bytes.Equal(got, msg) {
			t.Errorf("round trip %d: got %q, want %q", i, got, msg)
		}
	}
}

func TestServer_URL(t *testing.T) {
	srv := startServer(t, func(cfg *ServerConfig) { cfg.Path = "/wt" }, echo)
	want := fmt.Sprintf("https://%s/wt", srv.Addr())
	if got := srv.URL(); got != want {
		t.Errorf("URL: got %s, want %s", got, want)
	}
}

func TestServer_Origin(t *testing.T) {
	tests := []struct {
		name       string
		allowed    []string
		origin     string
		wantStatus int // 0 means the session must be established
	}{
		{name: "allowed origin", allowed: []string{"https://app.example:8443"}, origin: "https://app.example:8443"},
		{name: "allowed origin case insensitive", allowed: []string{"https://App.Example:8443"}, origin: "https://app.example:8443"},
		{name: "default port equals no port", allowed: []string{"https://app.example"}, origin: "https://app.example:443"},
		{name: "other port rejected", allowed: []string{"https://app.example:8443"}, origin: "https://app.example:9443", wantStatus: http.StatusForbidden},
		{name: "other scheme rejected", allowed: []string{"https://app.example"}, origin: "http://app.example", wantStatus: http.StatusForbidden},
		{name: "null origin rejected", allowed: []string{"https://app.example"}, origin: "null", wantStatus: http.StatusForbidden},
		{name: "no origin allowed", allowed: []string{"https://app.example"}},
		{name: "empty list rejects browsers", origin: "https://app.example", wantStatus: http.StatusForbidden},
		{name: "wildcard", allowed: []string{"*"}, origin: "http://127.0.0.1:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, func(cfg *ServerConfig) { cfg.AllowedOrigins = tt.allowed }, echo)
			opts := pinnedOptions(t)
			opts.Origin = tt.origin

			c, err := Dial(context.Background(), srv.URL(), opts)
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("Dial with origin %q: %v", tt.origin, err)
				}
				_ = c.Close(CodeNormal, "")
				return
			}

			if c != nil {
				_ = c.Close(CodeNormal, "")
			}
			statusErr, ok := errors.AsType[*StatusError](err)
			if !ok {
				t.Fatalf("Dial with origin %q: got %v, want *StatusError", tt.origin, err)
			}
			if statusErr.StatusCode != tt.wantStatus {
				t.Errorf("status: got %d, want %d", statusErr.StatusCode, tt.wantStatus)
			}
			if !errors.Is(err, ErrRejected) {
				t.Errorf("errors.Is(err, ErrRejected): got false for %v", err)
			}
		})
	}
}

func TestServer_WrongPath(t *testing.T) {
	srv := startServer(t, nil, echo)
	url := fmt.Sprintf("https://%s/other", srv.Addr())

	_, err := Dial(context.Background(), url, pinnedOptions(t))
	statusErr, ok := errors.AsType[*StatusError](err)
	if !ok {
		t.Fatalf("Dial(%s): got %v, want *StatusError", url, err)
	}
	if statusErr.StatusCode != http.StatusNotFound {
		t.Errorf("status: got %d, want %d", statusErr.StatusCode, http.StatusNotFound)
	}
}

func TestDial_CertificateVerification(t *testing.T) {
	srv := startServer(t, nil, echo)
	var otherHash [32]byte
	otherHash[0] = 1

	tests := []struct {
		name       string
		opts       DialOptions
		wantErr    bool
		wantPinErr bool
	}{
		{name: "matching pin", opts: DialOptions{CertHashes: [][32]byte{sharedCert(t).SHA256}}},
		{name: "matching pin among others", opts: DialOptions{CertHashes: [][32]byte{otherHash, sharedCert(t).SHA256}}},
		{name: "pin mismatch", opts: DialOptions{CertHashes: [][32]byte{otherHash}}, wantErr: true, wantPinErr: true},
		{name: "trusted root", opts: DialOptions{RootCAs: certPool(sharedCert(t))}},
		{name: "untrusted without pin", opts: DialOptions{}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.HandshakeTimeout = 5 * time.Second
			c, err := Dial(context.Background(), srv.URL(), tt.opts)
			if err == nil {
				_ = c.Close(CodeNormal, "")
			}
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("Dial error: got %v, want error %t", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrCertificateNotPinned); got != tt.wantPinErr {
				t.Errorf("errors.Is(err, ErrCertificateNotPinned): got %t, want %t (err %v)", got, tt.wantPinErr, err)
			}
		})
	}
}

func TestServer_AcceptStreamTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	called := make(chan struct{}, 1)
	srv := startServer(t, func(cfg *ServerConfig) { cfg.AcceptStreamTimeout = timeout }, func(*Session) {
		called <- struct{}{}
	})

	// A raw webtransport-go client that establishes a session and never
	// opens a stream.
	transport := &webtransport.Transport{TLSClientConfig: clientTLSConfig("127.0.0.1", pinnedOptions(t))}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, ws, err := transport.Dial(ctx, srv.URL(), nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = ws.CloseWithError(0, "") })

	_, err = ws.AcceptStream(ctx)
	elapsed := time.Since(start)

	code, ok := SessionErrorCode(err)
	if !ok {
		t.Fatalf("AcceptStream: got %v, want a session error", err)
	}
	if code != CodeStreamTimeout {
		t.Errorf("close code: got %d, want %d", code, CodeStreamTimeout)
	}
	if elapsed < timeout {
		t.Errorf("closed after %s, want at least %s", elapsed, timeout)
	}
	select {
	case <-called:
		t.Error("handler: got called, want not called without a stream")
	default:
	}
}

func TestServer_CloseCodeReachesClient(t *testing.T) {
	const code = 4000
	srv := startServer(t, nil, func(s *Session) {
		buf := make([]byte, 5)
		if _, err := io.ReadFull(s, buf); err != nil {
			return
		}
		_ = s.Close(code, "done")
	})
	c := dial(t, srv.URL(), pinnedOptions(t))

	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	err := readUntilError(c)
	got, ok := SessionErrorCode(err)
	if !ok {
		t.Fatalf("Read: got %v, want a session error", err)
	}
	if got != code {
		t.Errorf("close code: got %d, want %d", got, code)
	}
}

func TestSession_CloseAfterFlush(t *testing.T) {
	const code = 4001
	goodbye := bytes.Repeat([]byte("goodbye "), 2000)
	srv := startServer(t, nil, func(s *Session) {
		if _, err := s.Write(goodbye); err != nil {
			return
		}
		_ = s.CloseAfterFlush(code, "bye", 0)
	})
	c := dial(t, srv.URL(), pinnedOptions(t))

	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if !bytes.Equal(got, goodbye) {
		t.Fatalf("goodbye: got %d bytes, want %d", len(got), len(goodbye))
	}

	// The client closes after reading FIN, as a protocol would.
	if err := c.Close(CodeNormal, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestSession_CloseAfterFlushTimesOut(t *testing.T) {
	const code = 4003
	srv := startServer(t, nil, func(s *Session) {
		_, _ = s.Write([]byte("bye"))
		_ = s.CloseAfterFlush(code, "bye", 50*time.Millisecond)
	})
	c := dial(t, srv.URL(), pinnedOptions(t))

	// The client keeps the session open after FIN, so the server closes it
	// once the wait has passed.
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if string(got) != "bye" {
		t.Errorf("goodbye: got %q, want %q", got, "bye")
	}
	if err := c.Err(); err != nil {
		t.Errorf("Err right after FIN: got %v, want nil", err)
	}

	select {
	case <-c.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session: still open 5s after FIN")
	}
	gotCode, ok := SessionErrorCode(c.Err())
	if !ok {
		t.Fatalf("Err: got %v, want a session error", c.Err())
	}
	if gotCode != code {
		t.Errorf("close code: got %d, want %d", gotCode, code)
	}
}

func TestClient_CloseCodeReachesServer(t *testing.T) {
	const code = 4002
	serverErr := make(chan error, 1)
	srv := startServer(t, nil, func(s *Session) {
		if _, err := s.Write([]byte("ready")); err != nil {
			serverErr <- err
			return
		}
		serverErr <- readUntilError(s)
	})
	c := dial(t, srv.URL(), pinnedOptions(t))

	// Closing before the server accepted the stream would end the session
	// before the handler runs, so wait for the handler first.
	ready := make([]byte, len("ready"))
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	if _, err := io.ReadFull(c, ready); err != nil {
		t.Fatalf("read ready: %v", err)
	}
	if err := c.Close(code, "leaving"); err != nil {
		t.Fatalf("Close: %v", err)
	}

	select {
	case err := <-serverErr:
		got, ok := SessionErrorCode(err)
		if !ok {
			t.Fatalf("server Read: got %v, want a session error", err)
		}
		if got != code {
			t.Errorf("close code: got %d, want %d", got, code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server handler: still reading 5s after the client closed")
	}
}

func TestServer_HandlerPanic(t *testing.T) {
	srv := startServer(t, nil, func(*Session) { panic("test panic") })
	c := dial(t, srv.URL(), pinnedOptions(t))

	err := readUntilError(c)
	got, ok := SessionErrorCode(err)
	if !ok {
		t.Fatalf("Read: got %v, want a session error", err)
	}
	if got != CodeInternalError {
		t.Errorf("close code: got %d, want %d", got, CodeInternalError)
	}
}

func TestServer_Shutdown(t *testing.T) {
	defer goleak.VerifyNone(t)

	started := make(chan struct{})
	handlerDone := make(chan struct{})
	srv, err := NewServer(ServerConfig{
		Addr:        "127.0.0.1:0",
		Certificate: sharedCert(t).TLS,
		Logger:      testLogger(t),
	}, func(s *Session) {
		defer close(handlerDone)
		close(started)
		_, _ = io.Copy(io.Discard, s)
	})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, srv.URL(), pinnedOptions(t))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close(CodeNormal, "")

	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("handler: not called within 5s")
	}

	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case <-handlerDone:
	default:
		t.Error("handler: still running after Shutdown returned")
	}

	code, ok := SessionErrorCode(readUntilError(c))
	if !ok || code != CodeGoingAway {
		t.Errorf("client close code: got %d (session error %t), want %d", code, ok, CodeGoingAway)
	}
	if err := c.Close(CodeNormal, ""); err != nil {
		t.Errorf("client Close: %v", err)
	}

	if err := srv.Start(); !errors.Is(err, ErrServerStarted) {
		t.Errorf("Start after Shutdown: got %v, want ErrServerStarted", err)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: got %v, want nil", err)
	}
}

func TestServer_ShutdownTimeout(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	srv, err := NewServer(ServerConfig{
		Addr:        "127.0.0.1:0",
		Certificate: sharedCert(t).TLS,
		Logger:      testLogger(t),
	}, func(*Session) {
		close(started)
		<-release // ignores the session ending
	})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	c := dial(t, srv.URL(), pinnedOptions(t))
	_ = c
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = srv.Shutdown(ctx)
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: got %v, want context.DeadlineExceeded", err)
	}
}

func TestServer_ConcurrentSessions(t *testing.T) {
	const sessions = 50
	const messages = 5
	srv := startServer(t, nil, echo)

	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for i := range sessions {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, srv.URL(), pinnedOptions(t))
			if err != nil {
				errs <- fmt.Errorf("session %d: dial: %w", i, err)
				return
			}
			defer c.Close(CodeNormal, "")

			for j := range messages {
				msg := []byte(fmt.Sprintf("session %d message %d", i, j))
				got, err := roundTrip(c, msg)
				if err != nil {
					errs <- fmt.Errorf("session %d message %d: %w", i, j, err)
					return
				}
				if !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("session %d message %d: got %q, want %q", i, j, got, msg)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClient_ReadDeadline(t *testing.T) {
	srv := startServer(t, nil, echo)
	c := dial(t, srv.URL(), pinnedOptions(t))

	if err := c.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read: got %v, want os.ErrDeadlineExceeded", err)
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	cert := sharedCert(b)
	srv, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", Certificate: cert.TLS}, echo)
	if err != nil {
		b.Fatalf("NewServer: %v", err)
	}
	if err := srv.Start(); err != nil {
		b.Fatalf("Start: %v", err)
	}
	b.Cleanup(func() { _ = srv.Shutdown(context.Background()) })

	c, err := Dial(context.Background(), srv.URL(), pinnedOptions(b))
	if err != nil {
		b.Fatalf("Dial: %v", err)
	}
	b.Cleanup(func() { _ = c.Close(CodeNormal, "") })

	msg := bytes.Repeat([]byte("s"), 64)
	got := make([]byte, len(msg))
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatalf("Write: %v", err)
		}
		if _, err := io.ReadFull(c, got); err != nil {
			b.Fatalf("Read: %v", err)
		}
	}
}
