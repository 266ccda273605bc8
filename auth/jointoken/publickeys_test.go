package jointoken

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func writeTestFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}

func TestLoadPublicKeys_JWKS(t *testing.T) {
	a, b := newTestKey(t, "a"), newTestKey(t, "b")
	data, err := EncodeJWKS(map[string]ed25519.PublicKey{"a": a.pub, "b": b.pub})
	if err != nil {
		t.Fatalf("EncodeJWKS: %v", err)
	}

	keys, err := LoadPublicKeys(writeTestFile(t, "keys.json", data))
	if err != nil {
		t.Fatalf("LoadPublicKeys: %v", err)
	}
	if len(keys) != 2 || !keys["a"].Equal(a.pub) || !keys["b"].Equal(b.pub) {
		t.Errorf("LoadPublicKeys = %v, want keys a and b", keys)
	}
}

func TestLoadPublicKeys_JWKSWithoutKeyID(t *testing.T) {
	key := newTestKey(t, "")
	x := base64.RawURLEncoding.EncodeToString(key.pub)
	data := []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + x + `"}]}`)

	keys, err := LoadPublicKeys(writeTestFile(t, "keys.json", data))
	if err != nil {
		t.Fatalf("LoadPublicKeys: %v", err)
	}
	kid := DeriveKeyID(key.pub)
	if len(keys) != 1 || !keys[kid].Equal(key.pub) {
		t.Errorf("LoadPublicKeys = %v, want one key under derived ID %s", keys, kid)
	}
}

func TestLoadPublicKeys_PEM(t *testing.T) {
	a, b := newTestKey(t, ""), newTestKey(t, "")
	pemA, err := EncodePublicKeyPEM(a.pub)
	if err != nil {
		t.Fatalf("EncodePublicKeyPEM: %v", err)
	}
	pemB, err := EncodePublicKeyPEM(b.pub)
	if err != nil {
		t.Fatalf("EncodePublicKeyPEM: %v", err)
	}

	keys, err := LoadPublicKeys(writeTestFile(t, "keys.pem", append(append(pemA, '\n'), pemB...)))
	if err != nil {
		t.Fatalf("LoadPublicKeys: %v", err)
	}
	kidA, kidB := DeriveKeyID(a.pub), DeriveKeyID(b.pub)
	if len(keys) != 2 || !keys[kidA].Equal(a.pub) || !keys[kidB].Equal(b.pub) {
		t.Errorf("LoadPublicKeys = %v, want keys %s and %s", keys, kidA, kidB)
	}
}

func TestLoadPublicKeys_Rejects(t *testing.T) {
	key := newTestKey(t, "")
	x := base64.RawURLEncoding.EncodeToString(key.pub)
	pemKey, err := EncodePublicKeyPEM(key.pub)
	if err != nil {
		t.Fatalf("EncodePublicKeyPEM: %v", err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate ECDSA key: %v", err)
	}
	ecDER, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatalf("marshal ECDSA key: %v", err)
	}
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER})

	tests := []struct {
		name string
		data string
	}{
		{"empty file", ""},
		{"JWKS without keys", `{"keys":[]}`},
		{"JWKS not JSON", `{"keys":`},
		{"JWKS RSA key", `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`},
		{"JWKS X25519 key", `{"keys":[{"kty":"OKP","crv":"X25519","x":"` + x + `"}]}`},
		{"JWKS wrong alg", `{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"ES256","x":"` + x + `"}]}`},
		{"JWKS encryption use", `{"keys":[{"kty":"OKP","crv":"Ed25519","use":"enc","x":"` + x + `"}]}`},
		{"JWKS padded x", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + x + `="}]}`},
		{"JWKS short x", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]}`},
		{"JWKS duplicate kid", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"` + x + `"},{"kty":"OKP","crv":"Ed25519","kid":"k","x":"` + x + `"}]}`},
		{"PEM private key block", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
		{"PEM ECDSA key", string(ecPEM)},
		{"PEM duplicate key", string(pemKey) + string(pemKey)},
		{"PEM trailing garbage", string(pemKey) + "garbage\n"},
		{"not a key file", "hello\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadPublicKeys(writeTestFile(t, "keys", []byte(tt.data)))
			if !errors.Is(err, ErrKeyFile) {
				t.Errorf("LoadPublicKeys error = %v, want %v", err, ErrKeyFile)
			}
		})
	}
}

func TestLoadPublicKeys_MissingFile(t *testing.T) {
	_, err := LoadPublicKeys(filepath.Join(t.TempDir(), "absent.pem"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadPublicKeys error = %v, want %v", err, os.ErrNotExist)
	}
}
