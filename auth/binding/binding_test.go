package binding

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var testTime = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	testMeeting     = "meeting-1"
	testCorrelation = "corr-1"
	testParticipant = "participant-1"
)

// testSecret returns a MinSecretSize-byte secret filled with fill.
func testSecret(fill byte) []byte {
	return bytes.Repeat([]byte{fill}, MinSecretSize)
}

func newTestKeyring(t *testing.T, secret []byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(KeyringConfig{Current: secret})
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func newTestNonce(t *testing.T) Nonce {
	t.Helper()
	n, err := NewNonce()
	if err != nil {
		t.Fatalf("NewNonce: %v", err)
	}
	return n
}

func mustSign(t *testing.T, k *Keyring, meetingID, correlationID, participantID string, nonce Nonce) string {
	t.Helper()
	token, err := k.Sign(meetingID, correlationID, participantID, nonce)
	if err != nil {
		t.Fatalf("Sign(%q, %q, %q): %v", meetingID, correlationID, participantID, err)
	}
	return token
}

func TestSign_Format(t *testing.T) {
	k := newTestKeyring(t, testSecret(1))

	token := mustSign(t, k, testMeeting, testCorrelation, testParticipant, newTestNonce(t))

	if len(token) != TokenLength {
		t.Errorf("len(token) = %d, want %d", len(token), TokenLength)
	}
	if strings.Trim(token, "0123456789abcdef") != "" {
		t.Errorf("token %q contains characters other than lowercase hex", token)
	}
}

func TestVerify_Valid(t *testing.T) {
	k := newTestKeyring(t, testSecret(1))
	nonce := newTestNonce(t)
	token := mustSign(t, k, testMeeting, testCorrelation, testParticipant, nonce)
	b := Binding{CorrelationID: testCorrelation, ParticipantID: testParticipant, Nonce: nonce}

	if err := k.Verify(testMeeting, b, token, testTime); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestVerify_TamperedFields(t *testing.T) {
	k := newTestKeyring(t, testSecret(1))
	nonce := newTestNonce(t)
	token := mustSign(t, k, testMeeting, testCorrelation, testParticipant, nonce)

	otherNonce := nonce
	otherNonce[NonceSize-1] ^= 1

	// Replace the first character with another lowercase hex digit.
	flipped := []byte(token)
	if flipped[0] == '0' {
		flipped[0] = '1'
	} else {
		flipped[0] = '0'
	}

	tests := []struct {
		name    string
		meeting string
		binding Binding
		token   string
	}{
		{"meeting ID", "meeting-2", Binding{CorrelationID: testCorrelation, ParticipantID: testParticipant, Nonce: nonce}, token},
		{"correlation ID", testMeeting, Binding{CorrelationID: "corr-2", ParticipantID: testParticipant, Nonce: nonce}, token},
		{"participant ID", testMeeting, Binding{CorrelationID: testCorrelation, ParticipantID: "participant-2", Nonce: nonce}, token},
		{"nonce", testMeeting, Binding{CorrelationID: testCorrelation, ParticipantID: testParticipant, Nonce: otherNonce}, token},
		{"token hex digit", testMeeting, Binding{CorrelationID: testCorrelation, ParticipantID: testParticipant, Nonce: nonce}, string(flipped)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := k.Verify(tt.meeting, tt.binding, tt.token, testTime)
			if !errors.Is(err, ErrInvalidBinding) {
				t.Errorf("Verify error = %v, want %v", err, ErrInvalidBinding)
			}
		})
	}
}

func TestVerify_FieldBoundaries(t *testing.T) {
	k := newTestKeyring(t, testSecret(1))
	nonce := newTestNonce(t)

	tests := []struct {
		name                   string
		signCorr, signPart     string
		verifyCorr, verifyPart string
	}{
		{"ab+c vs a+bc", "ab", "c", "a", "bc"},
		{"a+bc vs ab+c", "a", "bc", "ab", "c"},
		// These inputs collide if the correlation ID alone lacks its length
		// prefix: both become "a", 0x00000005, 0x00000001, "c".
		{"correlation ID prefix", "a\x00\x00\x00\x05", "c", "a", "\x00\x00\x00\x01c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := mustSign(t, k, testMeeting, tt.signCorr, tt.signPart, nonce)
			other := mustSign(t, k, testMeeting, tt.verifyCorr, tt.verifyPart, nonce)
			if token == other {
				t.Fatalf("tokens for %q+%q and %q+%q are equal", tt.signCorr, tt.signPart, tt.verifyCorr, tt.verifyPart)
			}

			b := Binding{CorrelationID: tt.verifyCorr, ParticipantID: tt.verifyPart, Nonce: nonce}
			if err := k.Verify(testMeeting, b, token, testTime); !errors.Is(err, ErrInvalidBinding) {
				t.Errorf("Verify error = %v, want %v", err, ErrInvalidBinding)
			}
		})
	}
}

