package shutdown

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/config"
	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
	"github.com/convene/convene/test/testnode"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, leakOptions()...)
}

// leakOptions ignores the protoactor-go goroutines (version
// v0.0.0-20240822202345-3c0e61ca19c9) that outlive a stopped actor system.
// None belongs to Convene:
//   - actor.NewThrottle starts a goroutine per throttle period that waits
//     for one tick of its ticker and has no stop signal. The dead-letter
//     throttle waits DeadLetterThrottleInterval (1 s by default) and the
//     gossiper's waits 60 s. Their names show where the compiler inlined
//     NewThrottle.
//   - The test cluster provider, which the "local" provider runs, reads
//     its TTL ticker with "for range ticker.C" in startTtlReport.
//     Shutdown stops the ticker, but Stop never closes the channel, so the
//     goroutine stays blocked for the life of the process.
func leakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/cluster.(*Gossiper).StartGossiping.NewThrottle.func3.1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/cluster/clusterproviders/test.(*Provider).startTtlReport.func1"),
	}
}

const (
	// drainWriteTimeout bounds one write to a client during the drain test.
	// The client that never reads holds the drain open for at least this
	// long.
	// NOTE: the drain lasted about 4.2 s with this value on loopback,
	// about twice the write timeout; the reason has not been established.
	drainWriteTimeout = 2 * time.Second
	// drainShutdownTimeout is the ShutdownTimeout of the drain test, the
	// bound on Stop.
	drainShutdownTimeout = 10 * time.Second
	// ackedUpdates and unackedUpdates are the self-mute updates each client
	// sends before Stop: the first batch is acknowledged (its broadcast came
	// back to the sender), the second is still in flight when Stop starts.
	ackedUpdates   = 24
	unackedUpdates = 32
)

// muteStates is the cycle of self-mute states a client sends; consecutive
// states differ, so a reordered or lost update breaks the expected order.
var muteStates = []*signalingv1.MuteState{
	{Audio: true, Video: false},
	{Audio: false, Video: true},
	{Audio: true, Video: true},
	{Audio: false, Video: false},
}

func muteState(i int) *signalingv1.MuteState { return muteStates[i%len(muteStates)] }

// drainClient is a joined client and every message it read after its join
// response.
type drainClient struct {
	user     string
	id       string
	client   *client.Client
	received []*signalingv1.ServerMessage
}

// readUntil reads messages into dc.received until done returns true, and
// fails the test after testnode.WaitTimeout.
func (dc *drainClient) readUntil(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(testnode.WaitTimeout)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: waiting for %s: timed out after %s (%d messages read)", dc.user, what, testnode.WaitTimeout, len(dc.received))
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		msg, err := dc.client.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%s: waiting for %s: %v", dc.user, what, err)
		}
		dc.received = append(dc.received, msg)
	}
}

// readAll reads messages into dc.received until the session ends.
func (dc *drainClient) readAll(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(testnode.WaitTimeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		msg, err := dc.client.Next(ctx)
		cancel()
		if errors.Is(err, client.ErrClosed) {
			return
		}
		if err != nil {
			t.Fatalf("%s: reading until the session ends: %v", dc.user, err)
		}
		dc.received = append(dc.received, msg)
	}
	t.Fatalf("%s: session still open after %s", dc.user, testnode.WaitTimeout)
}

// updatesOf returns the self-mute states of the ParticipantUpdated
// messages about participantID, in arrival order.
func (dc *drainClient) updatesOf(participantID string) []*signalingv1.MuteState {
	var states []*signalingv1.MuteState
	for _, msg := range dc.received {
		p := msg.GetParticipantUpdated().GetParticipant()
		if p.GetParticipantId() == participantID && p.GetConnectionState() == signalingv1.ConnectionState_CONNECTION_STATE_CONNECTED {
			states = append(states, p.GetSelfMute())
		}
	}
	return states
}

// healthWatch polls /health/live until the HTTP server stops responding
// and records every status other than 200.
type healthWatch struct {
	done    chan struct{}
	mu      sync.Mutex
	answers int
	bad     []string
}

func watchLive(url string, stop <-chan struct{}) *healthWatch {
	w := &healthWatch{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		deadline := time.Now().Add(testnode.StopTimeout)
		for time.Now().Before(deadline) {
			status, body, err := testnode.HTTPGet(url)
			if err != nil {
				select {
				case <-stop:
					return // the node stopped its HTTP server
				default:
				}
				w.mu.Lock()
				w.bad = append(w.bad, fmt.Sprintf("error before the node stopped: %v", err))
				w.mu.Unlock()
				return
			}
			w.mu.Lock()
			w.answers++
			if status != 200 {
				w.bad = append(w.bad, fmt.Sprintf("status %d body %q", status, body))
			}
			w.mu.Unlock()
			time.Sleep(testnode.PollInterval)
		}
	}()
	return w
}

