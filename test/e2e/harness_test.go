package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/config"
	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
	"github.com/convene/convene/transport/wt"
)

const (
	// waitTimeout bounds every wait for one expected message, close or
	// call.
	waitTimeout = 5 * time.Second
	// stopTimeout bounds the node's Stop in cleanup.
	stopTimeout = 15 * time.Second
	// tokenLifetime is the lifetime of the join tokens the tests mint.
	tokenLifetime = 10 * time.Minute
)

// testNode is a started node with the clients a test needs to reach it.
type testNode struct {
	node      *node.Node
	cfg       config.Config
	endpoints node.Endpoints
	signer    *jointoken.Signer
	control   controlv1.ControlServiceClient
	token     string
	certHash  [32]byte
	logs      *logCapture
	// now is the node's clock, used as the issue time of minted tokens.
	now func() time.Time

	stopOnce sync.Once
	stopErr  error
}

// stop stops the node once, within stopTimeout, and returns the error of
// the first call to every caller.
func (tn *testNode) stop() error {
	tn.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		tn.stopErr = tn.node.Stop(ctx)
	})
	return tn.stopErr
}

// startNode starts a node on loopback with a fresh data directory. edit,
// if not nil, changes the configuration first. Unless opts sets a logger,
// node and protoactor logs at debug level go to t.Log and into
// testNode.logs. Cleanup stops the node.
func startNode(t *testing.T, edit func(*config.Config), opts node.Options) *testNode {
	t.Helper()

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.SignalingAddr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.ClusterAddr = "127.0.0.1:0"
	if edit != nil {
		edit(&cfg)
	}

	logs := newLogCapture(t)
	if opts.Logger == nil {
		opts.Logger = logs.logger()
	}
	if opts.ActorLogger == nil {
		opts.ActorLogger = logs.logger().With("component", "protoactor")
	}
	now := time.Now
	if opts.Clock != nil {
		now = opts.Clock.Now
	}

	n, err := node.New(cfg, opts)
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	startCtx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := n.Start(startCtx); err != nil {
		t.Fatalf("node.Start: %v", err)
	}
	tn := &testNode{node: n, cfg: cfg, logs: logs, now: now}
	t.Cleanup(func() {
		if err := tn.stop(); err != nil {
			t.Errorf("node.Stop: %v", err)
		}
	})

	endpoints := n.Endpoints()
	signer, err := jointoken.LoadOrCreateDevSigner(cfg.DataDir)
	if err != nil {
		t.Fatalf("load dev signer: %v", err)
	}
	conn, err := grpc.NewClient(endpoints.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient %s: %v", endpoints.GRPCAddr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	tn.endpoints = endpoints
	tn.signer = signer
	tn.control = controlv1.NewControlServiceClient(conn)
	tn.token = n.ControlToken()
	hash, err := hex.DecodeString(endpoints.CertificateSHA256)
	if err != nil || len(hash) != len(tn.certHash) {
		t.Fatalf("certificate hash %q: want 64 hex digits (%v)", endpoints.CertificateSHA256, err)
	}
	copy(tn.certHash[:], hash)
	return tn
}

// controlCtx returns a bounded context that carries the control bearer
// token.
func (tn *testNode) controlCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tn.token)
}

// assign assigns a meeting over gRPC and fails the test unless accepted.
func (tn *testNode) assign(t *testing.T, meetingID string) *controlv1.AssignMeetingResponse {
	t.Helper()
	resp, err := tn.control.AssignMeeting(tn.controlCtx(t), &controlv1.AssignMeetingRequest{
		MeetingId:              meetingID,
		RequestingControllerId: "e2e",
	})
	if err != nil {
		t.Fatalf("AssignMeeting %q: %v", meetingID, err)
	}
	if !resp.GetAccepted() {
		t.Fatalf("AssignMeeting %q: got accepted=false reason %s, want accepted", meetingID, resp.GetRejectReason())
	}
	return resp
}

// getMeeting returns the meeting from GetMeeting over gRPC.
func (tn *testNode) getMeeting(t *testing.T, meetingID string) *controlv1.Meeting {
	t.Helper()
	resp, err := tn.control.GetMeeting(tn.controlCtx(t), &controlv1.GetMeetingRequest{MeetingId: meetingID})
	if err != nil {
		t.Fatalf("GetMeeting %q: %v", meetingID, err)
	}
	return resp.GetMeeting()
}

