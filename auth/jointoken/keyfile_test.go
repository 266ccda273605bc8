package jointoken

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreateDevSigner_CreatesAndReuses(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")

	first, err := LoadOrCreateDevSigner(dataDir)
	if err != nil {
		t.Fatalf("first LoadOrCreateDevSigner: %v", err)
	}

	dirInfo, err := os.Stat(dataDir)
	if err != nil {
		t.Fatalf("stat data dir: %v", err)
	}
	if perm := dirInfo.Mode().Perm(); perm != 0o700 {
		t.Errorf("data dir mode = %04o, want 0700", perm)
	}
	keyInfo, err := os.Stat(filepath.Join(dataDir, DevKeyFileName))
	if err != nil {
		t.Fatalf("stat key file: %v", err)
	}
	if perm := keyInfo.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", perm)
	}
	if want := DeriveKeyID(first.PublicKey()); first.KeyID() != want {
		t.Errorf("KeyID = %q, want %q", first.KeyID(), want)
	}

	second, err := LoadOrCreateDevSigner(dataDir)
	if err != nil {
		t.Fatalf("second LoadOrCreateDevSigner: %v", err)
	}
	if !second.PublicKey().Equal(first.PublicKey()) || second.KeyID() != first.KeyID() {
		t.Errorf("second call returned key %s, want reused key %s", second.KeyID(), first.KeyID())
	}

	entries, err := os.ReadDir(dataDir)
	if err != nil {
		t.Fatalf("read data dir: %v", err)
	}
	if len(entries) != 1 {
		t.Errorf("data dir has %d entries, want only %s", len(entries), DevKeyFileName)
	}

	token, err := first.Mint(MintRequest{MeetingID: testMeeting, UserID: "u", Role: RoleHost, Lifetime: time.Minute, Now: testTime})
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	if _, err := verifierFor(t, second, testTime).Verify(token, testMeeting); err != nil {
		t.Errorf("Verify token from first signer with second signer's key: %v", err)
	}
}

func TestLoadOrCreateDevSigner_RejectsOpenPermissions(t *testing.T) {
	dataDir := t.TempDir()
	if _, err := LoadOrCreateDevSigner(dataDir); err != nil {
		t.Fatalf("LoadOrCreateDevSigner: %v", err)
	}
	path := filepath.Join(dataDir, DevKeyFileName)

	for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatalf("chmod %04o: %v", mode, err)
		}

		_, err := LoadOrCreateDevSigner(dataDir)
		if !errors.Is(err, ErrKeyFile) {
			t.Fatalf("mode %04o: error = %v, want %v", mode, err, ErrKeyFile)
		}
		if !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: error %q does not tell the user to chmod 600", mode, err)
		}
	}
}

func TestLoadOrCreateDevSigner_RejectsECDSAKey(t *testing.T) {
	dataDir := t.TempDir()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate ECDSA key: %v", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatalf("marshal ECDSA key: %v", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(filepath.Join(dataDir, DevKeyFileName), data, 0o600); err != nil {
		t.Fatalf("write key file: %v", err)
	}

	_, err = LoadOrCreateDevSigner(dataDir)
	if !errors.Is(err, ErrKeyFile) {
		t.Errorf("error = %v, want %v", err, ErrKeyFile)
	}
}
