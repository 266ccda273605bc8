package config

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateSecretFile_CreatesThenReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, MasterSecretFileName)

	first, err := LoadOrCreateSecretFile(path, MasterSecretBytes)
	if err != nil {
		t.Fatalf("first LoadOrCreateSecretFile: %v", err)
	}
	if len(first) != MasterSecretBytes {
		t.Errorf("secret length: got %d, want %d", len(first), MasterSecretBytes)
	}

	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat secret file: %v", err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("file mode: got %04o, want 0600", got)
	}
	dirInfo, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("stat data directory: %v", err)
	}
	if got := dirInfo.Mode().Perm(); got != 0o700 {
		t.Errorf("directory mode: got %04o, want 0700", got)
	}

	second, err := LoadOrCreateSecretFile(path, MasterSecretBytes)
	if err != nil {
		t.Fatalf("second LoadOrCreateSecretFile: %v", err)
	}
	if !bytes.Equal(first, second) {
		t.Error("second call: got a different secret, want the stored one")
	}
}

func TestLoadOrCreateSecretFile_RejectsGroupReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, bytes.Repeat([]byte{1}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}

	_, err := LoadOrCreateSecretFile(path, 32)

	if !errors.Is(err, ErrSecretFile) {
		t.Fatalf("LoadOrCreateSecretFile: got %v, want an error wrapping ErrSecretFile", err)
	}
	if want := "chmod 600 " + path; !strings.Contains(err.Error(), want) {
		t.Errorf("message: got %q, want it to contain %q", err, want)
	}
}

func TestLoadOrCreateSecretFile_RejectsShortFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}

	_, err := LoadOrCreateSecretFile(path, 32)

	if !errors.Is(err, ErrSecretFile) {
		t.Fatalf("LoadOrCreateSecretFile: got %v, want an error wrapping ErrSecretFile", err)
	}
}

func TestLoadOrCreateSecretFile_KeepsTrailingSpace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	secret := append(bytes.Repeat([]byte{7}, 30), ' ', '\n')
	if err := os.WriteFile(path, secret, 0o600); err != nil {
		t.Fatal(err)
	}

	got, err := LoadOrCreateSecretFile(path, 32)
	if err != nil {
		t.Fatalf("LoadOrCreateSecretFile: %v", err)
	}
	if !bytes.Equal(got, secret) {
		t.Errorf("secret: got %x, want %x", got, secret)
	}
}

func TestLoadOrCreateSecretFile_RejectsDirectory(t *testing.T) {
	path := t.TempDir()

	_, err := LoadOrCreateSecretFile(path, 32)

	if !errors.Is(err, ErrSecretFile) {
		t.Fatalf("LoadOrCreateSecretFile(directory): got %v, want an error wrapping ErrSecretFile", err)
	}
}

func TestLoadOrCreateControlToken_CreatesThenReuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), ControlTokenFileName)

	first, err := LoadOrCreateControlToken(path)
	if err != nil {
		t.Fatalf("first LoadOrCreateControlToken: %v", err)
	}
	if len(first) != 2*ControlTokenRandomBytes {
		t.Errorf("token length: got %d, want %d hex digits", len(first), 2*ControlTokenRandomBytes)
	}
	if _, err := hex.DecodeString(first); err != nil {
		t.Errorf("token %q: got %v, want hex", first, err)
	}

	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat token file: %v", err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("file mode: got %04o, want 0600", got)
	}

	second, err := ReadControlToken(path)
	if err != nil {
		t.Fatalf("ReadControlToken: %v", err)
	}
	if second != first {
		t.Errorf("ReadControlToken: got %q, want the created token %q", second, first)
	}
}

func TestReadControlToken_Errors(t *testing.T) {
	dir := t.TempDir()

	_, err := ReadControlToken(filepath.Join(dir, "missing"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadControlToken(missing): got %v, want fs.ErrNotExist", err)
	}

	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("abc\n\n\n\n\n\n\n\n\n\n\n\n\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = ReadControlToken(short)
	if !errors.Is(err, ErrSecretFile) {
		t.Errorf("ReadControlToken(short token): got %v, want an error wrapping ErrSecretFile", err)
	}
}

func TestResolveControlToken_PrefersValue(t *testing.T) {
	c := Default()
	c.DataDir = t.TempDir()
	c.ControlToken = "0123456789abcdef"

	got, err := c.ResolveControlToken()
	if err != nil {
		t.Fatalf("ResolveControlToken: %v", err)
	}
	if got != c.ControlToken {
		t.Errorf("ResolveControlToken: got %q, want the configured token", got)
	}
	if _, err := os.Stat(c.ControlTokenPath()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("token file: got stat error %v, want no file created", err)
	}
}

func TestResolveControlToken_CreatesFile(t *testing.T) {
	c := Default()
	c.DataDir = t.TempDir()

	got, err := c.ResolveControlToken()
	if err != nil {
		t.Fatalf("ResolveControlToken: %v", err)
	}
	stored, err := ReadControlToken(filepath.Join(c.DataDir, ControlTokenFileName))
	if err != nil {
		t.Fatalf("ReadControlToken: %v", err)
	}
	if got != stored {
		t.Errorf("ResolveControlToken: got %q, want the stored token %q", got, stored)
	}
}
