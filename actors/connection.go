package actors

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
)

// maxFramesInFlight bounds the client frames a session's reader has handed
// to the Meeting but the Meeting has not handled yet. When it is reached the
// reader stops reading, and QUIC flow control slows the client.
const maxFramesInFlight = 64

// Connection is the actor of one client session. It is a child of the
// Meeting that hosts the session.
type Connection struct {
	s   *session
	log *slog.Logger
}

func newConnectionProps(s *session, logger *slog.Logger, opts ...actor.PropsOption) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &Connection{s: s, log: logger}
	}, opts...)
}

// Receive dispatches each message to its handler.
func (c *Connection) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		c.s.start()
	case *readFailed:
		c.onReadFailed(ctx, msg.err)
	case outFrame:
		if c.s.cfg.Overload.Critical(ctx.Self().GetId()) {
			c.tooSlow("connection mailbox critical")
			return
		}
		c.enqueue(msg)
	case *closeSession:
		c.finish(msg.goodbye, msg.code)
	case *InjectPanic:
		panic(fmt.Sprintf("injected fault in connection: %s", msg.Reason))
	case *writeFailed:
		c.log.Debug("connection write failed", "error", msg.err)
		ctx.Stop(ctx.Self())
	case *writerDone:
		ctx.Stop(ctx.Self())
	case *actor.Stopping:
		c.onStopping(ctx)
	case *actor.Stopped, *actor.Restarting:
	default:
		c.log.Warn("connection received an unexpected message", "type", fmt.Sprintf("%T", msg))
	}
}

// onReadFailed handles the end of the client's stream. Oversized and
// malformed frames are protocol errors: the client gets an error and a
// goodbye. Anything else means the session is gone.
func (c *Connection) onReadFailed(ctx actor.Context, err error) {
	if c.s.closing {
		return
	}
	switch {
	case errors.Is(err, framing.ErrTooLarge):
		c.log.Warn("connection closed: client frame too large", "error", err)
		c.enqueueMessage(errorMessage(0, signalingv1.ErrorCode_ERROR_CODE_MESSAGE_TOO_LARGE, err.Error()))
		c.finish(&signalingv1.Goodbye{Reason: signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR, Message: "message too large"},
			signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_MESSAGE_TOO_LARGE)
	case errors.Is(err, framing.ErrMalformed):
		c.log.Warn("connection closed: malformed client frame", "error", err)
		c.enqueueMessage(errorMessage(0, signalingv1.ErrorCode_ERROR_CODE_MALFORMED_MESSAGE, "malformed message"))
		c.finish(&signalingv1.Goodbye{Reason: signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR, Message: "malformed message"},
			signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_PROTOCOL_ERROR)
	default:
		c.log.Debug("connection session ended", "error", err)
		c.s.closing = true
		close(c.s.queue)
		// The client is gone; closing waits for it, so not on this goroutine.
		c.s.cfg.Go(func() { c.s.stream.Close(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_UNSPECIFIED, "") })
		ctx.Stop(ctx.Self())
	}
}

func (c *Connection) enqueueMessage(msg *signalingv1.ServerMessage) {
	frame, err := encode(msg)
	if err != nil {
		c.log.Error("connection failed to encode a server message", "error", err)
		return
	}
	c.enqueue(frame)
}

// enqueue queues a frame for the writer without ever blocking. A full queue
// means the client does not read fast enough: it is disconnected.
func (c *Connection) enqueue(frame outFrame) {
	if c.s.closing {
		c.s.cfg.Observer.MessageDropped("closing")
		return
	}
	select {
	case c.s.queue <- frame:
		c.s.cfg.Observer.MessageSent(frame.kind)
	default:
		c.tooSlow("outbound queue full")
	}
}

// tooSlow disconnects a client that does not keep up with its messages.
func (c *Connection) tooSlow(cause string) {
	c.s.cfg.Observer.MessageDropped("too_slow")
	c.log.Warn("connection closed: client too slow", "cause", cause, "queue_size", c.s.cfg.QueueSize)
	c.finish(&signalingv1.Goodbye{Reason: signalingv1.GoodbyeReason_GOODBYE_REASON_TOO_SLOW, Message: "client did not read fast enough"},
		signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_TOO_SLOW)
}

// finish hands the writer a final goodbye, after which it closes the
// session with code. Frames still queued are written first, unless the
// queue is full, in which case they are dropped so that the goodbye goes
// out promptly.
func (c *Connection) finish(goodbye *signalingv1.Goodbye, code signalingv1.SessionCloseCode) {
	if c.s.closing {
		return
	}
	c.s.closing = true
	frame, err := encode(&signalingv1.ServerMessage{Payload: &signalingv1.ServerMessage_Goodbye{Goodbye: goodbye}})
	if err != nil {
		c.log.Error("connection failed to encode a goodbye", "error", err)
	}
	if len(c.s.queue) == cap(c.s.queue) {
		c.dropQueued()
	}
	c.s.finalCh <- finalFrame{outFrame: frame, code: code, reason: goodbye.GetMessage()}
	close(c.s.queue)
	c.s.cfg.Observer.MessageSent(frame.kind)
}

func (c *Connection) dropQueued() {
	for {
		select {
		case <-c.s.queue:
			c.s.cfg.Observer.MessageDropped("too_slow")
		default:
			return
		}
	}
}

// onStopping runs when the Connection stops. A session handed over to a
// restarted Meeting is left open. Otherwise a Connection stopped without a
// goodbye (its Meeting's supervisor stopped it after a panic, or its
// Meeting stopped) tells the client to resume.
func (c *Connection) onStopping(ctx actor.Context) {
	c.s.cfg.Overload.Forget(ctx.Self().GetId())
	if !c.s.ownedBy(ctx.Self()) {
		return
	}
	if !c.s.closing {
		c.finish(&signalingv1.Goodbye{Reason: signalingv1.GoodbyeReason_GOODBYE_REASON_INTERNAL_ERROR, Message: "connection failed; resume with the binding token"},
			signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_INTERNAL_ERROR)
	}
	c.s.stop()
}
