package metrics_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/actors/mailboxstats"
	"github.com/convene/convene/metrics"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"
)

var _ actors.Observer = (*metrics.Metrics)(nil)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// allowedLabels are the only label names a convene_ metric may have. None
// of them can hold a meeting or participant id.
var allowedLabels = []string{"result", "direction", "type", "reason", "actor", "level", "state"}

// scrape fetches the handler over a loopback HTTP server and returns the
// raw exposition text and its parsed metric families.
func scrape(t *testing.T, m *metrics.Metrics) ([]byte, map[string]*dto.MetricFamily) {
	t.Helper()

	server := httptest.NewServer(m.Handler())
	t.Cleanup(server.Close)

	resp, err := server.Client().Get(server.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics status: got %d, want 200: %s", resp.StatusCode, body)
	}

	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}

	return body, families
}

// value returns the value of the sample of family name whose labels equal
// labels, and whether it exists.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	family, ok := families[name]
	if !ok {
		return 0, false
	}

	for _, metric := range family.GetMetric() {
		if len(metric.GetLabel()) != len(labels) {
			continue
		}

		match := true
		for _, pair := range metric.GetLabel() {
			if labels[pair.GetName()] != pair.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}

		switch {
		case metric.Counter != nil:
			return metric.GetCounter().GetValue(), true
		case metric.Gauge != nil:
			return metric.GetGauge().GetValue(), true
		case metric.Histogram != nil:
			return float64(metric.GetHistogram().GetSampleCount()), true
		}
	}

	return 0, false
}

// lint runs promlint over the scrape and fails on any problem.
func lint(t *testing.T, body []byte) {
	t.Helper()

	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, problem := range problems {
		t.Errorf("promlint: %s: %s", problem.Metric, problem.Text)
	}
}

func TestMetrics_ObserverEvents(t *testing.T) {
	m := metrics.New()

	m.JoinFinished("joined", 3*time.Millisecond)
	m.JoinFinished("joined", 40*time.Millisecond)
	m.JoinFinished("rejected", time.Millisecond)
	m.BindingChecked("valid")
	m.BindingChecked("replayed")
	m.MessageReceived("join")
	m.MessageReceived("join")
	m.MessageSent("roster")
	m.MessageDropped("queue_full")
	m.GraceExpired()
	m.ActorPanicked("meeting")
	m.ActorRestarted("meeting")
	m.ResumeFinished("resumed")
	m.SessionOpened()
	m.SessionOpened()
	m.SessionClosed()
	m.SetStatusSource(func() metrics.Status {
		return metrics.Status{Meetings: 4, ParticipantsConnected: 9, ParticipantsDisconnected: 2, Draining: true}
	})

	body, families := scrape(t, m)

	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"convene_joins_total", map[string]string{"result": "joined"}, 2},
		{"convene_joins_total", map[string]string{"result": "rejected"}, 1},
		{"convene_joins_total", map[string]string{"result": "resumed"}, 0},
		{"convene_join_duration_seconds", map[string]string{"result": "joined"}, 2},
		{"convene_binding_validations_total", map[string]string{"result": "valid"}, 1},
		{"convene_binding_validations_total", map[string]string{"result": "replayed"}, 1},
		{"convene_binding_validations_total", map[string]string{"result": "expired"}, 0},
		{"convene_signaling_messages_total", map[string]string{"direction": "in", "type": "join"}, 2},
		{"convene_signaling_messages_total", map[string]string{"direction": "out", "type": "roster"}, 1},
		{"convene_dropped_messages_total", map[string]string{"reason": "queue_full"}, 1},
		{"convene_grace_expirations_total", map[string]string{}, 1},
		{"convene_actor_panics_total", map[string]string{"actor": "meeting"}, 1},
		{"convene_actor_restarts_total", map[string]string{"actor": "meeting"}, 1},
		{"convene_resumes_total", map[string]string{"result": "resumed"}, 1},
		{"convene_sessions", map[string]string{}, 1},
		{"convene_meetings_active", map[string]string{}, 4},
		{"convene_participants", map[string]string{"state": "connected"}, 9},
		{"convene_participants", map[string]string{"state": "disconnected"}, 2},
		{"convene_node_draining", map[string]string{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name+labelString(tt.labels), func(t *testing.T) {
			got, ok := value(families, tt.name, tt.labels)
			if !ok {
				t.Fatalf("%s%s: missing from scrape", tt.name, labelString(tt.labels))
			}
			if got != tt.want {
				t.Errorf("%s%s: got %g, want %g", tt.name, labelString(tt.labels), got, tt.want)
			}
		})
	}

	t.Run("join duration buckets", func(t *testing.T) {
		histogram := findHistogram(t, families, "convene_join_duration_seconds", "joined")
		// 3 ms and 40 ms: one observation up to 5 ms, both up to 50 ms.
		wantCumulative := map[float64]uint64{0.0025: 0, 0.005: 1, 0.025: 1, 0.05: 2}
		for _, bucket := range histogram.GetBucket() {
			want, ok := wantCumulative[bucket.GetUpperBound()]
			if ok && bucket.GetCumulativeCount() != want {
				t.Errorf("bucket le=%g: got %d, want %d", bucket.GetUpperBound(), bucket.GetCumulativeCount(), want)
			}
		}
		if got, want := histogram.GetSampleSum(), 0.043; got < want-1e-9 || got > want+1e-9 {
			t.Errorf("sum: got %g, want %g", got, want)
		}
	})

	t.Run("process and go collectors", func(t *testing.T) {
		for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
			if _, ok := families[name]; !ok {
				t.Errorf("%s: missing from scrape", name)
			}
		}
	})

	t.Run("promlint", func(t *testing.T) { lint(t, body) })
	t.Run("label names", func(t *testing.T) { checkLabelNames(t, families) })
}

