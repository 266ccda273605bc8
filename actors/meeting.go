package actors

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/convene/convene/internal/clock"
	"github.com/convene/convene/messages/actorv1"
	"github.com/convene/convene/messages/signalingv1"
)

// Meeting is the actor that owns one meeting's state. It is a cluster kind:
// the identity lookup places it on one member, which activates it on the
// first request.
type Meeting struct {
	cfg *MeetingConfig
	log *slog.Logger

	id MeetingID
	// snap holds the meeting-level fields; participants live in the map
	// below and are written into snap only when it is saved.
	snap *actorv1.MeetingSnapshot
	// running is true once a snapshot exists: the meeting was assigned and
	// has not ended.
	running bool
	// ending is true after EndMeeting, while the Connections flush their
	// goodbyes.
	ending bool
	// restarting is set on an instance that panicked: protoactor still
	// delivers the Terminated messages of its children to it, and they
	// must not mark the parked sessions' participants disconnected.
	restarting bool
	// stopping is set once the activation stops: the Terminated messages of
	// its Connections still arrive, and they must not start grace timers
	// or report the meeting after it unregistered.
	stopping bool

	participants map[ParticipantID]*participant
	// order is the roster order, which is the join order.
	order []ParticipantID
	// byConnection maps a Connection's PID id to its joined participant.
	byConnection map[string]ParticipantID
	// byCorrelation maps a correlation id to its participant.
	byCorrelation map[string]ParticipantID
	// departed remembers correlation ids of removed participants, oldest
	// first, so that a late resume learns it expired.
	departed []string
	// dirty holds participants whose self-mute broadcast is deferred while
	// the mailbox is critical; nil when nothing is deferred.
	dirty map[ParticipantID]struct{}
	// sessions maps a Connection child's PID id to its session, and
	// connBySession maps a session to the Connection driving it now.
	sessions      map[string]*session
	connBySession map[*session]*actor.PID
	// connections counts live Connection children.
	connections int

	system     *actor.ActorSystem
	self       *actor.PID
	controller *actor.PID
	// stopTimer bounds the wait for Connections to flush after the end.
	stopTimer clock.Timer
}

// participant is one roster entry with its runtime state.
type participant struct {
	rec *actorv1.ParticipantRecord
	// conn is the attached Connection, nil while disconnected.
	conn *actor.PID
	log  *slog.Logger
	// grace runs while disconnected; epoch tells its expiry apart from the
	// expiry of an earlier, stopped timer.
	grace      clock.Timer
	graceEpoch uint64
}

// NewMeetingProps returns the Props of the Meeting kind.
func NewMeetingProps(cfg MeetingConfig, opts ...actor.PropsOption) *actor.Props {
	shared := cfg.withDefaults()
	return actor.PropsFromProducer(func() actor.Actor { return newMeeting(shared) }, opts...)
}

func newMeeting(cfg *MeetingConfig) *Meeting {
	return &Meeting{
		cfg:           cfg,
		log:           cfg.Logger,
		participants:  make(map[ParticipantID]*participant),
		byConnection:  make(map[string]ParticipantID),
		byCorrelation: make(map[string]ParticipantID),
		sessions:      make(map[string]*session),
		connBySession: make(map[*session]*actor.PID),
	}
}

