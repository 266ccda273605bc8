package actors

import (
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/convene/convene/auth/binding"
	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/messages/actorv1"
	"github.com/convene/convene/messages/signalingv1"
)

// MaxDisplayNameBytes bounds a participant's display name.
const MaxDisplayNameBytes = 128

// onAttach spawns the Connection of a new session and handles its join.
// The Connection is spawned even when the join fails, so that the error and
// the goodbye reach the client through the same ordered queue.
func (m *Meeting) onAttach(c actor.Context, msg *AttachSession) {
	start := time.Now()
	conn := m.spawnConnection(c, newSession(msg.Stream, m.cfg.Connection, c.ActorSystem(), c.Self()))
	if c.Sender() != nil {
		c.Respond(&SessionAttached{})
	}

	join := msg.Join.GetJoin()
	seq := msg.Join.GetSequence()
	result := m.join(c, conn, seq, join, msg.Claims)
	m.cfg.Observer.JoinFinished(result, elapsedSince(start))
}

// join admits the session of conn as a new or resumed participant and
// returns the metrics result: "joined", "resumed" or "rejected".
func (m *Meeting) join(c actor.Context, conn *actor.PID, seq uint64, join *signalingv1.JoinRequest, claims jointoken.Claims) string {
	if !m.running {
		m.rejectJoin(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_NOT_FOUND, "meeting is not running")
		return "rejected"
	}
	if claims.MeetingID != string(m.id) || join.GetMeetingId() != string(m.id) {
		m.rejectJoin(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_UNAUTHENTICATED, "join token is for another meeting")
		return "rejected"
	}
	if err := validateDisplayName(join.GetDisplayName()); err != nil {
		m.rejectJoin(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, err.Error())
		return "rejected"
	}

	resume := signalingv1.ResumeResult_RESUME_RESULT_NOT_REQUESTED
	if join.GetCorrelationId() != "" || join.GetBindingToken() != "" {
		p, result := m.checkBinding(join, claims)
		m.cfg.Observer.ResumeFinished(resumeLabel(result))
		if result == signalingv1.ResumeResult_RESUME_RESULT_RESUMED {
			if m.resume(c, conn, seq, p, roleOf(claims)) {
				return "resumed"
			}
			return "rejected"
		}
		resume = result
	}

	if len(m.participants) >= m.cfg.MaxParticipants {
		m.rejectJoin(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_RESOURCE_EXHAUSTED,
			fmt.Sprintf("meeting is full: at most %d participants", m.cfg.MaxParticipants))
		return "rejected"
	}
	if !m.admitNew(c, conn, seq, join, claims, resume) {
		return "rejected"
	}
	return "joined"
}

// checkBinding verifies a resume request against the bound participant.
func (m *Meeting) checkBinding(join *signalingv1.JoinRequest, claims jointoken.Claims) (*participant, signalingv1.ResumeResult) {
	reject := func(result signalingv1.ResumeResult, label string) (*participant, signalingv1.ResumeResult) {
		m.cfg.Observer.BindingChecked(label)
		return nil, result
	}

	id, ok := m.byCorrelation[join.GetCorrelationId()]
	if !ok {
		if m.hasDeparted(join.GetCorrelationId()) {
			return reject(signalingv1.ResumeResult_RESUME_RESULT_REJECTED_EXPIRED, "expired")
		}
		return reject(signalingv1.ResumeResult_RESUME_RESULT_REJECTED_INVALID, "invalid")
	}
	p := m.participants[id]

	b := binding.Binding{
		CorrelationID: p.rec.GetCorrelationId(),
		ParticipantID: p.rec.GetParticipantId(),
	}
	copy(b.Nonce[:], p.rec.GetBindingNonce())
	for _, consumed := range p.rec.GetConsumedNonces() {
		var n binding.Nonce
		copy(n[:], consumed)
		b.Consumed = append(b.Consumed, n)
	}
	if !p.rec.GetConnected() {
		b.ValidUntil = p.rec.GetDisconnectedUntil().AsTime()
	}

	err := m.cfg.Keyring.Keyring().Verify(string(m.id), b, join.GetBindingToken(), m.cfg.Clock.Now())
	switch {
	case err == nil:
	case errors.Is(err, binding.ErrReplayed):
		p.log.Warn("resume rejected: binding token replayed")
		return reject(signalingv1.ResumeResult_RESUME_RESULT_REJECTED_REPLAYED, "replayed")
	case errors.Is(err, binding.ErrExpired):
		return reject(signalingv1.ResumeResult_RESUME_RESULT_REJECTED_EXPIRED, "expired")
	default:
		p.log.Warn("resume rejected: binding token invalid", "error", err)
		return reject(signalingv1.ResumeResult_RESUME_RESULT_REJECTED_INVALID, "invalid")
	}

	if p.rec.GetUserId() != string(claims.UserID) {
		p.log.Warn("resume rejected: join token belongs to another user")
		return reject(signalingv1.ResumeResult_RESUME_RESULT_REJECTED_USER_MISMATCH, "user_mismatch")
	}
	m.cfg.Observer.BindingChecked("valid")
	return p, signalingv1.ResumeResult_RESUME_RESULT_RESUMED
}

