package signaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/auth/binding"
	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/messages/actorv1"
	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/transport/wt"
)

// Meetings is the handler's view of the node's actor system.
type Meetings interface {
	// Locate returns the activation of a running meeting and its placement.
	// It returns an error wrapping ErrMeetingNotFound when the meeting does
	// not run.
	Locate(ctx context.Context, meetingID string) (*actor.PID, *actorv1.MeetingPlacement, error)
	// IsLocal reports whether pid lives in this process.
	IsLocal(pid *actor.PID) bool
	// Attach hands a session to its local Meeting and returns once the
	// Meeting owns it. On error the caller still owns the session.
	Attach(ctx context.Context, pid *actor.PID, msg *actors.AttachSession) error
}

// Config configures the handler.
type Config struct {
	Meetings Meetings
	Verifier *jointoken.Verifier
	// JoinTimeout bounds the wait for the join request.
	JoinTimeout time.Duration
	// MaxMessageSize bounds one client frame, in bytes.
	MaxMessageSize int
	// LocateTimeout bounds the lookup of the hosting Meeting.
	LocateTimeout time.Duration
	// Draining reports whether the node takes no new sessions.
	Draining func() bool
	Logger   *slog.Logger
	Observer actors.Observer
	// Sessions counts open sessions; nil counts nothing.
	Sessions SessionCounter
}

// SessionCounter counts open WebTransport sessions.
type SessionCounter interface {
	SessionOpened()
	SessionClosed()
}

type nopSessions struct{}

func (nopSessions) SessionOpened() {}
func (nopSessions) SessionClosed() {}

// Handler serves WebTransport sessions on the signaling endpoint.
type Handler struct {
	cfg Config
}

// NewHandler returns a handler; cfg.Meetings and cfg.Verifier are required.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Meetings == nil || cfg.Verifier == nil {
		return nil, errors.New("signaling: Meetings and Verifier are required")
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = 5 * time.Second
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = framing.DefaultMaxSize
	}
	if cfg.LocateTimeout <= 0 {
		cfg.LocateTimeout = 10 * time.Second
	}
	if cfg.Draining == nil {
		cfg.Draining = func() bool { return false }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = actors.NopObserver{}
	}
	if cfg.Sessions == nil {
		cfg.Sessions = nopSessions{}
	}
	return &Handler{cfg: cfg}, nil
}

// ServeSession handles one session until it ends. It is a wt.Handler.
func (h *Handler) ServeSession(s *wt.Session) {
	h.cfg.Sessions.SessionOpened()
	defer h.cfg.Sessions.SessionClosed()
	log := h.cfg.Logger.With("remote_addr", s.RemoteAddr().String())
	stream := newSessionStream(s, h.cfg.MaxMessageSize)

	first, ok := h.readJoin(s, stream, log)
	if !ok {
		return
	}
	join := first.GetJoin()
	seq := first.GetSequence()
	log = log.With("meeting_id", join.GetMeetingId())

	if h.cfg.Draining() {
		h.reject(s, stream, seq, signalingv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "node is draining; join again shortly",
			signalingv1.GoodbyeReason_GOODBYE_REASON_DRAINING, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_DRAINING)
		return
	}
	if err := binding.ValidateMeetingID(join.GetMeetingId()); err != nil {
		h.rejectJoin(s, stream, seq, signalingv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "meeting_id: "+err.Error())
		return
	}
	claims, err := h.cfg.Verifier.Verify(join.GetJoinToken(), join.GetMeetingId())
	if err != nil {
		log.Info("join rejected: invalid join token", "reason", jointoken.Reason(err))
		h.cfg.Observer.JoinFinished("rejected", 0)
		h.rejectJoin(s, stream, seq, signalingv1.ErrorCode_ERROR_CODE_UNAUTHENTICATED,
			fmt.Sprintf("join token rejected: %s", jointoken.Reason(err)))
		return
	}

	ctx, cancel := context.WithTimeout(s.Context(), h.cfg.LocateTimeout)
	pid, placement, err := h.cfg.Meetings.Locate(ctx, join.GetMeetingId())
	cancel()
	switch {
	case errors.Is(err, ErrMeetingNotFound):
		h.rejectJoin(s, stream, seq, signalingv1.ErrorCode_ERROR_CODE_NOT_FOUND, "meeting not found")
		return
	case err != nil:
		log.Warn("join failed: meeting lookup failed", "error", err)
		h.rejectJoin(s, stream, seq, signalingv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "meeting unavailable; try again")
		return
	}

	if !h.cfg.Meetings.IsLocal(pid) {
		log.Info("join redirected", "node_id", placement.GetNodeId())
		h.redirect(s, stream, seq, placement)
		return
	}

	ctx, cancel = context.WithTimeout(s.Context(), h.cfg.LocateTimeout)
	err = h.cfg.Meetings.Attach(ctx, pid, &actors.AttachSession{
		Stream:     stream,
		Join:       first,
		Claims:     claims,
		RemoteAddr: s.RemoteAddr().String(),
	})
	cancel()
	if err != nil {
		// The meeting stopped between the lookup and the hand-over.
		log.Warn("join failed: meeting did not take the session", "error", err)
		h.rejectJoin(s, stream, seq, signalingv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "meeting unavailable; try again")
		return
	}
	// The Connection owns the session now; returning would close it.
	<-s.Context().Done()
}

