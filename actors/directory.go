package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Directory lists the Meeting activations running on a node. Meetings
// register themselves; a restarted MeetingController reads it to ask each
// live meeting for a report and rebuild its registry.
type Directory struct {
	mu       sync.Mutex
	meetings map[MeetingID]*actor.PID
}

// NewDirectory returns an empty directory.
func NewDirectory() *Directory {
	return &Directory{meetings: make(map[MeetingID]*actor.PID)}
}

func (d *Directory) add(id MeetingID, pid *actor.PID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.meetings[id] = pid
}

func (d *Directory) remove(id MeetingID, pid *actor.PID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if current, ok := d.meetings[id]; ok && current.Equal(pid) {
		delete(d.meetings, id)
	}
}

// PIDs returns the activations currently listed.
func (d *Directory) PIDs() []*actor.PID {
	d.mu.Lock()
	defer d.mu.Unlock()
	pids := make([]*actor.PID, 0, len(d.meetings))
	for _, pid := range d.meetings {
		pids = append(pids, pid)
	}
	return pids
}

// requestReport requests a Meeting to send the MeetingController a report.
type requestReport struct{}
