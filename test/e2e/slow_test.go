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
	"github.com/convene/convene/transport/wt"
)

const (
	// maxFloodMessages bounds the host mutes the slow-client test sends.
	maxFloodMessages = 4000
	// floodDeadline bounds the time the slow-client test floods.
	floodDeadline = 10 * time.Second
	// maxAhead bounds the updates sent but not yet received by the
	// observer, below the queue size of 8.
	maxAhead = 4
)

func TestSlowClient_Disconnected(t *testing.T) {
	const meetingID = "m-slow"
	tn := startNode(t, func(c *config.Config) {
		c.OutboundQueueSize = 8 // the minimum Validate accepts
		c.WriteTimeout = time.Second
	}, node.Options{})
	tn.assign(t, meetingID)

	longName := strings.Repeat("n", 128)
	longReason := strings.Repeat("r", 256)
	host := tn.joinWith(t, meetingID, "user-host", jointoken.RoleHost, client.JoinParams{DisplayName: longName})
	observer := tn.joinWith(t, meetingID, "user-observer", jointoken.RoleParticipant, client.JoinParams{DisplayName: longName})

	// The slow client joins over a raw session and never reads, so QUIC flow
	// control stops the node's writes once the client's receive window is
	// full.
	slow := tn.dialRaw(t)
	join := &signalingv1.ClientMessage{Sequence: 1, Payload: &signalingv1.ClientMessage_Join{Join: &signalingv1.JoinRequest{
		MeetingId:   meetingID,
		JoinToken:   tn.mint(t, meetingID, "user-slow", jointoken.RoleParticipant),
		DisplayName: longName,
	}}}
	if err := framing.Write(slow, join, framing.DefaultMaxSize); err != nil {
		t.Fatalf("send join on the raw session: %v", err)
	}
	joinedMsg := expectMessage(t, observer.client, "slow client joined", func(m *signalingv1.ServerMessage) bool {
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
			msg, err := observer.client.Next(observerCtx)
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
	t.Cleanup(func() {
		stopObserver()
		<-observerDone
	})

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
		// the observer.
		for int64(sent)-observed.Load() >= maxAhead && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
		}
		send(t, host.client, hostMuteMessage(observer.id(), true, false, longReason))
		sent++
	}

	select {
	case <-slow.Context().Done():
	case <-time.After(waitTimeout):
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
	waitUntil := time.Now().Add(waitTimeout)
	for (observed.Load() < int64(sent) || !sawSlowDisconnected.Load()) && time.Now().Before(waitUntil) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := observed.Load(); got != int64(sent) {
		t.Fatalf("observer received %d of %d host-mute updates within %s", got, sent, waitTimeout)
	}

	if !sawSlowDisconnected.Load() {
		t.Fatalf("observer did not see the slow participant disconnected within %s", waitTimeout)
	}

	// The meeting keeps working.
	entry := tn.rosterEntry(t, meetingID, slowID)
	if entry.GetConnectionState() != signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED {
		t.Errorf("slow participant state: got %s, want DISCONNECTED", entry.GetConnectionState())
	}
	ping(t, host.client)
}