// resume attaches conn to an existing participant: the nonce is consumed, a
// new token issued, and an older session still attached is closed as
// replaced. It reports whether the resume succeeded.
// The role comes from the fresh join token, so a host demoted upstream
// loses host powers at the next resume.
func (m *Meeting) resume(c actor.Context, conn *actor.PID, seq uint64, p *participant, role signalingv1.Role) bool {
	nonce, err := binding.NewNonce()
	if err != nil {
		m.rejectJoin(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_INTERNAL, "internal error")
		return false
	}
	token, err := m.cfg.Keyring.Keyring().Sign(string(m.id), p.rec.GetCorrelationId(), p.rec.GetParticipantId(), nonce)
	if err != nil {
		p.log.Error("meeting failed to sign a binding token", "error", err)
		m.rejectJoin(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_INTERNAL, "internal error")
		return false
	}

	previous := *p
	previousRec := p.rec
	p.rec = cloneRecord(p.rec)
	p.rec.ConsumedNonces = append(p.rec.ConsumedNonces, p.rec.GetBindingNonce())
	if n := len(p.rec.ConsumedNonces); n > maxConsumedNonces {
		p.rec.ConsumedNonces = p.rec.ConsumedNonces[n-maxConsumedNonces:]
	}
	p.rec.BindingNonce = nonce[:]
	wasConnected := p.rec.GetConnected()
	roleChanged := p.rec.GetRole() != role
	p.rec.Role = role
	p.rec.Connected = true
	p.rec.DisconnectedUntil = nil

	if err := m.persist(); err != nil {
		p.rec = previousRec
		m.saveFailed(c, err)
		m.rejectJoin(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "meeting state could not be saved; try again")
		return false
	}

	// The change is durable: switch the participant to the new session.
	p.stopGrace()
	old := previous.conn
	if old != nil {
		delete(m.byConnection, old.GetId())
	}
	p.conn = conn
	m.byConnection[conn.GetId()] = p.id()
	if old != nil {
		m.closeConnection(c, old, signalingv1.GoodbyeReason_GOODBYE_REASON_REPLACED,
			signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_REPLACED, "another session resumed this participant")
	}

	m.sessions[conn.GetId()].setParticipant(p.id())
	p.log.Info("participant resumed", "replaced_session", old != nil)
	m.send(c, conn, m.joinResponse(seq, p, token, signalingv1.ResumeResult_RESUME_RESULT_RESUMED))
	if !wasConnected || roleChanged {
		m.broadcast(c, participantUpdated(p), p.id())
	}
	m.deliverPendingUnmuteRequests(c, p)
	m.report()
	return true
}

