package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/auth/jointoken"
)

// tokenClaims is the JWT payload as minted by jointoken, decoded without
// verifying the signature.
type tokenClaims struct {
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	MeetingID string   `json:"meeting_id"`
	Role      string   `json:"role"`
}

// decodeClaims returns the payload of a compact JWT.
func decodeClaims(t *testing.T, token string) tokenClaims {
	t.Helper()

	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q: got %d segments, want 3", token, len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}

	var claims tokenClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("parse payload %s: %v", payload, err)
	}
	return claims
}

func fixedNow() time.Time {
	return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
}

func TestToken_MintsClaims(t *testing.T) {
	dataDir := devDataDir(t)
	var stdout bytes.Buffer

	err := mintToken([]string{
		"--meeting", "m-1", "--user", "alice", "--role", "host",
		"--ttl", "10m", "--audience", "staging", "--data-dir", dataDir,
	}, &stdout, envMap(nil), fixedNow)
	if err != nil {
		t.Fatalf("mintToken: %v", err)
	}

	claims := decodeClaims(t, strings.TrimSuffix(stdout.String(), "\n"))
	if claims.MeetingID != "m-1" {
		t.Errorf("meeting_id: got %q, want m-1", claims.MeetingID)
	}
	if claims.Subject != "alice" {
		t.Errorf("sub: got %q, want alice", claims.Subject)
	}
	if claims.Role != "host" {
		t.Errorf("role: got %q, want host", claims.Role)
	}
	if !slices.Equal(claims.Audience, []string{"staging"}) {
		t.Errorf("aud: got %q, want [staging]", claims.Audience)
	}
	if claims.IssuedAt != fixedNow().Unix() {
		t.Errorf("iat: got %d, want %d", claims.IssuedAt, fixedNow().Unix())
	}
	if got, want := claims.ExpiresAt-claims.IssuedAt, int64(600); got != want {
		t.Errorf("exp - iat: got %d s, want %d s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dataDir, jointoken.DevKeyFileName)); err != nil {
		t.Errorf("dev key file: got %v, want it created in the data directory", err)
	}
}

func TestToken_DefaultsAndEnv(t *testing.T) {
	dataDir := devDataDir(t)
	env := envMap(map[string]string{
		"CONVENE_DATA_DIR":            dataDir,
		"CONVENE_JOIN_TOKEN_AUDIENCE": "from-env",
	})
	var stdout bytes.Buffer

	err := mintToken([]string{"--meeting", "m-2", "--user", "bob"}, &stdout, env, fixedNow)
	if err != nil {
		t.Fatalf("mintToken: %v", err)
	}

	claims := decodeClaims(t, strings.TrimSpace(stdout.String()))
	if claims.Role != "participant" {
		t.Errorf("role: got %q, want the default participant", claims.Role)
	}
	if !slices.Equal(claims.Audience, []string{"from-env"}) {
		t.Errorf("aud: got %q, want [from-env] from CONVENE_JOIN_TOKEN_AUDIENCE", claims.Audience)
	}
	if got, want := claims.ExpiresAt-claims.IssuedAt, int64(3600); got != want {
		t.Errorf("exp - iat: got %d s, want the default %d s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dataDir, jointoken.DevKeyFileName)); err != nil {
		t.Errorf("dev key file: got %v, want it created in CONVENE_DATA_DIR", err)
	}
}

func TestToken_UsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantMsg string
	}{
		{"missing meeting", []string{"--user", "u"}, "missing --meeting"},
		{"missing user", []string{"--meeting", "m"}, "missing --user"},
		{"bad role", []string{"--meeting", "m", "--user", "u", "--role", "admin"}, `invalid --role "admin"`},
		{"zero ttl", []string{"--meeting", "m", "--user", "u", "--ttl", "0s"}, "invalid --ttl 0s"},
		{"bad ttl", []string{"--meeting", "m", "--user", "u", "--ttl", "soon"}, "-ttl"},
		{"user too long", []string{"--meeting", "m", "--user", strings.Repeat("u", 300)}, "UserID is 300 bytes"},
		{"extra argument", []string{"--meeting", "m", "--user", "u", "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--data-dir", devDataDir(t)}, tt.args...)
			var stdout bytes.Buffer

			err := mintToken(args, &stdout, envMap(nil), fixedNow)

			var usageErr *usageError
			if !errors.As(err, &usageErr) {
				t.Fatalf("mintToken: got %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("message: got %q, want it to contain %q", err, tt.wantMsg)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout: got %q, want nothing", stdout.String())
			}
		})
	}
}

// devDataDir returns a data directory holding a dev join-token key, as a
// node leaves it on first start.
func devDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := jointoken.LoadOrCreateDevSigner(dir); err != nil {
		t.Fatalf("create dev key: %v", err)
	}
	return dir
}

func TestToken_MissingKeyRejected(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"token", "--data-dir", dir, "--meeting", "m1", "--user", "u1"}, &stdout, &stderr)
	if code != exitFailure {
		t.Fatalf("exit code: got %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr.String(), "no dev join-token key") {
		t.Fatalf("stderr: got %q, want it to name the missing key", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, jointoken.DevKeyFileName)); !os.IsNotExist(err) {
		t.Fatalf("token created a key in %s", dir)
	}
}
