package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestSelfSigned_Properties(t *testing.T) {
	cert, err := SelfSigned(testNow, 0)
	if err != nil {
		t.Fatalf("SelfSigned: %v", err)
	}
	leaf := cert.Leaf

	if !slices.Equal(leaf.DNSNames, []string{"localhost"}) {
		t.Errorf("DNSNames: got %v, want [localhost]", leaf.DNSNames)
	}
	wantIPs := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
	if len(leaf.IPAddresses) != len(wantIPs) {
		t.Fatalf("IPAddresses: got %v, want %v", leaf.IPAddresses, wantIPs)
	}
	for i, ip := range wantIPs {
		if !leaf.IPAddresses[i].Equal(ip) {
			t.Errorf("IPAddresses[%d]: got %v, want %v", i, leaf.IPAddresses[i], ip)
		}
	}

	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("public key type: got %T, want *ecdsa.PublicKey", leaf.PublicKey)
	}
	if pub.Curve != elliptic.P256() {
		t.Errorf("curve: got %s, want P-256", pub.Curve.Params().Name)
	}
	if _, ok := cert.TLS.PrivateKey.(*ecdsa.PrivateKey); !ok {
		t.Errorf("private key type: got %T, want *ecdsa.PrivateKey", cert.TLS.PrivateKey)
	}

	if got := leaf.NotAfter.Sub(leaf.NotBefore); got != DefaultValidity {
		t.Errorf("total validity: got %s, want %s", got, DefaultValidity)
	}
	if got := leaf.NotAfter.Sub(leaf.NotBefore); got > MaxValidity {
		t.Errorf("total validity: got %s, want at most %s", got, MaxValidity)
	}
	if leaf.NotBefore.After(testNow) {
		t.Errorf("NotBefore: got %s, want at or before %s", leaf.NotBefore, testNow)
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		t.Errorf("ExtKeyUsage: got %v, want server auth", leaf.ExtKeyUsage)
	}
	if cert.TLS.Leaf != leaf {
		t.Error("TLS.Leaf: got a different certificate than Leaf")
	}

	sum := sha256.Sum256(leaf.Raw)
	if cert.SHA256 != sum {
		t.Errorf("SHA256: got %x, want %x", cert.SHA256, sum)
	}
	if got, want := cert.Fingerprint(), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("Fingerprint: got %s, want %s", got, want)
	}

	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:       poolOf(leaf),
		DNSName:     "127.0.0.1",
		CurrentTime: testNow,
	}); err != nil {
		t.Errorf("verify for 127.0.0.1 at now: %v", err)
	}
}

func poolOf(leaf *x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return pool
}

func TestSelfSigned_Validity(t *testing.T) {
	tests := []struct {
		name     string
		validity time.Duration
		wantErr  bool
	}{
		{name: "max accepted", validity: MaxValidity},
		{name: "short accepted", validity: 2 * Backdate},
		{name: "over max rejected", validity: MaxValidity + time.Second, wantErr: true},
		{name: "backdate only rejected", validity: Backdate, wantErr: true},
		{name: "negative rejected", validity: -time.Hour, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := SelfSigned(testNow, tt.validity)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidValidity) {
					t.Fatalf("error: got %v, want ErrInvalidValidity", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("SelfSigned(%s): %v", tt.validity, err)
			}
			if got := cert.Leaf.NotAfter.Sub(cert.Leaf.NotBefore); got != tt.validity {
				t.Errorf("total validity: got %s, want %s", got, tt.validity)
			}
		})
	}
}

func TestLoadOrCreate_CreatesFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")

	cert, err := LoadOrCreate(dir, testNow)
	if err != nil {
		t.Fatalf("LoadOrCreate: %v", err)
	}

	wantModes := map[string]os.FileMode{
		dir:                              0o700,
		filepath.Join(dir, KeyFileName):  0o600,
		filepath.Join(dir, CertFileName): 0o644,
	}
	for path, want := range wantModes {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatalf("stat %s: %v", path, err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("mode of %s: got %04o, want %04o", path, got, want)
		}
	}

	loaded, err := Load(filepath.Join(dir, CertFileName), filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if loaded.SHA256 != cert.SHA256 {
		t.Errorf("loaded fingerprint: got %s, want %s", loaded.Fingerprint(), cert.Fingerprint())
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read dir: %v", err)
	}
	if len(entries) != 2 {
		t.Errorf("files in data dir: got %d, want 2 (no temporary files left)", len(entries))
	}
}