func TestVerify_Expiry(t *testing.T) {
	k := newTestKeyring(t, testSecret(1))
	nonce := newTestNonce(t)
	token := mustSign(t, k, testMeeting, testCorrelation, testParticipant, nonce)
	validUntil := testTime.Add(30 * time.Second)

	tests := []struct {
		name       string
		validUntil time.Time
		now        time.Time
		want       error
	}{
		{"just before", validUntil, validUntil.Add(-time.Nanosecond), nil},
		{"at deadline", validUntil, validUntil, nil},
		{"just after", validUntil, validUntil.Add(time.Nanosecond), ErrExpired},
		{"zero means no expiry", time.Time{}, testTime.Add(1000 * time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Binding{CorrelationID: testCorrelation, ParticipantID: testParticipant, Nonce: nonce, ValidUntil: tt.validUntil}

			err := k.Verify(testMeeting, b, token, tt.now)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify at %v with ValidUntil %v: %v, want %v", tt.now, tt.validUntil, err, tt.want)
			}
		})
	}
}

func TestVerify_Replayed(t *testing.T) {
	k := newTestKeyring(t, testSecret(1))
	used := newTestNonce(t)
	current := newTestNonce(t)
	usedToken := mustSign(t, k, testMeeting, testCorrelation, testParticipant, used)
	currentToken := mustSign(t, k, testMeeting, testCorrelation, testParticipant, current)
	b := Binding{
		CorrelationID: testCorrelation,
		ParticipantID: testParticipant,
		Nonce:         current,
		Consumed:      []Nonce{newTestNonce(t), used},
	}

	if err := k.Verify(testMeeting, b, usedToken, testTime); !errors.Is(err, ErrReplayed) {
		t.Errorf("Verify consumed token: %v, want %v", err, ErrReplayed)
	}
	if err := k.Verify(testMeeting, b, currentToken, testTime); err != nil {
		t.Errorf("Verify current token: %v, want nil", err)
	}

	// A nonce the server has consumed stays rejected even if it is also
	// left as the current nonce.
	b.Nonce = used
	if err := k.Verify(testMeeting, b, usedToken, testTime); !errors.Is(err, ErrReplayed) {
		t.Errorf("Verify consumed token that is also current: %v, want %v", err, ErrReplayed)
	}
}

func TestKeyring_Rotation(t *testing.T) {
	old := newTestKeyring(t, testSecret(1))
	rotatedAt := testTime
	rotated, err := old.Rotate(testSecret(2), rotatedAt, 0)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	deadline := rotatedAt.Add(DefaultRotationWindow)

	nonce := newTestNonce(t)
	b := Binding{CorrelationID: testCorrelation, ParticipantID: testParticipant, Nonce: nonce}
	oldToken := mustSign(t, old, testMeeting, testCorrelation, testParticipant, nonce)
	newToken := mustSign(t, rotated, testMeeting, testCorrelation, testParticipant, nonce)
	if oldToken == newToken {
		t.Fatalf("tokens before and after rotation are equal")
	}

	tests := []struct {
		name  string
		token string
		now   time.Time
		want  error
	}{
		{"old secret inside window", oldToken, deadline.Add(-time.Nanosecond), nil},
		{"old secret at deadline", oldToken, deadline, ErrInvalidBinding},
		{"old secret after window", oldToken, deadline.Add(time.Minute), ErrInvalidBinding},
		{"new secret inside window", newToken, rotatedAt, nil},
		{"new secret after window", newToken, deadline.Add(time.Minute), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rotated.Verify(testMeeting, b, tt.token, tt.now)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify at %v: %v, want %v", tt.now, err, tt.want)
			}
		})
	}

	if err := old.Verify(testMeeting, b, newToken, rotatedAt); !errors.Is(err, ErrInvalidBinding) {
		t.Errorf("old keyring Verify new token: %v, want %v", err, ErrInvalidBinding)
	}
}

