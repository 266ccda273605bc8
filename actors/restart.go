package actors

import (
	"sync"
	"time"
)

// Defaults for the Meeting restart budget.
const (
	DefaultMaxRestarts   = 3
	DefaultRestartWindow = 10 * time.Second
)

// nodeState is the state the Meeting activations of one node share across
// restarts: the sessions in hand-over and the restart history.
type nodeState struct {
	mu       sync.Mutex
	handover map[MeetingID][]*session
	restarts map[MeetingID][]time.Time
}

func newNodeState() *nodeState {
	return &nodeState{
		handover: make(map[MeetingID][]*session),
		restarts: make(map[MeetingID][]time.Time),
	}
}

// handOver parks the sessions of a restarting meeting.
func (n *nodeState) handOver(id MeetingID, sessions []*session) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.handover[id] = append(n.handover[id], sessions...)
}

// adopt takes the parked sessions of a meeting.
func (n *nodeState) adopt(id MeetingID) []*session {
	n.mu.Lock()
	defer n.mu.Unlock()
	sessions := n.handover[id]
	delete(n.handover, id)
	return sessions
}

// recordRestart notes a restart and reports whether the meeting is still
// within its budget of max restarts per window.
func (n *nodeState) recordRestart(id MeetingID, now time.Time, max int, window time.Duration) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	recent := n.restarts[id][:0]
	for _, at := range n.restarts[id] {
		if now.Sub(at) < window {
			recent = append(recent, at)
		}
	}
	recent = append(recent, now)
	n.restarts[id] = recent
	return len(recent) <= max
}

// restartBudgetSpent reports whether the last restart of a meeting went
// over its budget.
func (n *nodeState) restartBudgetSpent(id MeetingID, max int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.restarts[id]) > max
}

func (n *nodeState) forgetRestarts(id MeetingID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.restarts, id)
}
