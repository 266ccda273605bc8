package actors_test

import (
	"fmt"
	"regexp"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/messages/signalingv1"
)

// bindingTokenPattern is the format of a binding token: 32 bytes in hex.
var bindingTokenPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// manyRestarts lifts the restart budget, so that a test can restart a
// meeting often without advancing the clock.
func manyRestarts(cfg *actors.MeetingConfig) {
	cfg.MaxRestarts = 100
}

// pushWithin hands the session's reader msg, or fails the test when the
// reader has stopped taking frames and the fake stream's buffer stays full.
func (c *client) pushWithin(msg *signalingv1.ClientMessage) {
	c.h.t.Helper()
	select {
	case c.stream.reads <- readResult{msg: msg}:
	case <-time.After(waitTimeout):
		closed, isClosed := c.stream.closed()
		c.h.t.Fatalf("push of sequence %d: the reader took no frame for %v and %d frames are unread (session closed: %v %v)",
			msg.GetSequence(), waitTimeout, len(c.stream.reads), isClosed, closed.code)
	}
}

// pingWithin sends a ping through pushWithin and returns its sequence.
func (c *client) pingWithin() uint64 {
	c.h.t.Helper()
	c.seq++
	c.pushWithin(&signalingv1.ClientMessage{Sequence: c.seq, Payload: &signalingv1.ClientMessage_Ping{Ping: &signalingv1.PingRequest{}}})
	return c.seq
}

// hostMuteWithin sends a host mute of target's audio through pushWithin and
// returns its sequence.
func (c *client) hostMuteWithin(target string) uint64 {
	c.h.t.Helper()
	c.seq++
	c.pushWithin(&signalingv1.ClientMessage{Sequence: c.seq, Payload: &signalingv1.ClientMessage_HostMute{HostMute: &signalingv1.HostMuteRequest{
		ParticipantId: target, Audio: true,
	}}})
	return c.seq
}

// restartGate wraps the harness observer and can hold a Meeting's restart:
// ActorPanicked runs on the instance that panicked, before it hands its
// sessions over. The Observer contract forbids blocking, and this test
// observer breaks it on purpose, with a bounded wait.
type restartGate struct {
	actors.Observer
	hold atomic.Pointer[func()]
}

// install makes gate wrap the observer of cfg.
func (g *restartGate) install(cfg *actors.MeetingConfig) {
	g.Observer = cfg.Observer
	cfg.Observer = g
}

func (g *restartGate) ActorPanicked(kind string) {
	if hold := g.hold.Load(); hold != nil && kind == actors.KindMeeting {
		(*hold)()
	}
	g.Observer.ActorPanicked(kind)
}

// isPongTo matches the PongResponse to seq.
func isPongTo(seq uint64) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		return m.GetPong() != nil && m.GetInReplyTo() == seq
	}
}

// A join handled right before a Meeting panic must still reach its client,
// and a participant whose session the restart lost must not stay connected.
func TestRestart_JoinBeforePanicAnswered(t *testing.T) {
	const joins = 10
	h := newHarness(t, manyRestarts)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)

	joiners := make([]*client, 0, joins)
	for i := 1; i <= joins; i++ {
		c := h.attach(m, claimsFor(fmt.Sprintf("joiner-%d", i), jointoken.RoleParticipant),
			&signalingv1.JoinRequest{MeetingId: "m1", DisplayName: fmt.Sprintf("joiner %d", i)})
		h.system.Root.Send(m, &actors.InjectPanic{Reason: "test"})
		h.waitObserved("restarted/meeting", i)

		// The first JoinResponse is the reply to the join, or the resync a
		// restarted Meeting sends when the reply was lost.
		msg := c.waitFor(fmt.Sprintf("JoinResponse to join %d", i), func(msg *signalingv1.ServerMessage) bool {
			return msg.GetJoinResponse() != nil
		})
		resp := msg.GetJoinResponse()
		switch msg.GetInReplyTo() {
		case 1:
		case 0:
			if !resp.GetResumed() || resp.GetResumeResult() != signalingv1.ResumeResult_RESUME_RESULT_RESUMED {
				t.Fatalf("join %d: resync JoinResponse got resumed=%v result %v, want true RESUMED", i, resp.GetResumed(), resp.GetResumeResult())
			}
		default:
			t.Fatalf("join %d: JoinResponse in_reply_to got %d, want 1 or 0 for a resync", i, msg.GetInReplyTo())
		}
		if !bindingTokenPattern.MatchString(resp.GetBindingToken()) {
			t.Fatalf("join %d before a restart: binding_token got %q, want 64 hex digits", i, resp.GetBindingToken())
		}
		if resp.GetParticipantId() == "" {
			t.Fatalf("join %d before a restart: participant_id got empty, want the new participant", i)
		}
		joiners = append(joiners, c)
	}

	// Every participant still listed as connected after the grace period
	// must have an open session.
	h.clock.Advance(actors.DefaultGracePeriod + time.Second)
	want := []string{host.id()}
	for _, c := range joiners {
		if c.isOpen() {
			want = append(want, c.id())
		}
	}
	sort.Strings(want)
	eventually(t, func() (bool, string) {
		var got []string
		for _, p := range h.state(m).GetParticipants() {
			got = append(got, p.GetParticipantId())
		}
		sort.Strings(got)
		return fmt.Sprint(got) == fmt.Sprint(want),
			fmt.Sprintf("roster after the grace period: got %v, want the participants with open sessions %v", got, want)
	})
	for _, p := range h.state(m).GetParticipants() {
		if p.GetConnectionState() != connected {
			t.Fatalf("participant %s with an open session: got %v, want CONNECTED", p.GetParticipantId(), p.GetConnectionState())
		}
	}
	for i, c := range joiners {
		if !c.isOpen() {
			t.Fatalf("joiner %d after the restarts: got closed, want open (its participant was adopted)", i+1)
		}
	}
}

