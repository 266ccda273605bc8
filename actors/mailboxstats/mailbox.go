package mailboxstats

import (
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// counter tracks the depth of one actor's mailbox. It is the protoactor
// mailbox middleware of that mailbox, which counts posted messages, and the
// message invoker the mailbox calls, which counts received ones.
type counter struct {
	tracker *Tracker
	invoker actor.MessageInvoker
	pid     *actor.PID

	depth    atomic.Int64
	level    atomic.Int32
	detached atomic.Bool

	// mu guards pending and delivering, which deliver level changes in the
	// order they were decided without holding mu during the callback.
	mu         sync.Mutex
	pending    []Change
	delivering bool
}

// countingMailbox wraps a protoactor mailbox so that RegisterHandlers can
// bind the counter to its actor and put the counter in front of the
// invoker.
type countingMailbox struct {
	actor.Mailbox
	counter *counter
}

func (mb *countingMailbox) RegisterHandlers(invoker actor.MessageInvoker, dispatcher actor.Dispatcher) {
	mb.counter.bind(invoker)
	mb.Mailbox.RegisterHandlers(mb.counter, dispatcher)
}

// isSystemMessage reports whether protoactor delivers message through the
// system queue. Posting and receiving use this same test, so a message is
// either counted on both sides or on neither.
func isSystemMessage(message any) bool {
	switch message.(type) {
	case actor.SystemMessage, actor.MailboxMessage:
		return true
	default:
		return false
	}
}

// bind attaches the counter to the actor whose context is invoker. Spawn
// calls RegisterHandlers once, after the PID is set and before the first
// message is processed.
func (c *counter) bind(invoker actor.MessageInvoker) {
	c.invoker = invoker
	if self, ok := invoker.(interface{ Self() *actor.PID }); ok {
		c.pid = self.Self()
	}

	c.tracker.add(c)
}

// MailboxStarted implements actor.MailboxMiddleware.
func (c *counter) MailboxStarted() {}

// MessagePosted implements actor.MailboxMiddleware. It runs on the sender's
// goroutine before the message is queued.
func (c *counter) MessagePosted(message any) {
	if isSystemMessage(message) {
		return
	}

	c.update(c.depth.Add(1))
}

// MessageReceived implements actor.MailboxMiddleware. Received messages are
// counted in InvokeUserMessage instead, because protoactor skips this hook
// when Receive panics.
func (c *counter) MessageReceived(any) {}

// MailboxEmpty implements actor.MailboxMiddleware.
func (c *counter) MailboxEmpty() {}

// InvokeUserMessage implements actor.MessageInvoker. The message stays in
// the depth until Receive returns or panics.
func (c *counter) InvokeUserMessage(message any) {
	if !isSystemMessage(message) {
		defer func() { c.update(c.depth.Add(-1)) }()
	}

	c.invoker.InvokeUserMessage(message)
}

// InvokeSystemMessage implements actor.MessageInvoker.
func (c *counter) InvokeSystemMessage(message any) {
	c.invoker.InvokeSystemMessage(message)
}

// EscalateFailure implements actor.MessageInvoker.
func (c *counter) EscalateFailure(reason any, message any) {
	c.invoker.EscalateFailure(reason, message)
}

// update reclassifies the mailbox after its depth became depth. The fast
// path only loads the level. A change is decided under mu, and the depth is
// read again after each level store. A goroutine that loaded the old level
// on the fast path changed the depth before that store, so the second read
// includes its change and no update is lost.
func (c *counter) update(depth int64) {
	th := c.tracker.thresholds
	if th.Classify(int(depth)) == Level(c.level.Load()) {
		return
	}

	c.mu.Lock()
	for {
		current := c.depth.Load()
		to := th.Classify(int(current))
		from := Level(c.level.Load())
		if to == from {
			break
		}

		c.level.Store(int32(to))
		c.pending = append(c.pending, Change{
			Kind:  c.tracker.kind,
			From:  from,
			To:    to,
			Depth: int(current),
		})
	}

	// One goroutine at a time delivers, in decision order. Others leave
	// their changes in pending and return, so a callback that posts to the
	// same actor neither deadlocks nor reorders changes.
	if c.delivering || len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}

	c.delivering = true
	for len(c.pending) > 0 {
		batch := c.pending
		c.pending = nil
		c.mu.Unlock()

		for _, change := range batch {
			c.tracker.report(c, change)
		}

		c.mu.Lock()
	}
	c.delivering = false
	c.mu.Unlock()
}

// actorID returns the id of the counter's actor, or "" before spawn bound it.
func (c *counter) actorID() string {
	if c.pid == nil {
		return ""
	}

	return c.pid.Id
}
