package jointoken

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testTime is the fixed clock reading used by the tests.
var testTime = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const testMeeting = "meeting-1"

// testKey is an Ed25519 key pair and the key ID a verifier stores it under.
type testKey struct {
	kid  string
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newTestKey(t *testing.T, kid string) testKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return testKey{kid: kid, pub: pub, priv: priv}
}

// newTestVerifier returns a verifier for keys whose clock reads *now.
func newTestVerifier(t *testing.T, now *time.Time, keys ...testKey) *Verifier {
	t.Helper()
	cfg := VerifierConfig{
		Keys: make(map[string]ed25519.PublicKey),
		Now:  func() time.Time { return *now },
	}
	for _, k := range keys {
		cfg.Keys[k.kid] = k.pub
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// validClaims returns the claims of a token that a verifier built by
// newTestVerifier accepts at testTime.
func validClaims() map[string]any {
	return map[string]any{
		"sub":        "user-1",
		"aud":        []string{DefaultAudience},
		"exp":        testTime.Add(time.Minute).Unix(),
		"iat":        testTime.Unix(),
		"meeting_id": testMeeting,
		"role":       "participant",
	}
}

func encodeSegment(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	return base64.RawURLEncoding.EncodeToString(data)
}

// craftToken builds a compact JWS by hand, so tests do not depend on the
// code under test to produce hostile tokens. sign receives the signing input
// and returns the raw signature.
func craftToken(t *testing.T, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	input := encodeSegment(t, header) + "." + encodeSegment(t, claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
}

// signedToken returns an EdDSA token over claims with kid set to key.kid.
func signedToken(t *testing.T, key testKey, claims map[string]any) string {
	t.Helper()
	header := map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": key.kid}
	return craftToken(t, header, claims, func(input []byte) []byte {
		return ed25519.Sign(key.priv, input)
	})
}

// checkRejected fails unless err wraps ErrInvalidToken and want, keeps the
// token out of its message and maps to wantReason.
func checkRejected(t *testing.T, token string, err, want error, wantReason string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("Verify error = %v, want %v", err, want)
	}
	if !errors.Is(err, ErrInvalidToken) {
		t.Errorf("errors.Is(%v, ErrInvalidToken) = false, want true", err)
	}
	if got := Reason(err); got != wantReason {
		t.Errorf("Reason(%v) = %q, want %q", err, got, wantReason)
	}
	if token != "" && strings.Contains(err.Error(), token) {
		t.Errorf("error message %q contains the token", err)
	}
}

func TestVerify_ValidRoles(t *testing.T) {
	now := testTime
	key := newTestKey(t, "k1")
	v := newTestVerifier(t, &now, key)

	for _, role := range []Role{RoleHost, RoleParticipant} {
		t.Run(string(role), func(t *testing.T) {
			claims := validClaims()
			claims["role"] = string(role)
			claims["nbf"] = testTime.Add(-time.Second).Unix()

			got, err := v.Verify(signedToken(t, key, claims), testMeeting)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}

			want := Claims{
				UserID:    "user-1",
				MeetingID: testMeeting,
				Role:      role,
				ExpiresAt: testTime.Add(time.Minute),
				NotBefore: testTime.Add(-time.Second),
				IssuedAt:  testTime,
				KeyID:     "k1",
			}
			if !got.ExpiresAt.Equal(want.ExpiresAt) || !got.NotBefore.Equal(want.NotBefore) || !got.IssuedAt.Equal(want.IssuedAt) {
				t.Errorf("times = exp %v nbf %v iat %v, want exp %v nbf %v iat %v",
					got.ExpiresAt, got.NotBefore, got.IssuedAt, want.ExpiresAt, want.NotBefore, want.IssuedAt)
			}
			got.ExpiresAt, got.NotBefore, got.IssuedAt = want.ExpiresAt, want.NotBefore, want.IssuedAt
			if got != want {
				t.Errorf("Verify claims = %+v, want %+v", got, want)
			}
		})
	}
}

func TestVerify_AudienceForms(t *testing.T) {
	now := testTime
	key := newTestKey(t, "k1")
	v := newTestVerifier(t, &now, key)

	for name, aud := range map[string]any{
		"string": DefaultAudience,
		"list":   []string{"other", DefaultAudience},
	} {
		t.Run(name, func(t *testing.T) {
			claims := validClaims()
			claims["aud"] = aud

			if _, err := v.Verify(signedToken(t, key, claims), testMeeting); err != nil {
				t.Errorf("Verify with aud %v: %v", aud, err)
			}
		})
	}
}

func TestVerify_ConfiguredAudience(t *testing.T) {
	key := newTestKey(t, "k1")
	v, err := NewVerifier(VerifierConfig{
		Keys:     map[string]ed25519.PublicKey{key.kid: key.pub},
		Audience: "custom",
		Now:      func() time.Time { return testTime },
	})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}

	claims := validClaims()
	claims["aud"] = "custom"
	if _, err := v.Verify(signedToken(t, key, claims), testMeeting); err != nil {
		t.Errorf("Verify with aud %q: %v", "custom", err)
	}

	token := signedToken(t, key, validClaims())
	_, err = v.Verify(token, testMeeting)
	checkRejected(t, token, err, ErrAudience, "audience")
}

