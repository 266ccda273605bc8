package node

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/control"
	"github.com/convene/convene/messages/actorv1"
	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/messages/signalingv1"
)

// backend implements control.Backend over the node's actors.
type backend struct {
	node *Node
}

var _ control.Backend = (*backend)(nil)

func (b *backend) AssignMeeting(ctx context.Context, req *controlv1.AssignMeetingRequest) (*controlv1.AssignMeetingResponse, error) {
	id := req.GetMeetingId()
	reply, err := b.node.askController(ctx, &actors.Admit{MeetingID: actors.MeetingID(id)})
	if err != nil {
		return nil, err
	}
	if reason := reply.(*actors.Admission).Reject; reason != "" {
		return &controlv1.AssignMeetingResponse{Accepted: false, RejectReason: rejectReason(reason), NodeId: b.node.nodeID}, nil
	}

	raw, _, err := b.node.requestMeeting(ctx, id, &actorv1.ActivateMeeting{
		MeetingId:              id,
		MediaHandlers:          req.GetMediaHandlers(),
		RequestingControllerId: req.GetRequestingControllerId(),
	})
	if err != nil {
		b.node.member.System.Root.Send(b.node.controller, &actors.Release{MeetingID: actors.MeetingID(id)})
		return nil, err
	}
	activated := raw.(*actorv1.ActivateMeetingReply)
	if err := actorErr(id, activated.GetError()); err != nil {
		b.node.member.System.Root.Send(b.node.controller, &actors.Release{MeetingID: actors.MeetingID(id)})
		return nil, err
	}
	placement := activated.GetPlacement()
	return &controlv1.AssignMeetingResponse{
		Accepted:          true,
		SignalingUrl:      placement.GetSignalingUrl(),
		CertificateSha256: placement.GetCertificateSha256(),
		Generation:        placement.GetGeneration(),
		NodeId:            placement.GetNodeId(),
	}, nil
}

func (b *backend) GetMeeting(ctx context.Context, meetingID string) (*controlv1.Meeting, error) {
	raw, _, err := b.node.requestMeeting(ctx, meetingID, &actorv1.GetMeetingState{})
	if err != nil {
		return nil, err
	}
	state := raw.(*actorv1.GetMeetingStateReply)
	if err := actorErr(meetingID, state.GetError()); err != nil {
		return nil, err
	}
	return &controlv1.Meeting{
		MeetingId:              meetingID,
		NodeId:                 state.GetPlacement().GetNodeId(),
		SignalingUrl:           state.GetPlacement().GetSignalingUrl(),
		Generation:             state.GetPlacement().GetGeneration(),
		CreatedAt:              state.GetCreatedAt(),
		RequestingControllerId: state.GetRequestingControllerId(),
		MediaHandlers:          state.GetMediaHandlers(),
		Participants:           state.GetParticipants(),
	}, nil
}

func (b *backend) ListMeetings(ctx context.Context, pageSize int, pageToken string) (*controlv1.ListMeetingsResponse, error) {
	after, err := decodePageToken(pageToken)
	if err != nil {
		return nil, err
	}
	raw, err := b.node.askController(ctx, &actors.ListMeetings{After: actors.MeetingID(after), Limit: pageSize})
	if err != nil {
		return nil, err
	}
	page := raw.(*actors.MeetingPage)
	resp := &controlv1.ListMeetingsResponse{}
	for _, m := range page.Meetings {
		resp.Meetings = append(resp.Meetings, &controlv1.MeetingSummary{
			MeetingId:             string(m.MeetingID),
			Participants:          uint32(m.Participants),
			ConnectedParticipants: uint32(m.Connected),
			Generation:            m.Generation,
			CreatedAt:             timestamppb.New(m.CreatedAt),
		})
	}
	if page.More && len(page.Meetings) > 0 {
		resp.NextPageToken = encodePageToken(string(page.Meetings[len(page.Meetings)-1].MeetingID))
	}
	return resp, nil
}

func (b *backend) EndMeeting(ctx context.Context, meetingID, reason string) error {
	raw, _, err := b.node.requestMeeting(ctx, meetingID, &actorv1.EndMeeting{Reason: reason})
	if err != nil {
		return err
	}
	return actorErr(meetingID, raw.(*actorv1.EndMeetingReply).GetError())
}

func (b *backend) RemoveParticipant(ctx context.Context, meetingID, participantID, reason string) error {
	raw, _, err := b.node.requestMeeting(ctx, meetingID, &actorv1.RemoveParticipant{ParticipantId: participantID, Reason: reason})
	if err != nil {
		return err
	}
	return actorErr(meetingID, raw.(*actorv1.RemoveParticipantReply).GetError())
}