// Receive dispatches each message to its handler.
func (m *Meeting) Receive(c actor.Context) {
	if m.restarting {
		return
	}
	switch msg := c.Message().(type) {
	case *actor.Started:
		m.system, m.self = c.ActorSystem(), c.Self()
		m.controller = actor.NewPID(c.Self().Address, ControllerName)
	case *cluster.ClusterInit:
		m.onClusterInit(c, msg.Identity.GetIdentity())
	case *actorv1.ActivateMeeting:
		m.onActivate(c, msg)
	case *actorv1.LocateMeeting:
		m.onLocate(c)
	case *actorv1.GetMeetingState:
		m.onGetState(c)
	case *actorv1.EndMeeting:
		m.onEnd(c, msg)
	case *actorv1.RemoveParticipant:
		m.onRemove(c, msg)
	case *actorv1.MuteParticipant:
		m.onControlMute(c, msg)
	case *AttachSession:
		m.onAttach(c, msg)
	case *clientFrame:
		m.onClientFrame(c, msg)
	case *graceExpired:
		m.onGraceExpired(c, msg)
	case *actor.Terminated:
		m.onConnectionTerminated(c, msg.Who)
	case *requestReport:
		if m.running {
			m.report()
		}
	case *InjectPanic:
		m.onInjectPanic(c, msg)
	case *Drain:
		m.onDrain(c, msg)
	case *flushUpdates:
		if m.running {
			m.onFlushUpdates(c)
		}
	case *actor.Restarting:
		m.onRestarting()
	case *actor.Stopping:
		m.onStopping()
	case *actor.Stopped:
	default:
		m.log.Warn("meeting received an unexpected message", "type", fmt.Sprintf("%T", msg))
	}
}

// onClusterInit loads the meeting's snapshot, if any, before the first
// request is handled: the cluster middleware delivers ClusterInit right
// after Started.
func (m *Meeting) onClusterInit(c actor.Context, identity string) {
	m.id = MeetingID(identity)
	m.log = m.cfg.Logger.With("meeting_id", identity)
	if err := validateMeetingID(identity); err != nil {
		m.log.Warn("meeting activated with an invalid id", "error", err)
		return
	}
	// Sessions parked by a previous instance that panicked.
	adopted := m.cfg.state.adopt(m.id)
	if m.cfg.state.restartBudgetSpent(m.id, m.cfg.MaxRestarts) {
		m.giveUp(c, adopted)
		return
	}
	if err := m.load(c, adopted); err != nil {
		m.log.Error("meeting failed to load its snapshot", "error", err)
		m.closeSessions(c, adopted, signalingv1.GoodbyeReason_GOODBYE_REASON_INTERNAL_ERROR, "meeting unavailable; resume with the binding token")
	}
}

func (m *Meeting) onActivate(c actor.Context, msg *actorv1.ActivateMeeting) {
	if m.running {
		c.Respond(&actorv1.ActivateMeetingReply{Placement: m.placement()})
		return
	}
	if m.ending {
		c.Respond(&actorv1.ActivateMeetingReply{Error: actorError(actorv1.ActorErrorCode_ACTOR_ERROR_CODE_UNAVAILABLE, "meeting is ending; assign it again shortly")})
		return
	}
	if msg.GetMeetingId() != string(m.id) {
		c.Respond(&actorv1.ActivateMeetingReply{Error: actorError(actorv1.ActorErrorCode_ACTOR_ERROR_CODE_INVALID_ARGUMENT, "meeting id does not match the activation")})
		return
	}
	if err := validateMeetingID(msg.GetMeetingId()); err != nil {
		c.Respond(&actorv1.ActivateMeetingReply{Error: actorError(actorv1.ActorErrorCode_ACTOR_ERROR_CODE_INVALID_ARGUMENT, err.Error())})
		return
	}

	created, err := m.create(c, msg)
	if err != nil {
		m.log.Error("meeting failed to save its first snapshot", "error", err)
		c.Respond(&actorv1.ActivateMeetingReply{Error: actorError(actorv1.ActorErrorCode_ACTOR_ERROR_CODE_UNAVAILABLE, "meeting store unavailable")})
		return
	}
	if created {
		m.log.Info("meeting created", "generation", m.snap.GetGeneration(), "controller_id", msg.GetRequestingControllerId())
	}
	c.Respond(&actorv1.ActivateMeetingReply{Placement: m.placement(), Created: created})
}

