package actors_test

import (
	"testing"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/messages/signalingv1"
)

// muteUpdate matches a ParticipantUpdated of id with the given tiers.
func muteUpdate(id string, self, host *signalingv1.MuteState) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		p := m.GetParticipantUpdated().GetParticipant()
		return p.GetParticipantId() == id &&
			p.GetSelfMute().GetAudio() == self.GetAudio() && p.GetSelfMute().GetVideo() == self.GetVideo() &&
			p.GetHostMute().GetAudio() == host.GetAudio() && p.GetHostMute().GetVideo() == host.GetVideo()
	}
}

func mute(audio, video bool) *signalingv1.MuteState {
	return &signalingv1.MuteState{Audio: audio, Video: video}
}

func TestSelfMute_BroadcastToAll(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)

	guest.selfMute(true, false)
	for _, c := range []*client{host, guest} {
		c.waitFor("self-mute update", muteUpdate(guest.id(), mute(true, false), mute(false, false)))
	}
	if got := rosterEntry(h.state(m), guest.id()).GetSelfMute(); !got.GetAudio() || got.GetVideo() {
		t.Fatalf("self_mute in the roster: got %v, want audio only", got)
	}

	guest.selfMute(false, false)
	host.waitFor("self-unmute update", muteUpdate(guest.id(), mute(false, false), mute(false, false)))
}

func TestHostMute_ByParticipantDenied(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)

	seq := guest.hostMute(host.id(), true, true, "")
	guest.waitError(seq, signalingv1.ErrorCode_ERROR_CODE_PERMISSION_DENIED)
	syncAll(guest, host)
	if n := host.count(isAnyUpdateOf(host.id())); n != 0 {
		t.Fatalf("ParticipantUpdated after a denied host mute: got %d, want 0", n)
	}
	if got := rosterEntry(h.state(m), host.id()).GetHostMute(); got.GetAudio() || got.GetVideo() {
		t.Fatalf("host_mute after a denied host mute: got %v, want none", got)
	}
}

func TestHostMute_ByHost(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)

	host.hostMute(guest.id(), true, false, "noise")
	for _, c := range []*client{host, guest} {
		u := c.waitFor("host-mute update", muteUpdate(guest.id(), mute(false, false), mute(true, false))).
			GetParticipantUpdated().GetParticipant()
		if u.GetHostMutedBy() != host.id() || u.GetHostMuteReason() != "noise" {
			t.Fatalf("host mute: got muted by %q for %q, want %q for noise", u.GetHostMutedBy(), u.GetHostMuteReason(), host.id())
		}
	}

	tests := []struct {
		name   string
		target string
		audio  bool
		video  bool
		want   signalingv1.ErrorCode
	}{
		{"unknown participant", "p99", true, false, signalingv1.ErrorCode_ERROR_CODE_NOT_FOUND},
		{"no media", guest.id(), false, false, signalingv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := host.hostMute(tt.target, tt.audio, tt.video, "")
			host.waitError(seq, tt.want)
		})
	}
}

func TestSelfMute_HostMutedCannotUnmute(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host, guest := mutedPair(h, m)

	// Video is only self-muted and audio is host-muted, so a request that
	// lifts audio is rejected even though it also lifts video.
	seq := guest.selfMute(false, false)
	guest.waitError(seq, signalingv1.ErrorCode_ERROR_CODE_HOST_MUTED)
	syncAll(guest, host)
	entry := rosterEntry(h.state(m), guest.id())
	if !entry.GetSelfMute().GetVideo() || !entry.GetHostMute().GetAudio() {
		t.Fatalf("mute tiers after a rejected self-unmute: got self %v host %v, want self video, host audio", entry.GetSelfMute(), entry.GetHostMute())
	}
	if n := host.count(muteUpdate(guest.id(), mute(false, false), mute(true, false))); n != 0 {
		t.Fatalf("ParticipantUpdated with the rejected self-unmute: got %d, want 0", n)
	}

	// Keeping the host-muted kind muted is allowed.
	guest.selfMute(true, false)
	host.waitFor("self-mute keeping audio muted", muteUpdate(guest.id(), mute(true, false), mute(true, false)))
}

