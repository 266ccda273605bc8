package actors_test

import (
	"errors"
	"testing"
	"time"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/messages/actorv1"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/store"
)

func TestEndMeeting_ClosesEveryone(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)
	dropped := h.join(m, "u3", jointoken.RoleParticipant)
	droppedResp := dropped.joinResponse()
	drop(dropped, host)

	reply := request[*actorv1.EndMeetingReply](h, m, &actorv1.EndMeeting{Reason: "over"})
	if reply.GetError() != nil {
		t.Fatalf("EndMeeting: got error %v, want none", reply.GetError())
	}

	for name, c := range map[string]*client{"host": host, "guest": guest} {
		c.waitClosed(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_MEETING_ENDED)
		c.lastGoodbye(signalingv1.GoodbyeReason_GOODBYE_REASON_MEETING_ENDED)
		msgs := c.stream.messages()
		ended := msgs[len(msgs)-2].GetMeetingEnded()
		if ended == nil || ended.GetReason() != "over" {
			t.Fatalf("%s: frame before the goodbye: got %s, want MeetingEnded with reason over", name, describe(msgs[len(msgs)-2:]))
		}
	}

	h.waitStopped(m)
	if got := h.clock.Pending(); got != 0 {
		t.Fatalf("timers pending after the meeting ended: got %d, want 0", got)
	}
	h.clock.Advance(time.Minute)
	for name, c := range map[string]*client{"host": host, "guest": guest} {
		if n := c.count(isLeftOf(droppedResp.GetParticipantId(), signalingv1.LeaveReason_LEAVE_REASON_TIMEOUT)); n != 0 {
			t.Fatalf("%s: ParticipantLeft TIMEOUT after the end: got %d, want 0", name, n)
		}
	}
	if _, err := h.store.Load(t.Context(), "m1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Load after the end: got %v, want ErrNotFound", err)
	}

	// A new activation finds nothing to resume.
	again := h.spawnMeeting("m1")
	c := h.resume(again, "u3", jointoken.RoleParticipant, droppedResp.GetCorrelationId(), droppedResp.GetBindingToken())
	c.waitError(1, signalingv1.ErrorCode_ERROR_CODE_NOT_FOUND)
	c.waitClosed(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_JOIN_REJECTED)

	status := request[*actors.NodeStatus](h, h.controller, &actors.GetStatus{})
	if status.Meetings != 0 {
		t.Fatalf("registered meetings after the end: got %d, want 0", status.Meetings)
	}
}

func TestEndMeeting_NotRunning(t *testing.T) {
	h := newHarness(t)
	m := h.spawnMeeting("m1")

	reply := request[*actorv1.EndMeetingReply](h, m, &actorv1.EndMeeting{})
	if got := reply.GetError().GetCode(); got != actorv1.ActorErrorCode_ACTOR_ERROR_CODE_NOT_FOUND {
		t.Fatalf("EndMeeting of a missing meeting: got %v, want NOT_FOUND", got)
	}
	// An idle activation that a request created does not linger.
	h.waitStopped(m)
}

func TestRemoveParticipant_ClosesTarget(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)
	id := guest.id()

	reply := request[*actorv1.RemoveParticipantReply](h, m, &actorv1.RemoveParticipant{ParticipantId: id, Reason: "spam"})
	if reply.GetError() != nil {
		t.Fatalf("RemoveParticipant: got error %v, want none", reply.GetError())
	}
	host.waitFor("ParticipantLeft REMOVED", isLeftOf(id, signalingv1.LeaveReason_LEAVE_REASON_REMOVED))
	guest.waitClosed(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_REMOVED)
	guest.lastGoodbye(signalingv1.GoodbyeReason_GOODBYE_REASON_REMOVED)
	if entry := rosterEntry(h.state(m), id); entry != nil {
		t.Fatalf("participant after removal: got %v, want removed", entry)
	}

	missing := request[*actorv1.RemoveParticipantReply](h, m, &actorv1.RemoveParticipant{ParticipantId: id})
	if got := missing.GetError().GetCode(); got != actorv1.ActorErrorCode_ACTOR_ERROR_CODE_PARTICIPANT_NOT_FOUND {
		t.Fatalf("second RemoveParticipant: got %v, want PARTICIPANT_NOT_FOUND", got)
	}
}

func TestMuteParticipant_ControlAPI(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)
	id := guest.id()

	reply := request[*actorv1.MuteParticipantReply](h, m, &actorv1.MuteParticipant{ParticipantId: id, Video: true, Reason: "policy"})
	if reply.GetError() != nil {
		t.Fatalf("MuteParticipant: got error %v, want none", reply.GetError())
	}
	p := reply.GetParticipant()
	if !p.GetHostMute().GetVideo() || p.GetHostMutedBy() != actors.ControlAPIActor || p.GetHostMuteReason() != "policy" {
		t.Fatalf("MuteParticipant reply: got %v, want video host-muted by %q for policy", p, actors.ControlAPIActor)
	}
	for _, c := range []*client{host, guest} {
		c.waitFor("ParticipantUpdated by the control API", func(msg *signalingv1.ServerMessage) bool {
			u := msg.GetParticipantUpdated().GetParticipant()
			return u.GetParticipantId() == id && u.GetHostMute().GetVideo() && u.GetHostMutedBy() == actors.ControlAPIActor
		})
	}

	tests := []struct {
		name string
		msg  *actorv1.MuteParticipant
		want actorv1.ActorErrorCode
	}{
		{"unknown participant", &actorv1.MuteParticipant{ParticipantId: "p99", Audio: true}, actorv1.ActorErrorCode_ACTOR_ERROR_CODE_PARTICIPANT_NOT_FOUND},
		{"no media", &actorv1.MuteParticipant{ParticipantId: id}, actorv1.ActorErrorCode_ACTOR_ERROR_CODE_INVALID_ARGUMENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := request[*actorv1.MuteParticipantReply](h, m, tt.msg).GetError().GetCode()
			if got != tt.want {
				t.Fatalf("MuteParticipant: got %v, want %v", got, tt.want)
			}
		})
	}
}