func TestKeyring_RotationDropsOlderSecret(t *testing.T) {
	first := newTestKeyring(t, testSecret(1))
	second, err := first.Rotate(testSecret(2), testTime, time.Hour)
	if err != nil {
		t.Fatalf("first Rotate: %v", err)
	}
	third, err := second.Rotate(testSecret(3), testTime, time.Hour)
	if err != nil {
		t.Fatalf("second Rotate: %v", err)
	}

	nonce := newTestNonce(t)
	b := Binding{CorrelationID: testCorrelation, ParticipantID: testParticipant, Nonce: nonce}
	firstToken := mustSign(t, first, testMeeting, testCorrelation, testParticipant, nonce)
	secondToken := mustSign(t, second, testMeeting, testCorrelation, testParticipant, nonce)

	if err := third.Verify(testMeeting, b, secondToken, testTime); err != nil {
		t.Errorf("Verify token of previous secret: %v, want nil", err)
	}
	if err := third.Verify(testMeeting, b, firstToken, testTime); !errors.Is(err, ErrInvalidBinding) {
		t.Errorf("Verify token of secret two rotations back: %v, want %v", err, ErrInvalidBinding)
	}
}

func TestKeyring_PreviousFromConfig(t *testing.T) {
	validUntil := testTime.Add(time.Minute)
	k, err := NewKeyring(KeyringConfig{Current: testSecret(2), Previous: testSecret(1), PreviousValidUntil: validUntil})
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	nonce := newTestNonce(t)
	b := Binding{CorrelationID: testCorrelation, ParticipantID: testParticipant, Nonce: nonce}
	oldToken := mustSign(t, newTestKeyring(t, testSecret(1)), testMeeting, testCorrelation, testParticipant, nonce)

	if err := k.Verify(testMeeting, b, oldToken, testTime); err != nil {
		t.Errorf("Verify before PreviousValidUntil: %v, want nil", err)
	}
	if err := k.Verify(testMeeting, b, oldToken, validUntil); !errors.Is(err, ErrInvalidBinding) {
		t.Errorf("Verify at PreviousValidUntil: %v, want %v", err, ErrInvalidBinding)
	}
}

func TestNewKeyring_RejectsConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  KeyringConfig
	}{
		{"missing current", KeyringConfig{}},
		{"short current", KeyringConfig{Current: testSecret(1)[:MinSecretSize-1]}},
		{"short previous", KeyringConfig{Current: testSecret(1), Previous: testSecret(2)[:MinSecretSize-1], PreviousValidUntil: testTime}},
		{"previous without deadline", KeyringConfig{Current: testSecret(1), Previous: testSecret(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewKeyring(tt.cfg); !errors.Is(err, ErrInvalidSecret) {
				t.Errorf("NewKeyring error = %v, want %v", err, ErrInvalidSecret)
			}
		})
	}
}

func TestKeyring_RotateRejects(t *testing.T) {
	k := newTestKeyring(t, testSecret(1))

	if _, err := k.Rotate(testSecret(2)[:MinSecretSize-1], testTime, time.Hour); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("Rotate with short secret: %v, want %v", err, ErrInvalidSecret)
	}
	if _, err := k.Rotate(testSecret(2), testTime, -time.Second); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("Rotate with negative window: %v, want %v", err, ErrInvalidSecret)
	}
}

func TestNewKeyring_CopiesSecret(t *testing.T) {
	secret := testSecret(1)
	k := newTestKeyring(t, secret)
	nonce := newTestNonce(t)
	token := mustSign(t, k, testMeeting, testCorrelation, testParticipant, nonce)

	secret[0] ^= 0xff

	b := Binding{CorrelationID: testCorrelation, ParticipantID: testParticipant, Nonce: nonce}
	if err := k.Verify(testMeeting, b, token, testTime); err != nil {
		t.Errorf("Verify after caller changed secret: %v", err)
	}
}

func TestValidateMeetingID(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		wantErr bool
	}{
		{"empty", "", true},
		{"max length", strings.Repeat("m", MaxMeetingIDBytes), false},
		{"over max length", strings.Repeat("m", MaxMeetingIDBytes+1), true},
		{"trailing NUL", "m\x00", true},
		{"newline", "a\nb", true},
		{"DEL", "a\x7fb", true},
		{"C1 control", "a\u0085b", true},
		{"invalid UTF-8", "m\xff", true},
		{"plain", "meeting-1", false},
		{"non-ASCII", "réunion", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateMeetingID(tt.id)
			if tt.wantErr && !errors.Is(err, ErrInvalidMeetingID) {
				t.Errorf("ValidateMeetingID(%q) = %v, want %v", tt.id, err, ErrInvalidMeetingID)
			}
			if !tt.wantErr && err != nil {
				t.Errorf("ValidateMeetingID(%q) = %v, want nil", tt.id, err)
			}
		})
	}
}