// Frames a client sends while its Meeting restarts wait in the Meeting's
// mailbox, and the new instance replies to each of them.
func TestRestart_FramesDuringRestartAnswered(t *testing.T) {
	const (
		frames = 200
		// heldUntilRead is how many frames the session's reader takes
		// while the restart is held. It stays below the reader's 64
		// credits, which the held Meeting does not release.
		heldUntilRead = 32
	)
	gate := &restartGate{}
	h := newHarness(t, gate.install)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)
	syncAll(host, guest)

	// The restart waits until the reader has handed on some frames, so that
	// frames are in flight while the sessions change hands.
	pushed := make(chan struct{})
	hold := func() {
		deadline := time.Now().Add(waitTimeout)
		select {
		case <-pushed:
		case <-time.After(waitTimeout):
			return
		}
		for len(guest.stream.reads) > frames-heldUntilRead && time.Now().Before(deadline) {
			time.Sleep(pollInterval)
		}
	}
	gate.hold.Store(&hold)

	h.system.Root.Send(m, &actors.InjectPanic{Reason: "test"})
	seqs := make([]uint64, 0, frames)
	for range frames {
		// A participant's host mute is always denied.
		seqs = append(seqs, guest.hostMuteWithin(host.id()))
	}
	close(pushed)
	h.waitObserved("restarted/meeting", 1)

	replies := func() map[uint64][]signalingv1.ErrorCode {
		codes := make(map[uint64][]signalingv1.ErrorCode)
		for _, msg := range guest.stream.messages() {
			if msg.GetError() != nil {
				codes[msg.GetInReplyTo()] = append(codes[msg.GetInReplyTo()], msg.GetError().GetCode())
			}
		}
		return codes
	}
	eventually(t, func() (bool, string) {
		codes := replies()
		answered := 0
		for _, seq := range seqs {
			if len(codes[seq]) > 0 {
				answered++
			}
		}
		return answered == frames, fmt.Sprintf("host mutes sent around the restart: got %d answered, want %d", answered, frames)
	})
	codes := replies()
	for _, seq := range seqs {
		got := codes[seq]
		if len(got) != 1 || got[0] != signalingv1.ErrorCode_ERROR_CODE_PERMISSION_DENIED {
			t.Fatalf("replies to host mute %d: got %v, want one PERMISSION_DENIED", seq, got)
		}
	}
	if !guest.isOpen() {
		t.Fatal("guest session after the restart: got closed, want open")
	}
}

// Frames in flight when a Meeting restarts must not keep their read
// credits, so a chatty client's later pings still get pongs.
func TestRestart_CreditsNotLeaked(t *testing.T) {
	// Whether a restart strands credits depends on timing. Without the
	// fix, under -race, 10 restarts blocked the reader in 31 of 32 runs.
	// More would make protoactor's default supervisor, which allows 10
	// restarts within 10 s (actor/supervision.go), stop the Meeting.
	const (
		restarts         = 10
		framesPerRestart = 100
	)
	// The pongs are not awaited between restarts, so the writer may fall
	// behind by more than the default queue of 256 frames, which would
	// close the session as too slow.
	h := newHarness(t, manyRestarts, func(cfg *actors.MeetingConfig) {
		cfg.Connection.QueueSize = 2 * restarts * framesPerRestart
	})
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	chatty := h.join(m, "u2", jointoken.RoleParticipant)
	syncAll(host, chatty)

	for r := 1; r <= restarts; r++ {
		h.system.Root.Send(m, &actors.InjectPanic{Reason: "test"})
		for range framesPerRestart {
			chatty.pingWithin()
		}
		h.waitObserved("restarted/meeting", r)
		// The reply comes from the new instance, behind the frames queued so far.
		h.state(m)
	}

	for i := range 3 {
		seq := chatty.pingWithin()
		chatty.waitFor(fmt.Sprintf("PongResponse to ping %d after %d restarts", i, restarts), isPongTo(seq))
	}
	if !chatty.isOpen() {
		t.Fatal("chatty session after the restarts: got closed, want open")
	}
}

