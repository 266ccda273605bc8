package e2e

import (
	"testing"
	"time"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/internal/clock"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
)

// resumeParams returns join parameters that resume j's participant with
// bindingToken.
func resumeParams(j *joined, bindingToken string) client.JoinParams {
	return client.JoinParams{
		DisplayName:   j.user,
		CorrelationID: j.resp.GetCorrelationId(),
		BindingToken:  bindingToken,
	}
}

// checkResume fails the test unless resp has the wanted resume result.
func checkResume(t *testing.T, resp *signalingv1.JoinResponse, want signalingv1.ResumeResult) {
	t.Helper()
	wantResumed := want == signalingv1.ResumeResult_RESUME_RESULT_RESUMED
	if resp.GetResumed() != wantResumed || resp.GetResumeResult() != want {
		t.Fatalf("join response: got resumed=%v result %s, want resumed=%v result %s",
			resp.GetResumed(), resp.GetResumeResult(), wantResumed, want)
	}
}

// flipHex changes the first hex digit of token.
func flipHex(token string) string {
	b := []byte(token)
	if b[0] == '0' {
		b[0] = '1'
	} else {
		b[0] = '0'
	}
	return string(b)
}

func TestBinding_OverTheWire(t *testing.T) {
	const meetingID = "m-binding"
	tn := startNode(t, nil, node.Options{})
	tn.assign(t, meetingID)
	host := tn.join(t, meetingID, "user-host", jointoken.RoleHost)
	bob := tn.join(t, meetingID, "user-bob", jointoken.RoleParticipant)
	consumed := bob.resp.GetBindingToken()

	// Sessions that later subtests use belong to the parent test, so that a
	// subtest's cleanup does not close them.
	parent := t
	var resumed *joined
	t.Run("resume after drop", func(t *testing.T) {
		if err := bob.client.Close(); err != nil {
			t.Fatalf("close bob: %v", err)
		}
		expectMessage(t, host.client, "bob disconnected",
			isUpdateOf(bob.id(), signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED))

		resumed = tn.joinWith(parent, meetingID, bob.user, jointoken.RoleParticipant, resumeParams(bob, consumed))
		checkResume(t, resumed.resp, signalingv1.ResumeResult_RESUME_RESULT_RESUMED)
		if resumed.id() != bob.id() {
			t.Errorf("participant id: got %q, want %q", resumed.id(), bob.id())
		}
		if resumed.resp.GetCorrelationId() != bob.resp.GetCorrelationId() {
			t.Errorf("correlation id: got %q, want %q", resumed.resp.GetCorrelationId(), bob.resp.GetCorrelationId())
		}
		if got := resumed.resp.GetBindingToken(); got == consumed || len(got) != 64 {
			t.Errorf("binding token: got %q, want 64 hex digits other than the consumed %q", got, consumed)
		}
	})
	if resumed == nil {
		t.FailNow()
	}

	t.Run("replayed token", func(t *testing.T) {
		replay := tn.joinWith(t, meetingID, bob.user, jointoken.RoleParticipant, resumeParams(bob, consumed))
		checkResume(t, replay.resp, signalingv1.ResumeResult_RESUME_RESULT_REJECTED_REPLAYED)
		if replay.id() == bob.id() {
			t.Errorf("replay joined as participant %q, want a new participant", replay.id())
		}
	})

	t.Run("other user", func(t *testing.T) {
		other := tn.joinWith(t, meetingID, "user-mallory", jointoken.RoleParticipant, resumeParams(bob, resumed.resp.GetBindingToken()))
		checkResume(t, other.resp, signalingv1.ResumeResult_RESUME_RESULT_REJECTED_USER_MISMATCH)
		if other.id() == bob.id() {
			t.Errorf("other user got participant %q, want a new participant", other.id())
		}
	})

	t.Run("forged token", func(t *testing.T) {
		forged := tn.joinWith(t, meetingID, bob.user, jointoken.RoleParticipant, resumeParams(bob, flipHex(resumed.resp.GetBindingToken())))
		checkResume(t, forged.resp, signalingv1.ResumeResult_RESUME_RESULT_REJECTED_INVALID)
		if forged.id() == bob.id() {
			t.Errorf("forged token got participant %q, want a new participant", forged.id())
		}
	})

	t.Run("resume while connected replaces", func(t *testing.T) {
		// resumed's session is still open; its token was not consumed by the
		// rejected attempts above.
		replacement := tn.joinWith(t, meetingID, bob.user, jointoken.RoleParticipant, resumeParams(bob, resumed.resp.GetBindingToken()))
		checkResume(t, replacement.resp, signalingv1.ResumeResult_RESUME_RESULT_RESUMED)
		if replacement.id() != bob.id() {
			t.Fatalf("participant id: got %q, want %q", replacement.id(), bob.id())
		}

		expectGoodbye(t, resumed.client, signalingv1.GoodbyeReason_GOODBYE_REASON_REPLACED)
		expectClosed(t, resumed.client, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_REPLACED)

		// A round trip through the Meeting orders this check after the
		// Meeting handled the end of the old session.
		send(t, replacement.client, selfMuteMessage(true, false))
		expectMessage(t, replacement.client, "own self-mute update", func(m *signalingv1.ServerMessage) bool {
			p := m.GetParticipantUpdated().GetParticipant()
			return p.GetParticipantId() == bob.id() && p.GetSelfMute().GetAudio()
		})
		entry := tn.rosterEntry(t, meetingID, bob.id())
		if entry == nil {
			t.Fatalf("GetMeeting does not list %q after the replacement", bob.id())
		}
		if got := entry.GetConnectionState(); got != signalingv1.ConnectionState_CONNECTION_STATE_CONNECTED {
			t.Fatalf("connection state after replacement: got %s, want CONNECTED", got)
		}
		ping(t, replacement.client)
	})
}

