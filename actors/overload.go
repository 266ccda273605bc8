package actors

import (
	"sync"

	"github.com/convene/convene/actors/mailboxstats"
)

// Overload records which actors have a mailbox at the critical level. The
// mailbox statistics call Changed on the goroutine that posted or received
// a message; the actors read it on their own goroutine, which sees the
// level at once instead of after the backlog it is part of.
type Overload struct {
	critical sync.Map // actor PID id → struct{}
}

// NewOverload returns an empty Overload.
func NewOverload() *Overload { return &Overload{} }

// Changed records a mailbox level change. It never blocks.
func (o *Overload) Changed(c mailboxstats.Change) {
	if c.To == mailboxstats.Critical {
		o.critical.Store(c.ActorID, struct{}{})
		return
	}
	o.critical.Delete(c.ActorID)
}

// Critical reports whether the actor's mailbox is at the critical level.
func (o *Overload) Critical(actorID string) bool {
	if o == nil {
		return false
	}
	_, ok := o.critical.Load(actorID)
	return ok
}

// Forget drops a stopped actor, whose level no later change will reset.
func (o *Overload) Forget(actorID string) {
	if o != nil {
		o.critical.Delete(actorID)
	}
}
