package e2e

import (
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/config"
	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
	"github.com/convene/convene/test/testnode"
)

// oversizedPrefix is a length prefix that announces one byte more than the
// default maximum message size, with no body behind it.
func oversizedPrefix() []byte {
	return protowire.AppendVarint(nil, framing.DefaultMaxSize+1)
}

// garbageFrame is a frame with a valid length prefix and a body that is no
// protobuf message: 0xff starts a varint tag that never ends.
func garbageFrame() []byte {
	body := []byte{0xff, 0xff, 0xff}
	return append(protowire.AppendVarint(nil, uint64(len(body))), body...)
}

// unknownFieldFrame is a ClientMessage with sequence 7 and only field 99, a
// field number the schema does not define.
func unknownFieldFrame() []byte {
	var body []byte
	body = protowire.AppendTag(body, 1, protowire.VarintType)
	body = protowire.AppendVarint(body, 7)
	body = protowire.AppendTag(body, 99, protowire.VarintType)
	body = protowire.AppendVarint(body, 1)
	return append(protowire.AppendVarint(nil, uint64(len(body))), body...)
}

func TestProtocol_BadFirstFrame(t *testing.T) {
	tn := testnode.Start(t, func(c *config.Config) { c.JoinTimeout = 300 * time.Millisecond }, node.Options{})

	tests := []struct {
		name        string
		frame       []byte
		message     *signalingv1.ClientMessage
		wantError   signalingv1.ErrorCode
		wantGoodbye signalingv1.GoodbyeReason
		wantClose   signalingv1.SessionCloseCode
	}{
		{
			name:        "oversized",
			frame:       oversizedPrefix(),
			wantError:   signalingv1.ErrorCode_ERROR_CODE_MESSAGE_TOO_LARGE,
			wantGoodbye: signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR,
			wantClose:   signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_MESSAGE_TOO_LARGE,
		},
		{
			name:        "malformed",
			frame:       garbageFrame(),
			wantError:   signalingv1.ErrorCode_ERROR_CODE_MALFORMED_MESSAGE,
			wantGoodbye: signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR,
			wantClose:   signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_PROTOCOL_ERROR,
		},
		{
			name:        "self mute before join",
			message:     testnode.SelfMuteMessage(true, false),
			wantError:   signalingv1.ErrorCode_ERROR_CODE_NOT_JOINED,
			wantGoodbye: signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR,
			wantClose:   signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_PROTOCOL_ERROR,
		},
		{
			name:        "unknown field only",
			frame:       unknownFieldFrame(),
			wantError:   signalingv1.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE,
			wantGoodbye: signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR,
			wantClose:   signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_PROTOCOL_ERROR,
		},
		{
			name:        "no join within timeout",
			wantError:   signalingv1.ErrorCode_ERROR_CODE_JOIN_TIMEOUT,
			wantGoodbye: signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR,
			wantClose:   signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_JOIN_TIMEOUT,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tn.Dial(t)
			switch {
			case tt.frame != nil:
				if err := c.WriteRaw(tt.frame); err != nil {
					t.Fatalf("write frame: %v", err)
				}
			case tt.message != nil:
				send(t, c, tt.message)
			}

			expectError(t, c, tt.wantError)
			expectGoodbye(t, c, tt.wantGoodbye)
			testnode.ExpectClosed(t, c, tt.wantClose)
		})
	}
}

func TestProtocol_BadFrameAfterJoin(t *testing.T) {
	const meetingID = "m-bad-frame"
	tn := testnode.Start(t, nil, node.Options{})
	tn.Assign(t, meetingID)
	observer := tn.Join(t, meetingID, "user-observer", jointoken.RoleHost, client.JoinParams{})

	tests := []struct {
		name      string
		frame     []byte
		wantError signalingv1.ErrorCode
		wantClose signalingv1.SessionCloseCode
	}{
		{
			name:      "oversized",
			frame:     oversizedPrefix(),
			wantError: signalingv1.ErrorCode_ERROR_CODE_MESSAGE_TOO_LARGE,
			wantClose: signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_MESSAGE_TOO_LARGE,
		},
		{
			name:      "malformed",
			frame:     garbageFrame(),
			wantError: signalingv1.ErrorCode_ERROR_CODE_MALFORMED_MESSAGE,
			wantClose: signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_PROTOCOL_ERROR,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := "user-" + tt.name
			bad := tn.Join(t, meetingID, user, jointoken.RoleParticipant, client.JoinParams{})
			testnode.Expect(t, observer.Client, "participant_joined "+user, func(m *signalingv1.ServerMessage) bool {
				return m.GetParticipantJoined().GetParticipant().GetParticipantId() == bad.ID()
			})

			if err := bad.Client.WriteRaw(tt.frame); err != nil {
				t.Fatalf("write frame: %v", err)
			}
			expectError(t, bad.Client, tt.wantError)
			expectGoodbye(t, bad.Client, signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR)
			testnode.ExpectClosed(t, bad.Client, tt.wantClose)

			testnode.Expect(t, observer.Client, "disconnected update of "+user,
				testnode.IsConnectionState(bad.ID(), signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED))

			resumed := tn.Join(t, meetingID, user, jointoken.RoleParticipant, client.JoinParams{
				DisplayName:   user,
				CorrelationID: bad.Response.GetCorrelationId(),
				BindingToken:  bad.Response.GetBindingToken(),
			})
			if !resumed.Response.GetResumed() || resumed.Response.GetResumeResult() != signalingv1.ResumeResult_RESUME_RESULT_RESUMED {
				t.Fatalf("resume after protocol error: got resumed=%v result %s, want resumed", resumed.Response.GetResumed(), resumed.Response.GetResumeResult())
			}
			if resumed.ID() != bad.ID() {
				t.Fatalf("resumed participant id: got %q, want %q", resumed.ID(), bad.ID())
			}
			testnode.Expect(t, observer.Client, "connected update of "+user,
				testnode.IsConnectionState(bad.ID(), signalingv1.ConnectionState_CONNECTION_STATE_CONNECTED))
		})
	}
}

func TestProtocol_UnknownMessageAfterJoin(t *testing.T) {
	const meetingID = "m-unknown"
	tn := testnode.Start(t, nil, node.Options{})
	tn.Assign(t, meetingID)

	tests := []struct {
		name         string
		frame        []byte
		wantSequence uint64
	}{
		{name: "empty message", frame: []byte{0x00}, wantSequence: 0},
		{name: "unknown field only", frame: unknownFieldFrame(), wantSequence: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := tn.Join(t, meetingID, "user-"+tt.name, jointoken.RoleParticipant, client.JoinParams{})

			if err := j.Client.WriteRaw(tt.frame); err != nil {
				t.Fatalf("write frame: %v", err)
			}
			e := expectError(t, j.Client, signalingv1.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE)
			if e.GetSequence() != tt.wantSequence {
				t.Errorf("error sequence: got %d, want %d", e.GetSequence(), tt.wantSequence)
			}

			// The session stays usable.
			ping(t, j.Client)
			select {
			case <-j.Client.Done():
				t.Fatal("session closed after an unknown message, want it open")
			default:
			}
		})
	}
}
