package jointoken

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/convene/convene/internal/privatefile"
)

const (
	// DevKeyFileName is the name of the private key file that
	// [LoadOrCreateDevSigner] keeps in the data directory.
	DevKeyFileName = "join-token-key.pem"

	// maxKeyFileBytes bounds how much of a key file is read. Real key files
	// are a few hundred bytes.
	maxKeyFileBytes = 1 << 20

	pemTypePrivateKey = "PRIVATE KEY"
	pemTypePublicKey  = "PUBLIC KEY"
)

// DeriveKeyID returns the key ID used for pub when none is given: the first
// 16 hex digits of the SHA-256 hash of the raw 32-byte public key.
func DeriveKeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// LoadOrCreateDevSigner returns a [Signer] for development and tests, backed
// by the PKCS#8 PEM file [DevKeyFileName] in dataDir. The first call creates
// dataDir with mode 0700 if it is missing and a new key file with mode 0600.
// Later calls reuse the file. A key file readable or writable by group or
// others is rejected with an error that wraps [ErrKeyFile]. The key ID is
// [DeriveKeyID] of the public key.
func LoadOrCreateDevSigner(dataDir string) (*Signer, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dataDir, err)
	}
	path := filepath.Join(dataDir, DevKeyFileName)

	key, err := readPrivateKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createPrivateKeyFile(path)
	}
	if err != nil {
		return nil, err
	}

	return NewSigner("", key)
}

// readPrivateKeyFile reads an Ed25519 key from a PKCS#8 PEM file that only
// its owner can access. A missing file returns an error that matches
// fs.ErrNotExist.
func readPrivateKeyFile(path string) (ed25519.PrivateKey, error) {
	data, err := privatefile.Read(path, maxKeyFileBytes)
	if errors.Is(err, privatefile.ErrNotPrivate) || errors.Is(err, privatefile.ErrNotRegular) {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read join token key %s: %w", path, err)
	}

	block, _ := pem.Decode(data)
	if block == nil || block.Type != pemTypePrivateKey {
		return nil, fmt.Errorf("%w: %s contains no %q PEM block", ErrKeyFile, path, pemTypePrivateKey)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: parse PKCS#8 key in %s: %v", ErrKeyFile, path, err)
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s contains a %T, want an Ed25519 private key", ErrKeyFile, path, parsed)
	}
	return key, nil
}

// createPrivateKeyFile generates a key and publishes it at path without ever
// exposing a partial file. If another process creates path first, its key is
// read and returned instead.
func createPrivateKeyFile(path string) (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate join token key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode join token key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: pemTypePrivateKey, Bytes: der})

	// os.CreateTemp creates the file with mode 0600.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+DevKeyFileName+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create temporary join token key in %s: %w", filepath.Dir(path), err)
	}
	defer os.Remove(tmp.Name())

	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, fmt.Errorf("write join token key %s: %w", tmp.Name(), err)
	}

	// os.Link fails instead of replacing an existing file, unlike os.Rename.
	err = os.Link(tmp.Name(), path)
	if errors.Is(err, fs.ErrExist) {
		return readPrivateKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("publish join token key %s: %w", path, err)
	}
	return key, nil
}
