package main

import (
	"context"
	"flag"
	"io"
	"time"

	"github.com/convene/convene/internal/demo"
	"github.com/convene/convene/internal/logging"
)

// runDemo plays the scripted demo meeting against an in-process node.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	grace := fs.Duration("grace-period", 1500*time.Millisecond, "grace period of the demo node; the timeout step waits this long")
	logLevel := fs.String("log-level", "error", "level of the node's logs on stderr: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("demo: unexpected argument %q", fs.Arg(0))
	}
	logger, err := logging.New(stderr, *logLevel, "text")
	if err != nil {
		return usagef("demo: %v", err)
	}
	return demo.Run(ctx, stdout, demo.Options{GracePeriod: *grace, Logger: logger})
}
