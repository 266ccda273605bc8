package actors_test

import (
	"testing"

	"github.com/convene/convene/auth/binding"
	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/messages/actorv1"
	"github.com/convene/convene/messages/signalingv1"
)

func TestSnapshot_SavedOnJoin(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	reply := h.state(m)
	if got := reply.GetPlacement().GetGeneration(); got != 1 {
		t.Fatalf("generation of a new meeting: got %d, want 1", got)
	}
	c := h.join(m, "u1", jointoken.RoleHost)
	resp := c.joinResponse()

	snap, err := h.store.Load(t.Context(), "m1")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := len(snap.GetParticipants()); got != 1 {
		t.Fatalf("stored participants: got %d, want 1", got)
	}
	rec := snap.GetParticipants()[0]
	if rec.GetParticipantId() != resp.GetParticipantId() || rec.GetUserId() != "u1" || rec.GetCorrelationId() != resp.GetCorrelationId() {
		t.Fatalf("stored participant: got %v, want %s of u1 with correlation %s", rec, resp.GetParticipantId(), resp.GetCorrelationId())
	}
	if got := len(rec.GetBindingNonce()); got != binding.NonceSize {
		t.Fatalf("stored binding nonce: got %d bytes, want %d", got, binding.NonceSize)
	}
	if !rec.GetConnected() || rec.GetRole() != signalingv1.Role_ROLE_HOST {
		t.Fatalf("stored participant: got connected=%v role %v, want true HOST", rec.GetConnected(), rec.GetRole())
	}
}

func TestSnapshot_NewActivationRestores(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host, guest := mutedPair(h, m)
	first := guest.joinResponse()

	// Consume the first token with one resume, so the history has a nonce.
	drop(guest, host)
	resumed := h.resume(m, "u2", jointoken.RoleParticipant, first.GetCorrelationId(), first.GetBindingToken())
	current := resumed.joinResponse()
	if !current.GetResumed() {
		t.Fatal("resume before the restart: got resumed=false, want true")
	}

	if err := h.system.Root.StopFuture(m).Wait(); err != nil {
		t.Fatalf("stop meeting: %v", err)
	}
	if got := h.clock.Pending(); got != 0 {
		t.Fatalf("timers pending after the activation stopped: got %d, want 0", got)
	}

	again := h.spawnMeeting("m1")
	reply := h.activate(again, "m1")
	if reply.GetCreated() {
		t.Fatal("ActivateMeeting of a stored meeting: got created=true, want false")
	}
	if got := reply.GetPlacement().GetGeneration(); got != 2 {
		t.Fatalf("generation of the new activation: got %d, want 2", got)
	}
	state := h.state(again)
	if got := len(state.GetParticipants()); got != 2 {
		t.Fatalf("restored roster: got %d participants, want 2", got)
	}
	for _, p := range state.GetParticipants() {
		if p.GetConnectionState() != disconnected || p.GetDisconnectedUntil() == nil {
			t.Fatalf("restored participant %s: got %v until %v, want DISCONNECTED with a deadline", p.GetParticipantId(), p.GetConnectionState(), p.GetDisconnectedUntil())
		}
	}
	entry := rosterEntry(state, first.GetParticipantId())
	if !entry.GetHostMute().GetAudio() || !entry.GetSelfMute().GetVideo() || entry.GetRole() != signalingv1.Role_ROLE_PARTICIPANT {
		t.Fatalf("restored participant: got %v, want role PARTICIPANT, host-muted audio, self-muted video", entry)
	}

	replay := h.resume(again, "u2", jointoken.RoleParticipant, first.GetCorrelationId(), first.GetBindingToken())
	if got := replay.joinResponse().GetResumeResult(); got != signalingv1.ResumeResult_RESUME_RESULT_REJECTED_REPLAYED {
		t.Fatalf("token consumed before the restart: got %v, want REJECTED_REPLAYED", got)
	}

	ok := h.resume(again, "u2", jointoken.RoleParticipant, first.GetCorrelationId(), current.GetBindingToken())
	resp := ok.joinResponse()
	if !resp.GetResumed() || resp.GetParticipantId() != first.GetParticipantId() {
		t.Fatalf("resume with the current token: got resumed=%v participant %q, want true %q", resp.GetResumed(), resp.GetParticipantId(), first.GetParticipantId())
	}
}

func TestSnapshot_StaleActivationStops(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)

	// A newer activation claims the meeting behind this one's back.
	snap, err := h.store.Load(t.Context(), "m1")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	current := snap.GetGeneration()
	snap.Generation = current + 1
	if err := h.store.Save(t.Context(), snap, current); err != nil {
		t.Fatalf("Save newer generation: %v", err)
	}

	host.hostMute(guest.id(), true, false, "")
	for _, c := range []*client{host, guest} {
		c.waitClosed(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_INTERNAL_ERROR)
		c.lastGoodbye(signalingv1.GoodbyeReason_GOODBYE_REASON_INTERNAL_ERROR)
	}
	h.waitStopped(m)

	stored, err := h.store.Load(t.Context(), "m1")
	if err != nil {
		t.Fatalf("Load after the stale activation stopped: %v", err)
	}
	if got := stored.GetGeneration(); got != current+1 {
		t.Fatalf("stored generation: got %d, want %d", got, current+1)
	}
	for _, p := range stored.GetParticipants() {
		if p.GetHostMute().GetAudio() {
			t.Fatalf("stored participant %s: got host-muted audio from the stale activation, want unchanged", p.GetParticipantId())
		}
	}
	if n := guest.count(isAnyUpdateOf(guest.id())); n != 0 {
		t.Fatalf("ParticipantUpdated from the stale activation: got %d, want 0", n)
	}
}

func TestActivate_Errors(t *testing.T) {
	h := newHarness(t)
	m := h.spawnMeeting("m1")

	reply := request[*actorv1.ActivateMeetingReply](h, m, &actorv1.ActivateMeeting{MeetingId: "m2"})
	if got := reply.GetError().GetCode(); got != actorv1.ActorErrorCode_ACTOR_ERROR_CODE_INVALID_ARGUMENT {
		t.Fatalf("ActivateMeeting with another id: got %v, want INVALID_ARGUMENT", got)
	}

	first := h.activate(m, "m1")
	if !first.GetCreated() {
		t.Fatal("first ActivateMeeting: got created=false, want true")
	}
	second := h.activate(m, "m1")
	if second.GetCreated() || second.GetPlacement().GetGeneration() != first.GetPlacement().GetGeneration() {
		t.Fatalf("second ActivateMeeting: got created=%v generation %d, want false %d", second.GetCreated(), second.GetPlacement().GetGeneration(), first.GetPlacement().GetGeneration())
	}
	if got := second.GetPlacement().GetNodeId(); got != "node-1" {
		t.Fatalf("placement node_id: got %q, want node-1", got)
	}
}
