package shutdown

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/convene/convene/client"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/test/testnode"
)

const (
	// buildTimeout bounds "go build" of the convene binary.
	buildTimeout = 2 * time.Minute
	// exitTimeout bounds the wait for the process to exit after the
	// signal that should end it.
	exitTimeout = 30 * time.Second
	// forcedExitTimeout bounds the exit after a second signal.
	forcedExitTimeout = 5 * time.Second
)

// buildConvene builds ./cmd/convene into dir and returns the binary's path.
func buildConvene(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not found on PATH: %v", err)
	}
	bin := filepath.Join(dir, "convene")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, "github.com/convene/convene/cmd/convene").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/convene: %v\n%s", err, out)
	}
	return bin
}

// runConvene runs a short convene command and returns its stdout.
func runConvene(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testnode.WaitTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("convene %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// nodeProcess is a running "convene node" and what it printed.
type nodeProcess struct {
	cmd    *exec.Cmd
	lines  chan string
	stdout testnode.SyncBuffer
	stderr testnode.SyncBuffer
	exited chan struct{}
	err    error // set before exited is closed

	signalingURL string
	certHash     [32]byte
	grpcAddr     string
	httpAddr     string
}

// startNodeProcess runs "convene node" on loopback with port 0 everywhere
// and waits until it printed its endpoints. Cleanup kills it if it still
// runs.
func startNodeProcess(t *testing.T, bin, dataDir string, extra ...string) *nodeProcess {
	t.Helper()
	args := append([]string{"node", "--data-dir", dataDir,
		"--grpc-addr", "127.0.0.1:0", "--signaling-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0", "--cluster-addr", "127.0.0.1:0"}, extra...)
	np := &nodeProcess{cmd: exec.Command(bin, args...), lines: make(chan string, 64), exited: make(chan struct{})}
	stdout, err := np.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	np.cmd.Stderr = &np.stderr
	if err := np.cmd.Start(); err != nil {
		t.Fatalf("start convene node: %v", err)
	}

	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		defer close(np.lines)
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			line := scanner.Text()
			_, _ = np.stdout.Write([]byte(line + "\n"))
			select {
			case np.lines <- line:
			default: // no test waits for this line
			}
		}
	}()
	go func() {
		<-scanned // Wait must not run before the pipe has been read to its end
		np.err = np.cmd.Wait()
		close(np.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-np.exited:
			return
		default:
		}
		_ = np.cmd.Process.Kill()
		<-np.exited
		t.Logf("convene node killed; stderr:\n%s", np.stderr.String())
	})

	np.waitLine(t, "convene node ", testnode.WaitTimeout)
	np.signalingURL = np.endpoint(t, "signaling (WebTransport):")
	np.certHash = testnode.ParseCertHash(t, np.endpoint(t, "certificate SHA-256:"))
	np.grpcAddr = np.endpoint(t, "control (gRPC):")
	healthURL := np.endpoint(t, "health and metrics:")
	np.httpAddr = strings.TrimSuffix(strings.TrimPrefix(healthURL, "http://"), "/health/ready")
	return np
}

// endpoint waits for the endpoint line with label and returns its value.
func (np *nodeProcess) endpoint(t *testing.T, label string) string {
	t.Helper()
	line := np.waitLine(t, label, testnode.WaitTimeout)
	_, value, _ := strings.Cut(line, label)
	return strings.TrimSpace(value)
}

// waitLine waits for a stdout line containing substr and returns it.
func (np *nodeProcess) waitLine(t *testing.T, substr string, timeout time.Duration) string {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-np.lines:
			if !ok {
				t.Fatalf("convene node closed stdout before printing %q; stdout:\n%s\nstderr:\n%s", substr, np.stdout.String(), np.stderr.String())
			}
			if strings.Contains(line, substr) {
				return line
			}
		case <-timer.C:
			t.Fatalf("convene node printed no line with %q within %s; stdout:\n%s\nstderr:\n%s", substr, timeout, np.stdout.String(), np.stderr.String())
		}
	}
}

// waitExit waits for the process to exit and returns its exit status.
func (np *nodeProcess) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-np.exited:
	case <-time.After(timeout):
		t.Fatalf("convene node still running %s after the signal; stdout:\n%s\nstderr:\n%s", timeout, np.stdout.String(), np.stderr.String())
	}
	if np.err == nil {
		return 0
	}
	var exitErr *exec.ExitError
	if !errors.As(np.err, &exitErr) {
		t.Fatalf("wait for convene node: %v", np.err)
	}
	return exitErr.ExitCode()
}

func (np *nodeProcess) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := np.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("send %v to convene node: %v", sig, err)
	}
}

