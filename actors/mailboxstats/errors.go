package mailboxstats

import "errors"

// ErrInvalidThresholds is returned by Thresholds.Validate when Warning is
// not positive or Critical is not above Warning.
var ErrInvalidThresholds = errors.New("invalid mailbox thresholds")