func TestVerify_NoKeyIDTriesEachKey(t *testing.T) {
	now := testTime
	keys := []testKey{newTestKey(t, "a"), newTestKey(t, "b"), newTestKey(t, "c")}
	v := newTestVerifier(t, &now, keys...)

	header := map[string]any{"alg": "EdDSA", "typ": "JWT"}
	token := craftToken(t, header, validClaims(), func(input []byte) []byte {
		return ed25519.Sign(keys[1].priv, input)
	})

	got, err := v.Verify(token, testMeeting)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.KeyID != "b" {
		t.Errorf("KeyID = %q, want %q", got.KeyID, "b")
	}

	stranger := newTestKey(t, "")
	forged := craftToken(t, header, validClaims(), func(input []byte) []byte {
		return ed25519.Sign(stranger.priv, input)
	})
	_, err = v.Verify(forged, testMeeting)
	checkRejected(t, forged, err, ErrSignature, "signature")
}

func TestVerify_RejectsAlgorithms(t *testing.T) {
	now := testTime
	key := newTestKey(t, "k1")
	v := newTestVerifier(t, &now, key)

	pubPEM, err := EncodePublicKeyPEM(key.pub)
	if err != nil {
		t.Fatalf("EncodePublicKeyPEM: %v", err)
	}
	hmacWith := func(secret []byte) func([]byte) []byte {
		return func(input []byte) []byte {
			mac := hmac.New(sha256.New, secret)
			mac.Write(input)
			return mac.Sum(nil)
		}
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate RSA key: %v", err)
	}
	rsaSign := func(input []byte) []byte {
		sig, err := jwt.SigningMethodRS256.Sign(string(input), rsaKey)
		if err != nil {
			t.Fatalf("RS256 sign: %v", err)
		}
		return sig
	}
	edSign := func(input []byte) []byte { return ed25519.Sign(key.priv, input) }
	noSignature := func([]byte) []byte { return nil }

	tests := []struct {
		name   string
		header map[string]any
		sign   func([]byte) []byte
	}{
		{"none", map[string]any{"alg": "none", "kid": "k1"}, noSignature},
		{"none without kid", map[string]any{"alg": "none"}, noSignature},
		{"HS256 keyed with raw public key", map[string]any{"alg": "HS256", "kid": "k1"}, hmacWith(key.pub)},
		{"HS256 keyed with public key PEM", map[string]any{"alg": "HS256", "kid": "k1"}, hmacWith(pubPEM)},
		{"HS256 without kid", map[string]any{"alg": "HS256"}, hmacWith(key.pub)},
		{"RS256", map[string]any{"alg": "RS256", "kid": "k1"}, rsaSign},
		{"lowercase eddsa", map[string]any{"alg": "eddsa", "kid": "k1"}, edSign},
		{"Ed25519 name", map[string]any{"alg": "Ed25519", "kid": "k1"}, edSign},
		{"missing alg", map[string]any{"kid": "k1"}, edSign},
		{"alg not a string", map[string]any{"alg": 1, "kid": "k1"}, edSign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := craftToken(t, tt.header, validClaims(), tt.sign)

			_, err := v.Verify(token, testMeeting)
			checkRejected(t, token, err, ErrAlgorithm, "algorithm")
		})
	}
}

