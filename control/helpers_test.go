package control

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/messages/signalingv1"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testToken is the bearer token of every test server.
const testToken = "test-token-0123456789abcdef"

// testTimeout bounds each test's RPCs so that a hang fails instead of
// blocking the run.
const testTimeout = 10 * time.Second

// backendCall is one recorded call to fakeBackend.
type backendCall struct {
	method        string
	meetingID     string
	participantID string
	reason        string
	pageSize      int
	pageToken     string
}

// fakeBackend records every call and returns canned values, or err when set.
type fakeBackend struct {
	mu    sync.Mutex
	calls []backendCall
	err   error
	// returnNil makes the methods that return a value return nil with a nil
	// error, which breaks the Backend contract.
	returnNil bool
}

var (
	cannedAssign = &controlv1.AssignMeetingResponse{
		Accepted:          true,
		SignalingUrl:      "https://node-a.example.test/signal",
		CertificateSha256: strings.Repeat("ab", 32),
		Generation:        7,
		NodeId:            "node-a",
	}
	cannedMeeting = &controlv1.Meeting{
		MeetingId:    "m1",
		NodeId:       "node-a",
		SignalingUrl: "https://node-a.example.test/signal",
		Generation:   7,
		CreatedAt:    timestamppb.New(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)),
		Participants: []*signalingv1.Participant{{ParticipantId: "p1", DisplayName: "Ada"}},
	}
	cannedList = &controlv1.ListMeetingsResponse{
		Meetings:      []*controlv1.MeetingSummary{{MeetingId: "m1", Participants: 3, ConnectedParticipants: 2, Generation: 7}},
		NextPageToken: "next",
	}
	cannedParticipant = &signalingv1.Participant{
		ParticipantId:  "p1",
		HostMute:       &signalingv1.MuteState{Audio: true},
		HostMutedBy:    "control-api",
		HostMuteReason: "noise",
	}
	cannedStatus = &controlv1.GetNodeStatusResponse{
		NodeId:          "node-a",
		Ready:           true,
		Meetings:        1,
		Participants:    3,
		MaxMeetings:     100,
		MaxParticipants: 1000,
		Mailboxes:       []*controlv1.MailboxStatus{{ActorKind: "meeting", MaxDepth: 4, Level: "normal"}},
	}
)

func (f *fakeBackend) record(c backendCall) error {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.calls = append(f.calls, c)
	return f.err
}

func (f *fakeBackend) recorded() []backendCall {
	f.mu.Lock()
	defer f.mu.Unlock()

	return append([]backendCall(nil), f.calls...)
}

func (f *fakeBackend) AssignMeeting(_ context.Context, req *controlv1.AssignMeetingRequest) (*controlv1.AssignMeetingResponse, error) {
	if err := f.record(backendCall{method: "AssignMeeting", meetingID: req.GetMeetingId()}); err != nil || f.returnNil {
		return nil, err
	}
	return cannedAssign, nil
}

func (f *fakeBackend) GetMeeting(_ context.Context, meetingID string) (*controlv1.Meeting, error) {
	if err := f.record(backendCall{method: "GetMeeting", meetingID: meetingID}); err != nil || f.returnNil {
		return nil, err
	}
	return cannedMeeting, nil
}

func (f *fakeBackend) ListMeetings(_ context.Context, pageSize int, pageToken string) (*controlv1.ListMeetingsResponse, error) {
	if err := f.record(backendCall{method: "ListMeetings", pageSize: pageSize, pageToken: pageToken}); err != nil || f.returnNil {
		return nil, err
	}
	return cannedList, nil
}

func (f *fakeBackend) EndMeeting(_ context.Context, meetingID, reason string) error {
	return f.record(backendCall{method: "EndMeeting", meetingID: meetingID, reason: reason})
}

func (f *fakeBackend) RemoveParticipant(_ context.Context, meetingID, participantID, reason string) error {
	return f.record(backendCall{method: "RemoveParticipant", meetingID: meetingID, participantID: participantID, reason: reason})
}

func (f *fakeBackend) MuteParticipant(_ context.Context, req *controlv1.MuteParticipantRequest) (*signalingv1.Participant, error) {
	c := backendCall{method: "MuteParticipant", meetingID: req.GetMeetingId(), participantID: req.GetParticipantId(), reason: req.GetReason()}
	if err := f.record(c); err != nil || f.returnNil {
		return nil, err
	}
	return cannedParticipant, nil
}

func (f *fakeBackend) NodeStatus(_ context.Context) (*controlv1.GetNodeStatusResponse, error) {
	if err := f.record(backendCall{method: "NodeStatus"}); err != nil || f.returnNil {
		return nil, err
	}
	return cannedStatus, nil
}

// logBuffer collects a test server's logs. It prints them only when the test
// fails, and accepts writes that arrive after the test ends.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a started Server with its fake backend, log and client.
type testServer struct {
	server  *Server
	backend *fakeBackend
	logs    *logBuffer
	conn    *grpc.ClientConn
	client  controlv1.ControlServiceClient
}

// startTestServer starts a Server on 127.0.0.1:0 and connects a client.
// Cleanup closes the client and stops the server.
func startTestServer(t *testing.T, modify func(*ServerConfig)) *testServer {
	t.Helper()

	logs := &logBuffer{}
	cfg := ServerConfig{
		Addr:   "127.0.0.1:0",
		Token:  testToken,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if modify != nil {
		modify(&cfg)
	}

	backend := &fakeBackend{}
	server, err := NewServer(cfg, backend)
	if err != nil {
		t.Fatalf("NewServer: got error %v, want nil", err)
	}
	if err := server.Start(); err != nil {
		t.Fatalf("Start: got error %v, want nil", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := server.Stop(ctx); err != nil {
			t.Errorf("Stop: got error %v, want nil", err)
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})

	conn := dialServer(t, server)
	return &testServer{
		server:  server,
		backend: backend,
		logs:    logs,
		conn:    conn,
		client:  controlv1.NewControlServiceClient(conn),
	}
}

// dialServer connects a plaintext client to server. Cleanup closes it.
func dialServer(t *testing.T, server *Server) *grpc.ClientConn {
	t.Helper()

	conn, err := grpc.NewClient("passthrough:///"+server.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: got error %v, want nil", err)
	}
	t.Cleanup(func() {
		if err := conn.Close(); err != nil {
			t.Errorf("close client: got error %v, want nil", err)
		}
	})
	return conn
}

// testContext returns a context bounded by testTimeout, canceled at cleanup.
func testContext(t *testing.T) context.Context {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// authContext returns testContext carrying the test bearer token.
func authContext(t *testing.T) context.Context {
	t.Helper()
	return metadata.AppendToOutgoingContext(testContext(t), "authorization", "Bearer "+testToken)
}
