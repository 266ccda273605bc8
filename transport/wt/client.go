package wt

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"
)

// DefaultHandshakeTimeout is the default DialOptions.HandshakeTimeout.
const DefaultHandshakeTimeout = 10 * time.Second

// DialOptions configures Dial.
type DialOptions struct {
	// CertHashes pins the server certificate by the SHA-256 hash of its DER
	// encoding, as browsers do with serverCertificateHashes. When set, the
	// certificate chain is not verified against RootCAs or the system roots.
	// Instead the leaf must match one hash and be within its validity period.
	CertHashes [][32]byte

	// RootCAs verifies the server certificate when CertHashes is empty.
	// Nil selects the system roots.
	RootCAs *x509.CertPool

	// Origin is sent as the Origin header, as a browser page would send it.
	// Empty sends no Origin header.
	Origin string

	// HandshakeTimeout bounds the QUIC and TLS handshake, the CONNECT request
	// and opening the stream together. Default DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
}

// ClientSession is a client-side WebTransport session with its bidirectional
// stream, on a QUIC connection of its own. Read and Write may be called
// concurrently with each other, and Close from any goroutine. The caller
// must call Close, also after the server ended the session, to release the
// connection.
type ClientSession struct {
	qconn *quic.Conn
	ws    *webtransport.Session
	str   *webtransport.Stream

	closeOnce sync.Once
}

// Dial connects to the WebTransport server at rawURL ("https://host:port/path"),
// establishes a session and opens its bidirectional stream. The server can
// accept the stream as soon as Dial returns. It returns a *StatusError when the
// server rejects the request, and an error wrapping ErrCertificateNotPinned
// when the certificate matches no pin.
func Dial(ctx context.Context, rawURL string, opts DialOptions) (*ClientSession, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse WebTransport URL %q: %w", rawURL, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("invalid WebTransport URL %q: want https://host:port/path", rawURL)
	}
	hostPort := u.Host
	if u.Port() == "" {
		hostPort = net.JoinHostPort(u.Hostname(), "443")
	}

	timeout := opts.HandshakeTimeout
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	dialCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	qconn, err := quic.DialAddr(dialCtx, hostPort, clientTLSConfig(u.Hostname(), opts), &quic.Config{
		MaxIdleTimeout:                   DefaultMaxIdleTimeout,
		KeepAlivePeriod:                  DefaultKeepAlivePeriod,
		EnableDatagrams:                  true,
		EnableStreamResetPartialDelivery: true,
	})
	if err != nil {
		return nil, fmt.Errorf("dial QUIC %s: %w", hostPort, err)
	}

	c, err := establish(dialCtx, qconn, rawURL, opts.Origin)
	if err != nil {
		_ = qconn.CloseWithError(0, "") // always nil in quic-go v0.62.0
		return nil, err
	}
	return c, nil
}

func establish(ctx context.Context, qconn *quic.Conn, rawURL, origin string) (*ClientSession, error) {
	// NewClientConn, unlike Transport.Dial, leaves closing the QUIC
	// connection to Close, which waits so that the close capsule arrives.
	transport := &webtransport.Transport{}
	clientConn, err := transport.NewClientConn(qconn)
	if err != nil {
		return nil, fmt.Errorf("create WebTransport client connection: %w", err)
	}

	header := http.Header{}
	if origin != "" {
		header.Set("Origin", origin)
	}
	rsp, ws, err := clientConn.Dial(ctx, rawURL, header)
	if rsp != nil && (rsp.StatusCode < 200 || rsp.StatusCode > 299) {
		return nil, fmt.Errorf("request session at %s: %w", rawURL, &StatusError{StatusCode: rsp.StatusCode})
	}
	if err != nil {
		return nil, fmt.Errorf("request session at %s: %w", rawURL, err)
	}

	str, err := ws.OpenStreamSync(ctx)
	if err != nil {
		_ = ws.CloseWithError(0, "")
		return nil, fmt.Errorf("open stream: %w", err)
	}
	// webtransport-go sends the stream header with the first write, and the
	// server does not see the stream before it. An empty write sends it now.
	if _, err := str.Write(nil); err != nil {
		_ = ws.CloseWithError(0, "")
		return nil, fmt.Errorf("send stream header: %w", err)
	}

	return &ClientSession{qconn: qconn, ws: ws, str: str}, nil
}

func clientTLSConfig(serverName string, opts DialOptions) *tls.Config {
	conf := &tls.Config{
		ServerName: serverName,
		RootCAs:    opts.RootCAs,
		NextProtos: []string{http3.NextProtoH3},
		MinVersion: tls.VersionTLS13,
	}
	if len(opts.CertHashes) == 0 {
		return conf
	}

	hashes := slices.Clone(opts.CertHashes)
	// Pinning replaces chain verification, as with serverCertificateHashes.
	conf.InsecureSkipVerify = true
	conf.VerifyConnection = func(state tls.ConnectionState) error {
		if len(state.PeerCertificates) == 0 {
			return errors.New("server sent no certificate")
		}
		leaf := state.PeerCertificates[0]
		sum := sha256.Sum256(leaf.Raw)
		if !slices.Contains(hashes, sum) {
			return fmt.Errorf("%w: got %x", ErrCertificateNotPinned, sum)
		}
		if now := time.Now(); now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
			return fmt.Errorf("pinned server certificate is not valid at %s: valid from %s to %s",
				now.UTC().Format(time.RFC3339), leaf.NotBefore.Format(time.RFC3339), leaf.NotAfter.Format(time.RFC3339))
		}
		return nil
	}
	return conf
}

// Read reads from the stream. After the server closed the session, the error
// carries its code; see SessionErrorCode.
func (c *ClientSession) Read(p []byte) (int, error) { return c.str.Read(p) }

// Write writes to the stream.
func (c *ClientSession) Write(p []byte) (int, error) { return c.str.Write(p) }

// SetReadDeadline sets the deadline for pending and future Read calls. A zero
// t disables it.
func (c *ClientSession) SetReadDeadline(t time.Time) error { return c.str.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline for pending and future Write calls. A
// zero t disables it.
func (c *ClientSession) SetWriteDeadline(t time.Time) error { return c.str.SetWriteDeadline(t) }

// CloseWrite closes the write side of the stream, sending FIN after all
// written data. Reads keep working.
func (c *ClientSession) CloseWrite() error { return c.str.Close() }

// Context returns a context that is done when the session has ended.
func (c *ClientSession) Context() context.Context { return c.ws.Context() }

// Err returns nil while the session is open, and the error that ended it
// afterwards. SessionErrorCode extracts the peer's code from it. Use it to
// learn the code after the stream ended with io.EOF.
func (c *ClientSession) Err() error { return sessionErr(c.ws) }

// Close closes the session with an application error code and a reason,
// truncated to 1024 bytes, then waits up to DefaultCloseLinger for the server
// to close the QUIC connection before closing it, so that the code reaches
// the server. Only the first call has an effect. It always returns nil.
func (c *ClientSession) Close(code uint32, reason string) error {
	c.closeOnce.Do(func() {
		_ = c.ws.CloseWithError(webtransport.SessionErrorCode(code), truncateReason(reason)) // always nil

		timer := time.NewTimer(DefaultCloseLinger)
		defer timer.Stop()
		select {
		case <-c.qconn.Context().Done():
		case <-timer.C:
		}
		_ = c.qconn.CloseWithError(0, "") // always nil in quic-go v0.62.0
	})
	return nil
}