// admitNew adds a new participant for conn and reports whether it did.
func (m *Meeting) admitNew(c actor.Context, conn *actor.PID, seq uint64, join *signalingv1.JoinRequest, claims jointoken.Claims, resume signalingv1.ResumeResult) bool {
	correlation, err := uuid.NewV7()
	if err != nil {
		m.rejectJoin(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_INTERNAL, "internal error")
		return false
	}
	nonce, err := binding.NewNonce()
	if err != nil {
		m.rejectJoin(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_INTERNAL, "internal error")
		return false
	}

	number := m.snap.GetLastParticipantNumber() + 1
	id := fmt.Sprintf("p%d", number)
	token, err := m.cfg.Keyring.Keyring().Sign(string(m.id), correlation.String(), id, nonce)
	if err != nil {
		m.log.Error("meeting failed to sign a binding token", "error", err)
		m.rejectJoin(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_INTERNAL, "internal error")
		return false
	}

	role := roleOf(claims)
	p := &participant{
		rec: &actorv1.ParticipantRecord{
			ParticipantId: id,
			UserId:        string(claims.UserID),
			DisplayName:   join.GetDisplayName(),
			Role:          role,
			SelfMute:      &signalingv1.MuteState{},
			HostMute:      &signalingv1.MuteState{},
			CorrelationId: correlation.String(),
			BindingNonce:  nonce[:],
			Connected:     true,
			JoinedAt:      timestamppb.New(m.cfg.Clock.Now()),
		},
		conn: conn,
		log:  m.log.With("participant_id", id),
	}

	previousNumber := m.snap.GetLastParticipantNumber()
	m.snap.LastParticipantNumber = number
	m.addParticipant(p)
	if err := m.persist(); err != nil {
		m.removeParticipant(p)
		m.snap.LastParticipantNumber = previousNumber
		m.saveFailed(c, err)
		m.rejectJoin(c, conn, seq, signalingv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "meeting state could not be saved; try again")
		return false
	}

	m.sessions[conn.GetId()].setParticipant(p.id())
	p.log.Info("participant joined", "role", claims.Role, "resume_result", resume.String())
	m.send(c, conn, m.joinResponse(seq, p, token, resume))
	m.broadcast(c, &signalingv1.ServerMessage{Payload: &signalingv1.ServerMessage_ParticipantJoined{
		ParticipantJoined: &signalingv1.ParticipantJoined{Participant: p.view()},
	}}, p.id())
	m.deliverPendingUnmuteRequests(c, p)
	m.report()
	return true
}

func (m *Meeting) joinResponse(seq uint64, p *participant, token string, resume signalingv1.ResumeResult) *signalingv1.ServerMessage {
	resp := &signalingv1.JoinResponse{
		MeetingId:     string(m.id),
		ParticipantId: p.rec.GetParticipantId(),
		CorrelationId: p.rec.GetCorrelationId(),
		BindingToken:  token,
		Resumed:       resume == signalingv1.ResumeResult_RESUME_RESULT_RESUMED,
		ResumeResult:  resume,
		Role:          p.rec.GetRole(),
		MediaHandlers: m.snap.GetMediaHandlers(),
		GracePeriod:   durationpb.New(m.cfg.GracePeriod),
	}
	for _, id := range m.order {
		resp.Roster = append(resp.Roster, m.participants[id].view())
	}
	return &signalingv1.ServerMessage{InReplyTo: seq, Payload: &signalingv1.ServerMessage_JoinResponse{JoinResponse: resp}}
}

// deliverPendingUnmuteRequests sends a host who just (re)joined the unmute
// requests that are still waiting for a decision.
func (m *Meeting) deliverPendingUnmuteRequests(c actor.Context, host *participant) {
	if !host.isHost() {
		return
	}
	for _, id := range m.order {
		p := m.participants[id]
		pending := p.rec.GetUnmuteRequested()
		if id == host.id() || (!pending.GetAudio() && !pending.GetVideo()) {
			continue
		}
		m.send(c, host.conn, unmuteRequested(p))
	}
}

// roleOf maps a join token's role claim to the roster role.
func roleOf(claims jointoken.Claims) signalingv1.Role {
	if claims.Role == jointoken.RoleHost {
		return signalingv1.Role_ROLE_HOST
	}
	return signalingv1.Role_ROLE_PARTICIPANT
}

// resumeLabel names a resume result for metrics.
func resumeLabel(r signalingv1.ResumeResult) string {
	switch r {
	case signalingv1.ResumeResult_RESUME_RESULT_RESUMED:
		return "resumed"
	case signalingv1.ResumeResult_RESUME_RESULT_REJECTED_REPLAYED:
		return "replayed"
	case signalingv1.ResumeResult_RESUME_RESULT_REJECTED_EXPIRED:
		return "expired"
	case signalingv1.ResumeResult_RESUME_RESULT_REJECTED_USER_MISMATCH:
		return "user_mismatch"
	default:
		return "invalid"
	}
}

func validateDisplayName(name string) error {
	if len(name) > MaxDisplayNameBytes {
		return fmt.Errorf("display_name: longer than %d bytes", MaxDisplayNameBytes)
	}
	if !utf8.ValidString(name) {
		return errors.New("display_name: not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return errors.New("display_name: contains a control character")
		}
	}
	return nil
}
