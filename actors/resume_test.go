package actors_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/messages/signalingv1"
)

const (
	connected    = signalingv1.ConnectionState_CONNECTION_STATE_CONNECTED
	disconnected = signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED
)

// drop ends c's session from the client side and waits until observer
// receives the participant's ParticipantUpdated disconnected.
func drop(c, observer *client) {
	c.h.t.Helper()
	c.stream.fail(io.EOF)
	observer.waitFor("ParticipantUpdated disconnected", isUpdateOf(c.id(), disconnected))
}

// mutedPair joins a host and a participant whose audio the host mutes and
// who self-mutes video, so that later steps can check both tiers.
func mutedPair(h *harness, m *actor.PID) (host, guest *client) {
	h.t.Helper()
	host = h.join(m, "u1", jointoken.RoleHost)
	guest = h.join(m, "u2", jointoken.RoleParticipant)
	guest.selfMute(false, true)
	host.waitFor("guest self-mute", func(msg *signalingv1.ServerMessage) bool {
		return msg.GetParticipantUpdated().GetParticipant().GetSelfMute().GetVideo()
	})
	host.hostMute(guest.id(), true, false, "noise")
	host.waitFor("guest host-mute", func(msg *signalingv1.ServerMessage) bool {
		return msg.GetParticipantUpdated().GetParticipant().GetHostMute().GetAudio()
	})
	return host, guest
}

func TestResume_AfterDrop(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host, guest := mutedPair(h, m)
	first := guest.joinResponse()

	guest.stream.fail(io.EOF)
	update := host.waitFor("ParticipantUpdated disconnected", isUpdateOf(first.GetParticipantId(), disconnected)).
		GetParticipantUpdated().GetParticipant()
	wantUntil := h.start.Add(30 * time.Second)
	if got := update.GetDisconnectedUntil().AsTime(); !got.Equal(wantUntil) {
		t.Fatalf("disconnected_until: got %v, want %v", got, wantUntil)
	}

	resumed := h.resume(m, "u2", jointoken.RoleParticipant, first.GetCorrelationId(), first.GetBindingToken())
	resp := resumed.joinResponse()
	if !resp.GetResumed() || resp.GetResumeResult() != signalingv1.ResumeResult_RESUME_RESULT_RESUMED {
		t.Fatalf("resume: got resumed=%v result %v, want true RESUMED", resp.GetResumed(), resp.GetResumeResult())
	}
	if resp.GetParticipantId() != first.GetParticipantId() {
		t.Fatalf("resumed participant_id: got %q, want %q", resp.GetParticipantId(), first.GetParticipantId())
	}
	if resp.GetCorrelationId() != first.GetCorrelationId() {
		t.Fatalf("resumed correlation_id: got %q, want %q", resp.GetCorrelationId(), first.GetCorrelationId())
	}
	if resp.GetBindingToken() == first.GetBindingToken() || len(resp.GetBindingToken()) != 64 {
		t.Fatalf("resumed binding_token: got %q, want a new 64-hex token", resp.GetBindingToken())
	}
	if resp.GetRole() != signalingv1.Role_ROLE_PARTICIPANT {
		t.Fatalf("resumed role: got %v, want PARTICIPANT", resp.GetRole())
	}
	var self *signalingv1.Participant
	for _, p := range resp.GetRoster() {
		if p.GetParticipantId() == resp.GetParticipantId() {
			self = p
		}
	}
	if !self.GetHostMute().GetAudio() || self.GetHostMute().GetVideo() {
		t.Fatalf("resumed host_mute: got %v, want audio only", self.GetHostMute())
	}
	if !self.GetSelfMute().GetVideo() || self.GetSelfMute().GetAudio() {
		t.Fatalf("resumed self_mute: got %v, want video only", self.GetSelfMute())
	}
	if self.GetHostMutedBy() != host.id() {
		t.Fatalf("resumed host_muted_by: got %q, want %q", self.GetHostMutedBy(), host.id())
	}
	if self.GetConnectionState() != connected || self.GetDisconnectedUntil() != nil {
		t.Fatalf("resumed connection: got %v until %v, want CONNECTED without a deadline", self.GetConnectionState(), self.GetDisconnectedUntil())
	}
	host.waitFor("ParticipantUpdated connected", isUpdateOf(first.GetParticipantId(), connected))
	if got := len(h.state(m).GetParticipants()); got != 2 {
		t.Fatalf("roster after resume: got %d participants, want 2", got)
	}

	// The consumed token cannot resume again: the session joins as a new
	// participant and learns why.
	resumed.stream.fail(io.EOF)
	host.waitCount("second disconnect", 2, isUpdateOf(first.GetParticipantId(), disconnected))
	replay := h.resume(m, "u2", jointoken.RoleParticipant, first.GetCorrelationId(), first.GetBindingToken())
	replayResp := replay.joinResponse()
	if replayResp.GetResumed() || replayResp.GetResumeResult() != signalingv1.ResumeResult_RESUME_RESULT_REJECTED_REPLAYED {
		t.Fatalf("replayed token: got resumed=%v result %v, want false REJECTED_REPLAYED", replayResp.GetResumed(), replayResp.GetResumeResult())
	}
	if replayResp.GetParticipantId() == first.GetParticipantId() {
		t.Fatalf("replayed token participant_id: got the resumed id %q, want a new participant", replayResp.GetParticipantId())
	}
	if got := len(h.state(m).GetParticipants()); got != 3 {
		t.Fatalf("roster after a replayed token: got %d participants, want 3", got)
	}
	if got := h.observer.count("binding/replayed"); got != 1 {
		t.Fatalf("replayed binding checks observed: got %d, want 1", got)
	}
}

