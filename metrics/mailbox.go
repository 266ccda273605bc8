package metrics

import (
	"sync"

	"github.com/convene/convene/actors/mailboxstats"
	"github.com/prometheus/client_golang/prometheus"
)

// ObserveMailboxes exports the depth and level gauges of the trackers,
// read with Snapshot at scrape time, and creates their level change
// counters at zero. Trackers of the same kind are merged: the maximum
// depth, the worst level and the sum of actors.
func (m *Metrics) ObserveMailboxes(trackers ...*mailboxstats.Tracker) {
	m.mailbox.mu.Lock()
	m.mailbox.trackers = append(m.mailbox.trackers, trackers...)
	m.mailbox.mu.Unlock()

	for _, tracker := range trackers {
		for _, level := range []mailboxstats.Level{mailboxstats.Normal, mailboxstats.Warning, mailboxstats.Critical} {
			m.mailbox.levelChanges.WithLabelValues(tracker.Kind(), level.String())
		}
	}
}

// MailboxChanged counts a mailbox level change. Call it from the tracker's
// onChange callback, which it never blocks.
func (m *Metrics) MailboxChanged(change mailboxstats.Change) {
	m.mailbox.levelChanges.WithLabelValues(change.Kind, change.To.String()).Inc()
}

type mailboxCollector struct {
	mu       sync.Mutex
	trackers []*mailboxstats.Tracker

	depth        *prometheus.Desc
	level        *prometheus.Desc
	actors       *prometheus.Desc
	levelChanges *prometheus.CounterVec
}

func newMailboxCollector() *mailboxCollector {
	return &mailboxCollector{
		depth: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "mailbox", "depth"),
			"Maximum mailbox depth, in user messages posted and not yet processed, over the live actors of each kind.",
			[]string{"actor"}, nil),
		level: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "mailbox", "level"),
			"Worst current mailbox level over the live actors of each kind: 0 normal, 1 warning, 2 critical.",
			[]string{"actor"}, nil),
		actors: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "", "actors"),
			"Live actors of each kind whose mailboxes are tracked.",
			[]string{"actor"}, nil),
		levelChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Subsystem: "mailbox",
			Name:      "level_changes_total",
			Help:      "Mailbox level changes by actor kind and the level entered.",
		}, []string{"actor", "level"}),
	}
}

func (c *mailboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.level
	ch <- c.actors
}

type kindSnapshot struct {
	depth  int
	worst  mailboxstats.Level
	actors int
}

func (c *mailboxCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	trackers := append([]*mailboxstats.Tracker(nil), c.trackers...)
	c.mu.Unlock()

	kinds := make(map[string]kindSnapshot)
	for _, tracker := range trackers {
		depth, worst, actors := tracker.Snapshot()
		merged := kinds[tracker.Kind()]
		merged.depth = max(merged.depth, depth)
		merged.worst = max(merged.worst, worst)
		merged.actors += actors
		kinds[tracker.Kind()] = merged
	}

	for kind, snapshot := range kinds {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(snapshot.depth), kind)
		ch <- prometheus.MustNewConstMetric(c.level, prometheus.GaugeValue, float64(snapshot.worst), kind)
		ch <- prometheus.MustNewConstMetric(c.actors, prometheus.GaugeValue, float64(snapshot.actors), kind)
	}
}