func TestUnmuteRequest_ReachesHostsOnly(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host, guest := mutedPair(h, m)
	cohost := h.join(m, "u3", jointoken.RoleHost)
	other := h.join(m, "u4", jointoken.RoleParticipant)

	seq := guest.unmuteRequest(false, true)
	guest.waitError(seq, signalingv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT)
	seq = guest.unmuteRequest(false, false)
	guest.waitError(seq, signalingv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT)
	syncAll(guest, host, cohost)
	if n := host.count(isUnmuteRequestedFor(guest.id())); n != 0 {
		t.Fatalf("UnmuteRequested for a kind not host-muted: got %d, want 0", n)
	}

	guest.unmuteRequest(true, true)
	for name, c := range map[string]*client{"host": host, "cohost": cohost} {
		req := c.waitFor("UnmuteRequested", isUnmuteRequestedFor(guest.id())).GetUnmuteRequested()
		if !req.GetAudio() || req.GetVideo() {
			t.Fatalf("%s: UnmuteRequested: got audio=%v video=%v, want only the host-muted audio", name, req.GetAudio(), req.GetVideo())
		}
	}
	syncAll(guest, other)
	for name, c := range map[string]*client{"participant": other, "requester": guest} {
		if n := c.count(isUnmuteRequestedFor(guest.id())); n != 0 {
			t.Fatalf("%s: UnmuteRequested: got %d, want 0", name, n)
		}
	}

	// A host who joins later still receives the pending request.
	late := h.join(m, "u5", jointoken.RoleHost)
	late.waitFor("pending UnmuteRequested", isUnmuteRequestedFor(guest.id()))
}

func TestUnmuteDecision_Approved(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host, guest := mutedPair(h, m)
	guest.unmuteRequest(true, false)
	host.waitFor("UnmuteRequested", isUnmuteRequestedFor(guest.id()))

	host.unmuteDecision(guest.id(), false, false, true)
	decided := guest.waitFor("UnmuteDecided", func(msg *signalingv1.ServerMessage) bool {
		return msg.GetUnmuteDecided() != nil
	}).GetUnmuteDecided()
	if !decided.GetApproved() || !decided.GetAudio() || decided.GetDecidedBy() != host.id() {
		t.Fatalf("UnmuteDecided: got %v, want approved audio by %s", decided, host.id())
	}

	// The host tier is lifted; the self-muted video stays muted.
	for _, c := range []*client{host, guest} {
		u := c.waitFor("host-unmute update", muteUpdate(guest.id(), mute(false, true), mute(false, false))).
			GetParticipantUpdated().GetParticipant()
		if u.GetHostMutedBy() != "" {
			t.Fatalf("host_muted_by after the host mute was lifted: got %q, want empty", u.GetHostMutedBy())
		}
	}
	entry := rosterEntry(h.state(m), guest.id())
	if entry.GetHostMute().GetAudio() || !entry.GetSelfMute().GetVideo() || entry.GetSelfMute().GetAudio() {
		t.Fatalf("mute tiers after approval: got self %v host %v, want self video only, no host mute", entry.GetSelfMute(), entry.GetHostMute())
	}

	// Now the participant may lift its own mute.
	guest.selfMute(false, false)
	host.waitFor("self-unmute after approval", muteUpdate(guest.id(), mute(false, false), mute(false, false)))
}

func TestUnmuteDecision_Denied(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host, guest := mutedPair(h, m)
	guest.unmuteRequest(true, false)
	host.waitFor("UnmuteRequested", isUnmuteRequestedFor(guest.id()))

	lifted := muteUpdate(guest.id(), mute(false, true), mute(false, false))
	before := guest.count(lifted)
	host.unmuteDecision(guest.id(), true, false, false)
	decided := guest.waitFor("UnmuteDecided", func(msg *signalingv1.ServerMessage) bool {
		return msg.GetUnmuteDecided() != nil
	}).GetUnmuteDecided()
	if decided.GetApproved() {
		t.Fatal("UnmuteDecided after a denial: got approved, want denied")
	}
	syncAll(host, guest)
	if entry := rosterEntry(h.state(m), guest.id()); !entry.GetHostMute().GetAudio() {
		t.Fatalf("host_mute after a denial: got %v, want audio still muted", entry.GetHostMute())
	}
	if n := guest.count(lifted) - before; n != 0 {
		t.Fatalf("ParticipantUpdated lifting the host mute after a denial: got %d, want 0", n)
	}
	seq := guest.selfMute(false, true)
	guest.waitError(seq, signalingv1.ErrorCode_ERROR_CODE_HOST_MUTED)
}

func TestUnmuteDecision_ByParticipantDenied(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	host, guest := mutedPair(h, m)
	other := h.join(m, "u3", jointoken.RoleParticipant)

	seq := other.unmuteDecision(guest.id(), true, false, true)
	other.waitError(seq, signalingv1.ErrorCode_ERROR_CODE_PERMISSION_DENIED)
	syncAll(other, host)
	if entry := rosterEntry(h.state(m), guest.id()); !entry.GetHostMute().GetAudio() {
		t.Fatalf("host_mute after a participant's decision: got %v, want audio still muted", entry.GetHostMute())
	}
	if n := host.count(func(msg *signalingv1.ServerMessage) bool { return msg.GetUnmuteDecided() != nil }); n != 0 {
		t.Fatalf("UnmuteDecided after a participant's decision: got %d, want 0", n)
	}
}
