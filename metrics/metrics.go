package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/metric"
)

const namespace = "convene"

// Results the actors.Observer documents, created at zero so that rate()
// works before the first event.
var (
	joinResults    = []string{"joined", "resumed", "rejected"}
	bindingResults = []string{"valid", "invalid", "replayed", "expired", "user_mismatch"}
	resumeResults  = []string{"resumed", "invalid", "replayed", "expired", "user_mismatch"}
	actorKinds     = []string{"meeting", "connection", "meeting_controller"}
	dropReasons    = []string{"too_slow", "closing", "coalesced"}
	clientKinds    = []string{"join", "leave", "self_mute", "host_mute", "unmute_request", "unmute_decision", "ping", "unknown"}
	serverKinds    = []string{"join_response", "participant_joined", "participant_left", "participant_updated",
		"unmute_requested", "unmute_decided", "redirect", "meeting_ended", "error", "pong", "goodbye"}
)

// Metrics is the metric registry of one node. Its methods are safe for
// concurrent use and do not block.
type Metrics struct {
	registry      *prometheus.Registry
	handler       http.Handler
	meterProvider metric.MeterProvider

	joins              *prometheus.CounterVec
	joinDuration       *prometheus.HistogramVec
	bindingValidations *prometheus.CounterVec
	signalingMessages  *prometheus.CounterVec
	droppedMessages    *prometheus.CounterVec
	graceExpirations   prometheus.Counter
	actorPanics        *prometheus.CounterVec
	actorRestarts      *prometheus.CounterVec
	resumes            *prometheus.CounterVec
	sessions           prometheus.Gauge

	status  *statusCollector
	mailbox *mailboxCollector
}

// New returns a Metrics with its own registry, holding the convene_
// metrics, the Go runtime and process collectors, and the bridge for
// protoactor's OpenTelemetry instruments. It panics only if its own
// collectors clash, which is a programming error.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		joins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "joins_total",
			Help:      "Join attempts by result (joined, resumed, rejected).",
		}, []string{"result"}),
		joinDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "join_duration_seconds",
			Help:      "Time from a join request to its answer, by result.",
			Buckets:   []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		}, []string{"result"}),
		bindingValidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "binding_validations_total",
			Help:      "Session binding token checks by result.",
		}, []string{"result"}),
		signalingMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "signaling_messages_total",
			Help:      "Signaling messages by direction (in from clients, out to clients) and payload type.",
		}, []string{"direction", "type"}),
		droppedMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "dropped_messages_total",
			Help:      "Signaling frames not delivered, by reason.",
		}, []string{"reason"}),
		graceExpirations: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "grace_expirations_total",
			Help:      "Disconnected participants removed because their grace period ended.",
		}),
		actorPanics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "actor_panics_total",
			Help:      "Panics inside actors, by actor kind.",
		}, []string{"actor"}),
		actorRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "actor_restarts_total",
			Help:      "Actor restarts by a supervisor, by actor kind.",
		}, []string{"actor"}),
		resumes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "resumes_total",
			Help:      "Session resume attempts by result.",
		}, []string{"result"}),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "sessions",
			Help:      "Open WebTransport sessions.",
		}),
		status:  newStatusCollector(),
		mailbox: newMailboxCollector(),
	}

	for _, result := range joinResults {
		m.joins.WithLabelValues(result)
		m.joinDuration.WithLabelValues(result)
	}
	for _, result := range bindingResults {
		m.bindingValidations.WithLabelValues(result)
	}
	// Every known label value starts at zero, so that alerts and rate()
	// work before the first event.
	for _, result := range resumeResults {
		m.resumes.WithLabelValues(result)
	}
	for _, kind := range actorKinds {
		m.actorPanics.WithLabelValues(kind)
		m.actorRestarts.WithLabelValues(kind)
	}
	for _, reason := range dropReasons {
		m.droppedMessages.WithLabelValues(reason)
	}
	for _, kind := range clientKinds {
		m.signalingMessages.WithLabelValues("in", kind)
	}
	for _, kind := range serverKinds {
		m.signalingMessages.WithLabelValues("out", kind)
	}

	m.registry.MustRegister(
		m.joins,
		m.joinDuration,
		m.bindingValidations,
		m.signalingMessages,
		m.droppedMessages,
		m.graceExpirations,
		m.actorPanics,
		m.actorRestarts,
		m.resumes,
		m.sessions,
		m.status,
		m.mailbox,
		m.mailbox.levelChanges,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	m.meterProvider = newMeterProvider(m.registry)

	m.handler = promhttp.InstrumentMetricHandler(m.registry, promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		// A failing collector drops its own metrics, not the whole scrape.
		// promhttp_metric_handler_errors_total counts such failures.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.registry,
	}))

	return m
}

// Registry returns the node's private registry.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler returns the HTTP handler that serves the registry in the
// Prometheus exposition formats, including protoactor's metrics.
func (m *Metrics) Handler() http.Handler { return m.handler }

// MeterProvider returns the OpenTelemetry meter provider whose instruments
// appear in the registry. Pass it to actor.WithMetricProviders and to
// otel.SetMeterProvider before creating the actor system: protoactor
// creates its instruments on the global provider and records them only when
// the system has a metrics provider.
func (m *Metrics) MeterProvider() metric.MeterProvider { return m.meterProvider }

// JoinFinished records a join attempt and its latency.
func (m *Metrics) JoinFinished(result string, latency time.Duration) {
	m.joins.WithLabelValues(result).Inc()
	m.joinDuration.WithLabelValues(result).Observe(latency.Seconds())
}

// BindingChecked records a binding token check.
func (m *Metrics) BindingChecked(result string) {
	m.bindingValidations.WithLabelValues(result).Inc()
}

// MessageReceived counts a signaling message from a client by payload type.
func (m *Metrics) MessageReceived(kind string) {
	m.signalingMessages.WithLabelValues("in", kind).Inc()
}

// MessageSent counts a signaling message to a client by payload type.
func (m *Metrics) MessageSent(kind string) {
	m.signalingMessages.WithLabelValues("out", kind).Inc()
}

// MessageDropped counts a frame not delivered, by reason.
func (m *Metrics) MessageDropped(reason string) {
	m.droppedMessages.WithLabelValues(reason).Inc()
}

// GraceExpired counts a participant removed when its grace period ended.
func (m *Metrics) GraceExpired() {
	m.graceExpirations.Inc()
}

// ActorPanicked counts a panic in an actor of kind, such as "meeting".
func (m *Metrics) ActorPanicked(kind string) {
	m.actorPanics.WithLabelValues(kind).Inc()
}

// ActorRestarted counts a supervisor restart of an actor of kind.
func (m *Metrics) ActorRestarted(kind string) {
	m.actorRestarts.WithLabelValues(kind).Inc()
}

// ResumeFinished records a session resume attempt by result.
func (m *Metrics) ResumeFinished(result string) {
	m.resumes.WithLabelValues(result).Inc()
}

// SessionOpened counts a WebTransport session as open.
func (m *Metrics) SessionOpened() { m.sessions.Inc() }

// SessionClosed counts a WebTransport session as closed. Call it once for
// each SessionOpened.
func (m *Metrics) SessionClosed() { m.sessions.Dec() }
