package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/convene/convene/client"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/test/testnode"
)

// stop stops tn within testnode.StopTimeout and returns the error of the
// first stop of tn.
func stop(tn *testnode.Node) error {
	ctx, cancel := context.WithTimeout(context.Background(), testnode.StopTimeout)
	defer cancel()
	return tn.Stop(ctx)
}

// rosterEntry returns the participant from GetMeeting, or nil when the
// meeting does not list it.
func rosterEntry(t *testing.T, tn *testnode.Node, meetingID, participantID string) *signalingv1.Participant {
	t.Helper()
	for _, p := range tn.GetMeeting(t, meetingID).GetParticipants() {
		if p.GetParticipantId() == participantID {
			return p
		}
	}
	return nil
}

// expectError waits for an Error with code.
func expectError(t *testing.T, c *client.Client, code signalingv1.ErrorCode) *signalingv1.Error {
	t.Helper()
	msg := testnode.Expect(t, c, "error "+code.String(), func(m *signalingv1.ServerMessage) bool {
		return m.GetError().GetCode() == code
	})
	return msg.GetError()
}

// expectGoodbye waits for a Goodbye with reason.
func expectGoodbye(t *testing.T, c *client.Client, reason signalingv1.GoodbyeReason) {
	t.Helper()
	testnode.Expect(t, c, "goodbye "+reason.String(), func(m *signalingv1.ServerMessage) bool {
		return m.GetGoodbye().GetReason() == reason
	})
}

// expectRejected checks that a join failed with a server Error of code.
func expectRejected(t *testing.T, err error, code signalingv1.ErrorCode) {
	t.Helper()
	var serverErr *client.ServerError
	if !errors.As(err, &serverErr) {
		t.Fatalf("join: got error %v, want server error %s", err, code)
	}
	if got := serverErr.Err.GetCode(); got != code {
		t.Fatalf("join error code: got %s (%q), want %s", got, serverErr.Err.GetMessage(), code)
	}
}

// isLeftOf matches a ParticipantLeft of participantID with reason.
func isLeftOf(participantID string, reason signalingv1.LeaveReason) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		left := m.GetParticipantLeft()
		return left.GetParticipantId() == participantID && left.GetReason() == reason
	}
}

// isPong matches the pong to the ping with sequence seq.
func isPong(seq uint64) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool { return m.GetPong() != nil && m.GetInReplyTo() == seq }
}

// ping sends a ping and waits for its pong.
func ping(t *testing.T, c *client.Client) {
	t.Helper()
	seq, err := c.Send(pingMessage())
	if err != nil {
		t.Fatalf("send ping: %v", err)
	}
	testnode.Expect(t, c, fmt.Sprintf("pong to %d", seq), isPong(seq))
}

func pingMessage() *signalingv1.ClientMessage {
	return &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_Ping{Ping: &signalingv1.PingRequest{}}}
}

func hostMuteMessage(participantID string, audio, video bool, reason string) *signalingv1.ClientMessage {
	return &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_HostMute{HostMute: &signalingv1.HostMuteRequest{
		ParticipantId: participantID, Audio: audio, Video: video, Reason: reason,
	}}}
}

func unmuteDecisionMessage(participantID string, audio, video, approved bool) *signalingv1.ClientMessage {
	return &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_UnmuteDecision{UnmuteDecision: &signalingv1.UnmuteDecision{
		ParticipantId: participantID, Audio: audio, Video: video, Approved: approved,
	}}}
}

// send sends msg and fails the test on error.
func send(t *testing.T, c *client.Client, msg *signalingv1.ClientMessage) uint64 {
	t.Helper()
	seq, err := c.Send(msg)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return seq
}
