package jointoken

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"
)

func newTestSigner(t *testing.T) *Signer {
	t.Helper()
	key := newTestKey(t, "")
	s, err := NewSigner("", key.priv)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

// verifierFor returns a verifier that trusts s and reads its clock from now.
func verifierFor(t *testing.T, s *Signer, now time.Time) *Verifier {
	t.Helper()
	v, err := NewVerifier(VerifierConfig{
		Keys: map[string]ed25519.PublicKey{s.KeyID(): s.PublicKey()},
		Now:  func() time.Time { return now },
	})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func TestMint_RoundTrip(t *testing.T) {
	s := newTestSigner(t)
	if want := DeriveKeyID(s.PublicKey()); s.KeyID() != want {
		t.Errorf("KeyID = %q, want derived %q", s.KeyID(), want)
	}

	token, err := s.Mint(MintRequest{
		MeetingID: testMeeting,
		UserID:    "user-7",
		Role:      RoleHost,
		Lifetime:  10 * time.Minute,
		NotBefore: testTime.Add(-time.Minute),
		Now:       testTime,
	})
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}

	got, err := verifierFor(t, s, testTime).Verify(token, testMeeting)
	if err != nil {
		t.Fatalf("Verify minted token: %v", err)
	}
	if got.UserID != "user-7" || got.Role != RoleHost || got.MeetingID != testMeeting || got.KeyID != s.KeyID() {
		t.Errorf("claims = %+v, want user-7 host in %s with kid %s", got, testMeeting, s.KeyID())
	}
	if want := testTime.Add(10 * time.Minute); !got.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, want)
	}
	if want := testTime.Add(-time.Minute); !got.NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want %v", got.NotBefore, want)
	}
	if !got.IssuedAt.Equal(testTime) {
		t.Errorf("IssuedAt = %v, want %v", got.IssuedAt, testTime)
	}

	later := testTime.Add(10*time.Minute + DefaultSkew)
	_, err = verifierFor(t, s, later).Verify(token, testMeeting)
	if !errors.Is(err, ErrExpired) {
		t.Errorf("Verify at %v: %v, want %v", later, err, ErrExpired)
	}
}

func TestNewSigner_ExplicitKeyID(t *testing.T) {
	key := newTestKey(t, "")
	s, err := NewSigner("upstream-2030", key.priv)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	if s.KeyID() != "upstream-2030" {
		t.Errorf("KeyID = %q, want %q", s.KeyID(), "upstream-2030")
	}
	if !s.PublicKey().Equal(key.pub) {
		t.Errorf("PublicKey does not match the private key")
	}
}

func TestNewSigner_RejectsShortKey(t *testing.T) {
	key := newTestKey(t, "")

	_, err := NewSigner("", key.priv[:ed25519.SeedSize])
	if !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewSigner error = %v, want %v", err, ErrInvalidConfig)
	}
}

func TestMint_RejectsRequest(t *testing.T) {
	s := newTestSigner(t)
	valid := MintRequest{MeetingID: testMeeting, UserID: "u", Role: RoleParticipant, Lifetime: time.Minute, Now: testTime}

	tests := []struct {
		name string
		edit func(*MintRequest)
	}{
		{"empty meeting", func(r *MintRequest) { r.MeetingID = "" }},
		{"empty user", func(r *MintRequest) { r.UserID = "" }},
		{"user too long", func(r *MintRequest) { r.UserID = UserID(strings.Repeat("u", MaxUserIDBytes+1)) }},
		{"empty role", func(r *MintRequest) { r.Role = "" }},
		{"unknown role", func(r *MintRequest) { r.Role = "admin" }},
		{"zero lifetime", func(r *MintRequest) { r.Lifetime = 0 }},
		{"negative lifetime", func(r *MintRequest) { r.Lifetime = -time.Minute }},
		{"nbf at expiry", func(r *MintRequest) { r.NotBefore = testTime.Add(time.Minute) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := valid
			tt.edit(&req)

			_, err := s.Mint(req)
			if !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("Mint error = %v, want %v", err, ErrInvalidRequest)
			}
		})
	}

	if _, err := s.Mint(valid); err != nil {
		t.Errorf("Mint valid request: %v", err)
	}
}
