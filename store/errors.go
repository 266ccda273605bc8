package store

import "errors"

var (
	// ErrNotFound is returned by Load when the meeting has no snapshot.
	ErrNotFound = errors.New("store: snapshot not found")
	// ErrConflict is returned by Save and Delete when the stored generation
	// is not the expected one: another activation owns the meeting.
	ErrConflict = errors.New("store: generation conflict")
)
