// Package privatefile reads files that only their owner may access: the
// node's secrets and private keys.
package privatefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

var (
	// ErrNotPrivate is returned for a file that group or others can access.
	ErrNotPrivate = errors.New("file is accessible by group or others")
	// ErrNotRegular is returned for a directory, device or other non-file.
	ErrNotRegular = errors.New("not a regular file")
)

// Check returns an error unless info describes a regular file that only
// its owner can access. The message names path and the chmod that fixes it.
//
// NOTE: on Windows the permission bits do not reflect ACLs, so the check
// only protects the file on Unix-like systems.
func Check(path string, info fs.FileInfo) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%w: %s", ErrNotRegular, path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o; run chmod 600 %s", ErrNotPrivate, path, perm, path)
	}
	return nil
}

// Read opens path, checks it with Check and returns at most limit bytes of
// it. A missing file returns an error that matches fs.ErrNotExist.
func Read(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := Check(path, info); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(f, limit))
}
