package mailboxstats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testThresholds are small so tests reach every level with a few messages.
var testThresholds = Thresholds{Warning: 3, Critical: 6}

// recordingHandler is a slog handler that stores every record.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r.Clone())
	h.mu.Unlock()

	return nil
}

func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordingHandler) snapshot() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()

	return append([]slog.Record(nil), h.records...)
}

func recordAttrs(r slog.Record) map[string]string {
	attrs := make(map[string]string)
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.String()
		return true
	})

	return attrs
}

// changeRecorder collects the changes passed to onChange.
type changeRecorder struct {
	mu      sync.Mutex
	changes []Change
}

func (r *changeRecorder) record(c Change) {
	r.mu.Lock()
	r.changes = append(r.changes, c)
	r.mu.Unlock()
}

func (r *changeRecorder) snapshot() []Change {
	r.mu.Lock()
	defer r.mu.Unlock()

	return append([]Change(nil), r.changes...)
}

func newSystem(t *testing.T) *actor.ActorSystem {
	t.Helper()

	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	t.Cleanup(system.Shutdown)

	return system
}

// waitFor polls cond, which returns why it is not done yet, for at most 5 s.
func waitFor(t *testing.T, cond func() string) {
	t.Helper()

	deadline := time.Now().Add(5 * time.Second)
	for {
		reason := cond()
		if reason == "" {
			return
		}

		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", reason)
		}

		time.Sleep(time.Millisecond)
	}
}

type blockMsg struct{}

// blockingActor blocks in Receive on every blockMsg until release is closed.
type blockingActor struct {
	entered chan<- struct{}
	release <-chan struct{}
	handled *atomic.Int64
}

func (a *blockingActor) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(blockMsg); !ok {
		return
	}

	select {
	case a.entered <- struct{}{}:
	default:
	}

	<-a.release
	a.handled.Add(1)
}

func TestTracker_LevelTransitions(t *testing.T) {
	system := newSystem(t)
	logs := &recordingHandler{}
	changes := &changeRecorder{}
	tracker := NewTracker("connection", testThresholds, slog.New(logs), changes.record)

	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	var handled atomic.Int64
	props := actor.PropsFromProducer(func() actor.Actor {
		return &blockingActor{entered: entered, release: release, handled: &handled}
	}, tracker.Props())
	pid := system.Root.Spawn(props)

	system.Root.Send(pid, blockMsg{})
	<-entered

	const posted = 8
	for range posted - 1 {
		system.Root.Send(pid, blockMsg{})
	}

	maxDepth, worst, actors := tracker.Snapshot()
	if maxDepth != posted {
		t.Errorf("depth while blocked: got %d, want %d", maxDepth, posted)
	}
	if worst != Critical {
		t.Errorf("level while blocked: got %v, want critical", worst)
	}
	if actors != 1 {
		t.Errorf("actors: got %d, want 1", actors)
	}

	wantUp := []Change{
		{Kind: "connection", ActorID: pid.Id, From: Normal, To: Warning, Depth: 3},
		{Kind: "connection", ActorID: pid.Id, From: Warning, To: Critical, Depth: 7},
	}
	if got := changes.snapshot(); fmt.Sprint(got) != fmt.Sprint(wantUp) {
		t.Errorf("changes while posting: got %v, want %v", got, wantUp)
	}

	close(release)
	waitFor(t, func() string {
		if n := handled.Load(); n != posted {
			return fmt.Sprintf("handled %d of %d messages", n, posted)
		}
		if depth, _, _ := tracker.Snapshot(); depth != 0 {
			return fmt.Sprintf("depth %d, want 0", depth)
		}
		return ""
	})

	if _, worst, _ := tracker.Snapshot(); worst != Normal {
		t.Errorf("level after release: got %v, want normal", worst)
	}

	wantAll := append(wantUp,
		Change{Kind: "connection", ActorID: pid.Id, From: Critical, To: Warning, Depth: 6},
		Change{Kind: "connection", ActorID: pid.Id, From: Warning, To: Normal, Depth: 2},
	)
	if got := changes.snapshot(); fmt.Sprint(got) != fmt.Sprint(wantAll) {
		t.Errorf("changes after release: got %v, want %v", got, wantAll)
	}

	records := logs.snapshot()
	if len(records) != len(wantAll) {
		t.Fatalf("log lines: got %d, want one per change (%d)", len(records), len(wantAll))
	}

	wantLevels := []slog.Level{slog.LevelWarn, slog.LevelWarn, slog.LevelWarn, slog.LevelInfo}
	for i, r := range records {
		if r.Level != wantLevels[i] {
			t.Errorf("log line %d level: got %v, want %v", i, r.Level, wantLevels[i])
		}

		attrs := recordAttrs(r)
		want := map[string]string{
			"actor_kind":     "connection",
			"actor_id":       pid.Id,
			"mailbox_depth":  fmt.Sprint(wantAll[i].Depth),
			"level":          wantAll[i].To.String(),
			"previous_level": wantAll[i].From.String(),
		}
		if fmt.Sprint(attrs) != fmt.Sprint(want) {
			t.Errorf("log line %d attributes: got %v, want %v", i, attrs, want)
		}
	}
}

