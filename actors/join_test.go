package actors_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/messages/signalingv1"
)

func TestJoin_ResponseAndBroadcast(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")

	host := h.join(m, "u1", jointoken.RoleHost)
	resp := host.joinResponse()

	if resp.GetParticipantId() == "" {
		t.Fatal("participant_id: got empty, want an id")
	}
	if resp.GetMeetingId() != "m1" {
		t.Fatalf("meeting_id: got %q, want m1", resp.GetMeetingId())
	}
	correlation, err := uuid.Parse(resp.GetCorrelationId())
	if err != nil {
		t.Fatalf("correlation_id %q: %v", resp.GetCorrelationId(), err)
	}
	if got := correlation.Version(); got != 7 {
		t.Fatalf("correlation_id version: got %d, want 7", got)
	}
	token := resp.GetBindingToken()
	if _, err := hex.DecodeString(token); err != nil || len(token) != 64 || strings.ToLower(token) != token {
		t.Fatalf("binding_token: got %q, want 64 lowercase hex digits", token)
	}
	if resp.GetResumed() {
		t.Fatal("resumed: got true, want false")
	}
	if got := resp.GetResumeResult(); got != signalingv1.ResumeResult_RESUME_RESULT_NOT_REQUESTED {
		t.Fatalf("resume_result: got %v, want NOT_REQUESTED", got)
	}
	if got := resp.GetRole(); got != signalingv1.Role_ROLE_HOST {
		t.Fatalf("role: got %v, want HOST", got)
	}
	if got := resp.GetGracePeriod().AsDuration(); got != 30e9 {
		t.Fatalf("grace_period: got %v, want 30s", got)
	}
	if got := resp.GetRoster(); len(got) != 1 {
		t.Fatalf("roster: got %d entries, want 1", len(got))
	}
	self := resp.GetRoster()[0]
	if self.GetParticipantId() != resp.GetParticipantId() || self.GetUserId() != "u1" || self.GetRole() != signalingv1.Role_ROLE_HOST {
		t.Fatalf("roster entry: got %v, want participant %s, user u1, role HOST", self, resp.GetParticipantId())
	}
	if self.GetSelfMute() == nil || self.GetHostMute() == nil {
		t.Fatalf("roster entry mute tiers: got self %v host %v, want both set", self.GetSelfMute(), self.GetHostMute())
	}
	if got := self.GetConnectionState(); got != signalingv1.ConnectionState_CONNECTION_STATE_CONNECTED {
		t.Fatalf("roster entry connection_state: got %v, want CONNECTED", got)
	}

	guest := h.join(m, "u2", jointoken.RoleParticipant)
	guestResp := guest.joinResponse()
	if guestResp.GetParticipantId() == resp.GetParticipantId() {
		t.Fatalf("second participant id: got %q again, want a new id", guestResp.GetParticipantId())
	}
	if got := guestResp.GetRole(); got != signalingv1.Role_ROLE_PARTICIPANT {
		t.Fatalf("second participant role: got %v, want PARTICIPANT", got)
	}
	if got := len(guestResp.GetRoster()); got != 2 {
		t.Fatalf("second participant roster: got %d entries, want 2", got)
	}
	if guestResp.GetBindingToken() == token || guestResp.GetCorrelationId() == resp.GetCorrelationId() {
		t.Fatal("second participant binding: got the first participant's token or correlation id, want new ones")
	}

	joined := host.waitFor("ParticipantJoined", func(msg *signalingv1.ServerMessage) bool {
		return msg.GetParticipantJoined().GetParticipant().GetParticipantId() == guest.id()
	}).GetParticipantJoined().GetParticipant()
	if joined.GetRole() != signalingv1.Role_ROLE_PARTICIPANT || joined.GetUserId() != "u2" {
		t.Fatalf("ParticipantJoined: got %v, want user u2 with role PARTICIPANT", joined)
	}
	syncAll(guest)
	if n := guest.count(func(msg *signalingv1.ServerMessage) bool { return msg.GetParticipantJoined() != nil }); n != 0 {
		t.Fatalf("ParticipantJoined sent to the joiner itself: got %d, want 0", n)
	}
}

