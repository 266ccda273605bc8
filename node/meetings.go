package node

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/control"
	"github.com/convene/convene/messages/actorv1"
	"github.com/convene/convene/signaling"
)

const (
	// defaultRequestTimeout bounds an actor request whose context has no
	// deadline.
	defaultRequestTimeout = 5 * time.Second
	// maxRequestAttempts bounds the retries of a Meeting request while the
	// identity lookup settles (an activation that just stopped, a topology
	// change). protoactor's own retry does not back off.
	maxRequestAttempts = 4
	retryBaseDelay     = 50 * time.Millisecond
)

// errNotStarted is returned while the cluster member is not running.
var errNotStarted = fmt.Errorf("cluster member not started: %w", control.ErrUnavailable)

// Locate implements signaling.Meetings.
func (n *Node) Locate(ctx context.Context, meetingID string) (*actor.PID, *actorv1.MeetingPlacement, error) {
	reply, pid, err := n.requestMeeting(ctx, meetingID, &actorv1.LocateMeeting{})
	if err != nil {
		return nil, nil, err
	}
	located, ok := reply.(*actorv1.LocateMeetingReply)
	if !ok {
		return nil, nil, fmt.Errorf("locate meeting %q: unexpected reply %T", meetingID, reply)
	}
	if located.GetError().GetCode() == actorv1.ActorErrorCode_ACTOR_ERROR_CODE_NOT_FOUND {
		return nil, nil, fmt.Errorf("locate meeting %q: %w", meetingID, signaling.ErrMeetingNotFound)
	}
	if located.GetError() != nil {
		return nil, nil, fmt.Errorf("locate meeting %q: %s", meetingID, located.GetError().GetMessage())
	}
	return pid, located.GetPlacement(), nil
}

// IsLocal implements signaling.Meetings.
func (n *Node) IsLocal(pid *actor.PID) bool { return n.member != nil && n.member.IsLocal(pid) }

// Attach implements signaling.Meetings.
func (n *Node) Attach(ctx context.Context, pid *actor.PID, msg *actors.AttachSession) error {
	reply, err := n.member.System.Root.RequestFuture(pid, msg, requestTimeout(ctx)).Result()
	if err != nil {
		return fmt.Errorf("attach session: %v: %w", err, control.ErrUnavailable)
	}
	if _, ok := reply.(*actors.SessionAttached); !ok {
		return fmt.Errorf("attach session: unexpected reply %T", reply)
	}
	return nil
}

// requestMeeting sends msg to the Meeting activation of meetingID and
// returns its reply and PID. It retries with jittered back-off when the
// activation is gone or does not respond.
func (n *Node) requestMeeting(ctx context.Context, meetingID string, msg proto.Message) (any, *actor.PID, error) {
	if n.member == nil {
		return nil, nil, errNotStarted
	}
	var lastErr error
	for attempt := 0; attempt < maxRequestAttempts; attempt++ {
		if attempt > 0 {
			delay := retryBaseDelay << (attempt - 1)
			delay += rand.N(delay)
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(delay):
			}
		}

		pid := n.member.Cluster.Get(meetingID, actors.MeetingKind)
		if pid == nil {
			lastErr = errors.New("no activation found")
			continue
		}
		reply, err := n.member.System.Root.RequestFuture(pid, msg, requestTimeout(ctx)).Result()
		if err == nil {
			return reply, pid, nil
		}
		lastErr = err
		if !errors.Is(err, actor.ErrTimeout) && !errors.Is(err, actor.ErrDeadLetter) {
			break
		}
		n.member.Cluster.PidCache.Remove(meetingID, actors.MeetingKind)
	}
	return nil, nil, fmt.Errorf("request meeting %q: %v: %w", meetingID, lastErr, control.ErrUnavailable)
}

func requestTimeout(ctx context.Context) time.Duration {
	deadline, ok := ctx.Deadline()
	if !ok {
		return defaultRequestTimeout
	}
	if d := time.Until(deadline); d > 0 {
		return d
	}
	return time.Millisecond
}

// askController sends msg to the local MeetingController and returns its reply.
func (n *Node) askController(ctx context.Context, msg any) (any, error) {
	if n.member == nil || n.controller == nil {
		return nil, errNotStarted
	}
	reply, err := n.member.System.Root.RequestFuture(n.controller, msg, requestTimeout(ctx)).Result()
	if err != nil {
		return nil, fmt.Errorf("meeting controller: %v: %w", err, control.ErrUnavailable)
	}
	return reply, nil
}
