package control

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/convene/convene/messages/controlv1"
)

func TestToStatus_MapsSentinels(t *testing.T) {
	ts := startTestServer(t, nil)

	tests := []struct {
		name     string
		err      error
		wantCode codes.Code
		wantMsg  string
	}{
		{"meeting not found", fmt.Errorf("meeting m1: %w", ErrMeetingNotFound), codes.NotFound, "meeting m1: meeting not found"},
		{"participant not found", fmt.Errorf("participant p1: %w", ErrParticipantNotFound), codes.NotFound, "participant p1: participant not found"},
		{"invalid argument", fmt.Errorf("generation 0: %w", ErrInvalidArgument), codes.InvalidArgument, "generation 0: invalid argument"},
		{"permission denied", fmt.Errorf("meeting m1: %w", ErrPermissionDenied), codes.PermissionDenied, "meeting m1: permission denied"},
		{"failed precondition", fmt.Errorf("meeting m1 ended: %w", ErrFailedPrecondition), codes.FailedPrecondition, "meeting m1 ended: failed precondition"},
		{"unavailable", fmt.Errorf("node draining: %w", ErrUnavailable), codes.Unavailable, "node draining: unavailable"},
		{"resource exhausted", fmt.Errorf("max meetings 100: %w", ErrResourceExhausted), codes.ResourceExhausted, "max meetings 100: resource exhausted"},
		{"deadline exceeded", fmt.Errorf("meeting actor m1: %w", ErrDeadlineExceeded), codes.DeadlineExceeded, "meeting actor m1: deadline exceeded"},
		{"double wrapped", fmt.Errorf("outer: %w", fmt.Errorf("meeting m1: %w", ErrMeetingNotFound)), codes.NotFound, "outer: meeting m1: meeting not found"},
		{"context canceled", fmt.Errorf("request actor 10.0.0.9: %w", context.Canceled), codes.Canceled, "request canceled"},
		{"context deadline", fmt.Errorf("request actor 10.0.0.9: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "deadline exceeded"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.backend.mu.Lock()
			ts.backend.err = tt.err
			ts.backend.mu.Unlock()

			_, err := ts.client.GetMeeting(authContext(t), &controlv1.GetMeetingRequest{MeetingId: "m1"})

			if got := status.Code(err); got != tt.wantCode {
				t.Errorf("got code %v (error %v), want %v", got, err, tt.wantCode)
			}
			if got := status.Convert(err).Message(); got != tt.wantMsg {
				t.Errorf("got message %q, want %q", got, tt.wantMsg)
			}
		})
	}
}

func TestToStatus_HidesUnknownErrors(t *testing.T) {
	ts := startTestServer(t, nil)
	const secret = "dial tcp 10.1.2.3:6000: connection refused"
	ts.backend.err = errors.New(secret)

	calls := map[string]func(context.Context) error{
		"AssignMeeting": func(ctx context.Context) error {
			_, err := ts.client.AssignMeeting(ctx, &controlv1.AssignMeetingRequest{MeetingId: "m1"})
			return err
		},
		"GetMeeting": func(ctx context.Context) error {
			_, err := ts.client.GetMeeting(ctx, &controlv1.GetMeetingRequest{MeetingId: "m1"})
			return err
		},
		"ListMeetings": func(ctx context.Context) error {
			_, err := ts.client.ListMeetings(ctx, &controlv1.ListMeetingsRequest{})
			return err
		},
		"EndMeeting": func(ctx context.Context) error {
			_, err := ts.client.EndMeeting(ctx, &controlv1.EndMeetingRequest{MeetingId: "m1"})
			return err
		},
		"RemoveParticipant": func(ctx context.Context) error {
			_, err := ts.client.RemoveParticipant(ctx, &controlv1.RemoveParticipantRequest{MeetingId: "m1", ParticipantId: "p1"})
			return err
		},
		"MuteParticipant": func(ctx context.Context) error {
			_, err := ts.client.MuteParticipant(ctx, &controlv1.MuteParticipantRequest{MeetingId: "m1", ParticipantId: "p1", Audio: true})
			return err
		},
		"GetNodeStatus": func(ctx context.Context) error {
			_, err := ts.client.GetNodeStatus(ctx, &controlv1.GetNodeStatusRequest{})
			return err
		},
	}

	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call(authContext(t))

			if got := status.Code(err); got != codes.Internal {
				t.Errorf("got code %v (error %v), want %v", got, err, codes.Internal)
			}
			if got := status.Convert(err).Message(); got != internalMessage {
				t.Errorf("got message %q, want %q", got, internalMessage)
			}
			if strings.Contains(err.Error(), "10.1.2.3") {
				t.Errorf("error %q leaks the internal error text", err)
			}
		})
	}

	logs := ts.logs.String()
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, secret) {
		t.Errorf("got logs without an Error line carrying %q:\n%s", secret, logs)
	}
}

func TestToStatus_NilResult(t *testing.T) {
	ts := startTestServer(t, nil)
	ts.backend.returnNil = true

	_, err := ts.client.GetMeeting(authContext(t), &controlv1.GetMeetingRequest{MeetingId: "m1"})

	if got := status.Code(err); got != codes.Internal {
		t.Errorf("got code %v (error %v), want %v", got, err, codes.Internal)
	}
	if !strings.Contains(ts.logs.String(), errNoResult.Error()) {
		t.Errorf("got logs without %q:\n%s", errNoResult, ts.logs.String())
	}
}

func TestToStatus_Nil(t *testing.T) {
	s := &controlService{}
	if err := s.toStatus(nil); err != nil {
		t.Errorf("got %v, want nil", err)
	}
}

func TestServer_LogsCalls(t *testing.T) {
	ts := startTestServer(t, nil)

	if _, err := ts.client.GetMeeting(authContext(t), &controlv1.GetMeetingRequest{MeetingId: "m1"}); err != nil {
		t.Fatalf("GetMeeting: got error %v, want nil", err)
	}

	logs := ts.logs.String()
	for _, want := range []string{
		"level=DEBUG",
		"msg=\"control call\"",
		"method=/convene.control.v1.ControlService/GetMeeting",
		"code=OK",
		"duration=",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("got logs without %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, testToken) {
		t.Errorf("logs contain the token:\n%s", logs)
	}
}
