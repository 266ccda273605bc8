package actors

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"time"

	"github.com/convene/convene/auth/binding"
	"github.com/convene/convene/internal/clock"
	"github.com/convene/convene/store"
)

// Defaults for MeetingConfig and ConnectionConfig fields left zero.
const (
	DefaultGracePeriod     = 30 * time.Second
	DefaultMaxParticipants = 500
	DefaultQueueSize       = 256
	DefaultWriteTimeout    = 5 * time.Second
	DefaultStoreTimeout    = 5 * time.Second
	// MaxServerMessageSize bounds one server frame. It is larger than the
	// client limit because a join response carries the whole roster.
	MaxServerMessageSize = 4 << 20
	// maxConsumedNonces bounds the replay history kept per participant.
	maxConsumedNonces = 32
	// maxDeparted bounds the correlation ids remembered after removal, which
	// let a late resume learn that its participant expired.
	maxDeparted = 1024
)

// MeetingConfig is shared by every Meeting activation of a node.
type MeetingConfig struct {
	// NodeID, SignalingURL and CertificateSHA256 describe the hosting node
	// in placements and redirects.
	NodeID            string
	SignalingURL      string
	CertificateSHA256 string

	// GracePeriod is how long a disconnected participant may resume.
	GracePeriod time.Duration
	// MaxParticipants is the roster limit of one meeting.
	MaxParticipants int

	Store   store.Store
	Keyring KeyringSource
	Clock   clock.Clock
	Logger  *slog.Logger
	// Observer receives metrics events; nil discards them.
	Observer Observer
	// StoreTimeout bounds one store call.
	StoreTimeout time.Duration
	// MaxRestarts is how many panics within RestartWindow a meeting
	// survives; past that it ends and sends its clients a goodbye to rejoin.
	// NOTE: the parent's default protoactor strategy stops a child after 10
	// restarts within 10 s, so a value above 9 is not reached under panics
	// in quick succession.
	MaxRestarts   int
	RestartWindow time.Duration
	// Directory lists the node's live meetings for its MeetingController;
	// nil keeps a private one.
	Directory *Directory

	Connection ConnectionConfig
	// ConnectionProps are extra Props options of every Connection, such as
	// mailbox statistics.
	ConnectionProps []actor.PropsOption
	// Overload reports a Meeting's critical mailbox, so that it coalesces
	// self-mute broadcasts. Nil disables shedding.
	Overload *Overload

	// state is shared by every activation made from one Props.
	state *nodeState
}

// KeyringSource returns the binding keyring in force; the node swaps it when
// the master secret rotates.
type KeyringSource interface {
	Keyring() *binding.Keyring
}

// StaticKeyring is a KeyringSource that never changes.
type StaticKeyring struct{ K *binding.Keyring }

// Keyring returns s.K.
func (s StaticKeyring) Keyring() *binding.Keyring { return s.K }

// ConnectionConfig configures Connection actors.
type ConnectionConfig struct {
	// QueueSize is the number of frames a Connection queues for its client;
	// a client whose queue overflows is disconnected as too slow.
	QueueSize int
	// WriteTimeout bounds one frame write to the client.
	WriteTimeout time.Duration
	// Go runs a connection goroutine; the node passes a tracked group so
	// that shutdown can wait for them. Nil uses a plain go statement.
	Go func(func())
	// Observer receives metrics events; nil discards them.
	Observer Observer
	// Overload reports a Connection's critical mailbox, so that it
	// disconnects its client as too slow. Nil disables the check.
	Overload *Overload
}

func (c *MeetingConfig) withDefaults() *MeetingConfig {
	out := *c
	if out.GracePeriod <= 0 {
		out.GracePeriod = DefaultGracePeriod
	}
	if out.MaxParticipants <= 0 {
		out.MaxParticipants = DefaultMaxParticipants
	}
	if out.Clock == nil {
		out.Clock = clock.Real{}
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	if out.Observer == nil {
		out.Observer = NopObserver{}
	}
	if out.StoreTimeout <= 0 {
		out.StoreTimeout = DefaultStoreTimeout
	}
	if out.Store == nil {
		out.Store = store.NewMemory()
	}
	if out.MaxRestarts <= 0 {
		out.MaxRestarts = DefaultMaxRestarts
	}
	if out.RestartWindow <= 0 {
		out.RestartWindow = DefaultRestartWindow
	}
	if out.Directory == nil {
		out.Directory = NewDirectory()
	}
	out.state = newNodeState()
	// Inherit the observer before the defaults fill it with NopObserver.
	if out.Connection.Observer == nil {
		out.Connection.Observer = out.Observer
	}
	out.Connection = out.Connection.withDefaults()
	return &out
}

func (c ConnectionConfig) withDefaults() ConnectionConfig {
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Go == nil {
		c.Go = func(f func()) { go f() }
	}
	if c.Observer == nil {
		c.Observer = NopObserver{}
	}
	return c
}
