package store

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/convene/convene/messages/actorv1"
)

// Memory is an in-process Store. It copies snapshots on the way in and out,
// so callers may keep changing theirs.
type Memory struct {
	mu        sync.Mutex
	snapshots map[string]*actorv1.MeetingSnapshot
}

// NewMemory returns an empty in-process store.
func NewMemory() *Memory {
	return &Memory{snapshots: make(map[string]*actorv1.MeetingSnapshot)}
}

// Load implements Store.
func (m *Memory) Load(_ context.Context, meetingID string) (*actorv1.MeetingSnapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	snap, ok := m.snapshots[meetingID]
	if !ok {
		return nil, fmt.Errorf("load meeting %q: %w", meetingID, ErrNotFound)
	}
	return proto.Clone(snap).(*actorv1.MeetingSnapshot), nil
}

// Save implements Store.
func (m *Memory) Save(_ context.Context, snap *actorv1.MeetingSnapshot, expected uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if got := m.generation(snap.GetMeetingId()); got != expected {
		return fmt.Errorf("save meeting %q at generation %d: stored generation is %d, expected %d: %w",
			snap.GetMeetingId(), snap.GetGeneration(), got, expected, ErrConflict)
	}
	m.snapshots[snap.GetMeetingId()] = proto.Clone(snap).(*actorv1.MeetingSnapshot)
	return nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, meetingID string, expected uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	got := m.generation(meetingID)
	if got == 0 {
		return nil
	}
	if got != expected {
		return fmt.Errorf("delete meeting %q: stored generation is %d, expected %d: %w", meetingID, got, expected, ErrConflict)
	}
	delete(m.snapshots, meetingID)
	return nil
}

// Len returns the number of stored snapshots.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.snapshots)
}

func (m *Memory) generation(meetingID string) uint64 {
	if snap, ok := m.snapshots[meetingID]; ok {
		return snap.GetGeneration()
	}
	return 0
}