// TestKeyring_RejectsPaddedMeetingID covers the HKDF salt padding: without
// validation, "m" and "m\x00" derive the same key, so a token for one would
// verify for the other.
func TestKeyring_RejectsPaddedMeetingID(t *testing.T) {
	if !bytes.Equal(meetingKey(testSecret(1), "m"), meetingKey(testSecret(1), "m\x00")) {
		t.Fatalf("HKDF keys for %q and %q differ, so this test no longer covers salt padding", "m", "m\x00")
	}

	k := newTestKeyring(t, testSecret(1))
	nonce := newTestNonce(t)
	token := mustSign(t, k, "m", testCorrelation, testParticipant, nonce)
	b := Binding{CorrelationID: testCorrelation, ParticipantID: testParticipant, Nonce: nonce}

	if _, err := k.Sign("m\x00", testCorrelation, testParticipant, nonce); !errors.Is(err, ErrInvalidMeetingID) {
		t.Errorf("Sign for %q: %v, want %v", "m\x00", err, ErrInvalidMeetingID)
	}
	if err := k.Verify("m\x00", b, token, testTime); !errors.Is(err, ErrInvalidMeetingID) {
		t.Errorf("Verify for %q: %v, want %v", "m\x00", err, ErrInvalidMeetingID)
	}
}

func TestKeyring_RejectsInvalidInputs(t *testing.T) {
	k := newTestKeyring(t, testSecret(1))
	nonce := newTestNonce(t)
	token := mustSign(t, k, testMeeting, testCorrelation, testParticipant, nonce)

	tests := []struct {
		name                  string
		meeting, corr, partic string
		want                  error
	}{
		{"invalid meeting", "a\nb", testCorrelation, testParticipant, ErrInvalidMeetingID},
		{"empty correlation", testMeeting, "", testParticipant, ErrInvalidID},
		{"empty participant", testMeeting, testCorrelation, "", ErrInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := k.Sign(tt.meeting, tt.corr, tt.partic, nonce); !errors.Is(err, tt.want) {
				t.Errorf("Sign: %v, want %v", err, tt.want)
			}
			b := Binding{CorrelationID: tt.corr, ParticipantID: tt.partic, Nonce: nonce}
			if err := k.Verify(tt.meeting, b, token, testTime); !errors.Is(err, tt.want) {
				t.Errorf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerify_MalformedToken(t *testing.T) {
	k := newTestKeyring(t, testSecret(1))
	nonce := newTestNonce(t)
	token := mustSign(t, k, testMeeting, testCorrelation, testParticipant, nonce)
	b := Binding{CorrelationID: testCorrelation, ParticipantID: testParticipant, Nonce: nonce}

	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"one short", token[:TokenLength-1]},
		{"one long", token + "0"},
		{"uppercase", strings.ToUpper(token)},
		{"non-hex", "g" + token[1:]},
		{"space", " " + token[1:]},
		{"multibyte", "é" + token[2:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := k.Verify(testMeeting, b, tt.token, testTime); !errors.Is(err, ErrMalformedToken) {
				t.Errorf("Verify(%q) = %v, want %v", tt.token, err, ErrMalformedToken)
			}
		})
	}
}

func TestNewNonce_Distinct(t *testing.T) {
	a, b := newTestNonce(t), newTestNonce(t)
	if a == b {
		t.Errorf("two NewNonce calls returned the same nonce %x", a)
	}
}

func BenchmarkKeyring_Sign(b *testing.B) {
	k, err := NewKeyring(KeyringConfig{Current: testSecret(1)})
	if err != nil {
		b.Fatalf("NewKeyring: %v", err)
	}
	nonce, err := NewNonce()
	if err != nil {
		b.Fatalf("NewNonce: %v", err)
	}

	for b.Loop() {
		if _, err := k.Sign(testMeeting, testCorrelation, testParticipant, nonce); err != nil {
			b.Fatalf("Sign: %v", err)
		}
	}
}

func BenchmarkKeyring_Verify(b *testing.B) {
	k, err := NewKeyring(KeyringConfig{Current: testSecret(1)})
	if err != nil {
		b.Fatalf("NewKeyring: %v", err)
	}
	nonce, err := NewNonce()
	if err != nil {
		b.Fatalf("NewNonce: %v", err)
	}
	token, err := k.Sign(testMeeting, testCorrelation, testParticipant, nonce)
	if err != nil {
		b.Fatalf("Sign: %v", err)
	}
	binding := Binding{
		CorrelationID: testCorrelation,
		ParticipantID: testParticipant,
		Nonce:         nonce,
		Consumed:      make([]Nonce, 4),
	}

	for b.Loop() {
		if err := k.Verify(testMeeting, binding, token, testTime); err != nil {
			b.Fatalf("Verify: %v", err)
		}
	}
}
