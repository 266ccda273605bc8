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
	tn := startNode(t, func(c *config.Config) { c.JoinTimeout = 300 * time.Millisecond }, node.Options{})

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
			message:     selfMuteMessage(true, false),
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
			c := tn.dial(t)
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
			expectClosed(t, c, tt.wantClose)
		})
	}
}

func TestProtocol_BadFrameAfterJoin(t *testing.T) {
	const meetingID = "m-bad-frame"
	tn := startNode(t, nil, node.Options{})
	tn.assign(t, meetingID)
	observer := tn.join(t, meetingID, "user-observer", jointoken.RoleHost)

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
			bad := tn.join(t, meetingID, user, jointoken.RoleParticipant)
			expectMessage(t, observer.client, "participant_joined "+user, func(m *signalingv1.ServerMessage) bool {
				return m.GetParticipantJoined().GetParticipant().GetParticipantId() == bad.id()
			})

			if err := bad.client.WriteRaw(tt.frame); err != nil {
				t.Fatalf("write frame: %v", err)
			}
			expectError(t, bad.client, tt.wantError)
			expectGoodbye(t, bad.client, signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR)
			expectClosed(t, bad.client, tt.wantClose)

			expectMessage(t, observer.client, "disconnected update of "+user,
				isUpdateOf(bad.id(), signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED))

			resumed := tn.joinWith(t, meetingID, user, jointoken.RoleParticipant, client.JoinParams{
				DisplayName:   user,
				CorrelationID: bad.resp.GetCorrelationId(),
				BindingToken:  bad.resp.GetBindingToken(),
			})
			if !resumed.resp.GetResumed() || resumed.resp.GetResumeResult() != signalingv1.ResumeResult_RESUME_RESULT_RESUMED {
				t.Fatalf("resume after protocol error: got resumed=%v result %s, want resumed", resumed.resp.GetResumed(), resumed.resp.GetResumeResult())
			}
			if resumed.id() != bad.id() {
				t.Fatalf("resumed participant id: got %q, want %q", resumed.id(), bad.id())
			}
			expectMessage(t, observer.client, "connected update of "+user,
				isUpdateOf(bad.id(), signalingv1.ConnectionState_CONNECTION_STATE_CONNECTED))
		})
	}
}

func TestProtocol_UnknownMessageAfterJoin(t *testing.T) {
	const meetingID = "m-unknown"
	tn := startNode(t, nil, node.Options{})
	tn.assign(t, meetingID)

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
			j := tn.join(t, meetingID, "user-"+tt.name, jointoken.RoleParticipant)

			if err := j.client.WriteRaw(tt.frame); err != nil {
				t.Fatalf("write frame: %v", err)
			}
			e := expectError(t, j.client, signalingv1.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE)
			if e.GetSequence() != tt.wantSequence {
				t.Errorf("error sequence: got %d, want %d", e.GetSequence(), tt.wantSequence)
			}

			// The session stays usable.
			ping(t, j.client)
			select {
			case <-j.client.Done():
				t.Fatal("session closed after an unknown message, want it open")
			default:
			}
		})
	}
}
