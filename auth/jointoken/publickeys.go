package jointoken

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
)

// jsonWebKey is the subset of an RFC 8037 OKP JSON Web Key used here.
type jsonWebKey struct {
	KeyType   string `json:"kty"`
	Curve     string `json:"crv"`
	X         string `json:"x"`
	KeyID     string `json:"kid,omitempty"`
	Use       string `json:"use,omitempty"`
	Algorithm string `json:"alg,omitempty"`
}

type jsonWebKeySet struct {
	Keys []jsonWebKey `json:"keys"`
}

// LoadPublicKeys reads Ed25519 public keys for [VerifierConfig.Keys] from
// path. The file is either a JWKS JSON document whose keys all have kty
// "OKP", crv "Ed25519" and x as unpadded base64url, or a PEM file with one or
// more "PUBLIC KEY" (PKIX) blocks. A JWK without kid, and every PEM key, gets
// [DeriveKeyID] of the key. Unsupported keys, duplicate key IDs and files
// without keys are rejected, with errors that wrap [ErrKeyFile].
func LoadPublicKeys(path string) (map[string]ed25519.PublicKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open join token public keys: %w", err)
	}
	defer f.Close()

	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read join token public keys %s: %w", path, err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrKeyFile, path, maxKeyFileBytes)
	}

	var keys map[string]ed25519.PublicKey
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		keys, err = parseJWKS(trimmed)
	} else {
		keys, err = parsePublicKeyPEM(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyFile, path, err)
	}
	return keys, nil
}

func parseJWKS(data []byte) (map[string]ed25519.PublicKey, error) {
	var set jsonWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("JWKS has no keys")
	}

	keys := make(map[string]ed25519.PublicKey, len(set.Keys))
	for i, jwk := range set.Keys {
		if jwk.KeyType != "OKP" || jwk.Curve != "Ed25519" {
			return nil, fmt.Errorf("JWKS key %d has kty %q and crv %q, want OKP and Ed25519", i, jwk.KeyType, jwk.Curve)
		}
		if jwk.Algorithm != "" && jwk.Algorithm != algEdDSA {
			return nil, fmt.Errorf("JWKS key %d has alg %q, want %s", i, jwk.Algorithm, algEdDSA)
		}
		if jwk.Use != "" && jwk.Use != "sig" {
			return nil, fmt.Errorf("JWKS key %d has use %q, want sig", i, jwk.Use)
		}

		raw, err := base64.RawURLEncoding.Strict().DecodeString(jwk.X)
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d: x is not unpadded base64url: %w", i, err)
		}
		if len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("JWKS key %d: x is %d bytes, want %d", i, len(raw), ed25519.PublicKeySize)
		}

		if err := addKey(keys, jwk.KeyID, ed25519.PublicKey(raw)); err != nil {
			return nil, fmt.Errorf("JWKS key %d: %w", i, err)
		}
	}
	return keys, nil
}

func parsePublicKeyPEM(data []byte) (map[string]ed25519.PublicKey, error) {
	keys := make(map[string]ed25519.PublicKey)
	for i := 0; ; i++ {
		block, rest := pem.Decode(data)
		if block == nil {
			if len(bytes.TrimSpace(rest)) > 0 {
				return nil, fmt.Errorf("data after PEM block %d is not a PEM block", i)
			}
			break
		}
		data = rest

		if block.Type != pemTypePublicKey {
			return nil, fmt.Errorf("PEM block %d has type %q, want %q", i, block.Type, pemTypePublicKey)
		}
		parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: parse PKIX public key: %w", i, err)
		}
		key, ok := parsed.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("PEM block %d contains a %T, want an Ed25519 public key", i, parsed)
		}
		if err := addKey(keys, "", key); err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", i, err)
		}
	}

	if len(keys) == 0 {
		return nil, fmt.Errorf("no %q PEM block found", pemTypePublicKey)
	}
	return keys, nil
}

// addKey stores key under kid, or under DeriveKeyID(key) when kid is empty.
func addKey(keys map[string]ed25519.PublicKey, kid string, key ed25519.PublicKey) error {
	if kid == "" {
		kid = DeriveKeyID(key)
	}
	if _, exists := keys[kid]; exists {
		return fmt.Errorf("duplicate key ID %q", kid)
	}
	keys[kid] = key
	return nil
}

// EncodePublicKeyPEM returns pub as a "PUBLIC KEY" (PKIX) PEM block, the
// format [LoadPublicKeys] reads.
func EncodePublicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("encode public key: key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemTypePublicKey, Bytes: der}), nil
}

// EncodeJWKS returns keys as an indented JWKS JSON document, sorted by key
// ID, in the format [LoadPublicKeys] reads.
func EncodeJWKS(keys map[string]ed25519.PublicKey) ([]byte, error) {
	set := jsonWebKeySet{Keys: make([]jsonWebKey, 0, len(keys))}
	for _, kid := range slices.Sorted(maps.Keys(keys)) {
		pub := keys[kid]
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("encode JWKS: key %q is %d bytes, want %d", kid, len(pub), ed25519.PublicKeySize)
		}
		set.Keys = append(set.Keys, jsonWebKey{
			KeyType:   "OKP",
			Curve:     "Ed25519",
			X:         base64.RawURLEncoding.EncodeToString(pub),
			KeyID:     kid,
			Use:       "sig",
			Algorithm: algEdDSA,
		})
	}

	data, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	return append(data, '\n'), nil
}
