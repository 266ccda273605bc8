package mailboxstats

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Change is a change of one actor's mailbox level.
type Change struct {
	// Kind is the tracker's actor kind.
	Kind string
	// ActorID is the PID id of the actor. It is for the callback and logs,
	// never for a metric label, because actor ids are unbounded.
	ActorID string
	From    Level
	To      Level
	// Depth is the mailbox depth, in messages, that caused the change.
	Depth int
}

// ActorDepth is the current mailbox state of one tracked actor.
type ActorDepth struct {
	ActorID string
	Depth   int
	Level   Level
}

// Tracker tracks the mailboxes of all live actors of one kind. It is safe
// for concurrent use.
type Tracker struct {
	kind       string
	thresholds Thresholds
	logger     *slog.Logger
	onChange   func(Change)

	mu       sync.RWMutex
	counters map[*actor.PID]*counter
}

// NewTracker returns a tracker for actors of kind. logger may be nil to
// discard logs and onChange may be nil.
//
// onChange is called once per level change, on the goroutine that posted
// or received the message that changed the depth: a sender's goroutine or
// the actor's own mailbox goroutine. It must not block. Changes of one
// actor are delivered one at a time in the order they happened; onChange may
// send to the actor. NewTracker panics if th is invalid, so check
// configuration with Thresholds.Validate first.
func NewTracker(kind string, th Thresholds, logger *slog.Logger, onChange func(Change)) *Tracker {
	if err := th.Validate(); err != nil {
		panic(fmt.Sprintf("mailboxstats: tracker %q: %v", kind, err))
	}

	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	return &Tracker{
		kind:       kind,
		thresholds: th,
		logger:     logger,
		onChange:   onChange,
		counters:   make(map[*actor.PID]*counter),
	}
}

// Kind returns the actor kind the tracker was created for.
func (t *Tracker) Kind() string { return t.kind }

// Thresholds returns the tracker's thresholds.
func (t *Tracker) Thresholds() Thresholds { return t.thresholds }

// Props returns the option to add to the props of every actor of the
// tracker's kind. It sets an unbounded mailbox with one counter per spawned
// actor, replacing any mailbox set before, and adds a receiver middleware
// that removes the counter when the actor gets *actor.Stopped. Pass it
// before other receiver middleware, so that none of them can hide Stopped
// from it.
func (t *Tracker) Props() actor.PropsOption {
	return func(props *actor.Props) {
		actor.WithMailbox(t.newMailbox)(props)
		actor.WithReceiverMiddleware(t.removeOnStopped)(props)
	}
}

// Snapshot returns the maximum depth and the worst level over the tracked
// actors, and how many actors are tracked.
func (t *Tracker) Snapshot() (maxDepth int, worst Level, actors int) {
	t.mu.RLock()
	defer t.mu.RUnlock()

	for _, c := range t.counters {
		maxDepth = max(maxDepth, int(c.depth.Load()))
		worst = max(worst, Level(c.level.Load()))
	}

	return maxDepth, worst, len(t.counters)
}

// Actors returns the depth and level of every tracked actor, sorted by
// actor id.
func (t *Tracker) Actors() []ActorDepth {
	t.mu.RLock()
	actors := make([]ActorDepth, 0, len(t.counters))
	for _, c := range t.counters {
		actors = append(actors, ActorDepth{
			ActorID: c.actorID(),
			Depth:   int(c.depth.Load()),
			Level:   Level(c.level.Load()),
		})
	}
	t.mu.RUnlock()

	slices.SortFunc(actors, func(a, b ActorDepth) int { return cmp.Compare(a.ActorID, b.ActorID) })

	return actors
}

func (t *Tracker) newMailbox() actor.Mailbox {
	c := &counter{tracker: t}

	return &countingMailbox{
		Mailbox: actor.Unbounded(c)(),
		counter: c,
	}
}

// add starts tracking c. A mailbox whose spawn failed, for example on a
// duplicate name, never reaches add.
func (t *Tracker) add(c *counter) {
	if c.pid == nil {
		// NOTE: protoactor's actor context always has Self; a foreign invoker
		// without it is counted but not tracked.
		return
	}

	t.mu.Lock()
	t.counters[c.pid] = c
	t.mu.Unlock()
}

func (t *Tracker) remove(pid *actor.PID) {
	t.mu.Lock()
	c, ok := t.counters[pid]
	delete(t.counters, pid)
	t.mu.Unlock()

	if ok {
		c.detached.Store(true)
	}
}

// removeOnStopped is the receiver middleware added by Props. Stopped is the
// last message protoactor passes to an actor; user messages left in its
// mailbox afterwards are dropped, so their count no longer matters.
func (t *Tracker) removeOnStopped(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(ctx actor.ReceiverContext, envelope *actor.MessageEnvelope) {
		if _, ok := envelope.Message.(*actor.Stopped); ok {
			defer t.remove(ctx.Self())
		}

		next(ctx, envelope)
	}
}

// report logs a level change and passes it to onChange, unless the actor
// has stopped in the meantime.
func (t *Tracker) report(c *counter, change Change) {
	if c.detached.Load() {
		return
	}

	change.ActorID = c.actorID()

	level := slog.LevelWarn
	if change.To == Normal {
		level = slog.LevelInfo
	}

	t.logger.Log(context.Background(), level, "mailbox level changed",
		slog.String("actor_kind", change.Kind),
		slog.String("actor_id", change.ActorID),
		slog.Int("mailbox_depth", change.Depth),
		slog.String("level", change.To.String()),
		slog.String("previous_level", change.From.String()),
	)

	if t.onChange != nil {
		t.onChange(change)
	}
}
