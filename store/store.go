package store

import (
	"context"

	"github.com/convene/convene/messages/actorv1"
)

// Store persists one snapshot per meeting id.
type Store interface {
	// Load returns the snapshot of a meeting, or ErrNotFound.
	Load(ctx context.Context, meetingID string) (*actorv1.MeetingSnapshot, error)
	// Save writes snap if the stored generation equals expected (0 when the
	// meeting has no snapshot yet); otherwise it returns ErrConflict and
	// writes nothing.
	Save(ctx context.Context, snap *actorv1.MeetingSnapshot, expected uint64) error
	// Delete removes the snapshot if the stored generation equals expected.
	// Deleting a missing snapshot is not an error.
	Delete(ctx context.Context, meetingID string, expected uint64) error
}
