package jointoken

import (
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// algEdDSA is the only JWS alg header value accepted.
const algEdDSA = "EdDSA"

// VerifierConfig configures a [Verifier].
type VerifierConfig struct {
	// Keys maps a key ID (the kid header) to an Ed25519 public key. At least
	// one key is required. Every key ID must be non-empty and every key must
	// be ed25519.PublicKeySize bytes.
	Keys map[string]ed25519.PublicKey

	// Audience is the value the aud claim must contain. Empty selects
	// [DefaultAudience].
	Audience string

	// Skew is the clock skew allowed on exp and nbf. Zero selects
	// [DefaultSkew]. Negative values are rejected.
	Skew time.Duration

	// Now returns the current time. Nil selects time.Now.
	Now func() time.Time
}

// Verifier checks join tokens against a fixed set of public keys. It is
// immutable after [NewVerifier] and safe for concurrent use.
type Verifier struct {
	keys     map[string]ed25519.PublicKey
	keyIDs   []string // sorted, tried in this order for tokens without kid
	audience string
	skew     time.Duration
	now      func() time.Time
	parser   *jwt.Parser
}

// NewVerifier validates cfg, fills in defaults and returns a Verifier. It
// copies cfg.Keys, so later changes to the map have no effect. Errors wrap
// [ErrInvalidConfig] and name the field.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if len(cfg.Keys) == 0 {
		return nil, fmt.Errorf("%w: Keys is empty, want at least one Ed25519 public key", ErrInvalidConfig)
	}

	keys := make(map[string]ed25519.PublicKey, len(cfg.Keys))
	for kid, key := range cfg.Keys {
		if kid == "" {
			return nil, fmt.Errorf("%w: Keys contains an empty key ID", ErrInvalidConfig)
		}
		if len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Keys[%q] is %d bytes, want %d", ErrInvalidConfig, kid, len(key), ed25519.PublicKeySize)
		}
		keys[kid] = slices.Clone(key)
	}

	if cfg.Skew < 0 {
		return nil, fmt.Errorf("%w: Skew is %s, want zero (default %s) or positive", ErrInvalidConfig, cfg.Skew, DefaultSkew)
	}

	v := &Verifier{
		keys:     keys,
		keyIDs:   slices.Sorted(maps.Keys(keys)),
		audience: cmp.Or(cfg.Audience, DefaultAudience),
		skew:     cmp.Or(cfg.Skew, DefaultSkew),
		now:      cfg.Now,
		// Claims are checked by validateClaims, so each failure maps to one
		// sentinel and the skew is applied in one place.
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{algEdDSA}),
			jwt.WithStrictDecoding(),
			jwt.WithoutClaimsValidation(),
		),
	}
	if v.now == nil {
		v.now = time.Now
	}

	return v, nil
}

// Verify checks token for admission to meetingID and returns its claims. Every
// error wraps [ErrInvalidToken] and one narrower sentinel from errors.go, and
// no error message contains the token. Verify is safe for concurrent use.
func (v *Verifier) Verify(token, meetingID string) (Claims, error) {
	if len(token) > MaxTokenBytes {
		return Claims{}, fmt.Errorf("%w: token is %d bytes, maximum %d", ErrMalformed, len(token), MaxTokenBytes)
	}

	var (
		claims tokenClaims
		keyID  string
		keyErr error
	)
	parsed, err := v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		var key ed25519.PublicKey
		key, keyID, keyErr = v.selectKey(t)
		return key, keyErr
	})
	if err != nil {
		if keyErr != nil {
			return Claims{}, keyErr
		}
		return Claims{}, classifyParseError(parsed, err)
	}

	if err := v.validateClaims(&claims, meetingID); err != nil {
		return Claims{}, err
	}

	return Claims{
		UserID:    UserID(claims.Subject),
		MeetingID: claims.MeetingID,
		Role:      claims.Role,
		ExpiresAt: claims.ExpiresAt.Time,
		NotBefore: timeOrZero(claims.NotBefore),
		IssuedAt:  timeOrZero(claims.IssuedAt),
		KeyID:     keyID,
	}, nil
}

