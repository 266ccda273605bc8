package actors_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/messages/actorv1"
	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/store"
)

// generation returns the fencing generation stored for meetingID.
func (h *harness) generation(meetingID string) uint64 {
	h.t.Helper()
	snap, err := h.store.Load(h.t.Context(), meetingID)
	if err != nil {
		h.t.Fatalf("Load %q: %v", meetingID, err)
	}
	return snap.GetGeneration()
}

// waitGeneration waits until the stored generation of meetingID is want.
func (h *harness) waitGeneration(meetingID string, want uint64) {
	h.t.Helper()
	eventually(h.t, func() (bool, string) {
		snap, err := h.store.Load(h.t.Context(), meetingID)
		if err != nil {
			return false, fmt.Sprintf("Load %q: %v", meetingID, err)
		}
		return snap.GetGeneration() == want, fmt.Sprintf("generation of %q: got %d, want %d", meetingID, snap.GetGeneration(), want)
	})
}

// waitObserved waits until the observer counted key want times.
func (h *harness) waitObserved(key string, want int) {
	h.t.Helper()
	eventually(h.t, func() (bool, string) {
		got := h.observer.count(key)
		return got == want, fmt.Sprintf("observed %s: got %d, want %d", key, got, want)
	})
}

// joinMeeting joins user to meetingID, whose Meeting is pid, and waits for
// the JoinResponse. join and claimsFor are fixed to meeting "m1".
func (h *harness) joinMeeting(pid *actor.PID, meetingID, user string, role jointoken.Role) *client {
	h.t.Helper()
	claims := jointoken.Claims{UserID: jointoken.UserID(user), MeetingID: meetingID, Role: role}
	c := h.attach(pid, claims, &signalingv1.JoinRequest{MeetingId: meetingID, DisplayName: "name " + user})
	c.joinResponse()
	return c
}

// isAnyGoodbye matches a Goodbye of any reason.
func isAnyGoodbye(m *signalingv1.ServerMessage) bool { return m.GetGoodbye() != nil }

func TestSupervision_ConnectionPanic(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host, guest := mutedPair(h, m)
	first := guest.joinResponse()
	generation := h.generation("m1")

	h.system.Root.Send(m, &actors.InjectPanic{Reason: "test", Participant: actors.ParticipantID(first.GetParticipantId())})

	guest.waitClosed(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_INTERNAL_ERROR)
	guest.lastGoodbye(signalingv1.GoodbyeReason_GOODBYE_REASON_INTERNAL_ERROR)
	update := host.waitFor("ParticipantUpdated disconnected", isUpdateOf(first.GetParticipantId(), disconnected)).
		GetParticipantUpdated().GetParticipant()
	wantUntil := h.start.Add(actors.DefaultGracePeriod)
	if got := update.GetDisconnectedUntil().AsTime(); !got.Equal(wantUntil) {
		t.Fatalf("disconnected_until after a connection panic: got %v, want %v", got, wantUntil)
	}
	entry := rosterEntry(h.state(m), first.GetParticipantId())
	if entry.GetConnectionState() != disconnected {
		t.Fatalf("participant after its connection panicked: got %v, want DISCONNECTED", entry.GetConnectionState())
	}
	if got := h.clock.Pending(); got != 1 {
		t.Fatalf("grace timers pending after a connection panic: got %d, want 1", got)
	}
	if !host.isOpen() {
		t.Fatal("other session after a connection panic: got closed, want open")
	}
	if n := host.count(isAnyGoodbye); n != 0 {
		t.Fatalf("goodbyes to the other client: got %d, want 0", n)
	}

	resumed := h.resume(m, "u2", jointoken.RoleParticipant, first.GetCorrelationId(), first.GetBindingToken())
	resp := resumed.joinResponse()
	if !resp.GetResumed() || resp.GetResumeResult() != signalingv1.ResumeResult_RESUME_RESULT_RESUMED {
		t.Fatalf("resume after a connection panic: got resumed=%v result %v, want true RESUMED", resp.GetResumed(), resp.GetResumeResult())
	}
	if resp.GetParticipantId() != first.GetParticipantId() {
		t.Fatalf("resumed participant_id: got %q, want %q", resp.GetParticipantId(), first.GetParticipantId())
	}
	self := rosterEntry(h.state(m), first.GetParticipantId())
	if !proto.Equal(self.GetSelfMute(), mute(false, true)) {
		t.Fatalf("resumed self_mute: got %v, want video only", self.GetSelfMute())
	}
	if !proto.Equal(self.GetHostMute(), mute(true, false)) || self.GetHostMutedBy() != host.id() {
		t.Fatalf("resumed host_mute: got %v by %q, want audio only by %q", self.GetHostMute(), self.GetHostMutedBy(), host.id())
	}
	if self.GetConnectionState() != connected {
		t.Fatalf("resumed participant: got %v, want CONNECTED", self.GetConnectionState())
	}
	host.waitFor("ParticipantUpdated connected", isUpdateOf(first.GetParticipantId(), connected))

	if got := h.generation("m1"); got != generation {
		t.Fatalf("generation after a connection panic: got %d, want %d (the meeting must not restart)", got, generation)
	}
	if got := h.observer.count("panicked/connection"); got != 1 {
		t.Fatalf("connection panics observed: got %d, want 1", got)
	}
	if got := h.observer.count("panicked/meeting"); got != 0 {
		t.Fatalf("meeting panics observed: got %d, want 0", got)
	}
	if got := h.observer.count("restarted/meeting"); got != 0 {
		t.Fatalf("meeting restarts observed: got %d, want 0", got)
	}
}