func TestTracker_StopRemovesActor(t *testing.T) {
	system := newSystem(t)
	tracker := NewTracker("meeting", testThresholds, nil, nil)
	props := actor.PropsFromFunc(func(actor.Context) {}, tracker.Props())

	pids := make([]*actor.PID, 3)
	for i := range pids {
		pids[i] = system.Root.Spawn(props)
	}

	if _, _, actors := tracker.Snapshot(); actors != 3 {
		t.Fatalf("actors after spawn: got %d, want 3", actors)
	}

	if err := system.Root.StopFuture(pids[0]).Wait(); err != nil {
		t.Fatalf("stop %s: %v", pids[0].Id, err)
	}
	if err := system.Root.PoisonFuture(pids[1]).Wait(); err != nil {
		t.Fatalf("poison %s: %v", pids[1].Id, err)
	}

	if _, _, actors := tracker.Snapshot(); actors != 1 {
		t.Errorf("actors after stopping two: got %d, want 1", actors)
	}

	got := tracker.Actors()
	if len(got) != 1 || got[0].ActorID != pids[2].Id {
		t.Errorf("Actors: got %v, want only %s", got, pids[2].Id)
	}
}

func TestTracker_DuplicateNameNotTracked(t *testing.T) {
	system := newSystem(t)
	tracker := NewTracker("meeting", testThresholds, nil, nil)
	props := actor.PropsFromFunc(func(actor.Context) {}, tracker.Props())

	if _, err := system.Root.SpawnNamed(props, "dup"); err != nil {
		t.Fatalf("first spawn: %v", err)
	}

	_, err := system.Root.SpawnNamed(props, "dup")
	if !errors.Is(err, actor.ErrNameExists) {
		t.Fatalf("second spawn: got error %v, want %v", err, actor.ErrNameExists)
	}

	if _, _, actors := tracker.Snapshot(); actors != 1 {
		t.Errorf("actors: got %d, want 1", actors)
	}
}

type panicMsg struct{}

func TestTracker_PanicKeepsDepthExact(t *testing.T) {
	system := newSystem(t)
	tracker := NewTracker("meeting", testThresholds, nil, nil)

	var restarts, handled atomic.Int64
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *actor.Restarting:
			restarts.Add(1)
		case panicMsg:
			panic("test panic")
		case blockMsg:
			handled.Add(1)
		}
	}, tracker.Props())
	pid := system.Root.Spawn(props)

	system.Root.Send(pid, panicMsg{})
	system.Root.Send(pid, blockMsg{})
	system.Root.Send(pid, panicMsg{})
	system.Root.Send(pid, blockMsg{})

	waitFor(t, func() string {
		if n := handled.Load(); n != 2 {
			return fmt.Sprintf("handled %d of 2 messages", n)
		}
		if depth, _, _ := tracker.Snapshot(); depth != 0 {
			return fmt.Sprintf("depth %d, want 0", depth)
		}
		return ""
	})

	if n := restarts.Load(); n != 2 {
		t.Errorf("restarts: got %d, want 2", n)
	}
	if _, _, actors := tracker.Snapshot(); actors != 1 {
		t.Errorf("actors after restarts: got %d, want 1", actors)
	}
}

type disconnectMsg struct{}

func TestTracker_CallbackSendsToActor(t *testing.T) {
	system := newSystem(t)

	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	var handled atomic.Int64
	var callbacks atomic.Int64

	// Entering critical posts one more message to the same actor, which
	// re-enters the counter from inside the callback.
	var pid *actor.PID
	tracker := NewTracker("connection", testThresholds, nil, func(c Change) {
		callbacks.Add(1)
		if c.To == Critical {
			system.Root.Send(pid, disconnectMsg{})
		}
	})

	props := actor.PropsFromProducer(func() actor.Actor {
		return &blockingActor{entered: entered, release: release, handled: &handled}
	}, tracker.Props())
	pid = system.Root.Spawn(props)

	system.Root.Send(pid, blockMsg{})
	<-entered
	for range 6 {
		system.Root.Send(pid, blockMsg{})
	}

	// 7 posted plus the one the callback posted.
	if depth, worst, _ := tracker.Snapshot(); depth != 8 || worst != Critical {
		t.Errorf("snapshot: got depth %d level %v, want 8 critical", depth, worst)
	}

	close(release)
	waitFor(t, func() string {
		if depth, worst, _ := tracker.Snapshot(); depth != 0 || worst != Normal {
			return fmt.Sprintf("depth %d level %v, want 0 normal", depth, worst)
		}
		return ""
	})

	if n := callbacks.Load(); n != 4 {
		t.Errorf("callbacks: got %d, want 4", n)
	}
}

