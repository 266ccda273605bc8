// Package bench measures Convene's signaling path end to end over real
// WebTransport sessions on loopback. Each figure comes with a baseline
// measured in the same run, so that results are read as ratios:
//
//   - BenchmarkBaseline_EchoRoundTrip: a bare WebTransport echo server, one
//     framed message each way. It is the floor any signaling round trip
//     pays for QUIC, TLS and framing.
//   - BenchmarkNode_PingRoundTrip: a ping from a joined session, which the
//     session's reader hands to the Meeting and the Meeting's Connection
//     writes back, on a real node.
//   - BenchmarkNode_SelfMuteBroadcast: a self-mute broadcast by the Meeting
//     to every participant, timed until all have received it.
//   - BenchmarkNode_JoinLeave: a new session that joins and leaves.
//
// Run with `make bench`; docs/benchmarks.md records results.
package bench

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/config"
	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
	"github.com/convene/convene/test/testnode"
	"github.com/convene/convene/transport/certs"
	"github.com/convene/convene/transport/wt"
)

const meetingID = "bench"

// startNode starts a node with the bench meeting assigned. Its logs are
// discarded, so that they do not mix with the figures.
func startNode(b *testing.B) *testnode.Node {
	b.Helper()
	discard := slog.New(slog.DiscardHandler)
	tn := testnode.Start(b, func(c *config.Config) { c.OutboundQueueSize = 4096 }, node.Options{Logger: discard, ActorLogger: discard})
	tn.Assign(b, meetingID)
	return tn
}

// join dials and joins as user; cleanup closes the client.
func join(b *testing.B, tn *testnode.Node, user string) *client.Client {
	b.Helper()
	return tn.Join(b, meetingID, user, jointoken.RoleParticipant, client.JoinParams{}).Client
}

// next waits for the next message of the wanted kind, skipping others.
func next(b *testing.B, c *client.Client, want func(*signalingv1.ServerMessage) bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		msg, err := c.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if want(msg) {
			return
		}
	}
}

func BenchmarkBaseline_EchoRoundTrip(b *testing.B) {
	cert, err := certs.SelfSigned(time.Now(), 0)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := wt.NewServer(wt.ServerConfig{Addr: "127.0.0.1:0", Certificate: cert.TLS, Logger: slog.New(slog.DiscardHandler)}, func(s *wt.Session) {
		r := framing.NewReader(s, framing.DefaultMaxSize)
		for {
			msg := &signalingv1.ClientMessage{}
			if err := r.Read(msg); err != nil {
				return
			}
			if err := framing.Write(s, &signalingv1.ServerMessage{InReplyTo: msg.GetSequence(), Payload: &signalingv1.ServerMessage_Pong{Pong: &signalingv1.PongResponse{}}}, framing.DefaultMaxSize); err != nil {
				return
			}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Shutdown(context.Background()) })

	c, err := client.Dial(context.Background(), srv.URL(), wt.DialOptions{CertHashes: [][32]byte{cert.SHA256}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	pingRoundTrips(b, c)
}

func BenchmarkNode_PingRoundTrip(b *testing.B) {
	bn := startNode(b)
	c := join(b, bn, "pinger")
	pingRoundTrips(b, c)
}

func pingRoundTrips(b *testing.B, c *client.Client) {
	ping := func() *signalingv1.ClientMessage {
		return &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_Ping{Ping: &signalingv1.PingRequest{}}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Send(ping()); err != nil {
			b.Fatal(err)
		}
		next(b, c, func(m *signalingv1.ServerMessage) bool { return m.GetPong() != nil })
	}
}

func BenchmarkNode_SelfMuteBroadcast(b *testing.B) {
	for _, size := range []int{2, 10, 50} {
		b.Run(fmt.Sprintf("participants=%d", size), func(b *testing.B) {
			bn := startNode(b)
			clients := make([]*client.Client, size)
			for i := range clients {
				clients[i] = join(b, bn, fmt.Sprintf("user-%d", i))
			}
			for _, c := range clients {
				c.Pending()
			}
			updated := func(m *signalingv1.ServerMessage) bool { return m.GetParticipantUpdated() != nil }
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				msg := &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_SelfMute{SelfMute: &signalingv1.SelfMuteRequest{Audio: i%2 == 0}}}
				if _, err := clients[0].Send(msg); err != nil {
					b.Fatal(err)
				}
				for _, c := range clients {
					next(b, c, updated)
				}
			}
		})
	}
}

func BenchmarkNode_JoinLeave(b *testing.B) {
	bn := startNode(b)
	watcher := join(b, bn, "watcher")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c := join(b, bn, fmt.Sprintf("user-%d", i))
		if _, err := c.Send(&signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_Leave{Leave: &signalingv1.LeaveRequest{}}}); err != nil {
			b.Fatal(err)
		}
		next(b, c, func(m *signalingv1.ServerMessage) bool { return m.GetGoodbye() != nil })
		// The node lingers briefly after a goodbye so the client can read
		// it; that wait is not part of the join and leave.
		go func() { _ = c.Close() }()
		// The watcher's joined/left messages are drained so they never pile up.
		watcher.Pending()
	}
}