func TestGrace_FakeClock(t *testing.T) {
	const meetingID = "m-grace"
	fake := clock.NewFake(time.Now())
	tn := startNode(t, nil, node.Options{Clock: fake})
	tn.assign(t, meetingID)
	host := tn.join(t, meetingID, "user-host", jointoken.RoleHost)
	dave := tn.join(t, meetingID, "user-dave", jointoken.RoleParticipant)

	if err := dave.client.Close(); err != nil {
		t.Fatalf("close dave: %v", err)
	}
	update := expectMessage(t, host.client, "dave disconnected",
		isUpdateOf(dave.id(), signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED))
	until := update.GetParticipantUpdated().GetParticipant().GetDisconnectedUntil().AsTime()
	if want := fake.Now().Add(tn.cfg.GracePeriod); !until.Equal(want) {
		t.Errorf("disconnected_until: got %s, want %s", until, want)
	}

	t.Run("present before the grace period ends", func(t *testing.T) {
		fake.Advance(29 * time.Second)
		entry := tn.rosterEntry(t, meetingID, dave.id())
		if entry == nil {
			t.Fatal("GetMeeting does not list dave 29 s after the drop, want listed")
		}
		if got := entry.GetConnectionState(); got != signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED {
			t.Errorf("connection state: got %s, want DISCONNECTED", got)
		}
	})

	t.Run("removed after the grace period", func(t *testing.T) {
		fake.Advance(2 * time.Second)
		expectMessage(t, host.client, "dave left with TIMEOUT", isLeftOf(dave.id(), signalingv1.LeaveReason_LEAVE_REASON_TIMEOUT))
		if entry := tn.rosterEntry(t, meetingID, dave.id()); entry != nil {
			t.Fatalf("GetMeeting lists dave after the grace period: %v", entry)
		}
	})

	t.Run("resume after the grace period", func(t *testing.T) {
		late := tn.joinWith(t, meetingID, dave.user, jointoken.RoleParticipant, resumeParams(dave, dave.resp.GetBindingToken()))
		checkResume(t, late.resp, signalingv1.ResumeResult_RESUME_RESULT_REJECTED_EXPIRED)
		if late.id() == dave.id() {
			t.Errorf("late resume got participant %q, want a new participant", late.id())
		}
	})
}