func TestMetrics_StatusAbsentWithoutSource(t *testing.T) {
	m := metrics.New()

	_, families := scrape(t, m)
	for _, name := range []string{"convene_meetings_active", "convene_participants", "convene_node_draining"} {
		if _, ok := families[name]; ok {
			t.Errorf("%s: present without a status source, want absent", name)
		}
	}

	m.SetStatusSource(func() metrics.Status { return metrics.Status{Meetings: 1} })
	m.SetStatusSource(nil)
	_, families = scrape(t, m)
	if _, ok := families["convene_meetings_active"]; ok {
		t.Errorf("convene_meetings_active: present after SetStatusSource(nil), want absent")
	}
}

func TestMetrics_Mailboxes(t *testing.T) {
	m := metrics.New()
	meeting := mailboxstats.NewTracker("meeting", mailboxstats.MeetingThresholds, nil, m.MailboxChanged)
	connection := mailboxstats.NewTracker("connection", mailboxstats.ConnectionThresholds, nil, m.MailboxChanged)
	m.ObserveMailboxes(meeting, connection)

	m.MailboxChanged(mailboxstats.Change{Kind: "connection", ActorID: "conn-1", From: mailboxstats.Normal, To: mailboxstats.Warning, Depth: 50})
	m.MailboxChanged(mailboxstats.Change{Kind: "connection", ActorID: "conn-1", From: mailboxstats.Warning, To: mailboxstats.Critical, Depth: 201})

	body, families := scrape(t, m)

	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"convene_mailbox_depth", map[string]string{"actor": "meeting"}, 0},
		{"convene_mailbox_depth", map[string]string{"actor": "connection"}, 0},
		{"convene_mailbox_level", map[string]string{"actor": "meeting"}, 0},
		{"convene_actors", map[string]string{"actor": "connection"}, 0},
		{"convene_mailbox_level_changes_total", map[string]string{"actor": "connection", "level": "warning"}, 1},
		{"convene_mailbox_level_changes_total", map[string]string{"actor": "connection", "level": "critical"}, 1},
		{"convene_mailbox_level_changes_total", map[string]string{"actor": "meeting", "level": "normal"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name+labelString(tt.labels), func(t *testing.T) {
			got, ok := value(families, tt.name, tt.labels)
			if !ok {
				t.Fatalf("%s%s: missing from scrape", tt.name, labelString(tt.labels))
			}
			if got != tt.want {
				t.Errorf("%s%s: got %g, want %g", tt.name, labelString(tt.labels), got, tt.want)
			}
		})
	}

	if strings.Contains(string(body), "conn-1") {
		t.Errorf("scrape contains the actor id conn-1, want only actor kinds")
	}

	t.Run("promlint", func(t *testing.T) { lint(t, body) })
	t.Run("label names", func(t *testing.T) { checkLabelNames(t, families) })
}

func checkLabelNames(t *testing.T, families map[string]*dto.MetricFamily) {
	t.Helper()

	for name, family := range families {
		if !strings.HasPrefix(name, "convene_") {
			continue
		}

		for _, metric := range family.GetMetric() {
			for _, pair := range metric.GetLabel() {
				if !slices.Contains(allowedLabels, pair.GetName()) {
					t.Errorf("%s: label %q, want one of %v", name, pair.GetName(), allowedLabels)
				}
			}
		}
	}
}

func findHistogram(t *testing.T, families map[string]*dto.MetricFamily, name, result string) *dto.Histogram {
	t.Helper()

	family, ok := families[name]
	if !ok {
		t.Fatalf("%s: missing from scrape", name)
	}

	for _, metric := range family.GetMetric() {
		for _, pair := range metric.GetLabel() {
			if pair.GetName() == "result" && pair.GetValue() == result {
				return metric.GetHistogram()
			}
		}
	}

	t.Fatalf("%s{result=%q}: missing from scrape", name, result)
	return nil
}

func labelString(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}

	pairs := make([]string, 0, len(labels))
	for name, value := range labels {
		pairs = append(pairs, name+"="+value)
	}
	slices.Sort(pairs)

	return "{" + strings.Join(pairs, ",") + "}"
}