func TestSupervision_MeetingPanicKeepsState(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	other := h.startMeeting("m2")
	bystander := h.joinMeeting(other, "m2", "u9", jointoken.RoleHost)
	host, guest := mutedPair(h, m)

	// resumer consumed the nonce of its first binding token.
	resumer := h.join(m, "u4", jointoken.RoleParticipant)
	firstBinding := resumer.joinResponse()
	drop(resumer, host)
	resumer = h.resume(m, "u4", jointoken.RoleParticipant, firstBinding.GetCorrelationId(), firstBinding.GetBindingToken())
	if got := resumer.joinResponse().GetResumeResult(); got != signalingv1.ResumeResult_RESUME_RESULT_RESUMED {
		t.Fatalf("resume before the panic: got %v, want RESUMED", got)
	}

	// away drops at the start time, so its deadline is start + 30 s.
	away := h.join(m, "u3", jointoken.RoleParticipant)
	awayID := away.id()
	drop(away, host)
	h.clock.Advance(10 * time.Second)

	connectedClients := []*client{host, guest, resumer}
	syncAll(append(connectedClients, bystander)...)
	before := h.state(m).GetParticipants()
	generation := h.generation("m1")
	otherGeneration := h.generation("m2")
	bystanderFrames := len(bystander.stream.messages())

	h.system.Root.Send(m, &actors.InjectPanic{Reason: "test"})
	h.waitObserved("restarted/meeting", 1)
	h.waitGeneration("m1", generation+1)

	after := h.state(m).GetParticipants()
	if len(after) != len(before) {
		t.Fatalf("roster size after the restart: got %d, want %d", len(after), len(before))
	}
	seen := make(map[string]bool)
	for i := range before {
		if !proto.Equal(after[i], before[i]) {
			t.Fatalf("roster entry %d after the restart:\ngot  %v\nwant %v", i, after[i], before[i])
		}
		if seen[after[i].GetParticipantId()] {
			t.Fatalf("roster after the restart lists %q twice", after[i].GetParticipantId())
		}
		seen[after[i].GetParticipantId()] = true
	}

	// The sessions stay attached and keep working.
	for i, c := range connectedClients {
		if !c.isOpen() {
			t.Fatalf("client %d after the meeting restart: got closed, want open", i)
		}
	}
	guest.selfMute(true, true)
	for i, c := range connectedClients {
		c.waitFor(fmt.Sprintf("client %d: guest self-mute after the restart", i), muteUpdate(guest.id(), mute(true, true), mute(true, false)))
	}
	syncAll(connectedClients...)
	for i, c := range connectedClients {
		if n := c.count(isAnyGoodbye); n != 0 {
			t.Fatalf("client %d: goodbyes after the meeting restart: got %d, want 0", i, n)
		}
	}

	// The consumed nonce stays consumed.
	replay := h.resume(m, "u4", jointoken.RoleParticipant, firstBinding.GetCorrelationId(), firstBinding.GetBindingToken())
	if got := replay.joinResponse().GetResumeResult(); got != signalingv1.ResumeResult_RESUME_RESULT_REJECTED_REPLAYED {
		t.Fatalf("consumed binding token after the restart: got %v, want REJECTED_REPLAYED", got)
	}

	// The grace deadline stays at start + 30 s.
	h.clock.Advance(19 * time.Second)
	syncAll(host)
	if n := host.count(isAnyLeftOf(awayID)); n != 0 {
		t.Fatalf("ParticipantLeft 1 s before the original deadline: got %d, want 0", n)
	}
	if entry := rosterEntry(h.state(m), awayID); entry.GetConnectionState() != disconnected {
		t.Fatalf("disconnected participant 1 s before its deadline: got %v, want DISCONNECTED", entry)
	}
	h.clock.Advance(time.Second)
	host.waitFor("ParticipantLeft TIMEOUT at the original deadline", isLeftOf(awayID, signalingv1.LeaveReason_LEAVE_REASON_TIMEOUT))

	// The other meeting is untouched.
	syncAll(bystander)
	if got := h.generation("m2"); got != otherGeneration {
		t.Fatalf("generation of the other meeting: got %d, want %d", got, otherGeneration)
	}
	// The sync barrier adds exactly one frame: its ALREADY_JOINED error.
	if got := len(bystander.stream.messages()); got != bystanderFrames+1 {
		t.Fatalf("frames to the other meeting's client: got %d, want %d: %s", got, bystanderFrames+1, describe(bystander.stream.messages()))
	}

	if got := h.observer.count("panicked/meeting"); got != 1 {
		t.Fatalf("meeting panics observed: got %d, want 1", got)
	}
	if got := h.observer.count("restarted/meeting"); got != 1 {
		t.Fatalf("meeting restarts observed: got %d, want 1", got)
	}
}

