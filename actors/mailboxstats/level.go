package mailboxstats

import "fmt"

// Level classifies a mailbox depth.
type Level int

// Levels in increasing severity. Their numeric values are exported as the
// convene_mailbox_level gauge.
const (
	Normal Level = iota
	Warning
	Critical
)

// String returns "normal", "warning" or "critical".
func (l Level) String() string {
	switch l {
	case Normal:
		return "normal"
	case Warning:
		return "warning"
	case Critical:
		return "critical"
	default:
		return fmt.Sprintf("level(%d)", int(l))
	}
}

// Thresholds are mailbox depths in messages. A depth below Warning is
// normal, a depth from Warning to Critical inclusive is warning, and a depth
// above Critical is critical.
type Thresholds struct {
	Warning  int
	Critical int
}

// Default thresholds of the two actor kinds whose mailboxes are tracked.
var (
	MeetingThresholds    = Thresholds{Warning: 100, Critical: 500}
	ConnectionThresholds = Thresholds{Warning: 50, Critical: 200}
)

// Validate returns ErrInvalidThresholds unless 0 < Warning < Critical.
func (th Thresholds) Validate() error {
	if th.Warning <= 0 {
		return fmt.Errorf("%w: warning depth %d, want at least 1", ErrInvalidThresholds, th.Warning)
	}

	if th.Critical <= th.Warning {
		return fmt.Errorf("%w: critical depth %d, want above warning depth %d", ErrInvalidThresholds, th.Critical, th.Warning)
	}

	return nil
}

// Classify returns the level of a mailbox holding depth messages.
func (th Thresholds) Classify(depth int) Level {
	switch {
	case depth > th.Critical:
		return Critical
	case depth >= th.Warning:
		return Warning
	default:
		return Normal
	}
}