func TestLoadOrCreate_Reuse(t *testing.T) {
	dir := t.TempDir()

	first, err := LoadOrCreate(dir, testNow)
	if err != nil {
		t.Fatalf("first LoadOrCreate: %v", err)
	}
	second, err := LoadOrCreate(dir, testNow.Add(5*24*time.Hour))
	if err != nil {
		t.Fatalf("second LoadOrCreate: %v", err)
	}
	if second.SHA256 != first.SHA256 {
		t.Errorf("fingerprint after reload: got %s, want %s", second.Fingerprint(), first.Fingerprint())
	}
}

func TestLoadOrCreate_Renewal(t *testing.T) {
	first, err := SelfSigned(testNow, 0)
	if err != nil {
		t.Fatalf("SelfSigned: %v", err)
	}
	notAfter := first.Leaf.NotAfter

	tests := []struct {
		name      string
		now       time.Time
		wantRenew bool
	}{
		{name: "just outside renewal window", now: notAfter.Add(-RenewBefore - time.Second)},
		{name: "inside renewal window", now: notAfter.Add(-RenewBefore + time.Second), wantRenew: true},
		{name: "expired", now: notAfter.Add(time.Hour), wantRenew: true},
		{name: "not yet valid", now: first.Leaf.NotBefore.Add(-time.Second), wantRenew: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := store(first, filepath.Join(dir, CertFileName), filepath.Join(dir, KeyFileName)); err != nil {
				t.Fatalf("store: %v", err)
			}

			got, err := LoadOrCreate(dir, tt.now)
			if err != nil {
				t.Fatalf("LoadOrCreate: %v", err)
			}
			renewed := got.SHA256 != first.SHA256
			if renewed != tt.wantRenew {
				t.Fatalf("renewed: got %t, want %t", renewed, tt.wantRenew)
			}
			if !renewed {
				return
			}
			if !got.Leaf.NotAfter.After(tt.now.Add(RenewBefore)) {
				t.Errorf("new NotAfter: got %s, want after %s", got.Leaf.NotAfter, tt.now.Add(RenewBefore))
			}

			reloaded, err := LoadOrCreate(dir, tt.now)
			if err != nil {
				t.Fatalf("reload: %v", err)
			}
			if reloaded.SHA256 != got.SHA256 {
				t.Errorf("fingerprint after reload: got %s, want %s", reloaded.Fingerprint(), got.Fingerprint())
			}
		})
	}
}

func TestLoadOrCreate_InsecureKeyMode(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir, testNow); err != nil {
		t.Fatalf("LoadOrCreate: %v", err)
	}
	keyFile := filepath.Join(dir, KeyFileName)
	if err := os.Chmod(keyFile, 0o640); err != nil {
		t.Fatalf("chmod: %v", err)
	}

	_, err := LoadOrCreate(dir, testNow)
	if !errors.Is(err, ErrInsecureKeyFile) {
		t.Fatalf("error: got %v, want ErrInsecureKeyFile", err)
	}
}

func TestLoadOrCreate_CorruptFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir, testNow); err != nil {
		t.Fatalf("LoadOrCreate: %v", err)
	}
	certFile := filepath.Join(dir, CertFileName)
	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o644); err != nil {
		t.Fatalf("write: %v", err)
	}

	_, err := LoadOrCreate(dir, testNow)
	if !errors.Is(err, ErrInvalidCertificate) {
		t.Fatalf("error: got %v, want ErrInvalidCertificate", err)
	}
	data, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(data) != "not a certificate" {
		t.Error("certificate file: got overwritten, want left unchanged")
	}
}

func TestLoadOrCreate_MissingKey(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir, testNow); err != nil {
		t.Fatalf("LoadOrCreate: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, KeyFileName)); err != nil {
		t.Fatalf("remove: %v", err)
	}

	if _, err := LoadOrCreate(dir, testNow); err == nil {
		t.Fatal("error: got nil, want an error for the missing key file")
	}
}

func TestLoad_MissingFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error: got %v, want os.ErrNotExist", err)
	}
}
