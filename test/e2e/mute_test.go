package e2e

import (
	"testing"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
	"github.com/convene/convene/test/testnode"
)

func TestHostActions_FromNonHost(t *testing.T) {
	const meetingID = "m-host-actions"
	tn := testnode.Start(t, nil, node.Options{})
	tn.Assign(t, meetingID)
	host := tn.Join(t, meetingID, "user-host", jointoken.RoleHost, client.JoinParams{})
	dave := tn.Join(t, meetingID, "user-dave", jointoken.RoleParticipant, client.JoinParams{})
	carol := tn.Join(t, meetingID, "user-carol", jointoken.RoleParticipant, client.JoinParams{})
	bob := tn.Join(t, meetingID, "user-bob", jointoken.RoleParticipant, client.JoinParams{})

	t.Run("host mute", func(t *testing.T) {
		seq := send(t, dave.Client, hostMuteMessage(bob.ID(), true, true, "quiet"))
		e := expectError(t, dave.Client, signalingv1.ErrorCode_ERROR_CODE_PERMISSION_DENIED)
		if e.GetSequence() != seq {
			t.Errorf("error sequence: got %d, want %d", e.GetSequence(), seq)
		}

		entry := rosterEntry(t, tn, meetingID, bob.ID())
		if entry.GetHostMute().GetAudio() || entry.GetHostMute().GetVideo() || entry.GetHostMutedBy() != "" {
			t.Errorf("bob after a denied host mute: got host_mute %v by %q, want none", entry.GetHostMute(), entry.GetHostMutedBy())
		}
	})

	t.Run("unmute decision", func(t *testing.T) {
		send(t, host.Client, hostMuteMessage(carol.ID(), true, false, ""))
		testnode.Expect(t, dave.Client, "carol host-muted", func(m *signalingv1.ServerMessage) bool {
			p := m.GetParticipantUpdated().GetParticipant()
			return p.GetParticipantId() == carol.ID() && p.GetHostMute().GetAudio()
		})

		seq := send(t, dave.Client, unmuteDecisionMessage(carol.ID(), true, false, true))
		e := expectError(t, dave.Client, signalingv1.ErrorCode_ERROR_CODE_PERMISSION_DENIED)
		if e.GetSequence() != seq {
			t.Errorf("error sequence: got %d, want %d", e.GetSequence(), seq)
		}

		entry := rosterEntry(t, tn, meetingID, carol.ID())
		if !entry.GetHostMute().GetAudio() || entry.GetHostMutedBy() != host.ID() {
			t.Errorf("carol after a denied unmute decision: got host_mute %v by %q, want audio by %q",
				entry.GetHostMute(), entry.GetHostMutedBy(), host.ID())
		}
	})
}
