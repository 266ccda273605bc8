package actors_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
)

func TestProtocol_SecondJoin(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	c := h.join(m, "u1", jointoken.RoleHost)

	seq := c.send(func(msg *signalingv1.ClientMessage) {
		msg.Payload = &signalingv1.ClientMessage_Join{Join: &signalingv1.JoinRequest{MeetingId: "m1", DisplayName: "again"}}
	})
	c.waitError(seq, signalingv1.ErrorCode_ERROR_CODE_ALREADY_JOINED)
	if !c.isOpen() {
		t.Fatal("session after a second join: got closed, want open")
	}
	if got := len(h.state(m).GetParticipants()); got != 1 {
		t.Fatalf("roster after a second join: got %d participants, want 1", got)
	}
}

func TestProtocol_EmptyPayload(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	c := h.join(m, "u1", jointoken.RoleHost)

	seq := c.send(func(*signalingv1.ClientMessage) {})
	c.waitError(seq, signalingv1.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE)

	// The session stays usable.
	c.selfMute(true, true)
	c.waitFor("self-mute after an unknown message", muteUpdate(c.id(), mute(true, true), mute(false, false)))
	if !c.isOpen() {
		t.Fatal("session after an unknown message: got closed, want open")
	}
}

func TestProtocol_Ping(t *testing.T) {
	h := newHarness(t)
	m := h.startMeeting("m1")
	c := h.join(m, "u1", jointoken.RoleHost)

	seq := c.send(func(msg *signalingv1.ClientMessage) {
		msg.Payload = &signalingv1.ClientMessage_Ping{Ping: &signalingv1.PingRequest{}}
	})
	c.waitFor("PongResponse", func(msg *signalingv1.ServerMessage) bool {
		return msg.GetPong() != nil && msg.GetInReplyTo() == seq
	})
}

func TestProtocol_ReadErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantError signalingv1.ErrorCode
		wantClose signalingv1.SessionCloseCode
	}{
		{
			name:      "frame too large",
			err:       fmt.Errorf("read frame of 70000 bytes: %w", framing.ErrTooLarge),
			wantError: signalingv1.ErrorCode_ERROR_CODE_MESSAGE_TOO_LARGE,
			wantClose: signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_MESSAGE_TOO_LARGE,
		},
		{
			name:      "malformed frame",
			err:       fmt.Errorf("read frame: %w", framing.ErrMalformed),
			wantError: signalingv1.ErrorCode_ERROR_CODE_MALFORMED_MESSAGE,
			wantClose: signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_PROTOCOL_ERROR,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			m := h.startMeeting("m1")
			host := h.join(m, "u1", jointoken.RoleHost)
			guest := h.join(m, "u2", jointoken.RoleParticipant)
			id := guest.id()

			guest.stream.fail(tt.err)
			guest.waitFor("protocol Error", isErrorCode(tt.wantError))
			guest.waitClosed(tt.wantClose)
			guest.lastGoodbye(signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR)

			update := host.waitFor("ParticipantUpdated disconnected", isUpdateOf(id, disconnected)).
				GetParticipantUpdated().GetParticipant()
			if got, want := update.GetDisconnectedUntil().AsTime(), h.start.Add(actors.DefaultGracePeriod); !got.Equal(want) {
				t.Fatalf("disconnected_until: got %v, want %v", got, want)
			}
			if got := h.clock.Pending(); got != 1 {
				t.Fatalf("grace timers pending: got %d, want 1", got)
			}

			// The other participant is unaffected.
			if !host.isOpen() {
				t.Fatal("other session after a protocol error: got closed, want open")
			}
			host.selfMute(true, false)
			host.waitFor("host self-mute", muteUpdate(host.id(), mute(true, false), mute(false, false)))
			if entry := rosterEntry(h.state(m), host.id()); entry.GetConnectionState() != connected {
				t.Fatalf("other participant: got %v, want CONNECTED", entry.GetConnectionState())
			}
		})
	}
}

func TestSlowClient_DisconnectedTooSlow(t *testing.T) {
	const queueSize = 8
	h := newHarness(t, func(cfg *actors.MeetingConfig) { cfg.Connection.QueueSize = queueSize })
	m := h.startMeeting("m1")
	host := h.join(m, "u1", jointoken.RoleHost)
	watcher := h.join(m, "u3", jointoken.RoleParticipant)
	slow := h.join(m, "u2", jointoken.RoleParticipant)
	slowID := slow.id()
	syncAll(slow)

	// The others get every update while the slow client's write is stuck.
	// The updates go one at a time because the small queue applies to every
	// client, and a burst could overflow a healthy one too.
	slow.stream.block()
	const updates = 3 * queueSize
	for i := 0; i < updates; i++ {
		host.selfMute(i%2 == 0, false)
		for name, c := range map[string]*client{"host": host, "watcher": watcher} {
			c.waitCount(name+" self-mute updates", i+1, isAnyUpdateOf(host.id()))
		}
	}
	eventually(t, func() (bool, string) {
		n := h.observer.count("dropped/too_slow")
		return n > 0, fmt.Sprintf("got %d frames dropped as too slow, want some", n)
	})
	if got := slow.stream.blockedWrites(); got != 1 {
		t.Fatalf("blocked writes of the slow client: got %d, want 1", got)
	}
	if !slow.isOpen() {
		t.Fatal("slow session closed while its write is blocked, want closed after the write returns")
	}

	start := time.Now()
	host.selfMute(true, true)
	watcher.waitFor("update after the overflow", muteUpdate(host.id(), mute(true, true), mute(false, false)))
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Fatalf("broadcast latency with a stuck client: got %v, want well under 1s", elapsed)
	}

	slow.stream.release()
	slow.waitClosed(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_TOO_SLOW)
	slow.lastGoodbye(signalingv1.GoodbyeReason_GOODBYE_REASON_TOO_SLOW)
	if got := slow.count(isAnyUpdateOf(host.id())); got > queueSize+1 {
		t.Fatalf("updates written to the slow client: got %d, want at most %d", got, queueSize+1)
	}
	host.waitFor("slow client disconnected", isUpdateOf(slowID, disconnected))
}
