package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/convene/convene/config"
)

// usageError is a command line that cannot run: a missing or invalid flag,
// an unknown method or an extra argument. run exits with status 2 for it.
type usageError struct {
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a *usageError with a formatted message. It wraps the %w
// operand, if any.
func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// Exit statuses of convene.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// exitCode maps the error of a subcommand to the process exit status: 0 for
// nil and for -h, 2 for usage errors and invalid configuration, 1 otherwise.
func exitCode(err error) int {
	var usageErr *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &usageErr),
		errors.Is(err, config.ErrInvalidConfig),
		errors.Is(err, config.ErrInvalidEnv),
		errors.Is(err, config.ErrInvalidFlag):
		return exitUsage
	default:
		return exitFailure
	}
}
