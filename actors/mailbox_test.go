package actors_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/actors/mailboxstats"
	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/messages/actorv1"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/store"
)

// smallThresholds make a mailbox critical above 4 queued messages.
var smallThresholds = mailboxstats.Thresholds{Warning: 2, Critical: 4}

// mailboxes are mailbox trackers wired as a node wires them: every level
// change goes to an Overload that the actors read.
type mailboxes struct {
	overload   *actors.Overload
	meeting    *mailboxstats.Tracker
	connection *mailboxstats.Tracker
}

func newMailboxes() *mailboxes {
	overload := actors.NewOverload()
	return &mailboxes{
		overload:   overload,
		meeting:    mailboxstats.NewTracker(actors.KindMeeting, smallThresholds, nil, overload.Changed),
		connection: mailboxstats.NewTracker(actors.KindConnection, smallThresholds, nil, overload.Changed),
	}
}

// newMailboxHarness starts a harness whose Meetings and Connections have
// the trackers of mb. connectionOpts are added to the Connection Props
// after the tracker.
func newMailboxHarness(t *testing.T, mb *mailboxes, configure func(*actors.MeetingConfig), connectionOpts ...actor.PropsOption) *harness {
	t.Helper()
	h := newHarness(t, func(cfg *actors.MeetingConfig) {
		cfg.Overload = mb.overload
		cfg.Connection.Overload = mb.overload
		cfg.ConnectionProps = append([]actor.PropsOption{mb.connection.Props()}, connectionOpts...)
		if configure != nil {
			configure(cfg)
		}
	})
	h.setMeetingProps(mb.meeting.Props())
	return h
}

// depthOf returns the tracked mailbox depth of the actor with id.
func depthOf(tr *mailboxstats.Tracker, id string) (mailboxstats.ActorDepth, bool) {
	for _, a := range tr.Actors() {
		if a.ActorID == id {
			return a, true
		}
	}
	return mailboxstats.ActorDepth{}, false
}

// stall makes the Connection that receives it wait for release before it
// handles its next message, as an actor stuck on a slow call would.
type stall struct{ release chan struct{} }

// stallMiddleware holds a Connection's goroutine on a stall message.
func stallMiddleware(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(c actor.ReceiverContext, envelope *actor.MessageEnvelope) {
		if s, ok := envelope.Message.(*stall); ok {
			<-s.release
			return
		}
		next(c, envelope)
	}
}

func TestMailbox_ConnectionCriticalTooSlow(t *testing.T) {
	mb := newMailboxes()
	h := newMailboxHarness(t, mb, nil, actor.WithReceiverMiddleware(stallMiddleware))
	m := h.startMeeting("m1")
	slow := h.join(m, "u2", jointoken.RoleParticipant)
	slowID := slow.id()
	tracked := mb.connection.Actors()
	if len(tracked) != 1 {
		t.Fatalf("tracked connections after one join: got %d, want 1", len(tracked))
	}
	slowConn := actor.NewPID(h.system.Address(), tracked[0].ActorID)
	host := h.join(m, "u1", jointoken.RoleHost)
	syncAll(slow, host)

	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseAll := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(releaseAll)
	h.system.Root.Send(slowConn, &stall{release: release})
	const updates = 2 * 4
	for i := 0; i < updates; i++ {
		host.selfMute(i%2 == 0, true)
		host.waitCount("host self-mute updates", i+1, isAnyUpdateOf(host.id()))
	}
	eventually(t, func() (bool, string) {
		a, _ := depthOf(mb.connection, slowConn.GetId())
		return mb.overload.Critical(slowConn.GetId()), fmt.Sprintf("slow connection mailbox: got depth %d level %v, want critical", a.Depth, a.Level)
	})
	if !slow.isOpen() {
		t.Fatal("stalled session closed before its actor ran again, want open")
	}

	releaseAll()
	slow.waitClosed(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_TOO_SLOW)
	slow.lastGoodbye(signalingv1.GoodbyeReason_GOODBYE_REASON_TOO_SLOW)
	host.waitFor("slow client disconnected", isUpdateOf(slowID, disconnected))
	if got := h.observer.count("dropped/too_slow"); got == 0 {
		t.Fatal("frames dropped as too slow: got 0, want some")
	}
	if !host.isOpen() {
		t.Fatal("healthy session after another client was too slow: got closed, want open")
	}
}

// gatedStore is a store whose Save waits while the gate is armed, which
// holds the Meeting's goroutine inside a save for as long as a test needs.
type gatedStore struct {
	*store.Memory

	mu      sync.Mutex
	gate    chan struct{}
	entered chan struct{}
}

// arm makes the next Save wait until the returned release is called. The
// returned entered channel is closed when that Save starts waiting.
func (s *gatedStore) arm() (entered <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gate := make(chan struct{})
	s.gate = gate
	s.entered = make(chan struct{})
	var once sync.Once
	return s.entered, func() { once.Do(func() { close(gate) }) }
}

