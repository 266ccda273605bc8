package actors_test

import (
	"testing"
	"time"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/messages/signalingv1"
)

func TestGrace_ExpiresAfterPeriod(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)
	id := guest.id()
	drop(guest, host)

	h.clock.Advance(29 * time.Second)
	syncAll(host)
	if entry := rosterEntry(h.state(m), id); entry.GetConnectionState() != disconnected {
		t.Fatalf("participant 29 s after the drop: got %v, want still in the roster, DISCONNECTED", entry)
	}
	if n := host.count(isAnyLeftOf(id)); n != 0 {
		t.Fatalf("ParticipantLeft 29 s after the drop: got %d, want 0", n)
	}

	h.clock.Advance(time.Second)
	host.waitFor("ParticipantLeft TIMEOUT", isLeftOf(id, signalingv1.LeaveReason_LEAVE_REASON_TIMEOUT))
	if entry := rosterEntry(h.state(m), id); entry != nil {
		t.Fatalf("participant after the grace period: got %v, want removed", entry)
	}
	if got := h.observer.count("grace_expired"); got != 1 {
		t.Fatalf("grace expiries observed: got %d, want 1", got)
	}
	snap, err := h.store.Load(t.Context(), "m1")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := len(snap.GetParticipants()); got != 1 {
		t.Fatalf("stored participants after the grace period: got %d, want 1", got)
	}
}

func TestGrace_ResumeStopsTimer(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)
	first := guest.joinResponse()
	drop(guest, host)
	if got := h.clock.Pending(); got != 1 {
		t.Fatalf("timers pending after a drop: got %d, want 1", got)
	}

	h.clock.Advance(10 * time.Second)
	resumed := h.resume(m, "u2", jointoken.RoleParticipant, first.GetCorrelationId(), first.GetBindingToken())
	if !resumed.joinResponse().GetResumed() {
		t.Fatal("resume within the grace period: got resumed=false, want true")
	}
	if got := h.clock.Pending(); got != 0 {
		t.Fatalf("timers pending after a resume: got %d, want 0", got)
	}

	h.clock.Advance(time.Minute)
	syncAll(resumed, host)
	if n := host.count(isAnyLeftOf(first.GetParticipantId())); n != 0 {
		t.Fatalf("ParticipantLeft after a resume and the old deadline: got %d, want 0", n)
	}
	if entry := rosterEntry(h.state(m), first.GetParticipantId()); entry.GetConnectionState() != connected {
		t.Fatalf("resumed participant after the old deadline: got %v, want CONNECTED", entry)
	}
}

// The deadline must hold while the meeting keeps handling other messages:
// an idle timer such as a receive timeout would be pushed back by them.
func TestGrace_NotDelayedByTraffic(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	other := h.join(m, "u3", jointoken.RoleParticipant)
	guest := h.join(m, "u2", jointoken.RoleParticipant)
	id := guest.id()
	drop(guest, host)

	for i := 0; i < 3; i++ {
		h.clock.Advance(9 * time.Second)
		other.selfMute(i%2 == 0, false)
		host.waitCount("self-mute updates", i+1, isAnyUpdateOf(other.id()))
	}
	syncAll(host)
	if n := host.count(isAnyLeftOf(id)); n != 0 {
		t.Fatalf("ParticipantLeft 27 s after the drop: got %d, want 0", n)
	}

	h.clock.Advance(3 * time.Second)
	host.waitFor("ParticipantLeft TIMEOUT", isLeftOf(id, signalingv1.LeaveReason_LEAVE_REASON_TIMEOUT))
	other.waitFor("ParticipantLeft TIMEOUT", isLeftOf(id, signalingv1.LeaveReason_LEAVE_REASON_TIMEOUT))
}

func TestLeave_Voluntary(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)
	id := guest.id()

	guest.leave()
	host.waitFor("ParticipantLeft VOLUNTARY", isLeftOf(id, signalingv1.LeaveReason_LEAVE_REASON_VOLUNTARY))
	guest.waitClosed(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_LEFT)
	guest.lastGoodbye(signalingv1.GoodbyeReason_GOODBYE_REASON_LEFT)

	if entry := rosterEntry(h.state(m), id); entry != nil {
		t.Fatalf("participant after leaving: got %v, want removed", entry)
	}
	if n := guest.count(isAnyLeftOf(id)); n != 0 {
		t.Fatalf("ParticipantLeft sent to the leaver: got %d, want 0", n)
	}
	// The session ends after the goodbye; leaving is not a disconnect.
	syncAll(host)
	if n := host.count(isUpdateOf(id, disconnected)); n != 0 {
		t.Fatalf("ParticipantUpdated disconnected after a leave: got %d, want 0", n)
	}
	if got := h.clock.Pending(); got != 0 {
		t.Fatalf("timers pending after a leave: got %d, want 0", got)
	}
}