func TestTracker_ConcurrentPosting(t *testing.T) {
	system := newSystem(t)
	changes := &changeRecorder{}
	tracker := NewTracker("meeting", testThresholds, nil, changes.record)

	var handled atomic.Int64
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(blockMsg); ok {
			handled.Add(1)
		}
	}, tracker.Props())
	pid := system.Root.Spawn(props)

	const senders, perSender = 8, 500
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for range perSender {
				system.Root.Send(pid, blockMsg{})
			}
		})
	}
	wg.Wait()

	waitFor(t, func() string {
		if n := handled.Load(); n != senders*perSender {
			return fmt.Sprintf("handled %d of %d messages", n, senders*perSender)
		}
		if depth, _, _ := tracker.Snapshot(); depth != 0 {
			return fmt.Sprintf("depth %d, want 0", depth)
		}
		return ""
	})

	if _, worst, _ := tracker.Snapshot(); worst != Normal {
		t.Errorf("final level: got %v, want normal", worst)
	}

	// Changes of one actor arrive in order: each starts where the previous
	// one ended, and the last one returns to normal.
	previous := Normal
	got := changes.snapshot()
	for i, c := range got {
		if c.From != previous {
			t.Fatalf("change %d: got from %v, want %v (changes %v)", i, c.From, previous, got)
		}
		previous = c.To
	}
	if previous != Normal {
		t.Errorf("last change: got to %v, want normal", previous)
	}
}

func TestThresholds_Classify(t *testing.T) {
	tests := []struct {
		depth int
		want  Level
	}{
		{0, Normal},
		{2, Normal},
		{3, Warning},
		{6, Warning},
		{7, Critical},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.depth), func(t *testing.T) {
			if got := testThresholds.Classify(tt.depth); got != tt.want {
				t.Errorf("Classify(%d): got %v, want %v", tt.depth, got, tt.want)
			}
		})
	}
}

func TestThresholds_Validate(t *testing.T) {
	tests := []struct {
		name    string
		th      Thresholds
		wantErr bool
	}{
		{"meeting defaults", MeetingThresholds, false},
		{"connection defaults", ConnectionThresholds, false},
		{"warning zero", Thresholds{Warning: 0, Critical: 5}, true},
		{"critical equals warning", Thresholds{Warning: 5, Critical: 5}, true},
		{"critical below warning", Thresholds{Warning: 5, Critical: 4}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.th.Validate()
			if got := errors.Is(err, ErrInvalidThresholds); got != tt.wantErr {
				t.Errorf("Validate(%+v): got error %v, want error %t", tt.th, err, tt.wantErr)
			}
		})
	}
}

func TestLevel_String(t *testing.T) {
	tests := map[Level]string{Normal: "normal", Warning: "warning", Critical: "critical", Level(7): "level(7)"}
	for level, want := range tests {
		t.Run(want, func(t *testing.T) {
			if got := level.String(); got != want {
				t.Errorf("String(): got %q, want %q", got, want)
			}
		})
	}
}

// BenchmarkMailbox compares message throughput of an actor with a plain
// unbounded mailbox and with a tracked one.
func BenchmarkMailbox(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		benchmarkThroughput(b, actor.WithMailbox(actor.Unbounded()))
	})
	b.Run("tracked", func(b *testing.B) {
		tracker := NewTracker("bench", MeetingThresholds, nil, nil)
		benchmarkThroughput(b, tracker.Props())
	})
}

func benchmarkThroughput(b *testing.B, option actor.PropsOption) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	b.Cleanup(system.Shutdown)

	done := make(chan struct{})
	var received int
	total := b.N
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(blockMsg); !ok {
			return
		}

		received++
		if received == total {
			close(done)
		}
	}, option)
	pid := system.Root.Spawn(props)

	b.ReportAllocs()
	b.ResetTimer()
	for range total {
		system.Root.Send(pid, blockMsg{})
	}
	<-done
	b.StopTimer()

	if err := system.Root.StopFuture(pid).Wait(); err != nil {
		b.Fatalf("stop: %v", err)
	}
}
