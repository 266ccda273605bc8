package actors

import (
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/messages/signalingv1"
)

// Stream is a client's signaling session as a Connection sees it.
type Stream interface {
	// Read decodes the next client message into m.
	Read(m proto.Message) error
	// Write sends one encoded, length-prefixed frame.
	Write(frame []byte) error
	// SetWriteDeadline bounds the next Write calls.
	SetWriteDeadline(t time.Time) error
	// Close flushes what was written, then closes the session with an
	// application error code. It is safe to call more than once and from
	// any goroutine.
	Close(code signalingv1.SessionCloseCode, reason string)
}

// AttachSession hands a new session, whose join request was already read
// and whose join token was verified, to the Meeting that hosts it. It is
// sent by the signaling server on the Meeting's node and never crosses nodes.
type AttachSession struct {
	Stream Stream
	// Join is the session's first message; its payload is a JoinRequest.
	Join   *signalingv1.ClientMessage
	Claims jointoken.Claims
	// RemoteAddr is the client's address, for logs.
	RemoteAddr string
}

// clientFrame is a decoded client message, from a session's reader to its
// Meeting.
type clientFrame struct {
	session *session
	msg     *signalingv1.ClientMessage
}

// closeSession requests a Connection to send a goodbye and close its session.
type closeSession struct {
	goodbye *signalingv1.Goodbye
	code    signalingv1.SessionCloseCode
}

// Messages a Connection's goroutines tell their own actor.
type (
	readFailed  struct{ err error }
	writeFailed struct{ err error }
	writerDone  struct{}
)

// flushUpdates broadcasts self-mute changes coalesced under load.
type flushUpdates struct{}

// graceExpired fires when a disconnected participant's grace period ends.
// epoch tells a stale timer from the current one.
type graceExpired struct {
	participant ParticipantID
	epoch       uint64
}

// InjectPanic makes the actor that receives it panic. It exists for fault
// injection tests and is a local Go value, so no client or remote node can
// send it. A Meeting that receives one with Participant set forwards it to
// that participant's Connection.
type InjectPanic struct {
	Reason      string
	Participant ParticipantID
}

// Drain requests a Meeting to close its sessions because the node is shutting
// down. Each client gets a goodbye, with RedirectURL when another node can
// host the meeting, after the frames already queued for it. The Meeting
// replies with *Drained once the goodbyes are queued.
type Drain struct {
	RedirectURL string
}

// Drained is the reply to Drain.
type Drained struct {
	Sessions int
}

// SessionAttached is the reply to an AttachSession sent as a request: the Meeting
// owns the session from then on.
type SessionAttached struct{}
