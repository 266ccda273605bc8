package testnode

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/client"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/transport/wt"
)

// maxSkippedText is how many skipped messages a failed Expect prints.
const maxSkippedText = 20

// ParseCertHash decodes a certificate SHA-256 given as 64 hex digits.
func ParseCertHash(t testing.TB, hexHash string) [32]byte {
	t.Helper()
	var hash [32]byte
	raw, err := hex.DecodeString(hexHash)
	if err != nil || len(raw) != len(hash) {
		t.Fatalf("certificate hash %q: want 64 hex digits (%v)", hexHash, err)
	}
	copy(hash[:], raw)
	return hash
}

// Dial opens a signaling session to url, pinning certHash. Cleanup closes
// it.
func Dial(t testing.TB, url string, certHash [32]byte) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	c, err := client.Dial(ctx, url, wt.DialOptions{CertHashes: [][32]byte{certHash}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// JoinOn sends a join on c and waits up to WaitTimeout for the response.
func JoinOn(c *client.Client, params client.JoinParams) (*signalingv1.JoinResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	return c.Join(ctx, params)
}

// Next returns c's next message and fails the test when none arrives
// within WaitTimeout.
func Next(t testing.TB, c *client.Client, description string) *signalingv1.ServerMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	msg, err := c.Next(ctx)
	if err != nil {
		t.Fatalf("waiting for %s: %v", description, err)
	}
	return msg
}

// Expect reads c's messages until one satisfies match, skipping the
// others, and fails the test when none arrives within WaitTimeout or the
// session ends first. Expect calls match on every message it reads, in
// order.
func Expect(t testing.TB, c *client.Client, description string, match func(*signalingv1.ServerMessage) bool) *signalingv1.ServerMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	skipped := 0
	var skippedText []string
	for {
		msg, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v (skipped %d messages, first %d: %s)", description, err, skipped, len(skippedText), strings.Join(skippedText, "; "))
		}
		if match(msg) {
			return msg
		}
		skipped++
		if len(skippedText) < maxSkippedText {
			skippedText = append(skippedText, ShortText(msg))
		}
	}
}

// ExpectClosed waits up to WaitTimeout until the node closed c's session,
// and checks the close code.
func ExpectClosed(t testing.TB, c *client.Client, want signalingv1.SessionCloseCode) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(WaitTimeout):
		t.Fatalf("session still open after %s, want closed with %s", WaitTimeout, want)
	}
	code, ok := c.CloseCode()
	if !ok || signalingv1.SessionCloseCode(code) != want {
		t.Fatalf("close code: got %s (known %v), want %s", signalingv1.SessionCloseCode(code), ok, want)
	}
}

// IsConnectionState matches a ParticipantUpdated of participantID in
// state.
func IsConnectionState(participantID string, state signalingv1.ConnectionState) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		p := m.GetParticipantUpdated().GetParticipant()
		return p.GetParticipantId() == participantID && p.GetConnectionState() == state
	}
}

// SelfMuteMessage returns a self-mute request.
func SelfMuteMessage(audio, video bool) *signalingv1.ClientMessage {
	return &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_SelfMute{SelfMute: &signalingv1.SelfMuteRequest{Audio: audio, Video: video}}}
}

// ShortText describes a server message for failure output, cut after 160
// bytes.
func ShortText(m *signalingv1.ServerMessage) string {
	text := fmt.Sprintf("%v", m)
	if len(text) > 160 {
		text = text[:160] + "…"
	}
	return text
}
