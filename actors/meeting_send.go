package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
)

// outFrame is an encoded server message on its way to a Connection. A
// broadcast encodes once and shares the bytes.
type outFrame struct {
	data []byte
	kind string
}

func encode(msg *signalingv1.ServerMessage) (outFrame, error) {
	data, err := framing.Marshal(msg, MaxServerMessageSize)
	if err != nil {
		return outFrame{}, err
	}
	return outFrame{data: data, kind: ServerKind(msg)}, nil
}

// send queues msg for one Connection.
func (m *Meeting) send(c actor.Context, conn *actor.PID, msg *signalingv1.ServerMessage) {
	if conn == nil {
		return
	}
	frame, err := encode(msg)
	if err != nil {
		m.log.Error("meeting failed to encode a server message", "kind", ServerKind(msg), "error", err)
		return
	}
	c.Send(conn, frame)
}

// broadcast queues msg for every connected participant except the one
// named, which may be empty.
func (m *Meeting) broadcast(c actor.Context, msg *signalingv1.ServerMessage, except ParticipantID) {
	frame, err := encode(msg)
	if err != nil {
		m.log.Error("meeting failed to encode a broadcast", "kind", ServerKind(msg), "error", err)
		return
	}
	for _, id := range m.order {
		p := m.participants[id]
		if id == except || p.conn == nil {
			continue
		}
		c.Send(p.conn, frame)
	}
}

// sendToHosts queues msg for every connected host except the one named.
func (m *Meeting) sendToHosts(c actor.Context, msg *signalingv1.ServerMessage, except ParticipantID) {
	for _, id := range m.order {
		p := m.participants[id]
		if id == except || p.conn == nil || !p.isHost() {
			continue
		}
		m.send(c, p.conn, msg)
	}
}

// sendError replies to a client message with a typed error; the session
// stays open.
func (m *Meeting) sendError(c actor.Context, conn *actor.PID, seq uint64, code signalingv1.ErrorCode, text string) {
	m.send(c, conn, errorMessage(seq, code, text))
}

// closeConnection sends a goodbye and closes the session. The caller has
// already detached the Connection from its participant.
func (m *Meeting) closeConnection(c actor.Context, conn *actor.PID, reason signalingv1.GoodbyeReason, code signalingv1.SessionCloseCode, text string) {
	if conn == nil {
		return
	}
	c.Send(conn, &closeSession{
		goodbye: &signalingv1.Goodbye{Reason: reason, Message: text},
		code:    code,
	})
}

// rejectJoin replies to a failed join with an error and closes the session.
func (m *Meeting) rejectJoin(c actor.Context, conn *actor.PID, seq uint64, code signalingv1.ErrorCode, text string) {
	m.sendError(c, conn, seq, code, text)
	m.closeConnection(c, conn, signalingv1.GoodbyeReason_GOODBYE_REASON_JOIN_REJECTED,
		signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_JOIN_REJECTED, text)
}

func errorMessage(seq uint64, code signalingv1.ErrorCode, text string) *signalingv1.ServerMessage {
	return &signalingv1.ServerMessage{
		InReplyTo: seq,
		Payload: &signalingv1.ServerMessage_Error{Error: &signalingv1.Error{
			Code: code, Message: text, Sequence: seq,
		}},
	}
}

func participantUpdated(p *participant) *signalingv1.ServerMessage {
	return &signalingv1.ServerMessage{Payload: &signalingv1.ServerMessage_ParticipantUpdated{
		ParticipantUpdated: &signalingv1.ParticipantUpdated{Participant: p.view()},
	}}
}

func participantLeft(id ParticipantID, reason signalingv1.LeaveReason) *signalingv1.ServerMessage {
	return &signalingv1.ServerMessage{Payload: &signalingv1.ServerMessage_ParticipantLeft{
		ParticipantLeft: &signalingv1.ParticipantLeft{ParticipantId: string(id), Reason: reason},
	}}
}

// ServerKind names a server message's payload for metrics and logs.
func ServerKind(msg *signalingv1.ServerMessage) string {
	switch msg.GetPayload().(type) {
	case *signalingv1.ServerMessage_JoinResponse:
		return "join_response"
	case *signalingv1.ServerMessage_ParticipantJoined:
		return "participant_joined"
	case *signalingv1.ServerMessage_ParticipantLeft:
		return "participant_left"
	case *signalingv1.ServerMessage_ParticipantUpdated:
		return "participant_updated"
	case *signalingv1.ServerMessage_UnmuteRequested:
		return "unmute_requested"
	case *signalingv1.ServerMessage_UnmuteDecided:
		return "unmute_decided"
	case *signalingv1.ServerMessage_Redirect:
		return "redirect"
	case *signalingv1.ServerMessage_MeetingEnded:
		return "meeting_ended"
	case *signalingv1.ServerMessage_Error:
		return "error"
	case *signalingv1.ServerMessage_Pong:
		return "pong"
	case *signalingv1.ServerMessage_Goodbye:
		return "goodbye"
	default:
		return "unknown"
	}
}

// ClientKind names a client message's payload for metrics and logs.
func ClientKind(msg *signalingv1.ClientMessage) string {
	switch msg.GetPayload().(type) {
	case *signalingv1.ClientMessage_Join:
		return "join"
	case *signalingv1.ClientMessage_Leave:
		return "leave"
	case *signalingv1.ClientMessage_SelfMute:
		return "self_mute"
	case *signalingv1.ClientMessage_HostMute:
		return "host_mute"
	case *signalingv1.ClientMessage_UnmuteRequest:
		return "unmute_request"
	case *signalingv1.ClientMessage_UnmuteDecision:
		return "unmute_decision"
	case *signalingv1.ClientMessage_Ping:
		return "ping"
	default:
		return "unknown"
	}
}
