package privatefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead_ChecksMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}

	data, err := Read(path, 4)
	if err != nil {
		t.Fatalf("Read of a 0600 file: %v", err)
	}
	if string(data) != "0123" {
		t.Fatalf("Read with limit 4: got %q, want %q", data, "0123")
	}

	for _, mode := range []fs.FileMode{0o640, 0o604, 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Read(path, 4)
		if !errors.Is(err, ErrNotPrivate) {
			t.Fatalf("mode %04o: got %v, want ErrNotPrivate", mode, err)
		}
		if !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Fatalf("mode %04o: error %q does not name the fix", mode, err)
		}
	}
}

func TestRead_RejectsDirectoryAndMissing(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(dir, 4); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Read of a directory: got %v, want ErrNotRegular", err)
	}
	if _, err := Read(filepath.Join(dir, "missing"), 4); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read of a missing file: got %v, want fs.ErrNotExist", err)
	}
}
