package metrics_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/convene/convene/actors/mailboxstats"
	"github.com/convene/convene/metrics"
	"go.opentelemetry.io/otel"
)

type ping struct{}

type pong struct{}

type boom struct{}

// TestMetrics_ProtoactorBridge sets the global meter provider, so no other
// test in this package may run in parallel with it.
func TestMetrics_ProtoactorBridge(t *testing.T) {
	m := metrics.New()
	previous := otel.GetMeterProvider()
	otel.SetMeterProvider(m.MeterProvider())
	t.Cleanup(func() { otel.SetMeterProvider(previous) })

	system := actor.NewActorSystem(
		actor.WithMetricProviders(m.MeterProvider()),
		// The dead letter throttle keeps a goroutine alive for one interval,
		// so a short interval lets the leak check in TestMain pass.
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
	)
	t.Cleanup(system.Shutdown)

	tracker := mailboxstats.NewTracker("meeting", mailboxstats.MeetingThresholds, nil, m.MailboxChanged)
	m.ObserveMailboxes(tracker)

	props := actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case ping:
			ctx.Respond(pong{})
		case boom:
			panic("test panic")
		}
	}, tracker.Props())
	pid := system.Root.Spawn(props)

	const requests = 5
	for i := range requests {
		if _, err := system.Root.RequestFuture(pid, ping{}, time.Second).Result(); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}

	// A panic is counted as a failure and, with the default strategy, a
	// restart; the next request waits until the actor is back.
	system.Root.Send(pid, boom{})
	if _, err := system.Root.RequestFuture(pid, ping{}, time.Second).Result(); err != nil {
		t.Fatalf("request after panic: %v", err)
	}

	if err := system.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// A message to the stopped actor is a dead letter.
	system.Root.Send(pid, ping{})

	body, families := scrape(t, m)

	for _, name := range []string{
		"protoactor_actor_spawn_count_total",
		"protoactor_actor_failure_count_total",
		"protoactor_actor_restarted_count_total",
		"protoactor_deadletter_count_total",
		"protoactor_futures_started_count_total",
		"protoactor_futures_completed_count_total",
		"protoactor_actor_message_receive_duration_seconds",
	} {
		if _, ok := families[name]; !ok {
			t.Errorf("%s: missing from scrape", name)
		}
	}

	var protoactorNames []string
	for name := range families {
		if !strings.HasPrefix(name, "protoactor_") {
			continue
		}
		protoactorNames = append(protoactorNames, name)

		if strings.Contains(name, "_ratio") {
			t.Errorf("%s: name carries a unit suffix, want the instrument name", name)
		}
	}
	t.Logf("protoactor metrics: %v", protoactorNames)

	receive := families["protoactor_actor_message_receive_duration_seconds"]
	if receive != nil {
		var count uint64
		for _, metric := range receive.GetMetric() {
			count += metric.GetHistogram().GetSampleCount()
		}
		// Every ping is one sample, besides Started, Stopping and Stopped.
		if count < requests {
			t.Errorf("receive duration samples: got %d, want at least %d", count, requests)
		}
	}

	if got, ok := value(families, "convene_actors", map[string]string{"actor": "meeting"}); !ok || got != 0 {
		t.Errorf("convene_actors{actor=meeting} after stop: got %g (present %t), want 0", got, ok)
	}

	t.Run("promlint", func(t *testing.T) { lint(t, body) })
	t.Run("label names", func(t *testing.T) { checkLabelNames(t, families) })

	if t.Failed() {
		t.Logf("scrape:\n%s", body)
	}
}
