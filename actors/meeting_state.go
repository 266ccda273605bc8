package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/convene/convene/auth/binding"
	"github.com/convene/convene/messages/actorv1"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/store"
)

// maxActivationAttempts bounds the load-and-claim loop when several
// activations of one meeting race for the next generation.
const maxActivationAttempts = 3

// load restores the meeting from its snapshot and claims the next
// generation. A missing snapshot leaves the activation idle until an
// ActivateMeeting creates it. Parked sessions of a previous instance are
// adopted by their participants.
func (m *Meeting) load(c actor.Context, parked []*session) error {
	for attempt := 0; attempt < maxActivationAttempts; attempt++ {
		snap, err := m.storeLoad()
		if errors.Is(err, store.ErrNotFound) || (err == nil && snap.GetEnded()) {
			m.closeSessions(c, parked, signalingv1.GoodbyeReason_GOODBYE_REASON_REJOIN, "meeting is not running")
			return nil
		}
		if err != nil {
			return err
		}

		previous := snap.GetGeneration()
		snap.Generation = previous + 1
		err = m.storeSave(snap, previous)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		m.restore(c, snap, parked)
		m.log.Info("meeting restored from its snapshot", "generation", snap.GetGeneration(), "participants", len(m.order))
		return nil
	}
	return fmt.Errorf("claim the next generation of meeting %q: %w", m.id, store.ErrConflict)
}

// create saves the first snapshot of a new meeting. It returns false when
// another activation created the meeting first; this one then claims the
// next generation of it.
func (m *Meeting) create(c actor.Context, msg *actorv1.ActivateMeeting) (bool, error) {
	snap := &actorv1.MeetingSnapshot{
		MeetingId:              string(m.id),
		Generation:             1,
		CreatedAt:              timestamppb.New(m.cfg.Clock.Now()),
		RequestingControllerId: msg.GetRequestingControllerId(),
		MediaHandlers:          msg.GetMediaHandlers(),
	}
	err := m.storeSave(snap, 0)
	if errors.Is(err, store.ErrConflict) {
		if err := m.load(c, nil); err != nil {
			return false, err
		}
		if !m.running {
			return false, fmt.Errorf("meeting %q ended while it was being created", m.id)
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	m.snap = snap
	m.running = true
	m.cfg.Directory.add(m.id, m.self)
	m.report()
	return true, nil
}

// restore installs a loaded snapshot. Participants whose session was
// parked by a panicking instance adopt it and stay connected. Other
// participants that were connected lost their Connections with the
// previous activation, so their grace period starts now; disconnected ones
// keep their deadlines, and those already past expire at once.
func (m *Meeting) restore(c actor.Context, snap *actorv1.MeetingSnapshot, parked []*session) {
	now := m.cfg.Clock.Now()
	m.snap = snap
	m.running = true
	m.cfg.Directory.add(m.id, m.self)
	records := snap.GetParticipants()
	snap.Participants = nil

	sessions := make(map[ParticipantID]*session, len(parked))
	for _, s := range parked {
		if !s.isStopped() {
			sessions[s.participantID()] = s
		}
	}

	var expired, adopted []*participant
	for _, rec := range records {
		p := &participant{rec: rec, log: m.log.With("participant_id", rec.GetParticipantId())}
		if s, ok := sessions[p.id()]; ok && rec.GetConnected() {
			delete(sessions, p.id())
			p.conn = m.spawnConnection(c, s)
			m.addParticipant(p)
			adopted = append(adopted, p)
			continue
		}
		m.addParticipant(p)
		if rec.GetConnected() {
			rec.Connected = false
			rec.DisconnectedUntil = timestamppb.New(now.Add(m.cfg.GracePeriod))
		}
		until := rec.GetDisconnectedUntil().AsTime()
		if !until.After(now) {
			expired = append(expired, p)
			continue
		}
		m.startGrace(c, p, until.Sub(now))
	}
	for _, p := range expired {
		m.removeParticipant(p)
	}
	orphans := make([]*session, 0, len(sessions))
	for _, s := range sessions {
		orphans = append(orphans, s)
	}
	m.closeSessions(c, orphans, signalingv1.GoodbyeReason_GOODBYE_REASON_INTERNAL_ERROR, "session lost; resume with the binding token")
	m.resync(c, adopted)
	if len(expired) > 0 || len(records) > 0 {
		if err := m.persist(); err != nil {
			m.log.Error("meeting failed to save its restored state", "error", err)
		}
	}
	m.report()
}

// resync sends each adopted session an unsolicited JoinResponse with the
// current roster and its binding token. Frames that were queued in the
// mailboxes of the failed instance and its Connections are lost with them,
// and this replaces whatever the client missed, a join response included.
func (m *Meeting) resync(c actor.Context, adopted []*participant) {
	for _, p := range adopted {
		var nonce binding.Nonce
		copy(nonce[:], p.rec.GetBindingNonce())
		token, err := m.cfg.Keyring.Keyring().Sign(string(m.id), p.rec.GetCorrelationId(), p.rec.GetParticipantId(), nonce)
		if err != nil {
			p.log.Error("meeting failed to sign a binding token", "error", err)
			continue
		}
		m.send(c, p.conn, m.joinResponse(0, p, token, signalingv1.ResumeResult_RESUME_RESULT_RESUMED))
	}
}

// persist saves the current state. It must succeed before a change that
// must survive is acknowledged.
func (m *Meeting) persist() error {
	snap := m.snapshot()
	return m.storeSave(snap, snap.GetGeneration())
}

// snapshot builds the full snapshot of the current state.
func (m *Meeting) snapshot() *actorv1.MeetingSnapshot {
	snap := &actorv1.MeetingSnapshot{
		MeetingId:              m.snap.GetMeetingId(),
		Generation:             m.snap.GetGeneration(),
		CreatedAt:              m.snap.GetCreatedAt(),
		RequestingControllerId: m.snap.GetRequestingControllerId(),
		MediaHandlers:          m.snap.GetMediaHandlers(),
		LastParticipantNumber:  m.snap.GetLastParticipantNumber(),
		Ended:                  m.snap.GetEnded(),
	}
	for _, id := range m.order {
		snap.Participants = append(snap.Participants, m.participants[id].rec)
	}
	return snap
}

func (m *Meeting) storeLoad() (*actorv1.MeetingSnapshot, error) {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.StoreTimeout)
	defer cancel()
	return m.cfg.Store.Load(ctx, string(m.id))
}

func (m *Meeting) storeSave(snap *actorv1.MeetingSnapshot, expected uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.StoreTimeout)
	defer cancel()
	return m.cfg.Store.Save(ctx, snap, expected)
}

