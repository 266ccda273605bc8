package node

import (
	"context"
	"fmt"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/control"
)

// InjectPanic makes an actor of this node panic, for fault-injection
// tests: the Meeting of meetingID, or the Connection of participantID in
// it when that is set, or the MeetingController when meetingID is empty.
// Nothing outside the process can reach it.
func (n *Node) InjectPanic(ctx context.Context, meetingID, participantID string) error {
	if n.member == nil {
		return errNotStarted
	}
	fault := &actors.InjectPanic{Reason: "test", Participant: actors.ParticipantID(participantID)}
	if meetingID == "" {
		n.member.System.Root.Send(n.controller, fault)
		return nil
	}
	pid, _, err := n.Locate(ctx, meetingID)
	if err != nil {
		return err
	}
	if !n.IsLocal(pid) {
		return fmt.Errorf("meeting %q runs on another node: %w", meetingID, control.ErrFailedPrecondition)
	}
	n.member.System.Root.Send(pid, fault)
	return nil
}
