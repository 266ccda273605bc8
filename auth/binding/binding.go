package binding

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/hkdf"
)

const (
	// NonceSize is the size of a binding nonce in bytes.
	NonceSize = 16

	// TokenLength is the length of an encoded token: a hex-encoded
	// HMAC-SHA256.
	TokenLength = 2 * sha256.Size

	// MinSecretSize is the minimum master secret size in bytes.
	MinSecretSize = 32

	// MaxMeetingIDBytes is the maximum meeting ID length in bytes.
	MaxMeetingIDBytes = 128

	// DefaultRotationWindow is how long [Keyring.Rotate] keeps the previous
	// secret accepted when the window passed to it is zero.
	DefaultRotationWindow = time.Hour

	// hkdfInfo separates binding keys from other keys derived from the same
	// master secret.
	hkdfInfo = "session-binding"

	meetingKeySize = 32
)

// Nonce is the per-issue random value a token is bound to.
type Nonce [NonceSize]byte

// NewNonce returns a nonce read from crypto/rand.
func NewNonce() (Nonce, error) {
	var n Nonce
	if _, err := io.ReadFull(rand.Reader, n[:]); err != nil {
		return Nonce{}, fmt.Errorf("generate session binding nonce: %w", err)
	}
	return n, nil
}

// ValidateMeetingID returns an error wrapping [ErrInvalidMeetingID] unless id
// is 1 to [MaxMeetingIDBytes] bytes of valid UTF-8 without control
// characters (Unicode category Cc, which includes NUL).
func ValidateMeetingID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty", ErrInvalidMeetingID)
	}
	if len(id) > MaxMeetingIDBytes {
		return fmt.Errorf("%w: %d bytes, maximum %d", ErrInvalidMeetingID, len(id), MaxMeetingIDBytes)
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalidMeetingID, id)
	}
	for i, r := range id {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %q contains control character %U at byte %d", ErrInvalidMeetingID, id, r, i)
		}
	}
	return nil
}

// Binding is the server-side state a token is checked against.
type Binding struct {
	CorrelationID string
	ParticipantID string

	// Nonce is the nonce of the token currently issued to the participant.
	Nonce Nonce

	// Consumed lists nonces of tokens already used. Verify computes one MAC
	// per entry and accepted secret, so its cost grows linearly with the list.
	Consumed []Nonce

	// ValidUntil is the last instant the binding can be used. The zero time
	// means no expiry, for example while the participant is connected.
	ValidUntil time.Time
}

// KeyringConfig configures a [Keyring].
type KeyringConfig struct {
	// Current is the master secret used to sign, at least [MinSecretSize]
	// bytes.
	Current []byte

	// Previous is an optional earlier master secret that Verify still
	// accepts, at least [MinSecretSize] bytes when set.
	Previous []byte

	// PreviousValidUntil is the instant from which Previous is no longer
	// accepted. Required when Previous is set.
	PreviousValidUntil time.Time
}

// Keyring holds the master secrets for session binding tokens. It is
// immutable, so it is safe for concurrent use, and [Keyring.Rotate] returns a
// new Keyring.
type Keyring struct {
	current            []byte
	previous           []byte
	previousValidUntil time.Time
}

// NewKeyring validates cfg and returns a Keyring holding copies of its
// secrets. Errors wrap [ErrInvalidSecret].
func NewKeyring(cfg KeyringConfig) (*Keyring, error) {
	if len(cfg.Current) < MinSecretSize {
		return nil, fmt.Errorf("%w: Current is %d bytes, minimum %d", ErrInvalidSecret, len(cfg.Current), MinSecretSize)
	}
	if cfg.Previous != nil {
		if len(cfg.Previous) < MinSecretSize {
			return nil, fmt.Errorf("%w: Previous is %d bytes, minimum %d", ErrInvalidSecret, len(cfg.Previous), MinSecretSize)
		}
		if cfg.PreviousValidUntil.IsZero() {
			return nil, fmt.Errorf("%w: PreviousValidUntil is required when Previous is set", ErrInvalidSecret)
		}
	}

	return &Keyring{
		current:            slices.Clone(cfg.Current),
		previous:           slices.Clone(cfg.Previous),
		previousValidUntil: cfg.PreviousValidUntil,
	}, nil
}

// Rotate returns a new Keyring that signs with next and accepts the current
// secret of k until now+window. A zero window selects
// [DefaultRotationWindow]. The previous secret of k, if any, is dropped even
// if its own window has not ended. Errors wrap [ErrInvalidSecret].
func (k *Keyring) Rotate(next []byte, now time.Time, window time.Duration) (*Keyring, error) {
	if window < 0 {
		return nil, fmt.Errorf("%w: rotation window is %s, want zero (default %s) or positive",
			ErrInvalidSecret, window, DefaultRotationWindow)
	}
	if window == 0 {
		window = DefaultRotationWindow
	}

	return NewKeyring(KeyringConfig{
		Current:            next,
		Previous:           k.current,
		PreviousValidUntil: now.Add(window),
	})
}

