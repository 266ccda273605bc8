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
	"github.com/convene/convene/messages/signalingv1"
)

// handlers returns n valid media handlers with distinct IDs.
func handlers(n int) []*signalingv1.MediaHandler {
	out := make([]*signalingv1.MediaHandler, n)
	for i := range out {
		out[i] = &signalingv1.MediaHandler{Id: fmt.Sprintf("mh%d", i), Url: fmt.Sprintf("https://mh%d.example.test", i)}
	}
	return out
}

func TestValidation_Rejects(t *testing.T) {
	ts := startTestServer(t, nil)
	c := ts.client
	long := func(n int) string { return strings.Repeat("x", n) }

	assign := func(req *controlv1.AssignMeetingRequest) func(context.Context) error {
		return func(ctx context.Context) error { _, err := c.AssignMeeting(ctx, req); return err }
	}
	assignHandlers := func(h ...*signalingv1.MediaHandler) func(context.Context) error {
		return assign(&controlv1.AssignMeetingRequest{MeetingId: "m1", MediaHandlers: h})
	}
	get := func(req *controlv1.GetMeetingRequest) func(context.Context) error {
		return func(ctx context.Context) error { _, err := c.GetMeeting(ctx, req); return err }
	}
	list := func(req *controlv1.ListMeetingsRequest) func(context.Context) error {
		return func(ctx context.Context) error { _, err := c.ListMeetings(ctx, req); return err }
	}
	end := func(req *controlv1.EndMeetingRequest) func(context.Context) error {
		return func(ctx context.Context) error { _, err := c.EndMeeting(ctx, req); return err }
	}
	remove := func(req *controlv1.RemoveParticipantRequest) func(context.Context) error {
		return func(ctx context.Context) error { _, err := c.RemoveParticipant(ctx, req); return err }
	}
	mute := func(req *controlv1.MuteParticipantRequest) func(context.Context) error {
		return func(ctx context.Context) error { _, err := c.MuteParticipant(ctx, req); return err }
	}

	tests := []struct {
		name    string
		call    func(context.Context) error
		wantMsg string
	}{
		{"AssignMeeting missing meeting_id", assign(&controlv1.AssignMeetingRequest{}), "meeting_id: missing"},
		{"AssignMeeting long meeting_id", assign(&controlv1.AssignMeetingRequest{MeetingId: long(129)}), "meeting_id: longer than 128 bytes"},
		{"AssignMeeting control character", assign(&controlv1.AssignMeetingRequest{MeetingId: "m\x01"}), "meeting_id: control character U+0001 at byte 1"},
		{"AssignMeeting DEL character", assign(&controlv1.AssignMeetingRequest{MeetingId: "m\x7f1"}), "meeting_id: control character U+007F at byte 1"},
		{"AssignMeeting C1 control character", assign(&controlv1.AssignMeetingRequest{MeetingId: "m\u0085"}), "meeting_id: control character U+0085 at byte 1"},
		{"AssignMeeting newline", assign(&controlv1.AssignMeetingRequest{MeetingId: "m\n"}), "meeting_id: control character U+000A at byte 1"},
		{"AssignMeeting 17 handlers", assignHandlers(handlers(17)...), "media_handlers: 17 entries, more than 16"},
		{"AssignMeeting handler missing id", assignHandlers(&signalingv1.MediaHandler{Url: "https://a.test"}), "media_handlers[0].id: missing"},
		{"AssignMeeting handler long id", assignHandlers(&signalingv1.MediaHandler{Id: long(2049), Url: "https://a.test"}), "media_handlers[0].id: longer than 2048 bytes"},
		{"AssignMeeting handler missing url", assignHandlers(handlers(1)[0], &signalingv1.MediaHandler{Id: "b"}), "media_handlers[1].url: missing"},
		{"AssignMeeting handler long url", assignHandlers(&signalingv1.MediaHandler{Id: "a", Url: long(2049)}), "media_handlers[0].url: longer than 2048 bytes"},
		{"AssignMeeting handler long region", assignHandlers(&signalingv1.MediaHandler{Id: "a", Url: "https://a.test", Region: long(257)}), "media_handlers[0].region: longer than 256 bytes"},
		{"AssignMeeting duplicate handler id", assignHandlers(append(handlers(2), handlers(1)...)...), "media_handlers[2].id: duplicate of media_handlers[0].id"},
		{"AssignMeeting long controller id", assign(&controlv1.AssignMeetingRequest{MeetingId: "m1", RequestingControllerId: long(257)}), "requesting_controller_id: longer than 256 bytes"},
		{"GetMeeting missing meeting_id", get(&controlv1.GetMeetingRequest{}), "meeting_id: missing"},
		{"GetMeeting long meeting_id", get(&controlv1.GetMeetingRequest{MeetingId: long(129)}), "meeting_id: longer than 128 bytes"},
		{"ListMeetings negative page_size", list(&controlv1.ListMeetingsRequest{PageSize: -1}), "page_size: -1 is negative"},
		{"ListMeetings large page_size", list(&controlv1.ListMeetingsRequest{PageSize: 1001}), "page_size: 1001 is more than 1000"},
		{"EndMeeting missing meeting_id", end(&controlv1.EndMeetingRequest{Reason: "r"}), "meeting_id: missing"},
		{"EndMeeting long reason", end(&controlv1.EndMeetingRequest{MeetingId: "m1", Reason: long(257)}), "reason: longer than 256 bytes"},
		{"RemoveParticipant missing meeting_id", remove(&controlv1.RemoveParticipantRequest{ParticipantId: "p1"}), "meeting_id: missing"},
		{"RemoveParticipant missing participant_id", remove(&controlv1.RemoveParticipantRequest{MeetingId: "m1"}), "participant_id: missing"},
		{"RemoveParticipant long participant_id", remove(&controlv1.RemoveParticipantRequest{MeetingId: "m1", ParticipantId: long(129)}), "participant_id: longer than 128 bytes"},
		{"RemoveParticipant long reason", remove(&controlv1.RemoveParticipantRequest{MeetingId: "m1", ParticipantId: "p1", Reason: long(257)}), "reason: longer than 256 bytes"},
		{"MuteParticipant missing meeting_id", mute(&controlv1.MuteParticipantRequest{ParticipantId: "p1", Audio: true}), "meeting_id: missing"},
		{"MuteParticipant missing participant_id", mute(&controlv1.MuteParticipantRequest{MeetingId: "m1", Audio: true}), "participant_id: missing"},
		{"MuteParticipant long participant_id", mute(&controlv1.MuteParticipantRequest{MeetingId: "m1", ParticipantId: long(129), Audio: true}), "participant_id: longer than 128 bytes"},
		{"MuteParticipant nothing to mute", mute(&controlv1.MuteParticipantRequest{MeetingId: "m1", ParticipantId: "p1"}), "audio, video: at least one must be true"},
		{"MuteParticipant long reason", mute(&controlv1.MuteParticipantRequest{MeetingId: "m1", ParticipantId: "p1", Video: true, Reason: long(257)}), "reason: longer than 256 bytes"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(authContext(t))

			if got := status.Code(err); got != codes.InvalidArgument {
				t.Fatalf("got code %v (error %v), want %v", got, err, codes.InvalidArgument)
			}
			if got := status.Convert(err).Message(); got != tt.wantMsg {
				t.Errorf("got message %q, want %q", got, tt.wantMsg)
			}
			if calls := ts.backend.recorded(); len(calls) != 0 {
				t.Errorf("got backend calls %+v, want none", calls)
			}
		})
	}
}

