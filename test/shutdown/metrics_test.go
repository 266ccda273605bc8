package shutdown

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/convene/convene/client"
	"github.com/convene/convene/internal/clock"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
)

// scrapeNode fetches /metrics from addr and returns the exposition text
// and its parsed metric families.
func scrapeNode(t *testing.T, addr string) ([]byte, map[string]*dto.MetricFamily) {
	t.Helper()
	status, body, err := httpGet("http://" + addr + "/metrics")
	if err != nil || status != 200 {
		t.Fatalf("GET /metrics: got status %d error %v, want 200", status, err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return []byte(body), families
}

// sampleValue returns the value of the sample of family name whose labels
// equal labels (a histogram's sample count), and whether it exists.
func sampleValue(families map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	for _, metric := range families[name].GetMetric() {
		if len(metric.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, pair := range metric.GetLabel() {
			if value, ok := labels[pair.GetName()]; !ok || value != pair.GetValue() {
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

// waitGauge polls /metrics until the gauge has want, because the node
// updates some gauges after the client already saw the change.
func waitGauge(t *testing.T, addr, name string, labels map[string]string, want float64) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	got, ok := 0.0, false
	for time.Now().Before(deadline) {
		_, families := scrapeNode(t, addr)
		got, ok = sampleValue(families, name, labels)
		if ok && got == want {
			return
		}
		time.Sleep(pollInterval)
	}
	t.Errorf("%s: got %v (present %v) after %s, want %v", sampleName(name, labels), got, ok, waitTimeout, want)
}

// sampleName formats a sample as name{label="value",...}.
func sampleName(name string, labels map[string]string) string {
	pairs := make([]string, 0, len(labels))
	for label, value := range labels {
		pairs = append(pairs, fmt.Sprintf("%s=%q", label, value))
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

func isConnectionUpdate(participantID string, state signalingv1.ConnectionState) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		p := m.GetParticipantUpdated().GetParticipant()
		return p.GetParticipantId() == participantID && p.GetConnectionState() == state
	}
}

func TestMetrics_AfterSignalingFlow(t *testing.T) {
	const meetingID = "m-metrics"
	fake := clock.NewFake(time.Now())
	tn := startNode(t, nil, node.Options{Clock: fake})
	tn.assign(t, meetingID)
	addr := tn.endpoints.HTTPAddr

	// Two joins and one join with a token for another meeting.
	alice, aliceJoin := tn.join(t, meetingID, "user-alice", client.JoinParams{})
	bob, bobJoin := tn.join(t, meetingID, "user-bob", client.JoinParams{})
	rejected := tn.dial(t)
	if _, err := joinOn(rejected, client.JoinParams{MeetingID: meetingID, JoinToken: tn.mint(t, "m-other", "user-carol")}); err == nil {
		t.Fatalf("join with a token for another meeting: got success, want a rejection")
	}

	// Alice drops and resumes with her binding token.
	if err := alice.Close(); err != nil {
		t.Fatalf("close alice's session: %v", err)
	}
	expectMessage(t, bob, "alice disconnected", isConnectionUpdate(aliceJoin.GetParticipantId(), signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED))
	_, resumed := tn.join(t, meetingID, "user-alice", client.JoinParams{
		CorrelationID: aliceJoin.GetCorrelationId(),
		BindingToken:  aliceJoin.GetBindingToken(),
	})
	if got, want := resumed.GetResumeResult(), signalingv1.ResumeResult_RESUME_RESULT_RESUMED; got != want {
		t.Fatalf("resume: got %s, want %s", got, want)
	}

	// The binding token the resume consumed is replayed: the session joins
	// as a new participant.
	_, replayed := tn.join(t, meetingID, "user-alice", client.JoinParams{
		CorrelationID: aliceJoin.GetCorrelationId(),
		BindingToken:  aliceJoin.GetBindingToken(),
	})
	if got, want := replayed.GetResumeResult(), signalingv1.ResumeResult_RESUME_RESULT_REJECTED_REPLAYED; got != want {
		t.Fatalf("replayed binding token: got %s, want %s", got, want)
	}

	// Bob drops and his grace period ends on the fake clock.
	if err := bob.Close(); err != nil {
		t.Fatalf("close bob's session: %v", err)
	}
	waitGauge(t, addr, "convene_participants", map[string]string{"state": "disconnected"}, 1)
	fake.Advance(tn.cfg.GracePeriod + time.Second)
	waitGauge(t, addr, "convene_participants", map[string]string{"state": "disconnected"}, 0)

	// Open sessions: the resumed one and the replayed one.
	waitGauge(t, addr, "convene_sessions", nil, 2)
	waitGauge(t, addr, "convene_participants", map[string]string{"state": "connected"}, 2)
	waitGauge(t, addr, "convene_meetings_active", nil, 1)

	body, families := scrapeNode(t, addr)
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"convene_joins_total", map[string]string{"result": "joined"}, 3},
		{"convene_joins_total", map[string]string{"result": "resumed"}, 1},
		{"convene_joins_total", map[string]string{"result": "rejected"}, 1},
		{"convene_join_duration_seconds", map[string]string{"result": "joined"}, 3},
		{"convene_join_duration_seconds", map[string]string{"result": "resumed"}, 1},
		{"convene_join_duration_seconds", map[string]string{"result": "rejected"}, 1},
		{"convene_resumes_total", map[string]string{"result": "resumed"}, 1},
		{"convene_resumes_total", map[string]string{"result": "replayed"}, 1},
		{"convene_binding_validations_total", map[string]string{"result": "valid"}, 1},
		{"convene_binding_validations_total", map[string]string{"result": "replayed"}, 1},
		{"convene_binding_validations_total", map[string]string{"result": "invalid"}, 0},
		{"convene_signaling_messages_total", map[string]string{"direction": "in", "type": "join"}, 5},
		{"convene_grace_expirations_total", nil, 1},
		{"convene_node_draining", nil, 0},
	}
	for _, tt := range tests {
		t.Run(sampleName(tt.name, tt.labels), func(t *testing.T) {
			got, ok := sampleValue(families, tt.name, tt.labels)
			if !ok {
				t.Fatalf("%s: absent, want %v", sampleName(tt.name, tt.labels), tt.want)
			}
			if got != tt.want {
				t.Errorf("%s: got %v, want %v", sampleName(tt.name, tt.labels), got, tt.want)
			}
		})
	}

	t.Run("mailbox depth", func(t *testing.T) {
		if _, ok := sampleValue(families, "convene_mailbox_depth", map[string]string{"actor": "meeting"}); !ok {
			t.Errorf(`convene_mailbox_depth{actor="meeting"}: absent, want present`)
		}
	})

	t.Run("promlint", func(t *testing.T) {
		problems, err := promlint.New(bytes.NewReader(body)).Lint()
		if err != nil {
			t.Fatalf("promlint: %v", err)
		}
		for _, problem := range problems {
			t.Errorf("promlint: %s: %s", problem.Metric, problem.Text)
		}
	})

	t.Run("no identifiers in labels", func(t *testing.T) {
		ids := []string{
			meetingID, "m-other",
			aliceJoin.GetParticipantId(), bobJoin.GetParticipantId(), replayed.GetParticipantId(),
			aliceJoin.GetCorrelationId(), replayed.GetCorrelationId(),
		}
		for name, family := range families {
			for _, metric := range family.GetMetric() {
				for _, pair := range metric.GetLabel() {
					for _, id := range ids {
						if pair.GetValue() == id {
							t.Errorf("%s: label %s=%q is an identifier from the test", name, pair.GetName(), pair.GetValue())
						}
					}
				}
			}
		}
	})
}
