// Command convene runs a Convene node and the tools around it: a local
// demo, a join-token minter for development and a control gRPC client.
//
// Usage:
//
//	convene <command> [flags]
//
// Run "convene <command> -h" for the flags of one command. Exit status is 0
// on success, 1 on failure and 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand of convene. run returns nil on success,
// flag.ErrHelp after printing help, a *usageError for a bad command line,
// or any other error for a failure.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"node", "run a Convene node (control gRPC, WebTransport signaling, dashboard)", runNode},
	{"demo", "play a scripted meeting with real WebTransport clients against an in-process node", runDemo},
	{"token", "mint a development join token with the key in the data directory", runToken},
	{"ctl", "call the control gRPC API of a running node", runCtl},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to a subcommand and returns the exit status. Errors
// are written to stderr as "convene: <error>".
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		writeUsage(stderr)
		return exitUsage
	}

	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		writeUsage(stdout)
		return exitOK
	}

	for _, cmd := range commands {
		if cmd.name != name {
			continue
		}
		err := cmd.run(ctx, args[1:], stdout, stderr)
		if err != nil && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "convene: %v\n", err)
		}
		return exitCode(err)
	}

	fmt.Fprintf(stderr, "convene: unknown command %q\n\n", name)
	writeUsage(stderr)
	return exitUsage
}

func writeUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: convene <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-6s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "convene <command> -h" for the flags of a command.`)
}

// parseFlags parses args into fs without letting the flag package print.
// On -h it writes usage to stdout and returns flag.ErrHelp. Other parse
// errors come back as a *usageError that points to -h.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer, usage func(io.Writer)) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return err
	}
	if err != nil {
		return usagef("%s: %w; run convene %s -h for help", fs.Name(), err, fs.Name())
	}
	return nil
}

// writeFlagDefaults writes the flags of fs in the flag package's format.
func writeFlagDefaults(w io.Writer, fs *flag.FlagSet) {
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// envOr returns the value of the environment variable name, or fallback when
// it is unset or empty.
func envOr(lookupEnv func(string) (string, bool), name, fallback string) string {
	if v, ok := lookupEnv(name); ok && v != "" {
		return v
	}
	return fallback
}