func TestValidation_AcceptsLimits(t *testing.T) {
	ts := startTestServer(t, nil)
	c := ts.client
	long := func(n int) string { return strings.Repeat("x", n) }

	maxHandlers := handlers(16)
	maxHandlers[0] = &signalingv1.MediaHandler{Id: long(2048), Url: long(2048), Region: long(256)}

	tests := []struct {
		name string
		call func(context.Context) error
	}{
		{"AssignMeeting at every limit", func(ctx context.Context) error {
			_, err := c.AssignMeeting(ctx, &controlv1.AssignMeetingRequest{MeetingId: long(128), MediaHandlers: maxHandlers, RequestingControllerId: long(256)})
			return err
		}},
		{"AssignMeeting UTF-8 meeting_id", func(ctx context.Context) error {
			_, err := c.AssignMeeting(ctx, &controlv1.AssignMeetingRequest{MeetingId: "réunion-会议"})
			return err
		}},
		{"ListMeetings max page_size", func(ctx context.Context) error {
			_, err := c.ListMeetings(ctx, &controlv1.ListMeetingsRequest{PageSize: 1000})
			return err
		}},
		{"EndMeeting max reason", func(ctx context.Context) error {
			_, err := c.EndMeeting(ctx, &controlv1.EndMeetingRequest{MeetingId: "m1", Reason: long(256)})
			return err
		}},
		{"RemoveParticipant max ids", func(ctx context.Context) error {
			_, err := c.RemoveParticipant(ctx, &controlv1.RemoveParticipantRequest{MeetingId: long(128), ParticipantId: long(128), Reason: long(256)})
			return err
		}},
		{"MuteParticipant video only", func(ctx context.Context) error {
			_, err := c.MuteParticipant(ctx, &controlv1.MuteParticipantRequest{MeetingId: "m1", ParticipantId: "p1", Video: true})
			return err
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(authContext(t)); err != nil {
				t.Errorf("got error %v, want nil", err)
			}
		})
	}
}

// TestValidateID_InvalidUTF8 calls the validator directly, because proto3
// marshaling rejects invalid UTF-8 in string fields before a request leaves
// the client.
func TestValidateID_InvalidUTF8(t *testing.T) {
	err := validateID("meeting_id", "m\xff1", maxMeetingIDBytes)

	if err == nil || err.Error() != "meeting_id: invalid UTF-8" {
		t.Errorf("got error %v, want %q", err, "meeting_id: invalid UTF-8")
	}
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("got error %v, want one wrapping %v", err, ErrInvalidArgument)
	}
}

func TestValidateMediaHandlers_NilEntry(t *testing.T) {
	err := validateMediaHandlers([]*signalingv1.MediaHandler{nil})

	if err == nil || err.Error() != "media_handlers[0]: missing" {
		t.Errorf("got error %v, want %q", err, "media_handlers[0]: missing")
	}
}
