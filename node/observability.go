package node

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/actors/mailboxstats"
	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/metrics"
)

// newMailboxTrackers builds the mailbox statistics of the three actor kinds.
// Level changes go to the metrics and to overload, which the actors read to
// shed load or drop a client that is too slow.
func (n *Node) newMailboxTrackers(overload *actors.Overload) (meeting, connection, controller *mailboxstats.Tracker) {
	onChange := func(c mailboxstats.Change) {
		n.metrics.MailboxChanged(c)
		overload.Changed(c)
	}
	log := n.log.With("component", "mailbox")
	meeting = mailboxstats.NewTracker(actors.KindMeeting,
		mailboxstats.Thresholds{Warning: n.cfg.MeetingMailboxWarning, Critical: n.cfg.MeetingMailboxCritical}, log, onChange)
	connection = mailboxstats.NewTracker(actors.KindConnection,
		mailboxstats.Thresholds{Warning: n.cfg.ConnectionMailboxWarning, Critical: n.cfg.ConnectionMailboxCritical}, log, onChange)
	controller = mailboxstats.NewTracker(actors.KindMeetingController,
		mailboxstats.Thresholds{Warning: n.cfg.MeetingMailboxWarning, Critical: n.cfg.MeetingMailboxCritical}, log, onChange)
	n.mailboxes = []*mailboxstats.Tracker{meeting, connection, controller}
	n.metrics.ObserveMailboxes(n.mailboxes...)

	// protoactor registers a mailbox callback on the global meter provider
	// for every actor; with the SDK provider installed those are no-ops.
	// NOTE: with several nodes in one process the last one started wins.
	otel.SetMeterProvider(n.metrics.MeterProvider())
	return meeting, connection, controller
}

// metricsStatus feeds the node gauges at scrape time.
func (n *Node) metricsStatus() metrics.Status {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	raw, err := n.askController(ctx, &actors.GetStatus{})
	if err != nil {
		return metrics.Status{Draining: n.draining.Load()}
	}
	status := raw.(*actors.NodeStatus)
	return metrics.Status{
		Meetings:                 status.Meetings,
		ParticipantsConnected:    status.Connected,
		ParticipantsDisconnected: status.Participants - status.Connected,
		Draining:                 status.Draining || n.draining.Load(),
	}
}

// mailboxStatus returns the busiest mailbox of each actor kind.
func (n *Node) mailboxStatus() []*controlv1.MailboxStatus {
	out := make([]*controlv1.MailboxStatus, 0, len(n.mailboxes))
	for _, t := range n.mailboxes {
		depth, level, _ := t.Snapshot()
		out = append(out, &controlv1.MailboxStatus{ActorKind: t.Kind(), MaxDepth: uint32(depth), Level: level.String()})
	}
	return out
}