func TestVerify_RejectsSignatures(t *testing.T) {
	now := testTime
	key := newTestKey(t, "k1")
	other := newTestKey(t, "k2")
	v := newTestVerifier(t, &now, key, other)

	valid := signedToken(t, key, validClaims())
	parts := strings.Split(valid, ".")

	hostClaims := validClaims()
	hostClaims["role"] = "host"
	tamperedPayload := parts[0] + "." + encodeSegment(t, hostClaims) + "." + parts[2]

	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatalf("decode signature: %v", err)
	}
	sig[0] ^= 1
	flippedSignature := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)

	// A token signed by k2's private key but naming k1 must not verify.
	wrongKey := signedToken(t, testKey{kid: "k1", priv: other.priv}, validClaims())

	tests := []struct {
		name   string
		token  string
		want   error
		reason string
	}{
		{"wrong key for kid", wrongKey, ErrSignature, "signature"},
		{"unknown kid", signedToken(t, testKey{kid: "k9", priv: key.priv}, validClaims()), ErrUnknownKey, "unknown_key"},
		{"tampered payload", tamperedPayload, ErrSignature, "signature"},
		{"flipped signature bit", flippedSignature, ErrSignature, "signature"},
		{"empty signature", parts[0] + "." + parts[1] + ".", ErrSignature, "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(tt.token, testMeeting)
			checkRejected(t, tt.token, err, tt.want, tt.reason)
		})
	}
}

func TestVerify_RejectsMalformed(t *testing.T) {
	now := testTime
	key := newTestKey(t, "k1")
	v := newTestVerifier(t, &now, key)

	valid := signedToken(t, key, validClaims())
	parts := strings.Split(valid, ".")
	sign := func(input []byte) []byte { return ed25519.Sign(key.priv, input) }

	expAsString := validClaims()
	expAsString["exp"] = "tomorrow"
	meetingAsNumber := validClaims()
	meetingAsNumber["meeting_id"] = 7

	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"two segments", parts[0] + "." + parts[1]},
		{"four segments", valid + ".x"},
		{"header not base64url", "!!!." + parts[1] + "." + parts[2]},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("nope")) + "." + parts[1] + "." + parts[2]},
		{"padded signature", valid + "="},
		{"oversized", valid + strings.Repeat("A", MaxTokenBytes)},
		{"crit header", craftToken(t, map[string]any{"alg": "EdDSA", "kid": "k1", "crit": []string{"x"}, "x": 1}, validClaims(), sign)},
		{"kid not a string", craftToken(t, map[string]any{"alg": "EdDSA", "kid": 1}, validClaims(), sign)},
		{"empty kid", craftToken(t, map[string]any{"alg": "EdDSA", "kid": ""}, validClaims(), sign)},
		{"exp not a number", signedToken(t, key, expAsString)},
		{"meeting_id not a string", signedToken(t, key, meetingAsNumber)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(tt.token, testMeeting)
			checkRejected(t, tt.token, err, ErrMalformed, "malformed")
		})
	}
}

func TestVerify_TimeWindow(t *testing.T) {
	key := newTestKey(t, "k1")
	exp := testTime.Add(time.Minute)
	nbf := testTime.Add(-time.Minute)

	claims := validClaims()
	claims["exp"] = exp.Unix()
	claims["nbf"] = nbf.Unix()
	token := signedToken(t, key, claims)

	tests := []struct {
		name   string
		skew   time.Duration
		now    time.Time
		want   error
		reason string
	}{
		{"exp just inside skew", 0, exp.Add(DefaultSkew - time.Nanosecond), nil, "ok"},
		{"exp at skew", 0, exp.Add(DefaultSkew), ErrExpired, "expired"},
		{"exp just outside skew", 0, exp.Add(DefaultSkew + time.Second), ErrExpired, "expired"},
		{"nbf just inside skew", 0, nbf.Add(-DefaultSkew), nil, "ok"},
		{"nbf just outside skew", 0, nbf.Add(-DefaultSkew - time.Nanosecond), ErrNotYetValid, "not_yet_valid"},
		{"nbf well before", 0, nbf.Add(-time.Hour), ErrNotYetValid, "not_yet_valid"},
		{"configured skew keeps exp valid", 30 * time.Second, exp.Add(29 * time.Second), nil, "ok"},
		{"configured skew expires", 30 * time.Second, exp.Add(30 * time.Second), ErrExpired, "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(VerifierConfig{
				Keys: map[string]ed25519.PublicKey{key.kid: key.pub},
				Skew: tt.skew,
				Now:  func() time.Time { return tt.now },
			})
			if err != nil {
				t.Fatalf("NewVerifier: %v", err)
			}

			_, err = v.Verify(token, testMeeting)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify at %v: %v, want nil", tt.now, err)
				}
				return
			}
			checkRejected(t, token, err, tt.want, tt.reason)
		})
	}
}