// readJoin reads the first frame, which must be a join request.
func (h *Handler) readJoin(s *wt.Session, stream *sessionStream, log *slog.Logger) (*signalingv1.ClientMessage, bool) {
	_ = s.SetReadDeadline(time.Now().Add(h.cfg.JoinTimeout))
	first := &signalingv1.ClientMessage{}
	err := stream.Read(first)
	_ = s.SetReadDeadline(time.Time{})

	switch {
	case err == nil:
	case errors.Is(err, os.ErrDeadlineExceeded):
		log.Info("session closed: no join request in time", "join_timeout", h.cfg.JoinTimeout)
		h.reject(s, stream, 0, signalingv1.ErrorCode_ERROR_CODE_JOIN_TIMEOUT, "no join request within the join timeout",
			signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_JOIN_TIMEOUT)
		return nil, false
	case errors.Is(err, framing.ErrTooLarge):
		log.Info("session closed: first frame too large", "error", err)
		h.reject(s, stream, 0, signalingv1.ErrorCode_ERROR_CODE_MESSAGE_TOO_LARGE, err.Error(),
			signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_MESSAGE_TOO_LARGE)
		return nil, false
	case errors.Is(err, framing.ErrMalformed):
		log.Info("session closed: malformed first frame", "error", err)
		h.reject(s, stream, 0, signalingv1.ErrorCode_ERROR_CODE_MALFORMED_MESSAGE, "malformed message",
			signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_PROTOCOL_ERROR)
		return nil, false
	default:
		log.Debug("session ended before its join request", "error", err)
		return nil, false
	}

	h.cfg.Observer.MessageReceived(actors.ClientKind(first))
	switch first.GetPayload().(type) {
	case *signalingv1.ClientMessage_Join:
		return first, true
	case nil:
		h.reject(s, stream, first.GetSequence(), signalingv1.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE, "unknown message type; the first message must be a join request",
			signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_PROTOCOL_ERROR)
	default:
		h.reject(s, stream, first.GetSequence(), signalingv1.ErrorCode_ERROR_CODE_NOT_JOINED, "the first message must be a join request",
			signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_PROTOCOL_ERROR)
	}
	return nil, false
}

func (h *Handler) rejectJoin(s *wt.Session, stream *sessionStream, seq uint64, code signalingv1.ErrorCode, text string) {
	h.reject(s, stream, seq, code, text, signalingv1.GoodbyeReason_GOODBYE_REASON_JOIN_REJECTED, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_JOIN_REJECTED)
}

// reject writes an error and a goodbye, then closes the session.
func (h *Handler) reject(s *wt.Session, stream *sessionStream, seq uint64, code signalingv1.ErrorCode, text string,
	reason signalingv1.GoodbyeReason, closeCode signalingv1.SessionCloseCode,
) {
	h.write(s, stream, &signalingv1.ServerMessage{InReplyTo: seq, Payload: &signalingv1.ServerMessage_Error{
		Error: &signalingv1.Error{Code: code, Message: text, Sequence: seq},
	}})
	h.write(s, stream, &signalingv1.ServerMessage{Payload: &signalingv1.ServerMessage_Goodbye{
		Goodbye: &signalingv1.Goodbye{Reason: reason, Message: text},
	}})
	stream.Close(closeCode, text)
}

// redirect sends the client to the node that hosts its meeting.
func (h *Handler) redirect(s *wt.Session, stream *sessionStream, seq uint64, placement *actorv1.MeetingPlacement) {
	h.write(s, stream, &signalingv1.ServerMessage{InReplyTo: seq, Payload: &signalingv1.ServerMessage_Redirect{Redirect: &signalingv1.Redirect{
		MeetingId:         placement.GetMeetingId(),
		SignalingUrl:      placement.GetSignalingUrl(),
		CertificateSha256: placement.GetCertificateSha256(),
	}}})
	h.write(s, stream, &signalingv1.ServerMessage{Payload: &signalingv1.ServerMessage_Goodbye{Goodbye: &signalingv1.Goodbye{
		Reason:      signalingv1.GoodbyeReason_GOODBYE_REASON_REDIRECT,
		Message:     "meeting is hosted by another node",
		RedirectUrl: placement.GetSignalingUrl(),
	}}})
	stream.Close(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_REDIRECT, "redirect")
}

func (h *Handler) write(s *wt.Session, stream *sessionStream, msg *signalingv1.ServerMessage) {
	frame, err := framing.Marshal(msg, actors.MaxServerMessageSize)
	if err != nil {
		h.cfg.Logger.Error("signaling failed to encode a message", "error", err)
		return
	}
	_ = s.SetWriteDeadline(time.Now().Add(time.Second))
	if err := stream.Write(frame); err != nil {
		h.cfg.Logger.Debug("signaling failed to write a message", "error", err)
		return
	}
	h.cfg.Observer.MessageSent(actors.ServerKind(msg))
}