func TestResume_Rejected(t *testing.T) {
	tests := []struct {
		name  string
		user  string
		token func(valid string) string
		want  signalingv1.ResumeResult
	}{
		{
			name:  "forged token",
			user:  "u2",
			token: func(valid string) string { return strings.Repeat("ab", 32) },
			want:  signalingv1.ResumeResult_RESUME_RESULT_REJECTED_INVALID,
		},
		{
			name:  "malformed token",
			user:  "u2",
			token: func(valid string) string { return "not hex" },
			want:  signalingv1.ResumeResult_RESUME_RESULT_REJECTED_INVALID,
		},
		{
			name:  "another user's join token",
			user:  "u3",
			token: func(valid string) string { return valid },
			want:  signalingv1.ResumeResult_RESUME_RESULT_REJECTED_USER_MISMATCH,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			m := h.startMeeting("m1")
			host := h.join(m, "u1", jointoken.RoleHost)
			guest := h.join(m, "u2", jointoken.RoleParticipant)
			first := guest.joinResponse()
			drop(guest, host)

			c := h.resume(m, tt.user, jointoken.RoleParticipant, first.GetCorrelationId(), tt.token(first.GetBindingToken()))
			resp := c.joinResponse()
			if resp.GetResumed() || resp.GetResumeResult() != tt.want {
				t.Fatalf("resume: got resumed=%v result %v, want false %v", resp.GetResumed(), resp.GetResumeResult(), tt.want)
			}
			if resp.GetParticipantId() == first.GetParticipantId() {
				t.Fatalf("rejected resume participant_id: got the bound id %q, want a new participant", resp.GetParticipantId())
			}
			entry := rosterEntry(h.state(m), first.GetParticipantId())
			if entry.GetConnectionState() != disconnected {
				t.Fatalf("bound participant after a rejected resume: got %v, want DISCONNECTED", entry.GetConnectionState())
			}

			// The rejection consumed nothing: the right token still resumes.
			ok := h.resume(m, "u2", jointoken.RoleParticipant, first.GetCorrelationId(), first.GetBindingToken())
			if got := ok.joinResponse().GetResumeResult(); got != signalingv1.ResumeResult_RESUME_RESULT_RESUMED {
				t.Fatalf("resume with the valid token after a rejection: got %v, want RESUMED", got)
			}
		})
	}
}

func TestResume_AfterGraceExpiry(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)
	first := guest.joinResponse()
	drop(guest, host)

	h.clock.Advance(31 * time.Second)
	host.waitFor("ParticipantLeft TIMEOUT", isLeftOf(first.GetParticipantId(), signalingv1.LeaveReason_LEAVE_REASON_TIMEOUT))

	c := h.resume(m, "u2", jointoken.RoleParticipant, first.GetCorrelationId(), first.GetBindingToken())
	resp := c.joinResponse()
	if resp.GetResumed() || resp.GetResumeResult() != signalingv1.ResumeResult_RESUME_RESULT_REJECTED_EXPIRED {
		t.Fatalf("resume after expiry: got resumed=%v result %v, want false REJECTED_EXPIRED", resp.GetResumed(), resp.GetResumeResult())
	}
	if resp.GetParticipantId() == first.GetParticipantId() {
		t.Fatalf("resume after expiry participant_id: got the expired id %q, want a new participant", resp.GetParticipantId())
	}
}

func TestResume_ReplacesOpenSession(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)
	first := guest.joinResponse()

	next := h.resume(m, "u2", jointoken.RoleParticipant, first.GetCorrelationId(), first.GetBindingToken())
	resp := next.joinResponse()
	if !resp.GetResumed() || resp.GetParticipantId() != first.GetParticipantId() {
		t.Fatalf("resume over an open session: got resumed=%v participant %q, want true %q", resp.GetResumed(), resp.GetParticipantId(), first.GetParticipantId())
	}

	guest.waitClosed(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_REPLACED)
	guest.lastGoodbye(signalingv1.GoodbyeReason_GOODBYE_REASON_REPLACED)

	// The old session's reader ends now; that must not disconnect the
	// participant, which the new session holds.
	guest.stream.fail(io.EOF)
	syncAll(next, host)
	if n := host.count(isUpdateOf(first.GetParticipantId(), disconnected)); n != 0 {
		t.Fatalf("ParticipantUpdated disconnected after the replaced session ended: got %d, want 0", n)
	}
	if n := host.count(isAnyLeftOf(first.GetParticipantId())); n != 0 {
		t.Fatalf("ParticipantLeft after the replaced session ended: got %d, want 0", n)
	}
	if n := host.count(isAnyUpdateOf(first.GetParticipantId())); n != 0 {
		t.Fatalf("ParticipantUpdated for a resume that never disconnected: got %d, want 0", n)
	}
	entry := rosterEntry(h.state(m), first.GetParticipantId())
	if entry.GetConnectionState() != connected {
		t.Fatalf("resumed participant after the replaced session ended: got %v, want CONNECTED", entry.GetConnectionState())
	}
	if h.clock.Pending() != 0 {
		t.Fatalf("timers pending with everyone connected: got %d, want 0", h.clock.Pending())
	}

	// The new session works.
	next.selfMute(true, false)
	host.waitFor("self-mute through the new session", func(msg *signalingv1.ServerMessage) bool {
		p := msg.GetParticipantUpdated().GetParticipant()
		return p.GetParticipantId() == first.GetParticipantId() && p.GetSelfMute().GetAudio()
	})
}