// joinProcessNode assigns meetingID with "convene ctl", mints a token for
// user with "convene token" and joins over WebTransport.
func joinProcessNode(t *testing.T, bin, dataDir string, np *nodeProcess, meetingID, user string) *client.Client {
	t.Helper()
	assigned := runConvene(t, bin, "ctl", "--addr", np.grpcAddr, "--data-dir", dataDir, "assign", "--meeting", meetingID)
	if !strings.Contains(assigned, np.signalingURL) {
		t.Errorf("convene ctl assign: got %q, want the signaling URL %s in it", assigned, np.signalingURL)
	}
	token := strings.TrimSpace(runConvene(t, bin, "token", "--data-dir", dataDir, "--meeting", meetingID, "--user", user))
	c := testnode.Dial(t, np.signalingURL, np.certHash)
	if _, err := testnode.JoinOn(c, client.JoinParams{MeetingID: meetingID, JoinToken: token, DisplayName: user}); err != nil {
		t.Fatalf("join %s as %s: %v", meetingID, user, err)
	}
	return c
}

func TestBinary_Signals(t *testing.T) {
	bin := buildConvene(t, t.TempDir())

	t.Run("SIGTERM drains", func(t *testing.T) {
		dataDir := t.TempDir()
		np := startNodeProcess(t, bin, dataDir)

		for _, path := range []string{"/health/live", "/health/ready"} {
			if status, body, err := testnode.HTTPGet("http://" + np.httpAddr + path); err != nil || status != 200 {
				t.Errorf("GET %s: got status %d body %q error %v, want 200", path, status, body, err)
			}
		}
		status, metricsText, err := testnode.HTTPGet("http://" + np.httpAddr + "/metrics")
		if err != nil || status != 200 {
			t.Fatalf("GET /metrics: got status %d error %v, want 200", status, err)
		}
		for _, prefix := range []string{"convene_", "protoactor_"} {
			if !strings.Contains(metricsText, "\n"+prefix) {
				t.Errorf("GET /metrics: got no metric whose name starts with %s", prefix)
			}
		}

		c := joinProcessNode(t, bin, dataDir, np, "m-sigterm", "user-a")

		np.signal(t, syscall.SIGTERM)
		msg := testnode.Expect(t, c, "a DRAINING goodbye", func(m *signalingv1.ServerMessage) bool { return m.GetGoodbye() != nil })
		if got, want := msg.GetGoodbye().GetReason(), signalingv1.GoodbyeReason_GOODBYE_REASON_DRAINING; got != want {
			t.Errorf("goodbye: got reason %s, want %s", got, want)
		}
		testnode.ExpectClosed(t, c, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_DRAINING)

		if code := np.waitExit(t, exitTimeout); code != 0 {
			t.Errorf("exit status after SIGTERM: got %d, want 0; stderr:\n%s", code, np.stderr.String())
		}
		if out := np.stdout.String(); !strings.Contains(out, "convene: draining") {
			t.Errorf("stdout: got %q, want the draining line", out)
		}
	})

	t.Run("second signal stops at once", func(t *testing.T) {
		dataDir := t.TempDir()
		// A write to the client that does not read waits up to
		// --write-timeout, so the drain would take about that long.
		np := startNodeProcess(t, bin, dataDir, "--write-timeout", "30s", "--shutdown-timeout", "2m")
		const meetingID = "m-sigint"
		observer := joinProcessNode(t, bin, dataDir, np, meetingID, "user-observer")

		slow := dialSlow(t, np.signalingURL, np.certHash)
		token := strings.TrimSpace(runConvene(t, bin, "token", "--data-dir", dataDir, "--meeting", meetingID, "--user", "user-slow"))
		slow.send(t, &signalingv1.ClientMessage{Sequence: 1, Payload: &signalingv1.ClientMessage_Join{Join: &signalingv1.JoinRequest{
			MeetingId: meetingID, JoinToken: token, DisplayName: "user-slow" + strings.Repeat("-", 100),
		}}})
		// The slow client's own updates, broadcast back to it, fill its
		// receive window. The observer receives all of them once the
		// Meeting has queued them for every client.
		const updates = 40
		for i := range updates {
			state := muteState(i)
			msg := testnode.SelfMuteMessage(state.GetAudio(), state.GetVideo())
			msg.Sequence = uint64(i + 2)
			slow.send(t, msg)
		}
		seen := 0
		testnode.Expect(t, observer, fmt.Sprintf("%d updates of the slow client", updates), func(m *signalingv1.ServerMessage) bool {
			if m.GetParticipantUpdated().GetParticipant().GetUserId() == "user-slow" {
				seen++
			}
			return seen == updates
		})

		np.signal(t, syscall.SIGTERM)
		np.waitLine(t, "convene: draining", testnode.WaitTimeout)
		start := time.Now()
		np.signal(t, syscall.SIGINT)

		code := np.waitExit(t, forcedExitTimeout)
		t.Logf("exit status %d %s after the second signal", code, time.Since(start))
		if code == 0 {
			t.Errorf("exit status after a second signal: got 0, want non-zero")
		}
		if errText := np.stderr.String(); !strings.Contains(errText, "stopped at once") {
			t.Errorf("stderr: got %q, want the message that it stopped at once", errText)
		}
	})
}