func TestJoin_Rejected(t *testing.T) {
	tests := []struct {
		name   string
		claims jointoken.Claims
		join   *signalingv1.JoinRequest
		code   signalingv1.ErrorCode
	}{
		{
			name:   "claims for another meeting",
			claims: jointoken.Claims{UserID: "u9", MeetingID: "m2", Role: jointoken.RoleHost},
			join:   &signalingv1.JoinRequest{MeetingId: "m1", DisplayName: "x"},
			code:   signalingv1.ErrorCode_ERROR_CODE_UNAUTHENTICATED,
		},
		{
			name:   "request for another meeting",
			claims: claimsFor("u9", jointoken.RoleHost),
			join:   &signalingv1.JoinRequest{MeetingId: "m2", DisplayName: "x"},
			code:   signalingv1.ErrorCode_ERROR_CODE_UNAUTHENTICATED,
		},
		{
			name:   "display name too long",
			claims: claimsFor("u9", jointoken.RoleHost),
			join:   &signalingv1.JoinRequest{MeetingId: "m1", DisplayName: strings.Repeat("a", 129)},
			code:   signalingv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT,
		},
		{
			name:   "display name with control character",
			claims: claimsFor("u9", jointoken.RoleHost),
			join:   &signalingv1.JoinRequest{MeetingId: "m1", DisplayName: "a\x07b"},
			code:   signalingv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT,
		},
		{
			name:   "display name not UTF-8",
			claims: claimsFor("u9", jointoken.RoleHost),
			join:   &signalingv1.JoinRequest{MeetingId: "m1", DisplayName: "a\xffb"},
			code:   signalingv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			m := h.startMeeting("m1")
			member := h.join(m, "u1", jointoken.RoleHost)

			c := h.attach(m, tt.claims, tt.join)
			c.waitError(1, tt.code)
			c.waitClosed(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_JOIN_REJECTED)
			c.lastGoodbye(signalingv1.GoodbyeReason_GOODBYE_REASON_JOIN_REJECTED)

			if got := len(h.state(m).GetParticipants()); got != 1 {
				t.Fatalf("roster after a rejected join: got %d participants, want 1", got)
			}
			syncAll(member)
			if n := member.count(func(msg *signalingv1.ServerMessage) bool { return msg.GetParticipantJoined() != nil }); n != 0 {
				t.Fatalf("ParticipantJoined after a rejected join: got %d, want 0", n)
			}
		})
	}
}

func TestJoin_MeetingNotActivated(t *testing.T) {
	h := newHarness(t)
	m := h.spawnMeeting("m1")

	c := h.attach(m, claimsFor("u1", jointoken.RoleHost), &signalingv1.JoinRequest{MeetingId: "m1", DisplayName: "x"})
	c.waitError(1, signalingv1.ErrorCode_ERROR_CODE_NOT_FOUND)
	c.waitClosed(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_JOIN_REJECTED)
	c.lastGoodbye(signalingv1.GoodbyeReason_GOODBYE_REASON_JOIN_REJECTED)
	if got := h.store.Len(); got != 0 {
		t.Fatalf("store after a join to a missing meeting: got %d snapshots, want 0", got)
	}
}

func TestJoin_MeetingFull(t *testing.T) {
	h := newHarness(t, func(cfg *actors.MeetingConfig) { cfg.MaxParticipants = 2 })
	m := h.startMeeting("m1")
	h.join(m, "u1", jointoken.RoleHost)
	h.join(m, "u2", jointoken.RoleParticipant)

	c := h.attach(m, claimsFor("u3", jointoken.RoleParticipant), &signalingv1.JoinRequest{MeetingId: "m1", DisplayName: "x"})
	c.waitError(1, signalingv1.ErrorCode_ERROR_CODE_RESOURCE_EXHAUSTED)
	c.waitClosed(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_JOIN_REJECTED)
	if got := len(h.state(m).GetParticipants()); got != 2 {
		t.Fatalf("roster of a full meeting: got %d participants, want 2", got)
	}
}
