package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/convene/convene/messages/signalingv1"
)

// Actor kinds, as metrics and logs name them.
const (
	KindMeeting           = "meeting"
	KindConnection        = "connection"
	KindMeetingController = "meeting_controller"
)

var _ actor.SupervisorStrategy = (*Meeting)(nil)

// HandleFailure is the Meeting's strategy for its Connection children: a
// Connection that panicked is stopped. Its Terminated message then marks
// the participant disconnected and starts the grace period, so the client
// resumes with its binding token. It runs on the Meeting's goroutine.
func (m *Meeting) HandleFailure(system *actor.ActorSystem, supervisor actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason any, _ any) {
	participant := ParticipantID("")
	if s, ok := m.sessions[child.GetId()]; ok {
		participant = s.participantID()
	}
	m.log.Error("connection panicked; stopping it", "actor", KindConnection, "participant_id", participant, "panic", reason)
	m.cfg.Observer.ActorPanicked(KindConnection)
	system.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: reason, Directive: actor.StopDirective})
	supervisor.StopChildren(child)
}

// onRestarting runs on the instance that panicked, before protoactor stops
// its children and builds a fresh instance. The sessions of joined
// participants are parked for the next instance, which adopts them after
// reloading the snapshot, so the clients stay connected.
func (m *Meeting) onRestarting() {
	m.restarting = true
	m.log.Error("meeting panicked; restarting from its snapshot", "actor", KindMeeting)
	m.cfg.Observer.ActorPanicked(KindMeeting)
	m.cfg.Observer.ActorRestarted(KindMeeting)
	within := m.cfg.state.recordRestart(m.id, m.cfg.Clock.Now(), m.cfg.MaxRestarts, m.cfg.RestartWindow)
	if !within {
		m.log.Error("meeting exceeded its restart budget; it will end", "max_restarts", m.cfg.MaxRestarts, "window", m.cfg.RestartWindow)
	}

	var parked []*session
	for _, p := range m.participants {
		p.stopGrace()
		if p.conn == nil {
			continue
		}
		if s, ok := m.sessions[p.conn.GetId()]; ok {
			s.handOver()
			parked = append(parked, s)
		}
	}
	if m.stopTimer != nil {
		m.stopTimer.Stop()
	}
	m.cfg.state.handOver(m.id, parked)
}

// giveUp ends a meeting that panicked more often than its restart budget
// allows: every parked session gets a goodbye to join again, and the snapshot is
// deleted.
func (m *Meeting) giveUp(c actor.Context, parked []*session) {
	m.log.Error("meeting ended after repeated panics", "actor", KindMeeting, "sessions", len(parked))
	if snap, err := m.storeLoad(); err == nil {
		m.snap = snap
		if err := m.storeDelete(); err != nil {
			m.log.Error("meeting failed to delete its snapshot", "error", err)
		}
	}
	m.cfg.state.forgetRestarts(m.id)
	m.system.Root.Send(m.controller, &MeetingStopped{MeetingID: m.id, PID: m.self})
	m.ending = true
	m.closeSessions(c, parked, signalingv1.GoodbyeReason_GOODBYE_REASON_REJOIN, "meeting failed; join it again")
	if m.connections == 0 {
		c.Stop(c.Self())
	}
}

// closeSessions gives each parked session a Connection only to say goodbye.
// A session that already closed needs none.
func (m *Meeting) closeSessions(c actor.Context, parked []*session, reason signalingv1.GoodbyeReason, text string) {
	code := signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_INTERNAL_ERROR
	for _, s := range parked {
		if s.isStopped() {
			continue
		}
		conn := m.spawnConnection(c, s)
		m.closeConnection(c, conn, reason, code, text)
	}
}

// spawnConnection starts a Connection child that drives s.
func (m *Meeting) spawnConnection(c actor.Context, s *session) *actor.PID {
	conn := c.Spawn(newConnectionProps(s, m.log, m.cfg.ConnectionProps...))
	s.setOwner(conn)
	m.sessions[conn.GetId()] = s
	m.connBySession[s] = conn
	m.connections++
	return conn
}

// onInjectPanic panics, or forwards the fault to a participant's Connection.
func (m *Meeting) onInjectPanic(c actor.Context, msg *InjectPanic) {
	if msg.Participant == "" {
		panic("injected fault in meeting: " + msg.Reason)
	}
	if p, ok := m.participants[msg.Participant]; ok && p.conn != nil {
		c.Send(p.conn, &InjectPanic{Reason: msg.Reason})
	}
}
