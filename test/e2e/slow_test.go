package e2e

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/config"
	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
	"github.com/convene/convene/test/testnode"
	"github.com/convene/convene/transport/wt"
)

const (
	// maxFloodMessages bounds the host mutes the slow-client test sends.
	maxFloodMessages = 4000
	// floodDeadline bounds the time the slow-client test floods.
	floodDeadline = 10 * time.Second
	// maxAhead bounds the updates sent but not yet received by the reading
	// clients, below the queue size of 8.
	maxAhead = 4
)

func TestSlowClient_Disconnected(t *testing.T) {
	const meetingID = "m-slow"
	tn := testnode.Start(t, func(c *config.Config) {
		c.OutboundQueueSize = 8 // the minimum Validate accepts
		c.WriteTimeout = time.Second
	}, node.Options{})
	tn.Assign(t, meetingID)

	longName := strings.Repeat("n", 128)
	longReason := strings.Repeat("r", 256)
	host := tn.Join(t, meetingID, "user-host", jointoken.RoleHost, client.JoinParams{DisplayName: longName})
	observer := tn.Join(t, meetingID, "user-observer", jointoken.RoleParticipant, client.JoinParams{DisplayName: longName})

	// The slow client joins over a raw session and never reads, so QUIC flow
	// control stops the node's writes once the client's receive window is
	// full.
	slow := tn.DialSession(t)
	join := &signalingv1.ClientMessage{Sequence: 1, Payload: &signalingv1.ClientMessage_Join{Join: &signalingv1.JoinRequest{
		MeetingId:   meetingID,
		JoinToken:   tn.Mint(t, meetingID, "user-slow", jointoken.RoleParticipant),
		DisplayName: longName,
	}}}
	if err := framing.Write(slow, join, framing.DefaultMaxSize); err != nil {
		t.Fatalf("send join on the raw session: %v", err)
	}
	joinedMsg := testnode.Expect(t, observer.Client, "slow client joined", func(m *signalingv1.ServerMessage) bool {
		return m.GetParticipantJoined().GetParticipant().GetUserId() == "user-slow"
	})
	slowID := joinedMsg.GetParticipantJoined().GetParticipant().GetParticipantId()

	// The observer counts the host-mute updates it receives while the host
	// floods.
	var observed atomic.Int64
	var sawSlowDisconnected atomic.Bool
	observerCtx, stopObserver := context.WithCancel(context.Background())
	observerDone := make(chan struct{})
	go func() {
		defer close(observerDone)
		for {
			msg, err := observer.Client.Next(observerCtx)
			if err != nil {
				return
			}
			p := msg.GetParticipantUpdated().GetParticipant()
			if p.GetHostMuteReason() == longReason {
				observed.Add(1)
			}
			if p.GetParticipantId() == slowID && p.GetConnectionState() == signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED {
				sawSlowDisconnected.Store(true)
			}
		}
	}()
	// The host reads its own copies too, so the flood can be paced by the
	// slower of the two reading clients.
	var hostSeen atomic.Int64
	hostCtx, stopHost := context.WithCancel(context.Background())
	hostDone := make(chan struct{})
	go func() {
		defer close(hostDone)
		for {
			msg, err := host.Client.Next(hostCtx)
			if err != nil {
				return
			}
			if msg.GetParticipantUpdated().GetParticipant().GetHostMuteReason() == longReason {
				hostSeen.Add(1)
			}
		}
	}()
	t.Cleanup(func() {
		stopObserver()
		<-observerDone
		stopHost()
		<-hostDone
	})
	received := func() int64 { return min(observed.Load(), hostSeen.Load()) }

	sent := 0
	deadline := time.Now().Add(floodDeadline)
flood:
	for sent < maxFloodMessages && time.Now().Before(deadline) {
		select {
		case <-slow.Context().Done():
			break flood
		default:
		}
		// A reading client's queue of 8 frames overflows under an unpaced
		// burst too, so the flood keeps at most maxAhead updates ahead of
		// both reading clients.
		for int64(sent)-received() >= maxAhead && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
		}
		send(t, host.Client, hostMuteMessage(observer.ID(), true, false, longReason))
		sent++
	}

	select {
	case <-slow.Context().Done():
	case <-time.After(testnode.WaitTimeout):
		t.Fatalf("slow client still connected after %d broadcasts of about %d bytes, want disconnected", sent, 2*len(longName)+len(longReason))
	}
	t.Logf("slow client disconnected after %d broadcasts", sent)
	// NOTE: when a write to the blocked stream times out before the queue
	// fills, the Connection closes the session with code UNSPECIFIED and no
	// goodbye, so both codes occur. The signaling protocol requires a
	// TOO_SLOW goodbye and close code in both cases.
	code, ok := wt.SessionErrorCode(slow.Err())
	closeCode := signalingv1.SessionCloseCode(code)
	t.Logf("slow client close code: %s (known %v)", closeCode, ok)
	if !ok || (closeCode != signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_TOO_SLOW && closeCode != signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_UNSPECIFIED) {
		t.Errorf("slow client close code: got %s (known %v), want TOO_SLOW or UNSPECIFIED after a write timeout", closeCode, ok)
	}

	// The observer received every broadcast, promptly.
	waitUntil := time.Now().Add(testnode.WaitTimeout)
	for (observed.Load() < int64(sent) || !sawSlowDisconnected.Load()) && time.Now().Before(waitUntil) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := observed.Load(); got != int64(sent) {
		t.Fatalf("observer received %d of %d host-mute updates within %s", got, sent, testnode.WaitTimeout)
	}

	if !sawSlowDisconnected.Load() {
		t.Fatalf("observer did not see the slow participant disconnected within %s", testnode.WaitTimeout)
	}

	// The meeting keeps working.
	entry := rosterEntry(t, tn, meetingID, slowID)
	if entry.GetConnectionState() != signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED {
		t.Errorf("slow participant state: got %s, want DISCONNECTED", entry.GetConnectionState())
	}
	// The host's reader stops first, so that the pong reaches the check.
	stopHost()
	<-hostDone
	ping(t, host.Client)
}