// A resume takes its role from the fresh join token: a host demoted
// upstream resumes as a participant and loses host powers.
func TestResume_RoleFromFreshToken(t *testing.T) {
	tests := []struct {
		name string
		// dropFirst ends the host's session before the resume. Otherwise
		// the resume replaces the open session.
		dropFirst bool
	}{
		{name: "after drop", dropFirst: true},
		{name: "replacing open session", dropFirst: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			m := h.startMeeting("m1")
			host := h.join(m, "u1", jointoken.RoleHost)
			guest := h.join(m, "u2", jointoken.RoleParticipant)
			first := host.joinResponse()
			if first.GetRole() != signalingv1.Role_ROLE_HOST {
				t.Fatalf("first join role: got %v, want HOST", first.GetRole())
			}
			if tt.dropFirst {
				drop(host, guest)
			}
			syncAll(guest)

			demoted := h.resume(m, "u1", jointoken.RoleParticipant, first.GetCorrelationId(), first.GetBindingToken())
			resp := demoted.joinResponse()
			if resp.GetResumeResult() != signalingv1.ResumeResult_RESUME_RESULT_RESUMED {
				t.Fatalf("resume with a participant token: got %v, want RESUMED", resp.GetResumeResult())
			}
			if resp.GetParticipantId() != first.GetParticipantId() {
				t.Fatalf("resumed participant_id: got %q, want %q", resp.GetParticipantId(), first.GetParticipantId())
			}
			if resp.GetRole() != signalingv1.Role_ROLE_PARTICIPANT {
				t.Fatalf("resumed role: got %v, want PARTICIPANT", resp.GetRole())
			}
			if self := rosterEntry(h.state(m), first.GetParticipantId()); self.GetRole() != signalingv1.Role_ROLE_PARTICIPANT {
				t.Fatalf("roster role after the resume: got %v, want PARTICIPANT", self.GetRole())
			}
			guest.waitFor("ParticipantUpdated with role PARTICIPANT", func(msg *signalingv1.ServerMessage) bool {
				p := msg.GetParticipantUpdated().GetParticipant()
				return p.GetParticipantId() == first.GetParticipantId() && p.GetRole() == signalingv1.Role_ROLE_PARTICIPANT
			})

			seq := demoted.hostMute(guest.id(), true, false, "")
			demoted.waitError(seq, signalingv1.ErrorCode_ERROR_CODE_PERMISSION_DENIED)
			if entry := rosterEntry(h.state(m), guest.id()); entry.GetHostMute().GetAudio() {
				t.Fatalf("guest host_mute after a demoted host's mute: got %v, want none", entry.GetHostMute())
			}
		})
	}
}

// A repeated identical unmute request reaches the hosts once. A request
// made after the hosts decided reaches them again.
func TestUnmuteRequest_RepeatNotForwarded(t *testing.T) {
	const repeats = 5
	h := newHarness(t)
	m := h.startMeeting("m1")
	host, guest := mutedPair(h, m)

	for range repeats {
		guest.unmuteRequest(true, false)
	}
	syncAll(guest, host)
	if n := host.count(isUnmuteRequestedFor(guest.id())); n != 1 {
		t.Fatalf("UnmuteRequested after %d identical requests: got %d, want 1", repeats, n)
	}
	if n := guest.count(func(msg *signalingv1.ServerMessage) bool {
		return msg.GetError() != nil && msg.GetError().GetCode() != signalingv1.ErrorCode_ERROR_CODE_ALREADY_JOINED
	}); n != 0 {
		t.Fatalf("errors for repeated unmute requests: got %d, want 0: %s", n, describe(guest.stream.messages()))
	}

	// A denial clears the pending request, so the next one is forwarded.
	host.unmuteDecision(guest.id(), true, false, false)
	guest.waitFor("UnmuteDecided denied", func(msg *signalingv1.ServerMessage) bool {
		return msg.GetUnmuteDecided() != nil && !msg.GetUnmuteDecided().GetApproved()
	})
	guest.unmuteRequest(true, false)
	host.waitCount("UnmuteRequested after the denial", 2, isUnmuteRequestedFor(guest.id()))
	syncAll(guest, host)
	if n := host.count(isUnmuteRequestedFor(guest.id())); n != 2 {
		t.Fatalf("UnmuteRequested after a denial and a new request: got %d, want 2", n)
	}
}
