package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/convene/convene/messages/actorv1"
	"github.com/convene/convene/messages/signalingv1"
)

// endFlushTimeoutSlack is added to the write timeout while an ended meeting
// waits for its Connections to flush their goodbyes.
const endFlushTimeoutSlack = 1

// onEnd ends the meeting: everyone gets MeetingEnded and a goodbye, timers
// stop so no TIMEOUT follows, and the snapshot is deleted so nobody can
// resume. The activation stops once its Connections have flushed.
func (m *Meeting) onEnd(c actor.Context, msg *actorv1.EndMeeting) {
	if !m.running {
		c.Respond(&actorv1.EndMeetingReply{Error: notRunning()})
		m.stopIfIdle(c)
		return
	}
	if len(msg.GetReason()) > MaxReasonBytes {
		c.Respond(&actorv1.EndMeetingReply{Error: actorError(actorv1.ActorErrorCode_ACTOR_ERROR_CODE_INVALID_ARGUMENT,
			fmt.Sprintf("reason: longer than %d bytes", MaxReasonBytes))})
		return
	}
	if err := m.storeDelete(); err != nil {
		m.log.Error("meeting failed to delete its snapshot", "error", err)
		c.Respond(&actorv1.EndMeetingReply{Error: actorError(actorv1.ActorErrorCode_ACTOR_ERROR_CODE_UNAVAILABLE, "meeting store unavailable")})
		return
	}

	ended := &signalingv1.ServerMessage{Payload: &signalingv1.ServerMessage_MeetingEnded{
		MeetingEnded: &signalingv1.MeetingEnded{Reason: msg.GetReason()},
	}}
	m.broadcast(c, ended, "")
	for _, id := range m.order {
		p := m.participants[id]
		p.stopGrace()
		if p.conn != nil {
			m.closeConnection(c, p.conn, signalingv1.GoodbyeReason_GOODBYE_REASON_MEETING_ENDED,
				signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_MEETING_ENDED, "meeting ended")
		}
	}
	m.log.Info("meeting ended", "participants", len(m.order), "reason", msg.GetReason())
	m.cfg.state.forgetRestarts(m.id)
	m.participants = make(map[ParticipantID]*participant)
	m.byConnection = make(map[string]ParticipantID)
	m.byCorrelation = make(map[string]ParticipantID)
	m.order = nil
	m.running = false
	m.ending = true
	c.Respond(&actorv1.EndMeetingReply{})
	m.system.Root.Send(m.controller, &MeetingStopped{MeetingID: m.id, PID: m.self})

	if m.connections <= 0 {
		c.Stop(c.Self())
		return
	}
	// Connections stop after their goodbye is written or their write times
	// out; stop anyway if one hangs past that.
	self, system := c.Self(), c.ActorSystem()
	wait := m.cfg.Connection.WriteTimeout * (1 + endFlushTimeoutSlack)
	m.stopTimer = m.cfg.Clock.AfterFunc(wait, func() { system.Root.Stop(self) })
}

// onRemove removes a participant on behalf of the control API.
func (m *Meeting) onRemove(c actor.Context, msg *actorv1.RemoveParticipant) {
	if !m.running {
		c.Respond(&actorv1.RemoveParticipantReply{Error: notRunning()})
		m.stopIfIdle(c)
		return
	}
	p, ok := m.participants[ParticipantID(msg.GetParticipantId())]
	if !ok {
		c.Respond(&actorv1.RemoveParticipantReply{Error: actorError(actorv1.ActorErrorCode_ACTOR_ERROR_CODE_PARTICIPANT_NOT_FOUND, "participant not found")})
		return
	}
	conn := p.conn
	m.removeParticipant(p)
	if err := m.persist(); err != nil {
		m.saveFailed(c, err)
	}
	p.log.Info("participant removed", "reason", msg.GetReason())
	m.broadcast(c, participantLeft(p.id(), signalingv1.LeaveReason_LEAVE_REASON_REMOVED), "")
	text := "removed from the meeting"
	if msg.GetReason() != "" {
		text += ": " + msg.GetReason()
	}
	m.closeConnection(c, conn, signalingv1.GoodbyeReason_GOODBYE_REASON_REMOVED, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_REMOVED, text)
	m.report()
	c.Respond(&actorv1.RemoveParticipantReply{})
}

// onControlMute host-mutes a participant on behalf of the control API.
func (m *Meeting) onControlMute(c actor.Context, msg *actorv1.MuteParticipant) {
	if !m.running {
		c.Respond(&actorv1.MuteParticipantReply{Error: notRunning()})
		m.stopIfIdle(c)
		return
	}
	target, code, text := m.checkMute(msg.GetParticipantId(), msg.GetAudio(), msg.GetVideo(), msg.GetReason())
	switch code {
	case signalingv1.ErrorCode_ERROR_CODE_UNSPECIFIED:
	case signalingv1.ErrorCode_ERROR_CODE_NOT_FOUND:
		c.Respond(&actorv1.MuteParticipantReply{Error: actorError(actorv1.ActorErrorCode_ACTOR_ERROR_CODE_PARTICIPANT_NOT_FOUND, text)})
		return
	default:
		c.Respond(&actorv1.MuteParticipantReply{Error: actorError(actorv1.ActorErrorCode_ACTOR_ERROR_CODE_INVALID_ARGUMENT, text)})
		return
	}
	if err := m.applyHostMute(c, target, msg.GetAudio(), msg.GetVideo(), ControlAPIActor, msg.GetReason()); err != nil {
		c.Respond(&actorv1.MuteParticipantReply{Error: actorError(actorv1.ActorErrorCode_ACTOR_ERROR_CODE_UNAVAILABLE, "meeting state could not be saved")})
		return
	}
	c.Respond(&actorv1.MuteParticipantReply{Participant: target.view()})
}

// onDrain closes every session with a DRAINING goodbye. The participants
// stay in the snapshot: their Connections' ends start their grace periods,
// so they can resume wherever the meeting runs next.
func (m *Meeting) onDrain(c actor.Context, msg *Drain) {
	closed := 0
	for _, id := range m.order {
		p := m.participants[id]
		if p.conn == nil {
			continue
		}
		c.Send(p.conn, &closeSession{
			goodbye: &signalingv1.Goodbye{Reason: signalingv1.GoodbyeReason_GOODBYE_REASON_DRAINING, Message: "node is shutting down; resume with the binding token", RedirectUrl: msg.RedirectURL},
			code:    signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_DRAINING,
		})
		closed++
	}
	m.log.Info("meeting drained", "sessions", closed)
	c.Respond(&Drained{Sessions: closed})
}
