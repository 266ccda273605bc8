package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
)

// maxFramesInFlight bounds the client frames a Connection's reader has
// handed to the actor but the actor has not handled yet. When it is
// reached the reader stops reading, and QUIC flow control slows the client.
const maxFramesInFlight = 64

// Connection is the actor of one client session. It is a child of the
// Meeting that hosts the session.
type Connection struct {
	cfg    ConnectionConfig
	stream Stream
	log    *slog.Logger

	queue chan outFrame
	// finalCh carries the goodbye the writer sends after the queue closes.
	finalCh chan finalFrame
	// closing is set once no more frames may be queued: the final goodbye
	// is queued or the session is gone.
	closing bool
	// stopped tells the goroutines that the actor is gone, so that they stop
	// sending it messages.
	stopped atomic.Bool
	// credits limits the frames in flight from the reader to the actor.
	credits chan struct{}

	system *actor.ActorSystem
	self   *actor.PID
}

// finalFrame marks the goodbye after which the writer closes the session.
type finalFrame struct {
	outFrame
	code   signalingv1.SessionCloseCode
	reason string
}

func newConnectionProps(cfg ConnectionConfig, stream Stream, logger *slog.Logger) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &Connection{
			cfg:     cfg,
			stream:  stream,
			log:     logger,
			queue:   make(chan outFrame, cfg.QueueSize),
			finalCh: make(chan finalFrame, 1),
			credits: make(chan struct{}, maxFramesInFlight),
		}
	})
}

// Receive dispatches each message to its handler.
func (c *Connection) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		c.onStarted(ctx)
	case *frameRead:
		<-c.credits
		c.onFrame(ctx, msg.msg)
	case *readFailed:
		c.onReadFailed(ctx, msg.err)
	case outFrame:
		c.enqueue(msg)
	case *closeSession:
		c.finish(msg.goodbye, msg.code)
	case *writeFailed:
		c.log.Debug("connection write failed", "error", msg.err)
		ctx.Stop(ctx.Self())
	case *writerDone:
		ctx.Stop(ctx.Self())
	case *actor.Stopping:
		c.onStopping()
	case *actor.Stopped, *actor.Restarting:
	default:
		c.log.Warn("connection received an unexpected message", "type", fmt.Sprintf("%T", msg))
	}
}

func (c *Connection) onStarted(ctx actor.Context) {
	c.system, c.self = ctx.ActorSystem(), ctx.Self()
	c.cfg.Go(c.write)
	c.cfg.Go(c.read)
}

// onFrame validates a client frame. Pings are answered here; everything
// else goes to the Meeting.
func (c *Connection) onFrame(ctx actor.Context, msg *signalingv1.ClientMessage) {
	kind := ClientKind(msg)
	c.cfg.Observer.MessageReceived(kind)
	if c.closing {
		return
	}
	switch msg.GetPayload().(type) {
	case nil:
		c.enqueueMessage(errorMessage(msg.GetSequence(), signalingv1.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE, "unknown message type"))
	case *signalingv1.ClientMessage_Ping:
		c.enqueueMessage(&signalingv1.ServerMessage{InReplyTo: msg.GetSequence(), Payload: &signalingv1.ServerMessage_Pong{Pong: &signalingv1.PongResponse{}}})
	default:
		ctx.Send(ctx.Parent(), &clientFrame{conn: ctx.Self(), msg: msg})
	}
}

// onReadFailed handles the end of the client's stream. Oversized and
// malformed frames are protocol errors: the client gets an error and a
// goodbye. Anything else means the session is gone.
func (c *Connection) onReadFailed(ctx actor.Context, err error) {
	if c.closing {
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
		c.closing = true
		close(c.queue)
		// The client is gone; closing waits for it, so not on this goroutine.
		c.cfg.Go(func() { c.stream.Close(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_UNSPECIFIED, "") })
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
	if c.closing {
		c.cfg.Observer.MessageDropped("closing")
		return
	}
	select {
	case c.queue <- frame:
		c.cfg.Observer.MessageSent(frame.kind)
	default:
		c.cfg.Observer.MessageDropped("too_slow")
		c.log.Warn("connection closed: client too slow", "queue_size", c.cfg.QueueSize)
		c.finish(&signalingv1.Goodbye{Reason: signalingv1.GoodbyeReason_GOODBYE_REASON_TOO_SLOW, Message: "client did not read fast enough"},
			signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_TOO_SLOW)
	}
}

// finish hands the writer a final goodbye, after which it closes the
// session with code. Frames still queued are written first, unless the
// queue is full, in which case they are dropped so that the goodbye goes
// out promptly.
func (c *Connection) finish(goodbye *signalingv1.Goodbye, code signalingv1.SessionCloseCode) {
	if c.closing {
		return
	}
	c.closing = true
	frame, err := encode(&signalingv1.ServerMessage{Payload: &signalingv1.ServerMessage_Goodbye{Goodbye: goodbye}})
	if err != nil {
		c.log.Error("connection failed to encode a goodbye", "error", err)
	}
	if len(c.queue) == cap(c.queue) {
		c.dropQueued()
	}
	c.finalCh <- finalFrame{outFrame: frame, code: code, reason: goodbye.GetMessage()}
	close(c.queue)
	c.cfg.Observer.MessageSent(frame.kind)
}

func (c *Connection) dropQueued() {
	for {
		select {
		case <-c.queue:
			c.cfg.Observer.MessageDropped("too_slow")
		default:
			return
		}
	}
}

// onStopping runs when the Connection stops for any reason. A Connection
// stopped without a goodbye (its Meeting's supervisor stopped it after a
// panic, or its Meeting stopped) tells the client to resume.
func (c *Connection) onStopping() {
	if !c.closing {
		c.finish(&signalingv1.Goodbye{Reason: signalingv1.GoodbyeReason_GOODBYE_REASON_INTERNAL_ERROR, Message: "connection failed; resume with the binding token"},
			signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_INTERNAL_ERROR)
	}
	c.stopped.Store(true)
}

// read runs on its own goroutine until the stream fails.
func (c *Connection) read() {
	for {
		msg := &signalingv1.ClientMessage{}
		err := c.stream.Read(msg)
		if c.stopped.Load() {
			return
		}
		if err != nil {
			c.system.Root.Send(c.self, &readFailed{err: err})
			return
		}
		c.credits <- struct{}{}
		c.system.Root.Send(c.self, &frameRead{msg: msg})
	}
}

// write runs on its own goroutine: it drains the queue, then writes the
// final goodbye, if any, and closes the session.
func (c *Connection) write() {
	for frame := range c.queue {
		if err := c.writeFrame(frame.data); err != nil {
			c.stream.Close(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_UNSPECIFIED, "")
			c.tell(&writeFailed{err: err})
			return
		}
	}
	select {
	case f := <-c.finalCh:
		if len(f.data) > 0 {
			_ = c.writeFrame(f.data)
		}
		c.stream.Close(f.code, f.reason)
	default:
	}
	c.tell(&writerDone{})
}

func (c *Connection) writeFrame(data []byte) error {
	if err := c.stream.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		return err
	}
	return c.stream.Write(data)
}

func (c *Connection) tell(msg any) {
	if !c.stopped.Load() {
		c.system.Root.Send(c.self, msg)
	}
}
