package actors

import (
	"errors"
	"os"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/convene/convene/messages/signalingv1"
)

// session is one client's stream with its reader and writer goroutines. A
// Connection actor owns it; when the Meeting restarts after a panic, the
// old Connection lets go of it and the new Meeting activation adopts it
// with a new Connection, so the client stays connected.
type session struct {
	stream Stream
	cfg    ConnectionConfig
	system *actor.ActorSystem
	// meeting receives the client's frames directly. Its PID survives a
	// restart together with its mailbox, so no frame is lost when the
	// Connection that owned the session is replaced.
	meeting *actor.PID

	queue   chan outFrame
	finalCh chan finalFrame
	// credits limits the frames in flight from the reader to the actor.
	credits chan struct{}
	started sync.Once
	// done is closed by stop, so that a reader waiting for a credit exits.
	done     chan struct{}
	stopOnce sync.Once

	// Fields below are touched only by the owning Connection actor; a
	// hand-over passes them on through mu.
	closing bool

	mu sync.Mutex
	// owner is the Connection actor driving the session, nil while it is
	// being handed over.
	owner *actor.PID
	// pending holds reader events that arrived while there was no owner.
	pending []any
	// stopped is set when the session was closed for good.
	stopped bool
	// participant is the participant joined on this session, if any.
	participant ParticipantID
}

// finalFrame is the goodbye after which the writer closes the session.
type finalFrame struct {
	outFrame
	code   signalingv1.SessionCloseCode
	reason string
}

func newSession(stream Stream, cfg ConnectionConfig, system *actor.ActorSystem, meeting *actor.PID) *session {
	return &session{
		stream:  stream,
		cfg:     cfg,
		system:  system,
		meeting: meeting,
		queue:   make(chan outFrame, cfg.QueueSize),
		finalCh: make(chan finalFrame, 1),
		credits: make(chan struct{}, maxFramesInFlight),
		done:    make(chan struct{}),
	}
}

// setOwner makes pid the owner and hands it what arrived without an owner.
// The Meeting calls it right after spawning the Connection, so that a
// Connection spawned before a hand-over can never take the session back.
func (s *session) setOwner(pid *actor.PID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owner = pid
	for _, msg := range s.pending {
		s.system.Root.Send(pid, msg)
	}
	s.pending = nil
}

// start runs the reader and writer goroutines, once per session.
func (s *session) start() {
	s.started.Do(func() {
		s.cfg.Go(s.write)
		s.cfg.Go(s.read)
	})
}

// releaseCredit returns the credit of a client frame the Meeting handled.
func (s *session) releaseCredit() {
	select {
	case <-s.credits:
	default:
	}
}

// handOver detaches the session from its owner; reader events wait in
// pending until a new owner attaches.
func (s *session) handOver() {
	s.mu.Lock()
	s.owner = nil
	s.mu.Unlock()
}

// ownedBy reports whether pid owns the session.
func (s *session) ownedBy(pid *actor.PID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owner != nil && s.owner.Equal(pid)
}

// stop marks the session closed for good: reader and writer events are
// dropped from now on.
func (s *session) stop() {
	s.mu.Lock()
	s.stopped = true
	s.owner = nil
	s.pending = nil
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.done) })
}

func (s *session) setParticipant(id ParticipantID) {
	s.mu.Lock()
	s.participant = id
	s.mu.Unlock()
}

func (s *session) participantID() ParticipantID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.participant
}

// tell delivers an event to the owner, or keeps it for the next owner.
func (s *session) tell(msg any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.stopped:
	case s.owner == nil:
		s.pending = append(s.pending, msg)
	default:
		s.system.Root.Send(s.owner, msg)
	}
}

func (s *session) isStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// read runs on its own goroutine until the stream fails. Frames go to the
// Meeting; a read error goes to the owning Connection.
func (s *session) read() {
	for {
		msg := &signalingv1.ClientMessage{}
		err := s.stream.Read(msg)
		if s.isStopped() {
			return
		}
		if err != nil {
			s.tell(&readFailed{err: err})
			return
		}
		select {
		case s.credits <- struct{}{}:
		case <-s.done:
			return
		}
		s.system.Root.Send(s.meeting, &clientFrame{session: s, msg: msg})
	}
}

// write runs on its own goroutine: it drains the queue, then writes the
// final goodbye, if any, and closes the session.
func (s *session) write() {
	for frame := range s.queue {
		if err := s.writeFrame(frame.data); err != nil {
			// A write that timed out means the client stopped reading; no
			// goodbye can get through, but the close code gives the reason.
			code := signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_UNSPECIFIED
			if errors.Is(err, os.ErrDeadlineExceeded) {
				code = signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_TOO_SLOW
				s.cfg.Observer.MessageDropped("too_slow")
			}
			s.stream.Close(code, "write failed")
			s.tell(&writeFailed{err: err})
			return
		}
	}
	select {
	case f := <-s.finalCh:
		if len(f.data) > 0 {
			_ = s.writeFrame(f.data)
		}
		s.stream.Close(f.code, f.reason)
	default:
	}
	s.tell(&writerDone{})
}

func (s *session) writeFrame(data []byte) error {
	if err := s.stream.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil {
		return err
	}
	return s.stream.Write(data)
}
