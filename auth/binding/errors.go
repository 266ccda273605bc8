package binding

import "errors"

var (
	// ErrMalformedToken is returned by [Keyring.Verify] when the token is not
	// exactly [TokenLength] lowercase hex digits.
	ErrMalformedToken = errors.New("malformed session binding token")

	// ErrExpired is returned by [Keyring.Verify] when now is after a non-zero
	// [Binding.ValidUntil].
	ErrExpired = errors.New("session binding expired")

	// ErrReplayed is returned by [Keyring.Verify] when the token is the MAC of
	// a nonce in [Binding.Consumed].
	ErrReplayed = errors.New("session binding token already used")

	// ErrInvalidBinding is returned by [Keyring.Verify] when the token matches
	// neither the current nonce nor a consumed one under any accepted secret,
	// for example because it was forged or issued for another participant.
	ErrInvalidBinding = errors.New("invalid session binding token")

	// ErrInvalidMeetingID is returned by [ValidateMeetingID], and by
	// [Keyring.Sign] and [Keyring.Verify] for an invalid meeting ID.
	ErrInvalidMeetingID = errors.New("invalid meeting ID")

	// ErrInvalidID is returned by [Keyring.Sign] and [Keyring.Verify] for an
	// empty correlation ID or participant ID.
	ErrInvalidID = errors.New("invalid session binding ID")

	// ErrInvalidSecret is returned by [NewKeyring] and [Keyring.Rotate] for a
	// master secret shorter than [MinSecretSize] or an unusable rotation
	// setting.
	ErrInvalidSecret = errors.New("invalid session binding secret")
)
