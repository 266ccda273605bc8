package actors

import (
	"errors"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/convene/convene/messages/actorv1"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/store"
)

// onClientFrame handles a client message after the join, which itself
// arrives with AttachSession. It returns the frame's read credit first, so
// that a panic while handling it cannot leak the credit.
func (m *Meeting) onClientFrame(c actor.Context, f *clientFrame) {
	f.session.releaseCredit()
	m.cfg.Observer.MessageReceived(ClientKind(f.msg))
	conn, ok := m.connBySession[f.session]
	if !ok {
		// The session's Connection already stopped: it is closing.
		return
	}
	seq := f.msg.GetSequence()
	switch f.msg.GetPayload().(type) {
	case nil:
		m.sendError(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE, "unknown message type")
		return
	case *signalingv1.ClientMessage_Ping:
		m.send(c, conn, &signalingv1.ServerMessage{InReplyTo: seq, Payload: &signalingv1.ServerMessage_Pong{Pong: &signalingv1.PongResponse{}}})
		return
	}

	id, joined := m.byConnection[conn.GetId()]
	if _, isJoin := f.msg.GetPayload().(*signalingv1.ClientMessage_Join); isJoin {
		if joined {
			m.sendError(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_ALREADY_JOINED, "session already joined")
		}
		// A join from a session whose join failed is dropped: that session
		// is already closing.
		return
	}
	if !joined {
		// The session's join failed or it was replaced; it is closing.
		m.sendError(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_NOT_JOINED, "session has not joined")
		return
	}
	p := m.participants[id]

	switch msg := f.msg.GetPayload().(type) {
	case *signalingv1.ClientMessage_Leave:
		m.onLeave(c, p)
	case *signalingv1.ClientMessage_SelfMute:
		m.onSelfMute(c, p, seq, msg.SelfMute)
	case *signalingv1.ClientMessage_HostMute:
		m.onHostMute(c, p, seq, msg.HostMute)
	case *signalingv1.ClientMessage_UnmuteRequest:
		m.onUnmuteRequest(c, p, seq, msg.UnmuteRequest)
	case *signalingv1.ClientMessage_UnmuteDecision:
		m.onUnmuteDecision(c, p, seq, msg.UnmuteDecision)
	default:
		m.sendError(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE, "unknown message type")
	}
}

func (m *Meeting) onLeave(c actor.Context, p *participant) {
	conn := p.conn
	m.removeParticipant(p)
	if err := m.persist(); err != nil {
		m.saveFailed(c, err)
	}
	p.log.Info("participant left", "reason", "voluntary")
	m.broadcast(c, participantLeft(p.id(), signalingv1.LeaveReason_LEAVE_REASON_VOLUNTARY), "")
	m.closeConnection(c, conn, signalingv1.GoodbyeReason_GOODBYE_REASON_LEFT,
		signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_LEFT, "left the meeting")
	m.report()
}

// onConnectionTerminated runs when a Connection child stopped: its session
// ended, or the Meeting's supervisor stopped it after a panic. A session
// that was replaced or closed by the Meeting is no longer attached, so its
// late end changes nothing.
func (m *Meeting) onConnectionTerminated(c actor.Context, conn *actor.PID) {
	m.connections--
	if s, ok := m.sessions[conn.GetId()]; ok && m.connBySession[s].Equal(conn) {
		delete(m.connBySession, s)
	}
	delete(m.sessions, conn.GetId())
	id, attached := m.byConnection[conn.GetId()]
	if attached && !m.stopping {
		m.disconnect(c, m.participants[id])
	}
	if m.ending && m.connections <= 0 {
		c.Stop(c.Self())
	}
}

// disconnect marks a participant disconnected and starts its grace period.
func (m *Meeting) disconnect(c actor.Context, p *participant) {
	delete(m.byConnection, p.conn.GetId())
	p.conn = nil
	until := m.cfg.Clock.Now().Add(m.cfg.GracePeriod)
	p.rec.Connected = false
	p.rec.DisconnectedUntil = timestamppb.New(until)
	m.startGrace(c, p, m.cfg.GracePeriod)
	if err := m.persist(); err != nil {
		m.saveFailed(c, err)
	}
	p.log.Info("participant disconnected", "grace_period", m.cfg.GracePeriod)
	m.broadcast(c, participantUpdated(p), p.id())
	m.report()
}

func (m *Meeting) onGraceExpired(c actor.Context, msg *graceExpired) {
	p, ok := m.participants[msg.participant]
	if !ok || p.rec.GetConnected() || p.graceEpoch != msg.epoch {
		return
	}
	p.grace = nil
	m.removeParticipant(p)
	if err := m.persist(); err != nil {
		m.saveFailed(c, err)
	}
	p.log.Info("participant left", "reason", "timeout")
	m.cfg.Observer.GraceExpired()
	m.broadcast(c, participantLeft(p.id(), signalingv1.LeaveReason_LEAVE_REASON_TIMEOUT), "")
	m.report()
}

// saveFailed reacts to a failed save. A generation conflict means a newer
// activation owns the meeting (the identity lookup briefly ran two copies),
// so this one closes its sessions and stops; the clients resume on the
// owner with their binding tokens. Other errors leave the change in memory,
// and the next successful save carries it.
func (m *Meeting) saveFailed(c actor.Context, err error) {
	if !errors.Is(err, store.ErrConflict) {
		m.log.Error("meeting failed to save its snapshot", "error", err)
		return
	}
	m.log.Warn("meeting stopped: a newer activation owns it", "generation", m.snap.GetGeneration())
	for _, id := range m.order {
		p := m.participants[id]
		p.stopGrace()
		if p.conn != nil {
			delete(m.byConnection, p.conn.GetId())
			m.closeConnection(c, p.conn, signalingv1.GoodbyeReason_GOODBYE_REASON_INTERNAL_ERROR,
				signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_INTERNAL_ERROR, "meeting moved; resume with the binding token")
			p.conn = nil
		}
	}
	m.running = false
	m.ending = true
	if m.connections <= 0 {
		c.Stop(c.Self())
	}
}

func cloneRecord(rec *actorv1.ParticipantRecord) *actorv1.ParticipantRecord {
	return proto.Clone(rec).(*actorv1.ParticipantRecord)
}
