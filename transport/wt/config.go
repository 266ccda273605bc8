package wt

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

const (
	// DefaultPath is the request path served when ServerConfig.Path is empty.
	DefaultPath = "/signaling"

	// DefaultAcceptStreamTimeout is the default time a client has to open its
	// bidirectional stream after the session is established.
	DefaultAcceptStreamTimeout = 5 * time.Second

	// DefaultMaxIdleTimeout is the default QUIC idle timeout, after which a
	// silent peer's connection is closed.
	DefaultMaxIdleTimeout = 15 * time.Second

	// DefaultKeepAlivePeriod is the default interval of QUIC keep-alive
	// packets. It stays well under DefaultMaxIdleTimeout.
	DefaultKeepAlivePeriod = 5 * time.Second

	// DefaultCloseLinger is the default wait of CloseAfterFlush, and the
	// time the server and client wait for the peer after a close, so that
	// the close capsule is delivered before the QUIC connection closes.
	DefaultCloseLinger = 200 * time.Millisecond
)

// Session close codes sent by this package. Application codes chosen by the
// caller should avoid these values.
const (
	// CodeNormal is sent when a handler returns without closing its session.
	CodeNormal uint32 = 0

	// CodeGoingAway is sent to every open session by Server.Shutdown.
	CodeGoingAway uint32 = 1001

	// CodeInternalError is sent when a handler panics.
	CodeInternalError uint32 = 1011

	// CodeStreamTimeout is sent when the client does not open its
	// bidirectional stream within ServerConfig.AcceptStreamTimeout.
	CodeStreamTimeout uint32 = 4408
)

// ServerConfig configures a Server. Zero values select the documented
// defaults, except Addr and Certificate, which are required.
type ServerConfig struct {
	// Addr is the UDP host:port to listen on, such as "127.0.0.1:4433". Port
	// 0 picks a free port; Server.Addr reports it after Start.
	Addr string

	// Certificate is the TLS certificate presented to clients. Browsers that
	// pin it with serverCertificateHashes need an ECDSA P-256 certificate
	// valid for at most 14 days (see package transport/certs).
	Certificate tls.Certificate

	// Path is the only request path accepted; other paths get 404. Default
	// DefaultPath. It must start with "/".
	Path string

	// AllowedOrigins lists the origins ("scheme://host[:port]") whose
	// browser pages may open sessions. Requests from other origins get 403.
	// Requests without an Origin header (non-browser clients) are allowed.
	// "*" allows every origin. Scheme and host compare case-insensitively,
	// and a default port (443 for https, 80 for http) equals no port.
	AllowedOrigins []string

	// AcceptStreamTimeout is how long the client has to open its
	// bidirectional stream after the session is established. When it
	// passes, the session is closed with CodeStreamTimeout. Default
	// DefaultAcceptStreamTimeout.
	AcceptStreamTimeout time.Duration

	// MaxIdleTimeout is the QUIC idle timeout. Default DefaultMaxIdleTimeout.
	MaxIdleTimeout time.Duration

	// KeepAlivePeriod is the interval of QUIC keep-alive packets sent by the
	// server. It must be shorter than MaxIdleTimeout. Default
	// DefaultKeepAlivePeriod, or a third of MaxIdleTimeout if that is less.
	KeepAlivePeriod time.Duration

	// Logger receives start, stop, rejection and session lifecycle logs.
	// Default: logs are discarded.
	Logger *slog.Logger
}

// withDefaults returns a copy of c with zero fields set to their defaults.
func (c ServerConfig) withDefaults() ServerConfig {
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.AcceptStreamTimeout == 0 {
		c.AcceptStreamTimeout = DefaultAcceptStreamTimeout
	}
	if c.MaxIdleTimeout == 0 {
		c.MaxIdleTimeout = DefaultMaxIdleTimeout
	}
	if c.KeepAlivePeriod == 0 {
		c.KeepAlivePeriod = min(DefaultKeepAlivePeriod, c.MaxIdleTimeout/3)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks c after defaults are applied and returns an error wrapping
// ErrInvalidConfig that names the first invalid field.
func (c ServerConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Addr == "":
		return fmt.Errorf("%w: Addr is empty, want host:port such as 127.0.0.1:4433", ErrInvalidConfig)
	case len(c.Certificate.Certificate) == 0 || c.Certificate.PrivateKey == nil:
		return fmt.Errorf("%w: Certificate has no certificate or private key", ErrInvalidConfig)
	case !strings.HasPrefix(c.Path, "/"):
		return fmt.Errorf("%w: Path %q does not start with /", ErrInvalidConfig, c.Path)
	case c.AcceptStreamTimeout < 0:
		return fmt.Errorf("%w: AcceptStreamTimeout %s is negative", ErrInvalidConfig, c.AcceptStreamTimeout)
	case c.MaxIdleTimeout < 0:
		return fmt.Errorf("%w: MaxIdleTimeout %s is negative", ErrInvalidConfig, c.MaxIdleTimeout)
	case c.KeepAlivePeriod < 0 || c.KeepAlivePeriod >= c.MaxIdleTimeout:
		return fmt.Errorf("%w: KeepAlivePeriod %s, want between 0 and MaxIdleTimeout %s",
			ErrInvalidConfig, c.KeepAlivePeriod, c.MaxIdleTimeout)
	}
	for _, origin := range c.AllowedOrigins {
		if _, err := normalizeOrigin(origin); origin != "*" && err != nil {
			return fmt.Errorf("%w: AllowedOrigins entry %q: %w", ErrInvalidConfig, origin, err)
		}
	}
	return nil
}

// originPolicy decides which Origin header values may open a session.
type originPolicy struct {
	allowAll bool
	allowed  map[string]struct{}
}

func newOriginPolicy(origins []string) originPolicy {
	p := originPolicy{allowed: make(map[string]struct{}, len(origins))}
	for _, origin := range origins {
		if origin == "*" {
			p.allowAll = true
			continue
		}
		if normalized, err := normalizeOrigin(origin); err == nil {
			p.allowed[normalized] = struct{}{}
		}
	}
	return p
}

// allows reports whether a request with the given Origin header value may
// open a session. An empty value means the header is absent.
func (p originPolicy) allows(origin string) bool {
	if origin == "" || p.allowAll {
		return true
	}
	normalized, err := normalizeOrigin(origin)
	if err != nil {
		return false
	}
	_, ok := p.allowed[normalized]
	return ok
}

// normalizeOrigin returns origin as lowercase "scheme://host[:port]" without
// a default port, or an error when it is not a serialized origin.
func normalizeOrigin(origin string) (string, error) {
	u, err := url.Parse(origin)
	if err != nil {
		return "", err
	}
	if u.Scheme == "" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("want scheme://host[:port], got %q", origin)
	}

	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" {
		return scheme + "://" + host, nil
	}
	return scheme + "://" + host + ":" + port, nil
}