func TestSupervision_RestartBudgetSpent(t *testing.T) {
	const maxRestarts = 2
	h := newHarness(t, func(cfg *actors.MeetingConfig) {
		cfg.MaxRestarts = maxRestarts
		cfg.RestartWindow = time.Minute
	})
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)
	generation := h.generation("m1")

	for i := 1; i <= maxRestarts; i++ {
		h.system.Root.Send(m, &actors.InjectPanic{Reason: "test"})
		h.waitObserved("restarted/meeting", i)
		h.waitGeneration("m1", generation+uint64(i))
		syncAll(host, guest)
	}

	h.system.Root.Send(m, &actors.InjectPanic{Reason: "test"})
	for name, c := range map[string]*client{"host": host, "guest": guest} {
		c.waitClosed(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_INTERNAL_ERROR)
		c.lastGoodbye(signalingv1.GoodbyeReason_GOODBYE_REASON_REJOIN)
		if n := c.count(isAnyGoodbye); n != 1 {
			t.Fatalf("%s: goodbyes: got %d, want 1", name, n)
		}
	}
	h.waitStopped(m)
	if _, err := h.store.Load(t.Context(), "m1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Load after the restart budget was spent: got error %v, want %v", err, store.ErrNotFound)
	}
	if got := h.observer.count("panicked/meeting"); got != maxRestarts+1 {
		t.Fatalf("meeting panics observed: got %d, want %d", got, maxRestarts+1)
	}

	// A new activation finds no meeting.
	again := h.spawnMeeting("m1")
	c := h.attach(again, claimsFor("u5", jointoken.RoleParticipant), &signalingv1.JoinRequest{MeetingId: "m1", DisplayName: "late"})
	c.waitError(1, signalingv1.ErrorCode_ERROR_CODE_NOT_FOUND)
	c.waitClosed(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_JOIN_REJECTED)
}

