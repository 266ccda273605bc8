package jointoken

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// DefaultAudience is the aud value expected and minted when none is
	// configured.
	DefaultAudience = "convene"

	// DefaultSkew is the clock skew allowed on exp and nbf when none is
	// configured.
	DefaultSkew = 5 * time.Second

	// MaxUserIDBytes is the maximum length of the sub claim in bytes.
	MaxUserIDBytes = 256

	// MaxTokenBytes is the maximum length of a token accepted by
	// [Verifier.Verify]. It bounds the work done on untrusted input and is
	// far above the few hundred bytes a join token needs.
	MaxTokenBytes = 8 << 10
)

// Role is the role a join token grants in its meeting.
type Role string

// Roles accepted in the role claim.
const (
	RoleHost        Role = "host"
	RoleParticipant Role = "participant"
)

// Valid reports whether r is [RoleHost] or [RoleParticipant].
func (r Role) Valid() bool {
	return r == RoleHost || r == RoleParticipant
}

// UserID is the user identifier carried in the sub claim.
type UserID string

// Claims is the verified content of a join token.
type Claims struct {
	UserID    UserID
	MeetingID string
	Role      Role

	// ExpiresAt is the exp claim. NotBefore and IssuedAt are the zero time
	// when the token has no nbf or iat claim.
	ExpiresAt time.Time
	NotBefore time.Time
	IssuedAt  time.Time

	// KeyID is the ID of the configured key that verified the signature. For
	// a token without a kid header it is the ID of the key that matched.
	KeyID string
}

// tokenClaims is the JSON form of the JWT claims set.
type tokenClaims struct {
	jwt.RegisteredClaims
	MeetingID string `json:"meeting_id,omitempty"`
	Role      Role   `json:"role,omitempty"`
}

// timeOrZero returns d as a time.Time, or the zero time for a missing claim.
func timeOrZero(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.Time
}
