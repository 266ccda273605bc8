package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/test/testnode"
)

const (
	// nodeStartTimeout bounds the wait for the node's "started" line.
	nodeStartTimeout = 10 * time.Second
	// nodeStopTimeout bounds the wait for run to return after the
	// context ends; the node's shutdown timeout is 20 s by default.
	nodeStopTimeout = 30 * time.Second
)

func TestNode_StartsAndDrains(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testnode.SyncBuffer
	args := []string{"node", "--data-dir", t.TempDir(),
		"--grpc-addr", "127.0.0.1:0", "--signaling-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0", "--cluster-addr", "127.0.0.1:0",
		"--log-level", "warn"}
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, args, &stdout, &stderr) }()

	deadline := time.Now().Add(nodeStartTimeout)
	for !strings.Contains(stdout.String(), "started\n") {
		select {
		case code := <-exited:
			t.Fatalf("run node: exited with %d before starting\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			<-exited
			t.Fatalf("run node: no started line within %s\nstdout:\n%s\nstderr:\n%s", nodeStartTimeout, stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Cancelling ctx is what SIGTERM does through signal.NotifyContext.
	cancel()
	select {
	case code := <-exited:
		if code != exitOK {
			t.Errorf("run node after cancel: got exit code %d, want %d\nstderr:\n%s", code, exitOK, stderr.String())
		}
	case <-time.After(nodeStopTimeout):
		t.Fatalf("run node: still running %s after cancel", nodeStopTimeout)
	}
	if out := stdout.String(); !strings.Contains(out, "convene: draining") {
		t.Errorf("stdout: got %q, want the draining line", out)
	}
}
