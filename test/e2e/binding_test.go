package e2e

import (
	"testing"
	"time"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/internal/clock"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
	"github.com/convene/convene/test/testnode"
)

// resumeParams returns join parameters that resume j's participant with
// bindingToken.
func resumeParams(j *testnode.Participant, bindingToken string) client.JoinParams {
	return client.JoinParams{
		DisplayName:   j.User,
		CorrelationID: j.Response.GetCorrelationId(),
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
	tn := testnode.Start(t, nil, node.Options{})
	tn.Assign(t, meetingID)
	host := tn.Join(t, meetingID, "user-host", jointoken.RoleHost, client.JoinParams{})
	bob := tn.Join(t, meetingID, "user-bob", jointoken.RoleParticipant, client.JoinParams{})
	consumed := bob.Response.GetBindingToken()

	// Sessions that later subtests use belong to the parent test, so that a
	// subtest's cleanup does not close them.
	parent := t
	var resumed *testnode.Participant
	t.Run("resume after drop", func(t *testing.T) {
		if err := bob.Client.Close(); err != nil {
			t.Fatalf("close bob: %v", err)
		}
		testnode.Expect(t, host.Client, "bob disconnected",
			testnode.IsConnectionState(bob.ID(), signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED))

		resumed = tn.Join(parent, meetingID, bob.User, jointoken.RoleParticipant, resumeParams(bob, consumed))
		checkResume(t, resumed.Response, signalingv1.ResumeResult_RESUME_RESULT_RESUMED)
		if resumed.ID() != bob.ID() {
			t.Errorf("participant id: got %q, want %q", resumed.ID(), bob.ID())
		}
		if resumed.Response.GetCorrelationId() != bob.Response.GetCorrelationId() {
			t.Errorf("correlation id: got %q, want %q", resumed.Response.GetCorrelationId(), bob.Response.GetCorrelationId())
		}
		if got := resumed.Response.GetBindingToken(); got == consumed || len(got) != 64 {
			t.Errorf("binding token: got %q, want 64 hex digits other than the consumed %q", got, consumed)
		}
	})
	if resumed == nil {
		t.FailNow()
	}

	t.Run("replayed token", func(t *testing.T) {
		replay := tn.Join(t, meetingID, bob.User, jointoken.RoleParticipant, resumeParams(bob, consumed))
		checkResume(t, replay.Response, signalingv1.ResumeResult_RESUME_RESULT_REJECTED_REPLAYED)
		if replay.ID() == bob.ID() {
			t.Errorf("replay joined as participant %q, want a new participant", replay.ID())
		}
	})

	t.Run("other user", func(t *testing.T) {
		other := tn.Join(t, meetingID, "user-mallory", jointoken.RoleParticipant, resumeParams(bob, resumed.Response.GetBindingToken()))
		checkResume(t, other.Response, signalingv1.ResumeResult_RESUME_RESULT_REJECTED_USER_MISMATCH)
		if other.ID() == bob.ID() {
			t.Errorf("other user got participant %q, want a new participant", other.ID())
		}
	})

	t.Run("forged token", func(t *testing.T) {
		forged := tn.Join(t, meetingID, bob.User, jointoken.RoleParticipant, resumeParams(bob, flipHex(resumed.Response.GetBindingToken())))
		checkResume(t, forged.Response, signalingv1.ResumeResult_RESUME_RESULT_REJECTED_INVALID)
		if forged.ID() == bob.ID() {
			t.Errorf("forged token got participant %q, want a new participant", forged.ID())
		}
	})

	t.Run("resume while connected replaces", func(t *testing.T) {
		// resumed's session is still open; its token was not consumed by the
		// rejected attempts above.
		replacement := tn.Join(t, meetingID, bob.User, jointoken.RoleParticipant, resumeParams(bob, resumed.Response.GetBindingToken()))
		checkResume(t, replacement.Response, signalingv1.ResumeResult_RESUME_RESULT_RESUMED)
		if replacement.ID() != bob.ID() {
			t.Fatalf("participant id: got %q, want %q", replacement.ID(), bob.ID())
		}

		expectGoodbye(t, resumed.Client, signalingv1.GoodbyeReason_GOODBYE_REASON_REPLACED)
		testnode.ExpectClosed(t, resumed.Client, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_REPLACED)

		// A round trip through the Meeting orders this check after the
		// Meeting handled the end of the old session.
		send(t, replacement.Client, testnode.SelfMuteMessage(true, false))
		testnode.Expect(t, replacement.Client, "own self-mute update", func(m *signalingv1.ServerMessage) bool {
			p := m.GetParticipantUpdated().GetParticipant()
			return p.GetParticipantId() == bob.ID() && p.GetSelfMute().GetAudio()
		})
		entry := rosterEntry(t, tn, meetingID, bob.ID())
		if entry == nil {
			t.Fatalf("GetMeeting does not list %q after the replacement", bob.ID())
		}
		if got := entry.GetConnectionState(); got != signalingv1.ConnectionState_CONNECTION_STATE_CONNECTED {
			t.Fatalf("connection state after replacement: got %s, want CONNECTED", got)
		}
		ping(t, replacement.Client)
	})
}

func TestGrace_FakeClock(t *testing.T) {
	const meetingID = "m-grace"
	fake := clock.NewFake(time.Now())
	tn := testnode.Start(t, nil, node.Options{Clock: fake})
	tn.Assign(t, meetingID)
	host := tn.Join(t, meetingID, "user-host", jointoken.RoleHost, client.JoinParams{})
	dave := tn.Join(t, meetingID, "user-dave", jointoken.RoleParticipant, client.JoinParams{})

	if err := dave.Client.Close(); err != nil {
		t.Fatalf("close dave: %v", err)
	}
	update := testnode.Expect(t, host.Client, "dave disconnected",
		testnode.IsConnectionState(dave.ID(), signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED))
	until := update.GetParticipantUpdated().GetParticipant().GetDisconnectedUntil().AsTime()
	if want := fake.Now().Add(tn.Config.GracePeriod); !until.Equal(want) {
		t.Errorf("disconnected_until: got %s, want %s", until, want)
	}

	t.Run("present before the grace period ends", func(t *testing.T) {
		fake.Advance(29 * time.Second)
		entry := rosterEntry(t, tn, meetingID, dave.ID())
		if entry == nil {
			t.Fatal("GetMeeting does not list dave 29 s after the drop, want listed")
		}
		if got := entry.GetConnectionState(); got != signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED {
			t.Errorf("connection state: got %s, want DISCONNECTED", got)
		}
	})

	t.Run("removed after the grace period", func(t *testing.T) {
		fake.Advance(2 * time.Second)
		testnode.Expect(t, host.Client, "dave left with TIMEOUT", isLeftOf(dave.ID(), signalingv1.LeaveReason_LEAVE_REASON_TIMEOUT))
		if entry := rosterEntry(t, tn, meetingID, dave.ID()); entry != nil {
			t.Fatalf("GetMeeting lists dave after the grace period: %v", entry)
		}
	})

	t.Run("resume after the grace period", func(t *testing.T) {
		late := tn.Join(t, meetingID, dave.User, jointoken.RoleParticipant, resumeParams(dave, dave.Response.GetBindingToken()))
		checkResume(t, late.Response, signalingv1.ResumeResult_RESUME_RESULT_REJECTED_EXPIRED)
		if late.ID() == dave.ID() {
			t.Errorf("late resume got participant %q, want a new participant", late.ID())
		}
	})
}
