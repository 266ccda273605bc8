package jointoken

import (
	"cmp"
	"crypto/ed25519"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Signer mints join tokens with one Ed25519 private key. It is immutable and
// safe for concurrent use.
type Signer struct {
	keyID      string
	privateKey ed25519.PrivateKey
	publicKey  ed25519.PublicKey
}

// NewSigner returns a Signer that puts kid in the kid header of every token.
// An empty kid selects [DeriveKeyID] of the public key. The key is copied.
// Errors wrap [ErrInvalidConfig].
func NewSigner(kid string, key ed25519.PrivateKey) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key is %d bytes, want %d", ErrInvalidConfig, len(key), ed25519.PrivateKeySize)
	}

	privateKey := slices.Clone(key)
	publicKey := privateKey.Public().(ed25519.PublicKey)

	return &Signer{
		keyID:      cmp.Or(kid, DeriveKeyID(publicKey)),
		privateKey: privateKey,
		publicKey:  publicKey,
	}, nil
}

// KeyID returns the kid header value of the tokens s mints.
func (s *Signer) KeyID() string {
	return s.keyID
}

// PublicKey returns a copy of the public key that verifies the tokens s mints.
func (s *Signer) PublicKey() ed25519.PublicKey {
	return slices.Clone(s.publicKey)
}

// MintRequest describes one join token for [Signer.Mint].
type MintRequest struct {
	// MeetingID is the meeting_id claim. Required.
	MeetingID string

	// UserID is the sub claim. Required, at most [MaxUserIDBytes] bytes.
	UserID UserID

	// Role is the role claim, [RoleHost] or [RoleParticipant].
	Role Role

	// Audience is the aud claim. Empty selects [DefaultAudience].
	Audience string

	// Lifetime is the time from Now to exp. Must be positive. exp is
	// truncated to whole seconds, as JWT NumericDate values are.
	Lifetime time.Duration

	// NotBefore is the nbf claim. The zero time omits nbf. It must be before
	// exp.
	NotBefore time.Time

	// Now is the iat claim and the start of Lifetime. The zero time selects
	// time.Now().
	Now time.Time
}

// Mint validates req and returns a signed compact JWT. Errors wrap
// [ErrInvalidRequest] and name the field.
func (s *Signer) Mint(req MintRequest) (string, error) {
	if err := req.validate(); err != nil {
		return "", err
	}

	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	expiresAt := now.Add(req.Lifetime)
	if !req.NotBefore.IsZero() && !req.NotBefore.Before(expiresAt) {
		return "", fmt.Errorf("%w: NotBefore %s is not before expiry %s",
			ErrInvalidRequest, formatTime(req.NotBefore), formatTime(expiresAt))
	}

	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   string(req.UserID),
			Audience:  jwt.ClaimStrings{cmp.Or(req.Audience, DefaultAudience)},
			ExpiresAt: jwt.NewNumericDate(expiresAt),
			IssuedAt:  jwt.NewNumericDate(now),
		},
		MeetingID: req.MeetingID,
		Role:      req.Role,
	}
	if !req.NotBefore.IsZero() {
		claims.NotBefore = jwt.NewNumericDate(req.NotBefore)
	}

	token := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	token.Header["kid"] = s.keyID

	signed, err := token.SignedString(s.privateKey)
	if err != nil {
		return "", fmt.Errorf("sign join token with key %s: %w", s.keyID, err)
	}
	return signed, nil
}

func (req *MintRequest) validate() error {
	if req.MeetingID == "" {
		return fmt.Errorf("%w: MeetingID is empty", ErrInvalidRequest)
	}
	if req.UserID == "" {
		return fmt.Errorf("%w: UserID is empty", ErrInvalidRequest)
	}
	if len(req.UserID) > MaxUserIDBytes {
		return fmt.Errorf("%w: UserID is %d bytes, maximum %d", ErrInvalidRequest, len(req.UserID), MaxUserIDBytes)
	}
	if !req.Role.Valid() {
		return fmt.Errorf("%w: Role %q, want %q or %q", ErrInvalidRequest, req.Role, RoleHost, RoleParticipant)
	}
	if req.Lifetime <= 0 {
		return fmt.Errorf("%w: Lifetime is %s, want positive", ErrInvalidRequest, req.Lifetime)
	}
	return nil
}