// selectKey returns the public key that jwt should verify t with. A token
// with a kid header gets that key. For a token without kid, selectKey tries
// each configured key itself and returns the one that verifies, so the
// signature of such a token is checked twice.
func (v *Verifier) selectKey(t *jwt.Token) (ed25519.PublicKey, string, error) {
	// WithValidMethods already rejects other algorithms. This check keeps the
	// key type and the algorithm tied together if the parser options change.
	if t.Method != jwt.SigningMethodEdDSA {
		return nil, "", fmt.Errorf("%w: alg is not %s", ErrAlgorithm, algEdDSA)
	}

	// RFC 7515 section 4.1.11 requires rejecting a token whose crit header
	// lists extensions the recipient does not understand, and this package
	// understands none.
	if _, ok := t.Header["crit"]; ok {
		return nil, "", fmt.Errorf("%w: crit header is not supported", ErrMalformed)
	}

	rawKeyID, ok := t.Header["kid"]
	if ok {
		kid, isString := rawKeyID.(string)
		if !isString || kid == "" {
			return nil, "", fmt.Errorf("%w: kid header must be a non-empty string", ErrMalformed)
		}

		key, found := v.keys[kid]
		if !found {
			return nil, "", fmt.Errorf("%w: kid %.64q is not configured", ErrUnknownKey, kid)
		}
		return key, kid, nil
	}

	// The parser has split the token into three segments before calling the
	// key function, so Raw contains a final '.' before the signature.
	signingInput := []byte(t.Raw[:strings.LastIndexByte(t.Raw, '.')])
	for _, kid := range v.keyIDs {
		if ed25519.Verify(v.keys[kid], signingInput, t.Signature) {
			return v.keys[kid], kid, nil
		}
	}

	return nil, "", fmt.Errorf("%w: token has no kid and none of the %d configured keys verifies it", ErrSignature, len(v.keyIDs))
}

// classifyParseError maps a jwt parse error to this package's sentinels. The
// jwt error is formatted with %v so that only one sentinel chain is wrapped.
func classifyParseError(token *jwt.Token, err error) error {
	if errors.Is(err, jwt.ErrTokenMalformed) {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}

	// Unknown or disallowed algorithms surface as ErrTokenUnverifiable or
	// ErrTokenSignatureInvalid, so the header is the reliable source.
	if token != nil {
		alg, isString := token.Header["alg"].(string)
		if !isString {
			return fmt.Errorf("%w: alg header is missing or not a string", ErrAlgorithm)
		}
		if alg != algEdDSA {
			return fmt.Errorf("%w: alg %.32q, want %s", ErrAlgorithm, alg, algEdDSA)
		}
	}

	if errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		return fmt.Errorf("%w: %v", ErrSignature, err)
	}

	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

// validateClaims checks the claims of a token whose signature has verified.
func (v *Verifier) validateClaims(c *tokenClaims, meetingID string) error {
	now := v.now()

	if c.ExpiresAt == nil {
		return ErrMissingExpiry
	}
	if !now.Before(c.ExpiresAt.Add(v.skew)) {
		return fmt.Errorf("%w: exp %s plus skew %s is not after now %s",
			ErrExpired, formatTime(c.ExpiresAt.Time), v.skew, formatTime(now))
	}
	if c.NotBefore != nil && now.Before(c.NotBefore.Add(-v.skew)) {
		return fmt.Errorf("%w: nbf %s minus skew %s is after now %s",
			ErrNotYetValid, formatTime(c.NotBefore.Time), v.skew, formatTime(now))
	}

	if !slices.Contains(c.Audience, v.audience) {
		return fmt.Errorf("%w: aud does not contain %q", ErrAudience, v.audience)
	}

	if c.Subject == "" {
		return fmt.Errorf("%w: missing sub claim", ErrSubject)
	}
	if len(c.Subject) > MaxUserIDBytes {
		return fmt.Errorf("%w: sub is %d bytes, maximum %d", ErrSubject, len(c.Subject), MaxUserIDBytes)
	}

	if c.MeetingID == "" {
		return fmt.Errorf("%w: missing meeting_id claim", ErrMeetingMismatch)
	}
	if c.MeetingID != meetingID {
		return fmt.Errorf("%w: meeting_id claim does not match meeting %.128q", ErrMeetingMismatch, meetingID)
	}

	if c.Role == "" {
		return fmt.Errorf("%w: missing role claim", ErrRole)
	}
	if !c.Role.Valid() {
		return fmt.Errorf("%w: role %.32q, want %q or %q", ErrRole, string(c.Role), RoleHost, RoleParticipant)
	}

	return nil
}

func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}
