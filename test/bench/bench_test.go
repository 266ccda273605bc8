// Package bench measures Convene's signaling path end to end over real
// WebTransport sessions on loopback. Each figure comes with a baseline
// measured in the same run, so that results are read as ratios:
//
//   - BenchmarkBaseline_EchoRoundTrip: a bare WebTransport echo server, one
//     framed message each way. It is the floor any signaling round trip
//     pays for QUIC, TLS and framing.
//   - BenchmarkNode_PingRoundTrip: a ping answered by a joined session's
//     Connection actor on a real node.
//   - BenchmarkNode_SelfMuteBroadcast: a self-mute broadcast by the Meeting
//     to every participant, timed until all have received it.
//   - BenchmarkNode_JoinLeave: a new session that joins and leaves.
//
// Run with `make bench`; docs/benchmarks.md records results.
package bench

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/config"
	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
	"github.com/convene/convene/transport/certs"
	"github.com/convene/convene/transport/wt"
)

const meetingID = "bench"

// benchNode is a started node with a meeting assigned.
type benchNode struct {
	node   *node.Node
	signer *jointoken.Signer
	url    string
	pin    wt.DialOptions
}

func startNode(b *testing.B) *benchNode {
	b.Helper()
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.GRPCAddr, cfg.SignalingAddr, cfg.HTTPAddr, cfg.ClusterAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.OutboundQueueSize = 4096
	n, err := node.New(cfg, node.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.Stop(stopCtx)
	})

	conn, err := grpc.NewClient(n.Endpoints().GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	callCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+n.ControlToken())
	if _, err := controlv1.NewControlServiceClient(conn).AssignMeeting(callCtx, &controlv1.AssignMeetingRequest{MeetingId: meetingID}); err != nil {
		b.Fatal(err)
	}

	signer, err := jointoken.LoadOrCreateDevSigner(cfg.DataDir)
	if err != nil {
		b.Fatal(err)
	}
	hash, err := hex.DecodeString(n.Endpoints().CertificateSHA256)
	if err != nil {
		b.Fatal(err)
	}
	var pin [32]byte
	copy(pin[:], hash)
	return &benchNode{node: n, signer: signer, url: n.Endpoints().SignalingURL, pin: wt.DialOptions{CertHashes: [][32]byte{pin}}}
}

// join dials and joins as user; the caller closes the client.
func (bn *benchNode) join(b *testing.B, user string) *client.Client {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, bn.url, bn.pin)
	if err != nil {
		b.Fatal(err)
	}
	token, err := bn.signer.Mint(jointoken.MintRequest{MeetingID: meetingID, UserID: jointoken.UserID(user), Role: jointoken.RoleParticipant, Lifetime: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Join(ctx, client.JoinParams{MeetingID: meetingID, JoinToken: token, DisplayName: user}); err != nil {
		b.Fatal(err)
	}
	return c
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
	c := bn.join(b, "pinger")
	b.Cleanup(func() { _ = c.Close() })
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
				clients[i] = bn.join(b, fmt.Sprintf("user-%d", i))
				b.Cleanup(func() { _ = clients[i].Close() })
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
	watcher := bn.join(b, "watcher")
	b.Cleanup(func() { _ = watcher.Close() })
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c := bn.join(b, fmt.Sprintf("user-%d", i))
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
