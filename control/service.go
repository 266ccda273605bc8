package control

import (
	"context"
	"errors"
	"log/slog"

	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/messages/signalingv1"
)

// Backend is the set of node operations that the control service calls. The
// server calls it from gRPC handler goroutines, concurrently, and only with
// requests that passed validation. On success each method that returns a value returns a
// non-nil one. Errors meant for the caller wrap one of the sentinels in
// errors.go, and their message is sent to the caller as is.
type Backend interface {
	AssignMeeting(ctx context.Context, req *controlv1.AssignMeetingRequest) (*controlv1.AssignMeetingResponse, error)
	GetMeeting(ctx context.Context, meetingID string) (*controlv1.Meeting, error)
	// ListMeetings receives a page size from 1 to 1000, with 0 already
	// replaced by the default of 100.
	ListMeetings(ctx context.Context, pageSize int, pageToken string) (*controlv1.ListMeetingsResponse, error)
	EndMeeting(ctx context.Context, meetingID, reason string) error
	RemoveParticipant(ctx context.Context, meetingID, participantID, reason string) error
	MuteParticipant(ctx context.Context, req *controlv1.MuteParticipantRequest) (*signalingv1.Participant, error)
	NodeStatus(ctx context.Context) (*controlv1.GetNodeStatusResponse, error)
}

// errNoResult is logged (and sent as INTERNAL) when the Backend breaks its
// contract by returning neither a value nor an error.
var errNoResult = errors.New("backend returned a nil result without an error")

// controlService implements controlv1.ControlServiceServer. Each handler runs
// the same steps: validate, call the Backend, translate the error.
// Authentication happens earlier, in the interceptors.
type controlService struct {
	controlv1.UnimplementedControlServiceServer

	backend Backend
	logger  *slog.Logger
}

func (s *controlService) AssignMeeting(ctx context.Context, req *controlv1.AssignMeetingRequest) (*controlv1.AssignMeetingResponse, error) {
	if err := validateAssignMeeting(req); err != nil {
		return nil, s.toStatus(err)
	}

	resp, err := s.backend.AssignMeeting(ctx, req)
	if err == nil && resp == nil {
		err = errNoResult
	}
	if err != nil {
		return nil, s.toStatus(err)
	}
	return resp, nil
}

func (s *controlService) GetMeeting(ctx context.Context, req *controlv1.GetMeetingRequest) (*controlv1.GetMeetingResponse, error) {
	if err := validateID("meeting_id", req.GetMeetingId(), maxMeetingIDBytes); err != nil {
		return nil, s.toStatus(err)
	}

	meeting, err := s.backend.GetMeeting(ctx, req.GetMeetingId())
	if err == nil && meeting == nil {
		err = errNoResult
	}
	if err != nil {
		return nil, s.toStatus(err)
	}
	return &controlv1.GetMeetingResponse{Meeting: meeting}, nil
}

func (s *controlService) ListMeetings(ctx context.Context, req *controlv1.ListMeetingsRequest) (*controlv1.ListMeetingsResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, s.toStatus(err)
	}

	resp, err := s.backend.ListMeetings(ctx, size, req.GetPageToken())
	if err == nil && resp == nil {
		err = errNoResult
	}
	if err != nil {
		return nil, s.toStatus(err)
	}
	return resp, nil
}

func (s *controlService) EndMeeting(ctx context.Context, req *controlv1.EndMeetingRequest) (*controlv1.EndMeetingResponse, error) {
	if err := validateEndMeeting(req); err != nil {
		return nil, s.toStatus(err)
	}

	if err := s.backend.EndMeeting(ctx, req.GetMeetingId(), req.GetReason()); err != nil {
		return nil, s.toStatus(err)
	}
	return &controlv1.EndMeetingResponse{}, nil
}

func (s *controlService) RemoveParticipant(ctx context.Context, req *controlv1.RemoveParticipantRequest) (*controlv1.RemoveParticipantResponse, error) {
	if err := validateRemoveParticipant(req); err != nil {
		return nil, s.toStatus(err)
	}

	err := s.backend.RemoveParticipant(ctx, req.GetMeetingId(), req.GetParticipantId(), req.GetReason())
	if err != nil {
		return nil, s.toStatus(err)
	}
	return &controlv1.RemoveParticipantResponse{}, nil
}

func (s *controlService) MuteParticipant(ctx context.Context, req *controlv1.MuteParticipantRequest) (*controlv1.MuteParticipantResponse, error) {
	if err := validateMuteParticipant(req); err != nil {
		return nil, s.toStatus(err)
	}

	participant, err := s.backend.MuteParticipant(ctx, req)
	if err == nil && participant == nil {
		err = errNoResult
	}
	if err != nil {
		return nil, s.toStatus(err)
	}
	return &controlv1.MuteParticipantResponse{Participant: participant}, nil
}

func (s *controlService) GetNodeStatus(ctx context.Context, _ *controlv1.GetNodeStatusRequest) (*controlv1.GetNodeStatusResponse, error) {
	resp, err := s.backend.NodeStatus(ctx)
	if err == nil && resp == nil {
		err = errNoResult
	}
	if err != nil {
		return nil, s.toStatus(err)
	}
	return resp, nil
}

func validateAssignMeeting(req *controlv1.AssignMeetingRequest) error {
	if err := validateID("meeting_id", req.GetMeetingId(), maxMeetingIDBytes); err != nil {
		return err
	}
	if err := validateMediaHandlers(req.GetMediaHandlers()); err != nil {
		return err
	}
	return validateMaxBytes("requesting_controller_id", req.GetRequestingControllerId(), maxControllerIDBytes)
}

func validateEndMeeting(req *controlv1.EndMeetingRequest) error {
	if err := validateID("meeting_id", req.GetMeetingId(), maxMeetingIDBytes); err != nil {
		return err
	}
	return validateMaxBytes("reason", req.GetReason(), maxReasonBytes)
}

func validateRemoveParticipant(req *controlv1.RemoveParticipantRequest) error {
	if err := validateID("meeting_id", req.GetMeetingId(), maxMeetingIDBytes); err != nil {
		return err
	}
	if err := validateID("participant_id", req.GetParticipantId(), maxParticipantIDBytes); err != nil {
		return err
	}
	return validateMaxBytes("reason", req.GetReason(), maxReasonBytes)
}

func validateMuteParticipant(req *controlv1.MuteParticipantRequest) error {
	if err := validateID("meeting_id", req.GetMeetingId(), maxMeetingIDBytes); err != nil {
		return err
	}
	if err := validateID("participant_id", req.GetParticipantId(), maxParticipantIDBytes); err != nil {
		return err
	}
	if !req.GetAudio() && !req.GetVideo() {
		return invalidField("audio, video", "at least one must be true")
	}
	return validateMaxBytes("reason", req.GetReason(), maxReasonBytes)
}
