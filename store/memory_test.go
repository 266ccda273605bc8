package store

import (
	"context"
	"errors"
	"testing"

	"github.com/convene/convene/messages/actorv1"
)

func TestMemory_SaveCompareAndSet(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()

	if _, err := m.Load(ctx, "m1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load of a missing meeting: got %v, want ErrNotFound", err)
	}
	if err := m.Save(ctx, &actorv1.MeetingSnapshot{MeetingId: "m1", Generation: 1}, 0); err != nil {
		t.Fatalf("first Save: %v", err)
	}
	if err := m.Save(ctx, &actorv1.MeetingSnapshot{MeetingId: "m1", Generation: 2}, 1); err != nil {
		t.Fatalf("Save by generation 2: %v", err)
	}

	// A stale activation still believes generation 1 is stored.
	err := m.Save(ctx, &actorv1.MeetingSnapshot{MeetingId: "m1", Generation: 1, Ended: true}, 1)
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("stale Save: got %v, want ErrConflict", err)
	}
	snap, err := m.Load(ctx, "m1")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if snap.GetGeneration() != 2 || snap.GetEnded() {
		t.Fatalf("stored snapshot after stale save: got generation %d ended %v, want 2 false", snap.GetGeneration(), snap.GetEnded())
	}
}

func TestMemory_LoadReturnsCopy(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	snap := &actorv1.MeetingSnapshot{MeetingId: "m1", Generation: 1}
	if err := m.Save(ctx, snap, 0); err != nil {
		t.Fatal(err)
	}
	snap.Ended = true

	loaded, err := m.Load(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if loaded.GetEnded() {
		t.Fatal("changing the saved value changed the stored snapshot")
	}
}

func TestMemory_DeleteChecksGeneration(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	if err := m.Save(ctx, &actorv1.MeetingSnapshot{MeetingId: "m1", Generation: 3}, 0); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "m1", 2); !errors.Is(err, ErrConflict) {
		t.Fatalf("Delete with a stale generation: got %v, want ErrConflict", err)
	}
	if err := m.Delete(ctx, "m1", 3); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if m.Len() != 0 {
		t.Fatalf("snapshots after Delete: got %d, want 0", m.Len())
	}
	if err := m.Delete(ctx, "m1", 3); err != nil {
		t.Fatalf("Delete of a missing snapshot: %v", err)
	}
}