// rosterEntry returns the participant from GetMeeting, or nil when the
// meeting does not list it.
func (tn *testNode) rosterEntry(t *testing.T, meetingID, participantID string) *signalingv1.Participant {
	t.Helper()
	for _, p := range tn.getMeeting(t, meetingID).GetParticipants() {
		if p.GetParticipantId() == participantID {
			return p
		}
	}
	return nil
}

// mint returns a join token for user in meetingID, issued at the node's
// current time.
func (tn *testNode) mint(t *testing.T, meetingID, user string, role jointoken.Role) string {
	t.Helper()
	token, err := tn.signer.Mint(jointoken.MintRequest{
		MeetingID: meetingID,
		UserID:    jointoken.UserID(user),
		Role:      role,
		Lifetime:  tokenLifetime,
		Now:       tn.now(),
	})
	if err != nil {
		t.Fatalf("mint join token for %s: %v", user, err)
	}
	return token
}

// dial opens a signaling session. Cleanup closes it.
func (tn *testNode) dial(t *testing.T) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := client.Dial(ctx, tn.endpoints.SignalingURL, wt.DialOptions{CertHashes: [][32]byte{tn.certHash}})
	if err != nil {
		t.Fatalf("dial %s: %v", tn.endpoints.SignalingURL, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// dialRaw opens a signaling session without the client package, so that
// nothing reads the stream unless the test does. Cleanup closes it.
func (tn *testNode) dialRaw(t *testing.T) *wt.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	s, err := wt.Dial(ctx, tn.endpoints.SignalingURL, wt.DialOptions{CertHashes: [][32]byte{tn.certHash}})
	if err != nil {
		t.Fatalf("dial %s: %v", tn.endpoints.SignalingURL, err)
	}
	t.Cleanup(func() { _ = s.Close(0, "") })
	return s
}

// joined is a client that joined a meeting.
type joined struct {
	client *client.Client
	resp   *signalingv1.JoinResponse
	user   string
	role   jointoken.Role
	// joinToken is the join token the session joined with.
	joinToken string
}

func (j *joined) id() string { return j.resp.GetParticipantId() }

// join dials and joins meetingID as user with a fresh token, and fails the
// test unless the join succeeds.
func (tn *testNode) join(t *testing.T, meetingID, user string, role jointoken.Role) *joined {
	t.Helper()
	return tn.joinWith(t, meetingID, user, role, client.JoinParams{DisplayName: user})
}

// joinWith is join with extra fields (display name, resume binding).
func (tn *testNode) joinWith(t *testing.T, meetingID, user string, role jointoken.Role, p client.JoinParams) *joined {
	t.Helper()
	c := tn.dial(t)
	p.MeetingID = meetingID
	p.JoinToken = tn.mint(t, meetingID, user, role)
	resp, err := joinOn(c, p)
	if err != nil {
		t.Fatalf("join %q as %s: %v", meetingID, user, err)
	}
	return &joined{client: c, resp: resp, user: user, role: role, joinToken: p.JoinToken}
}

// joinOn sends a join on c and waits a bounded time for the response.
func joinOn(c *client.Client, p client.JoinParams) (*signalingv1.JoinResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return c.Join(ctx, p)
}

// expectMessage reads c's messages until one satisfies match, skipping
// others, and fails the test when none arrives within waitTimeout or the
// session ends first.
func expectMessage(t *testing.T, c *client.Client, what string, match func(*signalingv1.ServerMessage) bool) *signalingv1.ServerMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var skipped []string
	for {
		msg, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v (skipped %d messages: %s)", what, err, len(skipped), strings.Join(skipped, "; "))
		}
		if match(msg) {
			return msg
		}
		if len(skipped) < 20 {
			skipped = append(skipped, shortText(msg))
		}
	}
}

// expectError waits for an Error with code.
func expectError(t *testing.T, c *client.Client, code signalingv1.ErrorCode) *signalingv1.Error {
	t.Helper()
	msg := expectMessage(t, c, "error "+code.String(), func(m *signalingv1.ServerMessage) bool {
		return m.GetError().GetCode() == code
	})
	return msg.GetError()
}