func TestStop_DrainsSessions(t *testing.T) {
	const meetingID = "m-drain"
	tn := testnode.Start(t, func(c *config.Config) {
		c.WriteTimeout = drainWriteTimeout
		c.ShutdownTimeout = drainShutdownTimeout
	}, node.Options{})
	tn.Assign(t, meetingID)
	liveURL := "http://" + tn.Endpoints.HTTPAddr + "/health/live"
	readyURL := "http://" + tn.Endpoints.HTTPAddr + "/health/ready"
	testnode.WaitHTTPStatus(t, readyURL, 200)

	clients := make([]*drainClient, 3)
	for i := range clients {
		user := fmt.Sprintf("user-%d", i)
		// Long display names make every update large, so that a few fill
		// the slow client's receive window.
		p := tn.Join(t, meetingID, user, jointoken.RoleParticipant, client.JoinParams{DisplayName: user + strings.Repeat("-", 100)})
		clients[i] = &drainClient{user: user, id: p.ID(), client: p.Client}
	}

	// A client that never reads joins first. The acknowledged updates
	// fill its small receive window, so the node's writes to it block
	// until WriteTimeout, and the drain waits for that.
	slow := dialSlow(t, tn.Endpoints.SignalingURL, tn.CertHash)
	slow.send(t, &signalingv1.ClientMessage{Sequence: 1, Payload: &signalingv1.ClientMessage_Join{Join: &signalingv1.JoinRequest{
		MeetingId:   meetingID,
		JoinToken:   tn.Mint(t, meetingID, "user-slow", jointoken.RoleParticipant),
		DisplayName: "user-slow",
	}}})
	for _, dc := range clients {
		dc.readUntil(t, "the slow client's join", func() bool {
			return len(dc.received) > 0 &&
				dc.received[len(dc.received)-1].GetParticipantJoined().GetParticipant().GetUserId() == "user-slow"
		})
	}

	// Every client sends the acknowledged batch and waits until the node
	// broadcast its last update back to it: the Meeting has handled the
	// whole batch before Stop starts.
	for _, dc := range clients {
		for i := range ackedUpdates {
			state := muteState(i)
			if _, err := dc.client.Send(testnode.SelfMuteMessage(state.GetAudio(), state.GetVideo())); err != nil {
				t.Fatalf("%s: send self-mute %d: %v", dc.user, i, err)
			}
		}
	}
	for _, dc := range clients {
		dc.readUntil(t, "the broadcast of its own acknowledged updates", func() bool {
			return len(dc.updatesOf(dc.id)) >= ackedUpdates
		})
	}

	// The second batch goes out right before Stop, unacknowledged.
	for i := ackedUpdates; i < ackedUpdates+unackedUpdates; i++ {
		for _, dc := range clients {
			state := muteState(i)
			if _, err := dc.client.Send(testnode.SelfMuteMessage(state.GetAudio(), state.GetVideo())); err != nil {
				t.Fatalf("%s: send self-mute %d: %v", dc.user, i, err)
			}
		}
	}

	httpStopped := make(chan struct{})
	live := watchLive(liveURL, httpStopped)
	type stopResult struct {
		err     error
		elapsed time.Duration
	}
	stopped := make(chan stopResult, 1)
	go func() {
		defer close(httpStopped)
		ctx, cancel := context.WithTimeout(context.Background(), drainShutdownTimeout)
		defer cancel()
		start := time.Now()
		err := tn.Stop(ctx)
		stopped <- stopResult{err: err, elapsed: time.Since(start)}
	}()

	// While the node drains: not ready, still live, no new meetings and no
	// new sessions.
	body := testnode.WaitHTTPStatus(t, readyURL, 503)
	if !strings.Contains(body, "draining") {
		t.Errorf("/health/ready while draining: got body %q, want it to mention draining", body)
	}
	if status, body, err := testnode.HTTPGet(liveURL); err != nil || status != 200 {
		t.Errorf("/health/live while draining: got status %d body %q error %v, want 200", status, body, err)
	}

	assignResp, assignErr := tn.Control.AssignMeeting(tn.ControlContext(t), &controlv1.AssignMeetingRequest{
		MeetingId:              "m-during-drain",
		RequestingControllerId: "shutdown-test",
	})
	if assignErr != nil {
		t.Errorf("AssignMeeting while draining: got error %v, want accepted=false with REJECT_REASON_DRAINING", assignErr)
	} else {
		if assignResp.GetAccepted() {
			t.Errorf("AssignMeeting while draining: got accepted=true, want false")
		}
		if got, want := assignResp.GetRejectReason(), controlv1.RejectReason_REJECT_REASON_DRAINING; got != want {
			t.Errorf("AssignMeeting while draining: got reject reason %s, want %s", got, want)
		}
	}

	late := tn.Dial(t)
	_, joinErr := testnode.JoinOn(late, client.JoinParams{MeetingID: meetingID, JoinToken: tn.Mint(t, meetingID, "user-late", jointoken.RoleParticipant), DisplayName: "user-late"})
	var serverErr *client.ServerError
	if !errors.As(joinErr, &serverErr) {
		t.Fatalf("join while draining: got error %v, want a server error %s", joinErr, signalingv1.ErrorCode_ERROR_CODE_UNAVAILABLE)
	}
	if got, want := serverErr.Err.GetCode(), signalingv1.ErrorCode_ERROR_CODE_UNAVAILABLE; got != want {
		t.Errorf("join while draining: got error code %s (%q), want %s", got, serverErr.Err.GetMessage(), want)
	}
	goodbye := testnode.Next(t, late, "the goodbye after the rejected join").GetGoodbye()
	if got, want := goodbye.GetReason(), signalingv1.GoodbyeReason_GOODBYE_REASON_DRAINING; got != want {
		t.Errorf("goodbye after the rejected join: got reason %s, want %s", got, want)
	}
	testnode.ExpectClosed(t, late, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_DRAINING)

	select {
	case <-stopped:
		t.Fatalf("Stop returned before the checks made while draining finished; the drain did not wait for the client that does not read")
	default:
	}

	var result stopResult
	select {
	case result = <-stopped:
	case <-time.After(drainShutdownTimeout + testnode.WaitTimeout):
		t.Fatalf("Stop did not return within %s", drainShutdownTimeout+testnode.WaitTimeout)
	}
	if result.err != nil {
		t.Errorf("Stop: got error %v, want nil", result.err)
	}
	if result.elapsed >= drainShutdownTimeout {
		t.Errorf("Stop took %s, want less than the shutdown timeout %s", result.elapsed, drainShutdownTimeout)
	}
	t.Logf("Stop returned after %s", result.elapsed)

	<-live.done
	live.mu.Lock()
	if len(live.bad) > 0 {
		t.Errorf("/health/live before the HTTP server stopped: got %s, want 200 every time", strings.Join(live.bad, "; "))
	}
	if live.answers == 0 {
		t.Errorf("/health/live: got no answer while the node drained, want at least one 200")
	}
	live.mu.Unlock()

	select {
	case <-slow.done():
	case <-time.After(testnode.WaitTimeout):
		t.Errorf("the session of the client that does not read is still open after Stop")
	}

	// Every client got every update the Meeting broadcast before the drain,
	// in order, then one DRAINING goodbye as its last message, then the
	// DRAINING close code. All clients saw the same updates.
	wantCount := map[string]int{}
	for _, dc := range clients {
		dc.readAll(t)
		checkGoodbyeLast(t, dc)
		testnode.ExpectClosed(t, dc.client, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_DRAINING)

		for _, sender := range clients {
			got := dc.updatesOf(sender.id)
			if len(got) < ackedUpdates {
				t.Errorf("%s: got %d updates of %s, want at least the %d acknowledged before Stop", dc.user, len(got), sender.user, ackedUpdates)
			}
			if len(got) > ackedUpdates+unackedUpdates {
				t.Errorf("%s: got %d updates of %s, want at most the %d sent", dc.user, len(got), sender.user, ackedUpdates+unackedUpdates)
			}
			for i, state := range got {
				if state.GetAudio() != muteState(i).GetAudio() || state.GetVideo() != muteState(i).GetVideo() {
					t.Errorf("%s: update %d of %s: got %v, want %v (out of order)", dc.user, i, sender.user, state, muteState(i))
					break
				}
			}
			if want, seen := wantCount[sender.id]; seen && len(got) != want {
				t.Errorf("%s: got %d updates of %s, want %d as the other clients got", dc.user, len(got), sender.user, want)
			}
			wantCount[sender.id] = len(got)
		}
	}
	t.Logf("updates delivered per sender before the goodbye: %v (acknowledged %d, sent %d)", wantCount, ackedUpdates, ackedUpdates+unackedUpdates)
}