func (m *Meeting) storeDelete() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.StoreTimeout)
	defer cancel()
	return m.cfg.Store.Delete(ctx, string(m.id), m.snap.GetGeneration())
}

func (m *Meeting) addParticipant(p *participant) {
	id := p.id()
	m.participants[id] = p
	m.order = append(m.order, id)
	m.byCorrelation[p.rec.GetCorrelationId()] = id
	if p.conn != nil {
		m.byConnection[p.conn.GetId()] = id
	}
}

// removeParticipant drops a participant from the roster, its timer and its
// indexes. The caller saves and announces the change.
func (m *Meeting) removeParticipant(p *participant) {
	id := p.id()
	p.stopGrace()
	delete(m.participants, id)
	for i, other := range m.order {
		if other == id {
			m.order = append(m.order[:i], m.order[i+1:]...)
			break
		}
	}
	delete(m.byCorrelation, p.rec.GetCorrelationId())
	if p.conn != nil {
		delete(m.byConnection, p.conn.GetId())
		p.conn = nil
	}
	m.departed = append(m.departed, p.rec.GetCorrelationId())
	if len(m.departed) > maxDeparted {
		m.departed = m.departed[len(m.departed)-maxDeparted:]
	}
}

func (m *Meeting) hasDeparted(correlationID string) bool {
	for _, id := range m.departed {
		if id == correlationID {
			return true
		}
	}
	return false
}

// startGrace arms the participant's grace deadline. The timer only sends a
// message; the actor decides on its own goroutine.
func (m *Meeting) startGrace(c actor.Context, p *participant, after time.Duration) {
	p.stopGrace()
	p.graceEpoch++
	msg := &graceExpired{participant: p.id(), epoch: p.graceEpoch}
	system, self := c.ActorSystem(), c.Self()
	p.grace = m.cfg.Clock.AfterFunc(after, func() { system.Root.Send(self, msg) })
}

// report sends the node's MeetingController the meeting's current size.
func (m *Meeting) report() {
	report := &MeetingReport{
		MeetingID:  m.id,
		PID:        m.self,
		Generation: m.snap.GetGeneration(),
		CreatedAt:  m.snap.GetCreatedAt().AsTime(),
	}
	for _, p := range m.participants {
		report.Participants++
		if p.rec.GetConnected() {
			report.Connected++
		}
	}
	m.system.Root.Send(m.controller, report)
}

func validateMeetingID(id string) error {
	return binding.ValidateMeetingID(id)
}