func (b *backend) MuteParticipant(ctx context.Context, req *controlv1.MuteParticipantRequest) (*signalingv1.Participant, error) {
	raw, _, err := b.node.requestMeeting(ctx, req.GetMeetingId(), &actorv1.MuteParticipant{
		ParticipantId: req.GetParticipantId(),
		Audio:         req.GetAudio(),
		Video:         req.GetVideo(),
		Reason:        req.GetReason(),
	})
	if err != nil {
		return nil, err
	}
	reply := raw.(*actorv1.MuteParticipantReply)
	if err := actorErr(req.GetMeetingId(), reply.GetError()); err != nil {
		return nil, err
	}
	return reply.GetParticipant(), nil
}

func (b *backend) NodeStatus(ctx context.Context) (*controlv1.GetNodeStatusResponse, error) {
	raw, err := b.node.askController(ctx, &actors.GetStatus{})
	if err != nil {
		return nil, err
	}
	status := raw.(*actors.NodeStatus)
	return &controlv1.GetNodeStatusResponse{
		NodeId:            b.node.nodeID,
		SignalingUrl:      b.node.endpoints.SignalingURL,
		CertificateSha256: b.node.secrets.cert.Fingerprint(),
		Ready:             b.node.readiness() == nil && status.Ready,
		Draining:          status.Draining || b.node.draining.Load(),
		Meetings:          uint32(status.Meetings),
		Participants:      uint32(status.Participants),
		MaxMeetings:       uint32(status.MaxMeetings),
		MaxParticipants:   uint32(status.MaxParticipants),
		StartedAt:         timestamppb.New(b.node.started),
		Mailboxes:         b.node.mailboxStatus(),
	}, nil
}

func rejectReason(reason string) controlv1.RejectReason {
	switch reason {
	case actors.RejectAtCapacity:
		return controlv1.RejectReason_REJECT_REASON_AT_CAPACITY
	case actors.RejectDraining:
		return controlv1.RejectReason_REJECT_REASON_DRAINING
	default:
		return controlv1.RejectReason_REJECT_REASON_UNHEALTHY
	}
}

// actorErr translates a Meeting's error reply into a control error.
func actorErr(meetingID string, e *actorv1.ActorError) error {
	if e == nil {
		return nil
	}
	switch e.GetCode() {
	case actorv1.ActorErrorCode_ACTOR_ERROR_CODE_NOT_FOUND:
		return fmt.Errorf("meeting %q: %w", meetingID, control.ErrMeetingNotFound)
	case actorv1.ActorErrorCode_ACTOR_ERROR_CODE_PARTICIPANT_NOT_FOUND:
		return fmt.Errorf("meeting %q: %w", meetingID, control.ErrParticipantNotFound)
	case actorv1.ActorErrorCode_ACTOR_ERROR_CODE_INVALID_ARGUMENT:
		return fmt.Errorf("meeting %q: %s: %w", meetingID, e.GetMessage(), control.ErrInvalidArgument)
	case actorv1.ActorErrorCode_ACTOR_ERROR_CODE_FAILED_PRECONDITION:
		return fmt.Errorf("meeting %q: %s: %w", meetingID, e.GetMessage(), control.ErrFailedPrecondition)
	case actorv1.ActorErrorCode_ACTOR_ERROR_CODE_RESOURCE_EXHAUSTED:
		return fmt.Errorf("meeting %q: %s: %w", meetingID, e.GetMessage(), control.ErrResourceExhausted)
	case actorv1.ActorErrorCode_ACTOR_ERROR_CODE_UNAVAILABLE:
		return fmt.Errorf("meeting %q: %s: %w", meetingID, e.GetMessage(), control.ErrUnavailable)
	default:
		return fmt.Errorf("meeting %q: %s", meetingID, e.GetMessage())
	}
}

// pageTokenPrefix marks page tokens, so that arbitrary base64 is rejected
// instead of silently listing from an arbitrary point.
const pageTokenPrefix = "after:"

func encodePageToken(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pageTokenPrefix + lastID))
}

func decodePageToken(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	id, ok := strings.CutPrefix(string(raw), pageTokenPrefix)
	if err != nil || !ok || id == "" || len(id) > 128 {
		return "", fmt.Errorf("page_token: not a token from a previous page: %w", control.ErrInvalidArgument)
	}
	return id, nil
}
