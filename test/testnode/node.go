package testnode

import (
	"context"
	"log/slog"
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
	// WaitTimeout bounds every wait for one expected message, close, call,
	// HTTP response or metric value, and the node's Start.
	WaitTimeout = 5 * time.Second
	// StopTimeout bounds the node's Stop in cleanup.
	StopTimeout = 15 * time.Second
	// PollInterval is the pause between two polls of a condition, such as
	// two scrapes of /metrics.
	PollInterval = 10 * time.Millisecond
	// TokenLifetime is the lifetime of the join tokens that Mint issues.
	TokenLifetime = 10 * time.Minute
	// ControllerID is the requesting controller ID that Assign sends.
	ControllerID = "testnode"
)

// Node is a started node with the clients a test needs to reach it.
type Node struct {
	// Node is the running node.
	Node *node.Node
	// Config is the configuration the node started with.
	Config config.Config
	// Endpoints are the node's bound addresses and certificate hash.
	Endpoints node.Endpoints
	// Signer is the dev signer in the node's data directory.
	Signer *jointoken.Signer
	// Control is a gRPC control client. Calls need ControlContext.
	Control controlv1.ControlServiceClient
	// ControlToken is the control API bearer token.
	ControlToken string
	// CertHash is the SHA-256 of the node's WebTransport certificate, the
	// pin every Dial uses.
	CertHash [32]byte
	// Logs contains every record of the loggers that Start created. Records
	// of a logger that the caller set in node.Options are not in it.
	Logs *LogBuffer
	// Now is the node's clock, used as the issue time of minted tokens.
	Now func() time.Time

	stopOnce sync.Once
	stopErr  error
}

// Start starts a node on loopback with a fresh data directory. edit, if
// not nil, changes the configuration first. Unless opts sets them, the
// node and protoactor loggers write at debug level to t.Log and to
// Node.Logs. Cleanup stops the node within StopTimeout unless the test
// already stopped it.
func Start(t testing.TB, edit func(*config.Config), opts node.Options) *Node {
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

	logs := NewLogBuffer(t)
	if opts.Logger == nil {
		opts.Logger = logs.Logger(slog.LevelDebug)
	}
	if opts.ActorLogger == nil {
		opts.ActorLogger = logs.Logger(slog.LevelDebug).With("component", "protoactor")
	}
	now := time.Now
	if opts.Clock != nil {
		now = opts.Clock.Now
	}

	n, err := node.New(cfg, opts)
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	startCtx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	if err := n.Start(startCtx); err != nil {
		t.Fatalf("node.Start: %v", err)
	}
	tn := &Node{Node: n, Config: cfg, Logs: logs, Now: now}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
		defer cancel()
		if err := tn.Stop(ctx); err != nil {
			t.Errorf("node.Stop: %v", err)
		}
	})

	tn.Endpoints = n.Endpoints()
	tn.Signer, err = jointoken.LoadOrCreateDevSigner(cfg.DataDir)
	if err != nil {
		t.Fatalf("load dev signer: %v", err)
	}
	conn, err := grpc.NewClient(tn.Endpoints.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient %s: %v", tn.Endpoints.GRPCAddr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	tn.Control = controlv1.NewControlServiceClient(conn)
	tn.ControlToken = n.ControlToken()
	tn.CertHash = ParseCertHash(t, tn.Endpoints.CertificateSHA256)
	return tn
}

// Stop stops the node once and returns the error of the first call to
// every caller, whatever ctx later callers pass.
func (tn *Node) Stop(ctx context.Context) error {
	tn.stopOnce.Do(func() {
		tn.stopErr = tn.Node.Stop(ctx)
	})
	return tn.stopErr
}

// ControlContext returns a context bounded by WaitTimeout that carries the
// control bearer token. Cleanup cancels it.
func (tn *Node) ControlContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tn.ControlToken)
}

// Assign assigns meetingID over gRPC as ControllerID and fails the test
// unless the node accepts it.
func (tn *Node) Assign(t testing.TB, meetingID string) *controlv1.AssignMeetingResponse {
	t.Helper()
	resp, err := tn.Control.AssignMeeting(tn.ControlContext(t), &controlv1.AssignMeetingRequest{
		MeetingId:              meetingID,
		RequestingControllerId: ControllerID,
	})
	if err != nil {
		t.Fatalf("AssignMeeting %q: %v", meetingID, err)
	}
	if !resp.GetAccepted() {
		t.Fatalf("AssignMeeting %q: got accepted=false reason %s, want accepted", meetingID, resp.GetRejectReason())
	}
	return resp
}

// GetMeeting returns meetingID from GetMeeting over gRPC.
func (tn *Node) GetMeeting(t testing.TB, meetingID string) *controlv1.Meeting {
	t.Helper()
	resp, err := tn.Control.GetMeeting(tn.ControlContext(t), &controlv1.GetMeetingRequest{MeetingId: meetingID})
	if err != nil {
		t.Fatalf("GetMeeting %q: %v", meetingID, err)
	}
	return resp.GetMeeting()
}

// Mint returns a join token for user in meetingID with role, issued at the
// node's current time and valid for TokenLifetime.
func (tn *Node) Mint(t testing.TB, meetingID, user string, role jointoken.Role) string {
	t.Helper()
	token, err := tn.Signer.Mint(jointoken.MintRequest{
		MeetingID: meetingID,
		UserID:    jointoken.UserID(user),
		Role:      role,
		Lifetime:  TokenLifetime,
		Now:       tn.Now(),
	})
	if err != nil {
		t.Fatalf("mint join token for %s: %v", user, err)
	}
	return token
}

// Dial opens a signaling session to the node. Cleanup closes it.
func (tn *Node) Dial(t testing.TB) *client.Client {
	t.Helper()
	return Dial(t, tn.Endpoints.SignalingURL, tn.CertHash)
}

// DialSession opens a signaling session without the client package, so
// that nothing reads the stream unless the test does. Cleanup closes it.
func (tn *Node) DialSession(t testing.TB) *wt.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	s, err := wt.Dial(ctx, tn.Endpoints.SignalingURL, wt.DialOptions{CertHashes: [][32]byte{tn.CertHash}})
	if err != nil {
		t.Fatalf("dial %s: %v", tn.Endpoints.SignalingURL, err)
	}
	t.Cleanup(func() { _ = s.Close(0, "") })
	return s
}

// Participant is a signaling client that joined a meeting.
type Participant struct {
	Client *client.Client
	// Response is the node's response to the join.
	Response *signalingv1.JoinResponse
	User     string
	Role     jointoken.Role
	// JoinToken is the join token the session joined with.
	JoinToken string
}

// ID returns the participant ID the node assigned.
func (p *Participant) ID() string { return p.Response.GetParticipantId() }

// Join dials and joins meetingID as user with role and a fresh join token,
// and fails the test unless the join succeeds. params sets the other join
// fields, such as a resume binding. Its MeetingID and JoinToken are
// replaced, and an empty DisplayName becomes user.
func (tn *Node) Join(t testing.TB, meetingID, user string, role jointoken.Role, params client.JoinParams) *Participant {
	t.Helper()
	c := tn.Dial(t)
	params.MeetingID = meetingID
	params.JoinToken = tn.Mint(t, meetingID, user, role)
	if params.DisplayName == "" {
		params.DisplayName = user
	}
	resp, err := JoinOn(c, params)
	if err != nil {
		t.Fatalf("join %q as %s: %v", meetingID, user, err)
	}
	return &Participant{Client: c, Response: resp, User: user, Role: role, JoinToken: params.JoinToken}
}