func TestSupervision_ControllerPanic(t *testing.T) {
	h := newHarness(t)
	m1 := h.startMeeting("m1")
	m2 := h.startMeeting("m2")
	host := h.join(m1, "u1", jointoken.RoleHost)
	guest := h.join(m1, "u2", jointoken.RoleParticipant)
	h.joinMeeting(m2, "m2", "u3", jointoken.RoleHost)
	drop(guest, host)
	h.system.Root.Send(h.controller, &actors.SetDraining{Draining: true})

	want := actors.NodeStatus{Ready: true, Draining: true, Meetings: 2, Participants: 3, Connected: 2, MaxMeetings: 100, MaxParticipants: 1000}
	status := func() (bool, string) {
		got := *request[*actors.NodeStatus](h, h.controller, &actors.GetStatus{})
		return got == want, fmt.Sprintf("GetStatus: got %+v, want %+v", got, want)
	}
	eventually(t, status)

	h.system.Root.Send(h.controller, &actors.InjectPanic{Reason: "test"})
	h.waitObserved("restarted/meeting_controller", 1)
	eventually(t, status)
	if got := h.observer.count("panicked/meeting_controller"); got != 1 {
		t.Fatalf("controller panics observed: got %d, want 1", got)
	}

	// The rebuilt registry keeps following the meetings.
	h.system.Root.Send(m2, &actorv1.EndMeeting{})
	want.Meetings, want.Participants, want.Connected = 1, 2, 1
	eventually(t, status)
}

// unknownActorMessage is a message type no actor of the package handles.
type unknownActorMessage struct{}

func TestSupervision_BadInputNeverPanics(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	generation := h.generation("m1")

	readErrors := []error{
		fmt.Errorf("read frame of 70000 bytes: %w", framing.ErrTooLarge),
		fmt.Errorf("read frame: %w", framing.ErrMalformed),
		errors.New("stream reset by peer"),
	}
	for i, err := range readErrors {
		c := h.join(m, fmt.Sprintf("bad-%d", i), jointoken.RoleParticipant)
		c.stream.fail(err)
		eventually(t, func() (bool, string) { return !c.isOpen(), fmt.Sprintf("session %d not closed after %v", i, err) })
	}

	// An empty payload, a message before join and unknown actor messages.
	seq := host.send(func(*signalingv1.ClientMessage) {})
	host.waitError(seq, signalingv1.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE)
	early := h.attach(m, claimsFor("u7", jointoken.RoleParticipant), &signalingv1.JoinRequest{MeetingId: "m1", DisplayName: "\x00"})
	early.waitError(1, signalingv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT)
	early.selfMute(true, true)
	h.system.Root.Send(m, &unknownActorMessage{})
	h.system.Root.Send(h.controller, &unknownActorMessage{})
	h.system.Root.Send(m, &actors.InjectPanic{Reason: "test", Participant: "no-such-participant"})

	host.selfMute(true, false)
	host.waitFor("self-mute after bad input", muteUpdate(host.id(), mute(true, false), mute(false, false)))
	syncAll(host)
	request[*actors.NodeStatus](h, h.controller, &actors.GetStatus{})
	for _, kind := range []string{actors.KindMeeting, actors.KindConnection, actors.KindMeetingController} {
		if got := h.observer.count("panicked/" + kind); got != 0 {
			t.Fatalf("%s panics after bad input: got %d, want 0", kind, got)
		}
	}
	if got := h.generation("m1"); got != generation {
		t.Fatalf("generation after bad input: got %d, want %d", got, generation)
	}
	if !host.isOpen() {
		t.Fatal("well-behaved session after bad input: got closed, want open")
	}
}
