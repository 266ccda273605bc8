package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Status is the node state exported as gauges at scrape time.
type Status struct {
	Meetings                 int
	ParticipantsConnected    int
	ParticipantsDisconnected int
	Draining                 bool
}

// SetStatusSource sets the function read on every scrape for the
// convene_meetings_active, convene_participants and convene_node_draining
// gauges. It runs on the scrape's goroutine, so it must return quickly, and
// a source that sends a request to an actor should bound it with a timeout.
// Until a source is set, and after SetStatusSource(nil), the gauges are
// absent.
func (m *Metrics) SetStatusSource(source func() Status) {
	if source == nil {
		m.status.source.Store(nil)
		return
	}

	m.status.source.Store(&source)
}

type statusCollector struct {
	source atomic.Pointer[func() Status]

	meetings     *prometheus.Desc
	participants *prometheus.Desc
	draining     *prometheus.Desc
}

func newStatusCollector() *statusCollector {
	return &statusCollector{
		meetings: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "", "meetings_active"),
			"Meetings hosted by this node.",
			nil, nil),
		participants: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "", "participants"),
			"Participants in this node's meetings, by state (connected, or disconnected within their grace period).",
			[]string{"state"}, nil),
		draining: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "", "node_draining"),
			"1 while the node drains and admits no new meetings, else 0.",
			nil, nil),
	}
}

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.meetings
	ch <- c.participants
	ch <- c.draining
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	source := c.source.Load()
	if source == nil {
		return
	}

	status := (*source)()

	draining := 0.0
	if status.Draining {
		draining = 1
	}

	ch <- prometheus.MustNewConstMetric(c.meetings, prometheus.GaugeValue, float64(status.Meetings))
	ch <- prometheus.MustNewConstMetric(c.participants, prometheus.GaugeValue, float64(status.ParticipantsConnected), "connected")
	ch <- prometheus.MustNewConstMetric(c.participants, prometheus.GaugeValue, float64(status.ParticipantsDisconnected), "disconnected")
	ch <- prometheus.MustNewConstMetric(c.draining, prometheus.GaugeValue, draining)
}