// Sign returns the token for correlationID, participantID and nonce in
// meetingID, as [TokenLength] lowercase hex digits, signed with the current
// secret. Errors wrap [ErrInvalidMeetingID] or [ErrInvalidID].
func (k *Keyring) Sign(meetingID, correlationID, participantID string, nonce Nonce) (string, error) {
	if err := validateInputs(meetingID, correlationID, participantID); err != nil {
		return "", err
	}

	mac := computeMAC(meetingKey(k.current, meetingID), correlationID, participantID, nonce)
	return hex.EncodeToString(mac), nil
}

// Verify checks token against b in meetingID at time now. It returns nil when
// token is the MAC of b.Nonce under the current secret, or under the previous
// secret while now is before its deadline. Otherwise it returns an error
// wrapping, in order of precedence, [ErrInvalidMeetingID] or [ErrInvalidID]
// for bad inputs, [ErrMalformedToken], [ErrExpired], [ErrReplayed] when token
// is the MAC of a nonce in b.Consumed, or [ErrInvalidBinding].
func (k *Keyring) Verify(meetingID string, b Binding, token string, now time.Time) error {
	if err := validateInputs(meetingID, b.CorrelationID, b.ParticipantID); err != nil {
		return err
	}

	got, err := decodeToken(token)
	if err != nil {
		return err
	}

	if !b.ValidUntil.IsZero() && now.After(b.ValidUntil) {
		return fmt.Errorf("%w: valid until %s, now %s",
			ErrExpired, b.ValidUntil.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	}

	secrets := [][]byte{k.current}
	if k.previous != nil && now.Before(k.previousValidUntil) {
		secrets = append(secrets, k.previous)
	}

	// Every candidate is compared, so a consumed nonce is reported as a
	// replay even if the server also left it in b.Nonce.
	matched, replayed := false, false
	for _, secret := range secrets {
		key := meetingKey(secret, meetingID)
		if hmac.Equal(got, computeMAC(key, b.CorrelationID, b.ParticipantID, b.Nonce)) {
			matched = true
		}
		for _, consumed := range b.Consumed {
			if hmac.Equal(got, computeMAC(key, b.CorrelationID, b.ParticipantID, consumed)) {
				replayed = true
			}
		}
	}

	switch {
	case replayed:
		return fmt.Errorf("%w: participant %q in meeting %q", ErrReplayed, b.ParticipantID, meetingID)
	case matched:
		return nil
	default:
		return fmt.Errorf("%w: participant %q in meeting %q", ErrInvalidBinding, b.ParticipantID, meetingID)
	}
}

func validateInputs(meetingID, correlationID, participantID string) error {
	if err := ValidateMeetingID(meetingID); err != nil {
		return err
	}
	if correlationID == "" {
		return fmt.Errorf("%w: correlation ID is empty", ErrInvalidID)
	}
	if participantID == "" {
		return fmt.Errorf("%w: participant ID is empty", ErrInvalidID)
	}
	// The length prefix is 4 bytes, so longer fields could not be encoded
	// unambiguously.
	if uint64(len(correlationID)) > math.MaxUint32 || uint64(len(participantID)) > math.MaxUint32 {
		return fmt.Errorf("%w: ID longer than %d bytes", ErrInvalidID, uint64(math.MaxUint32))
	}
	return nil
}

// decodeToken returns the MAC in token, which must be exactly TokenLength
// lowercase hex digits. Uppercase is rejected so each MAC has one encoding.
func decodeToken(token string) ([]byte, error) {
	if len(token) != TokenLength {
		return nil, fmt.Errorf("%w: %d characters, want %d", ErrMalformedToken, len(token), TokenLength)
	}
	for i := range len(token) {
		c := token[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return nil, fmt.Errorf("%w: character at index %d is not a lowercase hex digit", ErrMalformedToken, i)
		}
	}

	mac, err := hex.DecodeString(token)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedToken, err)
	}
	return mac, nil
}

// meetingKey derives the HMAC key of meetingID from a master secret. The
// caller must have validated meetingID.
func meetingKey(secret []byte, meetingID string) []byte {
	key := make([]byte, meetingKeySize)
	reader := hkdf.New(sha256.New, secret, []byte(meetingID), []byte(hkdfInfo))
	if _, err := io.ReadFull(reader, key); err != nil {
		// RFC 5869 caps HKDF-SHA256 output at 255*32 bytes, far above the
		// 32 read here, so this error cannot occur.
		panic(fmt.Sprintf("derive session binding key: %v", err))
	}
	return key
}

// computeMAC returns HMAC-SHA256 over the length-prefixed fields.
func computeMAC(key []byte, correlationID, participantID string, nonce Nonce) []byte {
	mac := hmac.New(sha256.New, key)
	writeField(mac, []byte(correlationID))
	writeField(mac, []byte(participantID))
	writeField(mac, nonce[:])
	return mac.Sum(nil)
}

// writeField writes len(field) as a 4-byte big-endian integer, then field.
func writeField(w io.Writer, field []byte) {
	var length [4]byte
	binary.BigEndian.PutUint32(length[:], uint32(len(field)))
	// hash.Hash.Write never returns an error.
	_, _ = w.Write(length[:])
	_, _ = w.Write(field)
}
