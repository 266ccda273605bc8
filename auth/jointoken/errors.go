package jointoken

import (
	"errors"
	"fmt"
)

// ErrInvalidToken is the parent of every verification error returned by
// [Verifier.Verify]. Callers that map all rejections to one client error
// compare with errors.Is(err, ErrInvalidToken).
var ErrInvalidToken = errors.New("invalid join token")

// The sentinels below each wrap [ErrInvalidToken], and [Verifier.Verify]
// wraps exactly one of them.
var (
	// ErrMalformed is returned when the token is not a well-formed compact
	// JWS (segments, base64url, JSON, header fields or claim types).
	ErrMalformed = fmt.Errorf("%w: malformed", ErrInvalidToken)

	// ErrAlgorithm is returned when the header alg is anything but "EdDSA".
	ErrAlgorithm = fmt.Errorf("%w: unsupported signing algorithm", ErrInvalidToken)

	// ErrUnknownKey is returned when the kid header names no configured key.
	ErrUnknownKey = fmt.Errorf("%w: unknown key ID", ErrInvalidToken)

	// ErrSignature is returned when the signature does not verify.
	ErrSignature = fmt.Errorf("%w: signature verification failed", ErrInvalidToken)

	// ErrMissingExpiry is returned when the token has no exp claim.
	ErrMissingExpiry = fmt.Errorf("%w: missing exp claim", ErrInvalidToken)

	// ErrExpired is returned when exp plus the clock skew is not after now.
	ErrExpired = fmt.Errorf("%w: expired", ErrInvalidToken)

	// ErrNotYetValid is returned when nbf minus the clock skew is after now.
	ErrNotYetValid = fmt.Errorf("%w: not valid yet", ErrInvalidToken)

	// ErrAudience is returned when aud is missing or lacks the configured
	// audience.
	ErrAudience = fmt.Errorf("%w: invalid audience", ErrInvalidToken)

	// ErrMeetingMismatch is returned when the meeting_id claim is missing or
	// differs from the meeting being joined.
	ErrMeetingMismatch = fmt.Errorf("%w: meeting ID mismatch", ErrInvalidToken)

	// ErrRole is returned when the role claim is missing or not a known
	// [Role].
	ErrRole = fmt.Errorf("%w: invalid role", ErrInvalidToken)

	// ErrSubject is returned when the sub claim is missing, empty or longer
	// than [MaxUserIDBytes].
	ErrSubject = fmt.Errorf("%w: invalid subject", ErrInvalidToken)
)

// ErrInvalidConfig is returned by [NewVerifier] for an unusable
// [VerifierConfig], and by [NewSigner] for an unusable key.
var ErrInvalidConfig = errors.New("invalid join token configuration")

// ErrInvalidRequest is returned by [Signer.Mint] when a [MintRequest] field is
// missing or out of range.
var ErrInvalidRequest = errors.New("invalid join token mint request")

// ErrKeyFile is returned by [LoadOrCreateDevSigner] and [LoadPublicKeys] when
// a key file cannot be used: unsafe permissions, wrong format or wrong key
// type.
var ErrKeyFile = errors.New("invalid join token key file")

// reasons maps each verification sentinel to its [Reason] label.
var reasons = []struct {
	err   error
	label string
}{
	{ErrMalformed, "malformed"},
	{ErrAlgorithm, "algorithm"},
	{ErrUnknownKey, "unknown_key"},
	{ErrSignature, "signature"},
	{ErrMissingExpiry, "missing_expiry"},
	{ErrExpired, "expired"},
	{ErrNotYetValid, "not_yet_valid"},
	{ErrAudience, "audience"},
	{ErrMeetingMismatch, "meeting_mismatch"},
	{ErrRole, "role"},
	{ErrSubject, "subject"},
}

// Reason returns a short label for err that is safe to use as a Prometheus
// label value. The label is "ok" for nil and "other" for an error that
// matches none of the sentinels above. Otherwise it is one of "malformed",
// "algorithm", "unknown_key", "signature", "missing_expiry", "expired",
// "not_yet_valid", "audience", "meeting_mismatch", "role" or "subject".
func Reason(err error) string {
	if err == nil {
		return "ok"
	}

	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.label
		}
	}

	return "other"
}
