package actors

import (
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// MeetingReport tells the MeetingController a meeting's size; a Meeting
// sends it after every roster change.
type MeetingReport struct {
	MeetingID    MeetingID
	PID          *actor.PID
	Generation   uint64
	Participants int
	Connected    int
	CreatedAt    time.Time
}

// MeetingStopped tells the MeetingController that a meeting ended or its
// activation stopped.
type MeetingStopped struct {
	MeetingID MeetingID
	PID       *actor.PID
}

// Admit asks the MeetingController to admit a new meeting assignment. The
// reply is an *Admission. An admitted meeting holds a reservation until its
// first report arrives or Release is sent.
type Admit struct{ MeetingID MeetingID }

// Admission answers Admit.
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

// GetStatus asks the MeetingController for a *NodeStatus.
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
}

// ListMeetings asks for a page of the registry, in meeting id order,
// starting after the id After. The reply is a *MeetingPage.
type ListMeetings struct {
	After MeetingID
	Limit int
}

// MeetingPage answers ListMeetings. More is true when meetings follow.
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
}

// MeetingController admits meeting assignments and keeps the registry of
// the meetings this node hosts.
type MeetingController struct {
	cfg      ControllerConfig
	log      *slog.Logger
	meetings map[MeetingID]MeetingReport
	// reserved holds admitted meetings that have not reported yet.
	reserved map[MeetingID]struct{}
	draining bool
	ready    bool
}

// NewControllerProps returns the Props of the MeetingController.
func NewControllerProps(cfg ControllerConfig, opts ...actor.PropsOption) *actor.Props {
	if cfg.AdmissionThreshold <= 0 || cfg.AdmissionThreshold > 1 {
		cfg.AdmissionThreshold = 0.85
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &MeetingController{
			cfg:      cfg,
			log:      cfg.Logger,
			meetings: make(map[MeetingID]MeetingReport),
			reserved: make(map[MeetingID]struct{}),
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
		mc.draining = msg.Draining
	case *SetReady:
		mc.ready = msg.Ready
	case *GetStatus:
		c.Respond(mc.status())
	case *ListMeetings:
		c.Respond(mc.list(msg))
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		mc.log.Warn("meeting controller received an unexpected message", "type", fmt.Sprintf("%T", msg))
	}
}

func (mc *MeetingController) onAdmit(msg *Admit) *Admission {
	if _, ok := mc.meetings[msg.MeetingID]; ok {
		// Assigning a running meeting returns its placement.
		return &Admission{}
	}
	switch {
	case mc.draining:
		return &Admission{Reject: RejectDraining}
	case !mc.ready:
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
	status := mc.status()
	meetings := float64(status.Meetings + len(mc.reserved))
	if mc.cfg.MaxMeetings > 0 && meetings+1 > mc.cfg.AdmissionThreshold*float64(mc.cfg.MaxMeetings) {
		return true
	}
	participants := float64(status.Participants)
	return mc.cfg.MaxParticipants > 0 && participants >= mc.cfg.AdmissionThreshold*float64(mc.cfg.MaxParticipants)
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
		Ready:           mc.ready,
		Draining:        mc.draining,
		Meetings:        len(mc.meetings),
		MaxMeetings:     mc.cfg.MaxMeetings,
		MaxParticipants: mc.cfg.MaxParticipants,
	}
	for _, report := range mc.meetings {
		status.Participants += report.Participants
		status.Connected += report.Connected
	}
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