// checkGoodbyeLast checks that dc's last message, and only that one, is a
// DRAINING goodbye.
func checkGoodbyeLast(t *testing.T, dc *drainClient) {
	t.Helper()
	if len(dc.received) == 0 {
		t.Errorf("%s: got no message, want a DRAINING goodbye last", dc.user)
		return
	}
	for i, msg := range dc.received {
		if msg.GetGoodbye() != nil && i != len(dc.received)-1 {
			t.Errorf("%s: goodbye at message %d of %d, want it last", dc.user, i+1, len(dc.received))
		}
	}
	last := dc.received[len(dc.received)-1]
	if got, want := last.GetGoodbye().GetReason(), signalingv1.GoodbyeReason_GOODBYE_REASON_DRAINING; got != want {
		t.Errorf("%s: last message: got %s, want a goodbye with reason %s", dc.user, testnode.ShortText(last), want)
	}
}

func TestStop_IdleNodeLeavesNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	// Registered first, so it runs after every other cleanup, including
	// the close of the test's gRPC client.
	t.Cleanup(func() {
		if err := goleak.Find(append(leakOptions(), before)...); err != nil {
			t.Errorf("goroutines left after Start and Stop: %v", err)
		}
	})

	tn := testnode.Start(t, nil, node.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testnode.StopTimeout)
	defer cancel()
	if err := tn.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}