// expectGoodbye waits for a Goodbye with reason.
func expectGoodbye(t *testing.T, c *client.Client, reason signalingv1.GoodbyeReason) {
	t.Helper()
	expectMessage(t, c, "goodbye "+reason.String(), func(m *signalingv1.ServerMessage) bool {
		return m.GetGoodbye().GetReason() == reason
	})
}

// expectClosed waits until the node closed c's session, and checks the
// close code.
func expectClosed(t *testing.T, c *client.Client, want signalingv1.SessionCloseCode) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(waitTimeout):
		t.Fatalf("session still open after %s, want closed with %s", waitTimeout, want)
	}
	code, ok := c.CloseCode()
	if !ok || signalingv1.SessionCloseCode(code) != want {
		t.Fatalf("close code: got %s (known %v), want %s", signalingv1.SessionCloseCode(code), ok, want)
	}
}

// expectRejected checks that a join failed with a server Error of code.
func expectRejected(t *testing.T, err error, code signalingv1.ErrorCode) {
	t.Helper()
	var serverErr *client.ServerError
	if !errors.As(err, &serverErr) {
		t.Fatalf("join: got error %v, want server error %s", err, code)
	}
	if got := serverErr.Err.GetCode(); got != code {
		t.Fatalf("join error code: got %s (%q), want %s", got, serverErr.Err.GetMessage(), code)
	}
}

// isUpdateOf matches a ParticipantUpdated of participantID in state.
func isUpdateOf(participantID string, state signalingv1.ConnectionState) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		p := m.GetParticipantUpdated().GetParticipant()
		return p.GetParticipantId() == participantID && p.GetConnectionState() == state
	}
}

// isLeftOf matches a ParticipantLeft of participantID with reason.
func isLeftOf(participantID string, reason signalingv1.LeaveReason) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		left := m.GetParticipantLeft()
		return left.GetParticipantId() == participantID && left.GetReason() == reason
	}
}

// isPong matches the pong to the ping with sequence seq.
func isPong(seq uint64) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool { return m.GetPong() != nil && m.GetInReplyTo() == seq }
}

// ping sends a ping and waits for its pong.
func ping(t *testing.T, c *client.Client) {
	t.Helper()
	seq, err := c.Send(pingMessage())
	if err != nil {
		t.Fatalf("send ping: %v", err)
	}
	expectMessage(t, c, fmt.Sprintf("pong to %d", seq), isPong(seq))
}

func pingMessage() *signalingv1.ClientMessage {
	return &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_Ping{Ping: &signalingv1.PingRequest{}}}
}

func selfMuteMessage(audio, video bool) *signalingv1.ClientMessage {
	return &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_SelfMute{SelfMute: &signalingv1.SelfMuteRequest{Audio: audio, Video: video}}}
}

func hostMuteMessage(participantID string, audio, video bool, reason string) *signalingv1.ClientMessage {
	return &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_HostMute{HostMute: &signalingv1.HostMuteRequest{
		ParticipantId: participantID, Audio: audio, Video: video, Reason: reason,
	}}}
}

func unmuteDecisionMessage(participantID string, audio, video, approved bool) *signalingv1.ClientMessage {
	return &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_UnmuteDecision{UnmuteDecision: &signalingv1.UnmuteDecision{
		ParticipantId: participantID, Audio: audio, Video: video, Approved: approved,
	}}}
}

// send sends msg and fails the test on error.
func send(t *testing.T, c *client.Client, msg *signalingv1.ClientMessage) uint64 {
	t.Helper()
	seq, err := c.Send(msg)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return seq
}

// shortText describes a server message for failure output.
func shortText(m *signalingv1.ServerMessage) string {
	text := fmt.Sprintf("%v", m)
	if len(text) > 160 {
		text = text[:160] + "…"
	}
	return text
}

// logCapture sends log lines to t.Log, which shows them only on failure,
// and keeps every line in a buffer for checks on the log content.
type logCapture struct {
	t   *testing.T
	mu  sync.Mutex
	buf bytes.Buffer
	// ended is set when the test has finished; t.Log panics after that,
	// and node goroutines may still log then.
	ended bool
}

func newLogCapture(t *testing.T) *logCapture {
	l := &logCapture{t: t}
	// Registered before the node's Stop, so it runs after it.
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.ended = true
	})
	return l
}

func (l *logCapture) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Write implements io.Writer for the slog handler, one record per call.
func (l *logCapture) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.ended {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// String returns every line logged so far.
func (l *logCapture) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