func (m *Meeting) onLocate(c actor.Context) {
	if !m.running {
		c.Respond(&actorv1.LocateMeetingReply{Error: notRunning()})
		m.stopIfIdle(c)
		return
	}
	c.Respond(&actorv1.LocateMeetingReply{Placement: m.placement()})
}

func (m *Meeting) onGetState(c actor.Context) {
	if !m.running {
		c.Respond(&actorv1.GetMeetingStateReply{Error: notRunning()})
		m.stopIfIdle(c)
		return
	}
	reply := &actorv1.GetMeetingStateReply{
		Placement:              m.placement(),
		CreatedAt:              m.snap.GetCreatedAt(),
		RequestingControllerId: m.snap.GetRequestingControllerId(),
		MediaHandlers:          m.snap.GetMediaHandlers(),
	}
	for _, id := range m.order {
		reply.Participants = append(reply.Participants, m.participants[id].view())
	}
	c.Respond(reply)
}

// stopIfIdle stops an activation that a request for a missing meeting
// created, so that such requests leave nothing behind.
func (m *Meeting) stopIfIdle(c actor.Context) {
	if !m.running && !m.ending && m.connections == 0 {
		c.Poison(c.Self())
	}
}

func (m *Meeting) placement() *actorv1.MeetingPlacement {
	return &actorv1.MeetingPlacement{
		MeetingId:         string(m.id),
		NodeId:            m.cfg.NodeID,
		MemberAddress:     m.self.GetAddress(),
		SignalingUrl:      m.cfg.SignalingURL,
		CertificateSha256: m.cfg.CertificateSHA256,
		Generation:        m.snap.GetGeneration(),
	}
}

func (m *Meeting) onStopping() {
	m.stopping = true
	for _, p := range m.participants {
		p.stopGrace()
	}
	if m.stopTimer != nil {
		m.stopTimer.Stop()
	}
	m.cfg.Directory.remove(m.id, m.self)
	if m.running || m.ending {
		m.system.Root.Send(m.controller, &MeetingStopped{MeetingID: m.id, PID: m.self})
	}
}

func (p *participant) stopGrace() {
	if p.grace != nil {
		p.grace.Stop()
		p.grace = nil
	}
}

func notRunning() *actorv1.ActorError {
	return actorError(actorv1.ActorErrorCode_ACTOR_ERROR_CODE_NOT_FOUND, "meeting is not running")
}

func actorError(code actorv1.ActorErrorCode, message string) *actorv1.ActorError {
	return &actorv1.ActorError{Code: code, Message: message}
}

func (p *participant) id() ParticipantID { return ParticipantID(p.rec.GetParticipantId()) }

func (p *participant) isHost() bool { return p.rec.GetRole() == signalingv1.Role_ROLE_HOST }

// view returns the participant as the roster shows it.
func (p *participant) view() *signalingv1.Participant {
	state := signalingv1.ConnectionState_CONNECTION_STATE_CONNECTED
	if !p.rec.GetConnected() {
		state = signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED
	}
	return &signalingv1.Participant{
		ParticipantId:     p.rec.GetParticipantId(),
		UserId:            p.rec.GetUserId(),
		DisplayName:       p.rec.GetDisplayName(),
		Role:              p.rec.GetRole(),
		ConnectionState:   state,
		DisconnectedUntil: p.rec.GetDisconnectedUntil(),
		SelfMute:          cloneMute(p.rec.GetSelfMute()),
		HostMute:          cloneMute(p.rec.GetHostMute()),
		HostMutedBy:       p.rec.GetHostMutedBy(),
		HostMuteReason:    p.rec.GetHostMuteReason(),
	}
}

func cloneMute(s *signalingv1.MuteState) *signalingv1.MuteState {
	return &signalingv1.MuteState{Audio: s.GetAudio(), Video: s.GetVideo()}
}

// elapsedSince is used for join latency.
func elapsedSince(start time.Time) time.Duration { return time.Since(start) }
