package config

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/convene/convene/internal/privatefile"
)

// maxSecretFileBytes bounds how much of a secret file is read. Real secret
// files are well under a kilobyte.
const maxSecretFileBytes = 1 << 20

// LoadOrCreateSecretFile returns the contents of the secret file at path,
// creating it first with size random bytes when it does not exist. A new
// file gets mode 0600 and its parent directory is created with mode 0700.
// An existing file must be a regular file of at least size bytes that group
// and others cannot access. Otherwise the error wraps [ErrSecretFile] and,
// for loose permissions, names the chmod 600 command that fixes them.
func LoadOrCreateSecretFile(path string, size int) ([]byte, error) {
	return loadOrCreate(path, size, func() ([]byte, error) {
		secret := make([]byte, size)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("generate secret for %s: %w", path, err)
		}
		return secret, nil
	})
}

// LoadOrCreateControlToken returns the control token stored at path, with
// surrounding white space removed, creating the file first when it does not
// exist. A new token is [ControlTokenRandomBytes] random bytes as lowercase
// hex followed by a newline, mode 0600. An existing token must have at least
// [MinControlTokenBytes] bytes. Errors are those of
// [LoadOrCreateSecretFile].
func LoadOrCreateControlToken(path string) (string, error) {
	data, err := loadOrCreate(path, MinControlTokenBytes, func() ([]byte, error) {
		random := make([]byte, ControlTokenRandomBytes)
		if _, err := rand.Read(random); err != nil {
			return nil, fmt.Errorf("generate control token for %s: %w", path, err)
		}
		return []byte(hex.EncodeToString(random) + "\n"), nil
	})
	if err != nil {
		return "", err
	}

	return controlToken(path, data)
}

// ReadControlToken returns the control token stored at path, with
// surrounding white space removed, without creating the file. A missing
// file returns an error that matches fs.ErrNotExist. Other errors are those
// of [LoadOrCreateControlToken].
func ReadControlToken(path string) (string, error) {
	data, err := readSecretFile(path, MinControlTokenBytes)
	if err != nil {
		return "", err
	}
	return controlToken(path, data)
}

func controlToken(path string, data []byte) (string, error) {
	token := bytes.TrimSpace(data)
	if len(token) < MinControlTokenBytes {
		return "", fmt.Errorf("%w: %s contains a %d-byte token, want at least %d bytes",
			ErrSecretFile, path, len(token), MinControlTokenBytes)
	}
	return string(token), nil
}

// ReadSecretFile returns the contents of the secret file at path without
// creating it. It applies the checks of [LoadOrCreateSecretFile] with
// minSize as the minimum length. A missing file returns an error that
// matches fs.ErrNotExist.
func ReadSecretFile(path string, minSize int) ([]byte, error) {
	return readSecretFile(path, minSize)
}

// loadOrCreate reads path, or publishes generate's output there when path
// does not exist. If another process creates path first, its file is read.
func loadOrCreate(path string, minSize int, generate func() ([]byte, error)) ([]byte, error) {
	data, err := readSecretFile(path, minSize)
	if !errors.Is(err, fs.ErrNotExist) {
		return data, err
	}

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create directory for secret file: %w", err)
	}
	data, err = generate()
	if err != nil {
		return nil, err
	}

	// os.CreateTemp creates the file with mode 0600, so the secret is never
	// readable by others, and a crash leaves no partial file at path.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create temporary secret file: %w", err)
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
		return nil, fmt.Errorf("write secret file: %w", err)
	}

	// os.Link fails instead of replacing an existing file, unlike os.Rename.
	err = os.Link(tmp.Name(), path)
	if errors.Is(err, fs.ErrExist) {
		return readSecretFile(path, minSize)
	}
	if err != nil {
		return nil, fmt.Errorf("publish secret file: %w", err)
	}
	return data, nil
}

func readSecretFile(path string, minSize int) ([]byte, error) {
	data, err := privatefile.Read(path, maxSecretFileBytes)
	if errors.Is(err, privatefile.ErrNotPrivate) || errors.Is(err, privatefile.ErrNotRegular) {
		return nil, fmt.Errorf("%w: %w", ErrSecretFile, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read secret file: %w", err)
	}
	if len(data) < minSize {
		return nil, fmt.Errorf("%w: %s contains %d bytes, want at least %d", ErrSecretFile, path, len(data), minSize)
	}
	return data, nil
}
