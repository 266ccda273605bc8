package actors

import "time"

// Observer receives the events that metrics count. Implementations must be
// safe for concurrent use and must not block. Labels are bounded sets:
// never a meeting or participant id.
type Observer interface {
	// JoinFinished records a join attempt: result is "joined", "resumed" or
	// "rejected".
	JoinFinished(result string, latency time.Duration)
	// BindingChecked records a binding-token check: "valid", "invalid",
	// "replayed", "expired" or "user_mismatch".
	BindingChecked(result string)
	// MessageReceived and MessageSent count signaling messages by payload type.
	MessageReceived(kind string)
	MessageSent(kind string)
	// MessageDropped counts frames not delivered, by reason.
	MessageDropped(reason string)
	// GraceExpired counts participants removed when their grace period ended.
	GraceExpired()
	// ResumeFinished records a resume attempt: "resumed", "invalid",
	// "replayed", "expired" or "user_mismatch".
	ResumeFinished(result string)
	// ActorPanicked counts panics by actor kind: "meeting", "connection" or
	// "meeting_controller".
	ActorPanicked(kind string)
	// ActorRestarted counts restarts by actor kind.
	ActorRestarted(kind string)
}

// NopObserver discards every event.
type NopObserver struct{}

func (NopObserver) JoinFinished(string, time.Duration) {}
func (NopObserver) BindingChecked(string)              {}
func (NopObserver) MessageReceived(string)             {}
func (NopObserver) MessageSent(string)                 {}
func (NopObserver) MessageDropped(string)              {}
func (NopObserver) GraceExpired()                      {}
func (NopObserver) ActorPanicked(string)               {}
func (NopObserver) ActorRestarted(string)              {}
func (NopObserver) ResumeFinished(string)              {}