func (s *gatedStore) Save(ctx context.Context, snap *actorv1.MeetingSnapshot, expected uint64) error {
	s.mu.Lock()
	gate, entered := s.gate, s.entered
	s.gate, s.entered = nil, nil
	s.mu.Unlock()
	if gate != nil {
		close(entered)
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Memory.Save(ctx, snap, expected)
}

func TestMailbox_MeetingCriticalCoalesces(t *testing.T) {
	mb := newMailboxes()
	gated := &gatedStore{Memory: store.NewMemory()}
	h := newMailboxHarness(t, mb, func(cfg *actors.MeetingConfig) { cfg.Store = gated })
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	guest := h.join(m, "u2", jointoken.RoleParticipant)
	watcher := h.join(m, "u3", jointoken.RoleParticipant)
	target := h.join(m, "u4", jointoken.RoleParticipant)
	everyone := []*client{host, guest, watcher, target}
	syncAll(everyone...)

	// The host mute holds the Meeting inside its save while the self-mutes
	// queue up behind it.
	entered, release := gated.arm()
	t.Cleanup(release)
	host.hostMute(target.id(), false, true, "camera")
	<-entered

	guestMutes := []*signalingv1.MuteState{mute(true, false), mute(false, true), mute(true, true), mute(false, false), mute(true, true)}
	for _, s := range guestMutes {
		guest.selfMute(s.GetAudio(), s.GetVideo())
	}
	watcher.selfMute(true, true)
	watcher.selfMute(true, false)
	// The host mute being handled and the 7 self-mutes.
	const queued = 1 + 7
	eventually(t, func() (bool, string) {
		a, _ := depthOf(mb.meeting, m.GetId())
		return a.Depth >= queued, fmt.Sprintf("meeting mailbox depth: got %d, want %d", a.Depth, queued)
	})
	// Requests queued behind the self-mutes keep the mailbox deep until the
	// last self-mute is handled, as a busy meeting's backlog does.
	padding := make([]*actor.Future, 0, smallThresholds.Critical+1)
	for i := 0; i <= smallThresholds.Critical; i++ {
		padding = append(padding, h.system.Root.RequestFuture(m, &actorv1.LocateMeeting{}, requestTimeout))
	}
	if !mb.overload.Critical(m.GetId()) {
		a, _ := depthOf(mb.meeting, m.GetId())
		t.Fatalf("meeting mailbox: got depth %d level %v, want critical", a.Depth, a.Level)
	}

	release()
	for _, f := range padding {
		if _, err := f.Result(); err != nil {
			t.Fatalf("LocateMeeting behind the backlog: %v", err)
		}
	}
	finalGuest := guestMutes[len(guestMutes)-1]
	for i, c := range everyone {
		c.waitFor(fmt.Sprintf("client %d: guest final self-mute", i), muteUpdate(guest.id(), finalGuest, mute(false, false)))
		c.waitFor(fmt.Sprintf("client %d: watcher final self-mute", i), muteUpdate(watcher.id(), mute(true, false), mute(false, false)))
		c.waitFor(fmt.Sprintf("client %d: target host-mute", i), muteUpdate(target.id(), mute(false, false), mute(false, true)))
	}
	syncAll(everyone...)
	for i, c := range everyone {
		if got := c.count(isAnyUpdateOf(guest.id())); got != 1 {
			t.Fatalf("client %d: guest updates for %d self-mutes under load: got %d, want 1: %s", i, len(guestMutes), got, describe(c.stream.messages()))
		}
		if got := c.count(isAnyUpdateOf(watcher.id())); got != 1 {
			t.Fatalf("client %d: watcher updates: got %d, want 2: %s", i, got, describe(c.stream.messages()))
		}
	}
	// Every self-mute but the first of each participant is coalesced.
	wantCoalesced := (len(guestMutes) - 1) + (2 - 1)
	if got := h.observer.count("dropped/coalesced"); got != wantCoalesced {
		t.Fatalf("self-mute updates reported as coalesced: got %d, want %d", got, wantCoalesced)
	}
	snap, err := gated.Load(t.Context(), "m1")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, rec := range snap.GetParticipants() {
		if rec.GetParticipantId() == guest.id() && (rec.GetSelfMute().GetAudio() != finalGuest.GetAudio() || rec.GetSelfMute().GetVideo() != finalGuest.GetVideo()) {
			t.Fatalf("stored guest self-mute after the flush: got %v, want %v", rec.GetSelfMute(), finalGuest)
		}
	}

	// Back to normal: each self-mute is broadcast on its own.
	if mb.overload.Critical(m.GetId()) {
		t.Fatal("meeting mailbox after the backlog: got critical, want below")
	}
	guest.selfMute(false, true)
	for i, c := range everyone {
		c.waitFor(fmt.Sprintf("client %d: self-mute after the backlog", i), muteUpdate(guest.id(), mute(false, true), mute(false, false)))
	}
	syncAll(everyone...)
	for i, c := range everyone {
		if got := c.count(isAnyUpdateOf(guest.id())); got != 2 {
			t.Fatalf("client %d: guest updates after the backlog: got %d, want 2", i, got)
		}
	}
	if got := h.observer.count("dropped/coalesced"); got != wantCoalesced {
		t.Fatalf("coalesced updates after the backlog: got %d, want %d", got, wantCoalesced)
	}
}
