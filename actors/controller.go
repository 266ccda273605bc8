package actors

import (
	"fmt"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// MeetingReport gives the MeetingController a meeting's size; a Meeting
// sends it after every roster change.
type MeetingReport struct {
	MeetingID    MeetingID
	PID          *actor.PID
	Generation   uint64
	Participants int
	Connected    int
	CreatedAt    time.Time
}

// MeetingStopped notifies the MeetingController that a meeting ended or its
// activation stopped.
type MeetingStopped struct {
	MeetingID MeetingID
	PID       *actor.PID
}

// Admit requests the MeetingController to admit a new meeting assignment. The
// reply is an *Admission. An admitted meeting holds a reservation until its
// first report arrives or Release is sent.
type Admit struct{ MeetingID MeetingID }

// Admission is the reply to Admit.
type Admission struct {
	// Reject is empty when admitted, else "at_capacity", "draining" or
	// "unhealthy".
	Reject string
}

// Rejection reasons of an Admission.
const (
	RejectAtCapacity = "at_capacity"
	RejectDraining   = "draining"
	RejectUnhealthy  = "unhealthy"
)

// Release drops the reservation of an admitted meeting whose activation
// failed.
type Release struct{ MeetingID MeetingID }

// SetDraining switches the node's draining state; a draining node admits
// no meeting.
type SetDraining struct{ Draining bool }

// SetReady marks whether the node can host meetings (its cluster member has
// started).
type SetReady struct{ Ready bool }

// GetStatus requests a *NodeStatus from the MeetingController.
type GetStatus struct{}

// NodeStatus is the MeetingController's view of its node.
type NodeStatus struct {
	Ready           bool
	Draining        bool
	Meetings        int
	Participants    int
	Connected       int
	MaxMeetings     int
	MaxParticipants int
	// AtCapacity is true when the node rejects assignments as at capacity.
	AtCapacity bool
}

// ListMeetings requests a page of the registry, in meeting id order,
// starting after the id After. The reply is a *MeetingPage.
type ListMeetings struct {
	After MeetingID
	Limit int
}

// MeetingPage is the reply to ListMeetings. More is true when meetings follow.
type MeetingPage struct {
	Meetings []MeetingReport
	More     bool
}

// ControllerConfig sets a node's admission limits.
type ControllerConfig struct {
	// MaxMeetings and MaxParticipants are the node's capacity.
	MaxMeetings     int
	MaxParticipants int
	// AdmissionThreshold is the fraction of either capacity above which
	// assignments are rejected as at capacity.
	AdmissionThreshold float64
	Logger             *slog.Logger
	// Directory lists the node's live meetings, so that a restarted controller
	// can request their reports. Nil means no rebuild.
	Directory *Directory
	// Observer counts panics; nil discards them.
	Observer Observer
}

// controllerFlags keep the draining and ready switches across restarts.
type controllerFlags struct {
	draining atomic.Bool
	ready    atomic.Bool
}

// MeetingController admits meeting assignments and keeps the registry of
// the meetings this node hosts.
type MeetingController struct {
	cfg      ControllerConfig
	log      *slog.Logger
	meetings map[MeetingID]MeetingReport
	// reserved holds admitted meetings that have not reported yet.
	reserved map[MeetingID]struct{}
	flags    *controllerFlags
}

// NewControllerProps returns the Props of the MeetingController.
func NewControllerProps(cfg ControllerConfig, opts ...actor.PropsOption) *actor.Props {
	if cfg.AdmissionThreshold <= 0 || cfg.AdmissionThreshold > 1 {
		cfg.AdmissionThreshold = 0.85
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = NopObserver{}
	}
	flags := &controllerFlags{}
	return actor.PropsFromProducer(func() actor.Actor {
		return &MeetingController{
			cfg:      cfg,
			log:      cfg.Logger,
			meetings: make(map[MeetingID]MeetingReport),
			reserved: make(map[MeetingID]struct{}),
			flags:    flags,
		}
	}, opts...)
}

// Receive dispatches each message to its handler.
func (mc *MeetingController) Receive(c actor.Context) {
	switch msg := c.Message().(type) {
	case *Admit:
		c.Respond(mc.onAdmit(msg))
	case *Release:
		delete(mc.reserved, msg.MeetingID)
	case *MeetingReport:
		mc.onReport(c, msg)
	case *MeetingStopped:
		mc.onStopped(msg.MeetingID, msg.PID)
	case *actor.Terminated:
		mc.onTerminated(msg.Who)
	case *SetDraining:
		mc.flags.draining.Store(msg.Draining)
	case *SetReady:
		mc.flags.ready.Store(msg.Ready)
	case *GetStatus:
		c.Respond(mc.status())
	case *ListMeetings:
		c.Respond(mc.list(msg))
	case *actor.Started:
		mc.rebuild(c)
	case *InjectPanic:
		panic("injected fault in meeting controller: " + msg.Reason)
	case *actor.Restarting:
		mc.log.Error("meeting controller panicked; restarting", "actor", KindMeetingController)
		mc.cfg.Observer.ActorPanicked(KindMeetingController)
		mc.cfg.Observer.ActorRestarted(KindMeetingController)
	case *actor.Stopping, *actor.Stopped:
	default:
		mc.log.Warn("meeting controller received an unexpected message", "type", fmt.Sprintf("%T", msg))
	}
}

// rebuild requests a report from every live meeting. The registry is derived
// state, so a restarted controller rebuilds it this way.
func (mc *MeetingController) rebuild(c actor.Context) {
	if mc.cfg.Directory == nil {
		return
	}
	for _, pid := range mc.cfg.Directory.PIDs() {
		c.Send(pid, &requestReport{})
	}
}

func (mc *MeetingController) onAdmit(msg *Admit) *Admission {
	if _, ok := mc.meetings[msg.MeetingID]; ok {
		// Assigning a running meeting returns its placement.
		return &Admission{}
	}
	switch {
	case mc.flags.draining.Load():
		return &Admission{Reject: RejectDraining}
	case !mc.flags.ready.Load():
		return &Admission{Reject: RejectUnhealthy}
	case mc.atCapacity():
		return &Admission{Reject: RejectAtCapacity}
	}
	mc.reserved[msg.MeetingID] = struct{}{}
	return &Admission{}
}

// atCapacity reports whether meetings or participants are at or above the
// admission threshold of their capacity.
func (mc *MeetingController) atCapacity() bool {
	meetings := float64(len(mc.meetings) + len(mc.reserved))
	if mc.cfg.MaxMeetings > 0 && meetings+1 > mc.cfg.AdmissionThreshold*float64(mc.cfg.MaxMeetings) {
		return true
	}
	participants := 0
	for _, report := range mc.meetings {
		participants += report.Participants
	}
	return mc.cfg.MaxParticipants > 0 && float64(participants) >= mc.cfg.AdmissionThreshold*float64(mc.cfg.MaxParticipants)
}

func (mc *MeetingController) onReport(c actor.Context, msg *MeetingReport) {
	delete(mc.reserved, msg.MeetingID)
	previous, known := mc.meetings[msg.MeetingID]
	mc.meetings[msg.MeetingID] = *msg
	if !known || !previous.PID.Equal(msg.PID) {
		c.Watch(msg.PID)
	}
	if !known {
		mc.log.Info("meeting registered", "meeting_id", msg.MeetingID, "generation", msg.Generation)
	}
}

func (mc *MeetingController) onStopped(id MeetingID, pid *actor.PID) {
	if current, ok := mc.meetings[id]; ok && current.PID.Equal(pid) {
		delete(mc.meetings, id)
		mc.log.Info("meeting unregistered", "meeting_id", id)
	}
}

func (mc *MeetingController) onTerminated(pid *actor.PID) {
	for id, report := range mc.meetings {
		if report.PID.Equal(pid) {
			delete(mc.meetings, id)
			mc.log.Info("meeting unregistered", "meeting_id", id)
		}
	}
}

func (mc *MeetingController) status() *NodeStatus {
	status := &NodeStatus{
		Ready:           mc.flags.ready.Load(),
		Draining:        mc.flags.draining.Load(),
		Meetings:        len(mc.meetings),
		MaxMeetings:     mc.cfg.MaxMeetings,
		MaxParticipants: mc.cfg.MaxParticipants,
	}
	for _, report := range mc.meetings {
		status.Participants += report.Participants
		status.Connected += report.Connected
	}
	status.AtCapacity = mc.atCapacity()
	return status
}

func (mc *MeetingController) list(msg *ListMeetings) *MeetingPage {
	ids := make([]string, 0, len(mc.meetings))
	for id := range mc.meetings {
		if id > msg.After {
			ids = append(ids, string(id))
		}
	}
	sort.Strings(ids)
	page := &MeetingPage{}
	for i, id := range ids {
		if msg.Limit > 0 && i == msg.Limit {
			page.More = true
			break
		}
		page.Meetings = append(page.Meetings, mc.meetings[MeetingID(id)])
	}
	return page
}
