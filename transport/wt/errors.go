package wt

import (
	"errors"
	"fmt"

	"github.com/quic-go/webtransport-go"
)

var (
	// ErrInvalidConfig is returned by NewServer when a ServerConfig field is
	// out of range.
	ErrInvalidConfig = errors.New("invalid WebTransport server config")

	// ErrServerStarted is returned by Start when the server was already
	// started or shut down.
	ErrServerStarted = errors.New("WebTransport server already started")

	// ErrRejected is wrapped by the *StatusError that Dial returns when the
	// server responds to the CONNECT request with a non-2xx status.
	ErrRejected = errors.New("WebTransport session rejected")

	// ErrCertificateNotPinned is returned by Dial when DialOptions.CertHashes
	// is set and the server certificate matches none of the hashes.
	ErrCertificateNotPinned = errors.New("server certificate does not match any pinned SHA-256 hash")
)

// StatusError is returned by Dial when the server rejects the session
// request with an HTTP status, such as 403 for a disallowed Origin or 404
// for an unknown path. errors.Is(err, ErrRejected) reports true for it.
type StatusError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%v with HTTP status %d", ErrRejected, e.StatusCode)
}

// Unwrap returns ErrRejected.
func (e *StatusError) Unwrap() error { return ErrRejected }

// SessionErrorCode returns the application error code from err when err
// reports a session that the peer closed cleanly with a code, and false
// otherwise. Reads and writes on a closed session return such errors.
func SessionErrorCode(err error) (code uint32, ok bool) {
	sessErr, ok := errors.AsType[*webtransport.SessionError](err)
	if !ok {
		return 0, false
	}
	return uint32(sessErr.ErrorCode), true
}
