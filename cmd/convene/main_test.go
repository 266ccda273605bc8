package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// protoactor-go v0.0.0-20240822202345-3c0e61ca19c9 leaves these
		// behind when the node and demo tests stop their actor systems.
		// The period goroutine of actor.NewThrottle has no stop signal
		// (1 s for dead letters, 60 s for the gossiper). The test cluster
		// provider behind the "local" provider ranges over a ticker
		// channel that Shutdown stops but never closes.
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/cluster.(*Gossiper).StartGossiping.NewThrottle.func3.1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/cluster/clusterproviders/test.(*Provider).startTtlReport.func1"),
	)
}

func TestRun_ExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"no arguments", nil, exitUsage, "", "Usage: convene <command>"},
		{"help", []string{"-h"}, exitOK, "Usage: convene <command>", ""},
		{"unknown command", []string{"serve"}, exitUsage, "", `convene: unknown command "serve"`},
		{"token usage error", []string{"token", "--user", "u"}, exitUsage, "", "convene: token: missing --meeting\n"},
		{"token help", []string{"token", "-h"}, exitOK, "Usage: convene token", ""},
		{"ctl unknown flag", []string{"ctl", "--bogus"}, exitUsage, "", "convene: ctl: flag provided but not defined: -bogus"},
		{"ctl help", []string{"ctl", "-h"}, exitOK, "Methods:", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer

			code := run(context.Background(), tt.args, &stdout, &stderr)

			if code != tt.wantCode {
				t.Errorf("run(%q): got exit code %d, want %d (stderr %q)", tt.args, code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout: got %q, want it to contain %q", stdout.String(), tt.wantStdout)
			}
			if tt.wantStdout == "" && stdout.Len() > 0 {
				t.Errorf("stdout: got %q, want nothing", stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr: got %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
			if tt.wantStderr == "" && stderr.Len() > 0 {
				t.Errorf("stderr: got %q, want nothing", stderr.String())
			}
		})
	}
}

// envMap returns a lookup function over m, in place of os.LookupEnv.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}
