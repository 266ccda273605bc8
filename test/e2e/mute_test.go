package e2e

import (
	"testing"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
)

func TestHostActions_FromNonHost(t *testing.T) {
	const meetingID = "m-host-actions"
	tn := startNode(t, nil, node.Options{})
	tn.assign(t, meetingID)
	host := tn.join(t, meetingID, "user-host", jointoken.RoleHost)
	dave := tn.join(t, meetingID, "user-dave", jointoken.RoleParticipant)
	carol := tn.join(t, meetingID, "user-carol", jointoken.RoleParticipant)
	bob := tn.join(t, meetingID, "user-bob", jointoken.RoleParticipant)

	t.Run("host mute", func(t *testing.T) {
		seq := send(t, dave.client, hostMuteMessage(bob.id(), true, true, "quiet"))
		e := expectError(t, dave.client, signalingv1.ErrorCode_ERROR_CODE_PERMISSION_DENIED)
		if e.GetSequence() != seq {
			t.Errorf("error sequence: got %d, want %d", e.GetSequence(), seq)
		}

		entry := tn.rosterEntry(t, meetingID, bob.id())
		if entry.GetHostMute().GetAudio() || entry.GetHostMute().GetVideo() || entry.GetHostMutedBy() != "" {
			t.Errorf("bob after a denied host mute: got host_mute %v by %q, want none", entry.GetHostMute(), entry.GetHostMutedBy())
		}
	})

	t.Run("unmute decision", func(t *testing.T) {
		send(t, host.client, hostMuteMessage(carol.id(), true, false, ""))
		expectMessage(t, dave.client, "carol host-muted", func(m *signalingv1.ServerMessage) bool {
			p := m.GetParticipantUpdated().GetParticipant()
			return p.GetParticipantId() == carol.id() && p.GetHostMute().GetAudio()
		})

		seq := send(t, dave.client, unmuteDecisionMessage(carol.id(), true, false, true))
		e := expectError(t, dave.client, signalingv1.ErrorCode_ERROR_CODE_PERMISSION_DENIED)
		if e.GetSequence() != seq {
			t.Errorf("error sequence: got %d, want %d", e.GetSequence(), seq)
		}

		entry := tn.rosterEntry(t, meetingID, carol.id())
		if !entry.GetHostMute().GetAudio() || entry.GetHostMutedBy() != host.id() {
			t.Errorf("carol after a denied unmute decision: got host_mute %v by %q, want audio by %q",
				entry.GetHostMute(), entry.GetHostMutedBy(), host.id())
		}
	})
}