func TestVerify_RejectsClaims(t *testing.T) {
	now := testTime
	key := newTestKey(t, "k1")
	v := newTestVerifier(t, &now, key)

	tests := []struct {
		name    string
		edit    func(map[string]any)
		meeting string
		want    error
		reason  string
	}{
		{"missing exp", func(c map[string]any) { delete(c, "exp") }, testMeeting, ErrMissingExpiry, "missing_expiry"},
		{"another meeting", func(map[string]any) {}, "meeting-2", ErrMeetingMismatch, "meeting_mismatch"},
		{"missing meeting_id", func(c map[string]any) { delete(c, "meeting_id") }, testMeeting, ErrMeetingMismatch, "meeting_mismatch"},
		{"missing meeting_id and empty meeting", func(c map[string]any) { delete(c, "meeting_id") }, "", ErrMeetingMismatch, "meeting_mismatch"},
		{"missing role", func(c map[string]any) { delete(c, "role") }, testMeeting, ErrRole, "role"},
		{"unknown role", func(c map[string]any) { c["role"] = "admin" }, testMeeting, ErrRole, "role"},
		{"role wrong case", func(c map[string]any) { c["role"] = "Host" }, testMeeting, ErrRole, "role"},
		{"missing sub", func(c map[string]any) { delete(c, "sub") }, testMeeting, ErrSubject, "subject"},
		{"empty sub", func(c map[string]any) { c["sub"] = "" }, testMeeting, ErrSubject, "subject"},
		{"sub too long", func(c map[string]any) { c["sub"] = strings.Repeat("u", MaxUserIDBytes+1) }, testMeeting, ErrSubject, "subject"},
		{"wrong audience", func(c map[string]any) { c["aud"] = []string{"other"} }, testMeeting, ErrAudience, "audience"},
		{"missing audience", func(c map[string]any) { delete(c, "aud") }, testMeeting, ErrAudience, "audience"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := validClaims()
			tt.edit(claims)
			token := signedToken(t, key, claims)

			_, err := v.Verify(token, tt.meeting)
			checkRejected(t, token, err, tt.want, tt.reason)
		})
	}
}

func TestVerify_SubjectAtLimit(t *testing.T) {
	now := testTime
	key := newTestKey(t, "k1")
	v := newTestVerifier(t, &now, key)

	claims := validClaims()
	claims["sub"] = strings.Repeat("u", MaxUserIDBytes)

	got, err := v.Verify(signedToken(t, key, claims), testMeeting)
	if err != nil {
		t.Fatalf("Verify with %d-byte sub: %v", MaxUserIDBytes, err)
	}
	if len(got.UserID) != MaxUserIDBytes {
		t.Errorf("len(UserID) = %d, want %d", len(got.UserID), MaxUserIDBytes)
	}
}

func TestVerify_Concurrent(t *testing.T) {
	now := testTime
	key := newTestKey(t, "k1")
	v := newTestVerifier(t, &now, key)
	token := signedToken(t, key, validClaims())

	var wg sync.WaitGroup
	errs := make(chan error, 8*20)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if _, err := v.Verify(token, testMeeting); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)

	for err := range errs {
		t.Errorf("concurrent Verify: %v", err)
	}
}

func TestNewVerifier_RejectsConfig(t *testing.T) {
	key := newTestKey(t, "k1")

	tests := []struct {
		name string
		cfg  VerifierConfig
	}{
		{"no keys", VerifierConfig{}},
		{"empty key ID", VerifierConfig{Keys: map[string]ed25519.PublicKey{"": key.pub}}},
		{"short key", VerifierConfig{Keys: map[string]ed25519.PublicKey{"k1": key.pub[:31]}}},
		{"negative skew", VerifierConfig{Keys: map[string]ed25519.PublicKey{"k1": key.pub}, Skew: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewVerifier(tt.cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("NewVerifier error = %v, want %v", err, ErrInvalidConfig)
			}
		})
	}
}

func TestNewVerifier_CopiesKeys(t *testing.T) {
	now := testTime
	key := newTestKey(t, "k1")
	keys := map[string]ed25519.PublicKey{"k1": key.pub}
	v, err := NewVerifier(VerifierConfig{Keys: keys, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}

	delete(keys, "k1")

	if _, err := v.Verify(signedToken(t, key, validClaims()), testMeeting); err != nil {
		t.Errorf("Verify after caller changed Keys: %v", err)
	}
}

func TestReason_Labels(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{errors.New("boom"), "other"},
		{ErrInvalidToken, "other"},
		{ErrExpired, "expired"},
		{ErrSignature, "signature"},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}

	for _, r := range reasons {
		if !errors.Is(r.err, ErrInvalidToken) {
			t.Errorf("errors.Is(%v, ErrInvalidToken) = false, want true", r.err)
		}
	}
}
