package shutdown

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/internal/clock"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
	"github.com/convene/convene/test/testnode"
)

// waitGauge polls /metrics until the gauge has want, because the node
// updates some gauges after the client already saw the change.
func waitGauge(t *testing.T, addr, name string, labels map[string]string, want float64) {
	t.Helper()
	if err := testnode.WaitSample(t, addr, name, labels, want); err != nil {
		t.Error(err)
	}
}

func TestMetrics_AfterSignalingFlow(t *testing.T) {
	const meetingID = "m-metrics"
	fake := clock.NewFake(time.Now())
	tn := testnode.Start(t, nil, node.Options{Clock: fake})
	tn.Assign(t, meetingID)
	addr := tn.Endpoints.HTTPAddr

	// Two joins and one join with a token for another meeting.
	alice := tn.Join(t, meetingID, "user-alice", jointoken.RoleParticipant, client.JoinParams{})
	bob := tn.Join(t, meetingID, "user-bob", jointoken.RoleParticipant, client.JoinParams{})
	rejected := tn.Dial(t)
	if _, err := testnode.JoinOn(rejected, client.JoinParams{MeetingID: meetingID, JoinToken: tn.Mint(t, "m-other", "user-carol", jointoken.RoleParticipant)}); err == nil {
		t.Fatalf("join with a token for another meeting: got success, want a rejection")
	}

	// Alice drops and resumes with her binding token.
	if err := alice.Client.Close(); err != nil {
		t.Fatalf("close alice's session: %v", err)
	}
	testnode.Expect(t, bob.Client, "alice disconnected", testnode.IsConnectionState(alice.Response.GetParticipantId(), signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED))
	resumed := tn.Join(t, meetingID, "user-alice", jointoken.RoleParticipant, client.JoinParams{
		CorrelationID: alice.Response.GetCorrelationId(),
		BindingToken:  alice.Response.GetBindingToken(),
	})
	if got, want := resumed.Response.GetResumeResult(), signalingv1.ResumeResult_RESUME_RESULT_RESUMED; got != want {
		t.Fatalf("resume: got %s, want %s", got, want)
	}

	// The binding token the resume consumed is replayed: the session joins
	// as a new participant.
	replayed := tn.Join(t, meetingID, "user-alice", jointoken.RoleParticipant, client.JoinParams{
		CorrelationID: alice.Response.GetCorrelationId(),
		BindingToken:  alice.Response.GetBindingToken(),
	})
	if got, want := replayed.Response.GetResumeResult(), signalingv1.ResumeResult_RESUME_RESULT_REJECTED_REPLAYED; got != want {
		t.Fatalf("replayed binding token: got %s, want %s", got, want)
	}

	// Bob drops and his grace period ends on the fake clock.
	if err := bob.Client.Close(); err != nil {
		t.Fatalf("close bob's session: %v", err)
	}
	waitGauge(t, addr, "convene_participants", map[string]string{"state": "disconnected"}, 1)
	fake.Advance(tn.Config.GracePeriod + time.Second)
	waitGauge(t, addr, "convene_participants", map[string]string{"state": "disconnected"}, 0)

	// Open sessions: the resumed one and the replayed one.
	waitGauge(t, addr, "convene_sessions", nil, 2)
	waitGauge(t, addr, "convene_participants", map[string]string{"state": "connected"}, 2)
	waitGauge(t, addr, "convene_meetings_active", nil, 1)

	scrape := testnode.ScrapeMetrics(t, addr)
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
		t.Run(testnode.SampleName(tt.name, tt.labels), func(t *testing.T) {
			got, ok := scrape.Sample(tt.name, tt.labels)
			if !ok {
				t.Fatalf("%s: absent, want %v", testnode.SampleName(tt.name, tt.labels), tt.want)
			}
			if got != tt.want {
				t.Errorf("%s: got %v, want %v", testnode.SampleName(tt.name, tt.labels), got, tt.want)
			}
		})
	}

	t.Run("mailbox depth", func(t *testing.T) {
		if _, ok := scrape.Sample("convene_mailbox_depth", map[string]string{"actor": "meeting"}); !ok {
			t.Errorf(`convene_mailbox_depth{actor="meeting"}: absent, want present`)
		}
	})

	t.Run("promlint", func(t *testing.T) {
		problems, err := promlint.New(strings.NewReader(scrape.Text)).Lint()
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
			alice.Response.GetParticipantId(), bob.Response.GetParticipantId(), replayed.Response.GetParticipantId(),
			alice.Response.GetCorrelationId(), replayed.Response.GetCorrelationId(),
		}
		for name, family := range scrape.Families {
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
