package faults

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/config"
	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
	"github.com/convene/convene/transport/wt"
)

const (
	// waitTimeout bounds every wait for one expected message, close, call
	// or metric value.
	waitTimeout = 5 * time.Second
	// stopTimeout bounds the node's Stop in cleanup.
	stopTimeout = 15 * time.Second
	// pollInterval is the pause between two scrapes of /metrics.
	pollInterval = 10 * time.Millisecond
	// tokenLifetime is the lifetime of the join tokens the tests mint.
	tokenLifetime = 10 * time.Minute
	// meetingID is the meeting every test assigns first.
	meetingID = "fault-meeting"
)

// testNode is a started node with the clients a test needs to reach it.
type testNode struct {
	node      *node.Node
	endpoints node.Endpoints
	signer    *jointoken.Signer
	control   controlv1.ControlServiceClient
	token     string
	certHash  [32]byte
}

// startNode starts a node on loopback with a fresh data directory, as the
// demo does. Cleanup stops it.
func startNode(t *testing.T) *testNode {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.SignalingAddr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.ClusterAddr = "127.0.0.1:0"

	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := node.New(cfg, node.Options{Logger: logger})
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	startCtx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := n.Start(startCtx); err != nil {
		t.Fatalf("node.Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
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

	tn := &testNode{node: n, endpoints: endpoints, signer: signer, control: controlv1.NewControlServiceClient(conn), token: n.ControlToken()}
	hash, err := hex.DecodeString(endpoints.CertificateSHA256)
	if err != nil || len(hash) != len(tn.certHash) {
		t.Fatalf("certificate hash %q: want 64 hex digits (%v)", endpoints.CertificateSHA256, err)
	}
	copy(tn.certHash[:], hash)
	return tn
}

// testWriter sends log lines to t.Log, so they show only on failure.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// ctx returns a bounded context that carries the control bearer token.
func (tn *testNode) ctx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tn.token)
}

// assign assigns id over gRPC and fails the test unless accepted.
func (tn *testNode) assign(t *testing.T, id string) {
	t.Helper()
	resp, err := tn.control.AssignMeeting(tn.ctx(t), &controlv1.AssignMeetingRequest{MeetingId: id, RequestingControllerId: "faults"})
	if err != nil {
		t.Fatalf("AssignMeeting %q: %v", id, err)
	}
	if !resp.GetAccepted() {
		t.Fatalf("AssignMeeting %q: got rejected with %v, want accepted", id, resp.GetRejectReason())
	}
}

// getMeeting returns id from GetMeeting over gRPC.
func (tn *testNode) getMeeting(t *testing.T, id string) *controlv1.Meeting {
	t.Helper()
	resp, err := tn.control.GetMeeting(tn.ctx(t), &controlv1.GetMeetingRequest{MeetingId: id})
	if err != nil {
		t.Fatalf("GetMeeting %q: %v", id, err)
	}
	return resp.GetMeeting()
}

// session is a signaling client that remembers every message it read.
type session struct {
	t      *testing.T
	client *client.Client
	resp   *signalingv1.JoinResponse
	user   string
	read   []*signalingv1.ServerMessage
}

func (s *session) id() string { return s.resp.GetParticipantId() }

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

// join dials and joins meeting id as user with a fresh join token. resume,
// when not nil, is the JoinResponse whose binding the session resumes.
func (tn *testNode) join(t *testing.T, id, user string, role jointoken.Role, resume *signalingv1.JoinResponse) *session {
	t.Helper()
	token, err := tn.signer.Mint(jointoken.MintRequest{
		MeetingID: id,
		UserID:    jointoken.UserID(user),
		Role:      role,
		Lifetime:  tokenLifetime,
		Now:       time.Now(),
	})
	if err != nil {
		t.Fatalf("mint join token for %s: %v", user, err)
	}
	c := tn.dial(t)
	params := client.JoinParams{MeetingID: id, JoinToken: token, DisplayName: user}
	if resume != nil {
		params.CorrelationID = resume.GetCorrelationId()
		params.BindingToken = resume.GetBindingToken()
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	resp, err := c.Join(ctx, params)
	if err != nil {
		t.Fatalf("join %q as %s: %v", id, user, err)
	}
	return &session{t: t, client: c, resp: resp, user: user}
}

// expect reads messages until one matches and fails the test when none
// arrives within waitTimeout or the session ends first.
func (s *session) expect(what string, match func(*signalingv1.ServerMessage) bool) *signalingv1.ServerMessage {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		msg, err := s.client.Next(ctx)
		if err != nil {
			s.t.Fatalf("%s: waiting for %s: %v (read so far: %v)", s.user, what, err, s.read)
		}
		s.read = append(s.read, msg)
		if match(msg) {
			return msg
		}
	}
}

// goodbyes counts the goodbyes read so far and those pending.
func (s *session) goodbyes() int {
	n := 0
	for _, m := range append(append([]*signalingv1.ServerMessage(nil), s.read...), s.client.Pending()...) {
		if m.GetGoodbye() != nil {
			n++
		}
	}
	return n
}

// selfMute sends a self-mute request.
func (s *session) selfMute(audio, video bool) {
	s.t.Helper()
	_, err := s.client.Send(&signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_SelfMute{
		SelfMute: &signalingv1.SelfMuteRequest{Audio: audio, Video: video},
	}})
	if err != nil {
		s.t.Fatalf("%s: send self-mute: %v", s.user, err)
	}
}

func isSelfMute(id string, audio, video bool) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		p := m.GetParticipantUpdated().GetParticipant()
		return p.GetParticipantId() == id && p.GetSelfMute().GetAudio() == audio && p.GetSelfMute().GetVideo() == video
	}
}

func isConnectionState(id string, state signalingv1.ConnectionState) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		p := m.GetParticipantUpdated().GetParticipant()
		return p.GetParticipantId() == id && p.GetConnectionState() == state
	}
}

// metric returns the value of the sample named series, such as
// `convene_actor_panics_total{actor="meeting"}`, from /metrics; a series
// not exported yet counts as 0.
func (tn *testNode) metric(t *testing.T, series string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+tn.endpoints.HTTPAddr+"/metrics", nil)
	if err != nil {
		t.Fatalf("build /metrics request: %v", err)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: got status %d, want 200", resp.StatusCode)
	}

	scanner := bufio.NewScanner(resp.Body)
	scanner.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for scanner.Scan() {
		name, value, ok := strings.Cut(scanner.Text(), " ")
		if !ok || name != series {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			t.Fatalf("/metrics sample %s: value %q is not a number", series, value)
		}
		return v
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	return 0
}

// waitMetric polls /metrics until series has value want.
func (tn *testNode) waitMetric(t *testing.T, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		got := tn.metric(t, series)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics %s after %v: got %v, want %v", series, waitTimeout, got, want)
		}
		time.Sleep(pollInterval)
	}
}

func panics(kind string) string   { return fmt.Sprintf("convene_actor_panics_total{actor=%q}", kind) }
func restarts(kind string) string { return fmt.Sprintf("convene_actor_restarts_total{actor=%q}", kind) }

func TestFaults_MeetingPanic(t *testing.T) {
	tn := startNode(t)
	tn.assign(t, meetingID)
	host := tn.join(t, meetingID, "u1", jointoken.RoleHost, nil)
	guest := tn.join(t, meetingID, "u2", jointoken.RoleParticipant, nil)
	host.expect("guest joined", func(m *signalingv1.ServerMessage) bool {
		return m.GetParticipantJoined().GetParticipant().GetParticipantId() == guest.id()
	})
	guest.selfMute(false, true)
	host.expect("guest self-mute before the panic", isSelfMute(guest.id(), false, true))
	before := tn.getMeeting(t, meetingID)

	if err := tn.node.InjectPanic(tn.ctx(t), meetingID, ""); err != nil {
		t.Fatalf("InjectPanic meeting: %v", err)
	}
	tn.waitMetric(t, restarts("meeting"), 1)

	guest.selfMute(true, true)
	for _, s := range []*session{host, guest} {
		s.expect("guest self-mute after the restart", isSelfMute(guest.id(), true, true))
	}
	for _, s := range []*session{host, guest} {
		if n := s.goodbyes(); n != 0 {
			t.Fatalf("%s: goodbyes after the meeting restart: got %d, want 0", s.user, n)
		}
		select {
		case <-s.client.Done():
			t.Fatalf("%s: session ended after the meeting restart, want open", s.user)
		default:
		}
	}

	after := tn.getMeeting(t, meetingID)
	if got, want := after.GetGeneration(), before.GetGeneration()+1; got != want {
		t.Fatalf("generation after the restart: got %d, want %d", got, want)
	}
	if len(after.GetParticipants()) != len(before.GetParticipants()) {
		t.Fatalf("roster size after the restart: got %d, want %d", len(after.GetParticipants()), len(before.GetParticipants()))
	}
	for i, want := range before.GetParticipants() {
		got := after.GetParticipants()[i]
		if got.GetParticipantId() == guest.id() {
			// The guest self-muted audio after the restart.
			want = proto.Clone(want).(*signalingv1.Participant)
			want.SelfMute = &signalingv1.MuteState{Audio: true, Video: true}
		}
		if !proto.Equal(got, want) {
			t.Fatalf("roster entry %d after the restart:\ngot  %v\nwant %v", i, got, want)
		}
	}

	if got := tn.metric(t, panics("meeting")); got != 1 {
		t.Fatalf("meeting panics: got %v, want 1", got)
	}
	if got := tn.metric(t, restarts("meeting")); got != 1 {
		t.Fatalf("meeting restarts: got %v, want 1", got)
	}
}

func TestFaults_ConnectionPanic(t *testing.T) {
	tn := startNode(t)
	tn.assign(t, meetingID)
	host := tn.join(t, meetingID, "u1", jointoken.RoleHost, nil)
	guest := tn.join(t, meetingID, "u2", jointoken.RoleParticipant, nil)
	guest.selfMute(true, false)
	host.expect("guest self-mute before the panic", isSelfMute(guest.id(), true, false))
	generation := tn.getMeeting(t, meetingID).GetGeneration()

	if err := tn.node.InjectPanic(tn.ctx(t), meetingID, guest.id()); err != nil {
		t.Fatalf("InjectPanic connection: %v", err)
	}
	guest.expect("Goodbye INTERNAL_ERROR", func(m *signalingv1.ServerMessage) bool {
		return m.GetGoodbye().GetReason() == signalingv1.GoodbyeReason_GOODBYE_REASON_INTERNAL_ERROR
	})
	select {
	case <-guest.client.Done():
	case <-time.After(waitTimeout):
		t.Fatalf("guest session still open %v after its connection panicked", waitTimeout)
	}
	if code, ok := guest.client.CloseCode(); !ok || signalingv1.SessionCloseCode(code) != signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_INTERNAL_ERROR {
		t.Fatalf("close code: got %v (known %v), want INTERNAL_ERROR", signalingv1.SessionCloseCode(code), ok)
	}
	host.expect("guest disconnected", isConnectionState(guest.id(), signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED))

	resumed := tn.join(t, meetingID, "u2", jointoken.RoleParticipant, guest.resp)
	if !resumed.resp.GetResumed() || resumed.id() != guest.id() {
		t.Fatalf("resume after a connection panic: got resumed=%v participant %q, want true %q", resumed.resp.GetResumed(), resumed.id(), guest.id())
	}
	host.expect("guest connected again", isConnectionState(guest.id(), signalingv1.ConnectionState_CONNECTION_STATE_CONNECTED))
	resumed.selfMute(true, true)
	host.expect("self-mute over the new session", isSelfMute(guest.id(), true, true))
	if n := host.goodbyes(); n != 0 {
		t.Fatalf("host: goodbyes after another client's connection panicked: got %d, want 0", n)
	}

	if got := tn.getMeeting(t, meetingID).GetGeneration(); got != generation {
		t.Fatalf("generation after a connection panic: got %d, want %d", got, generation)
	}
	if got := tn.metric(t, panics("connection")); got != 1 {
		t.Fatalf("connection panics: got %v, want 1", got)
	}
	if got := tn.metric(t, panics("meeting")); got != 0 {
		t.Fatalf("meeting panics: got %v, want 0", got)
	}
	if got := tn.metric(t, restarts("meeting")); got != 0 {
		t.Fatalf("meeting restarts: got %v, want 0", got)
	}
}

func TestFaults_ControllerPanic(t *testing.T) {
	tn := startNode(t)
	tn.assign(t, meetingID)
	tn.assign(t, "fault-other")
	tn.join(t, meetingID, "u1", jointoken.RoleHost, nil)
	tn.join(t, meetingID, "u2", jointoken.RoleParticipant, nil)
	tn.join(t, "fault-other", "u3", jointoken.RoleHost, nil)

	status := func() *controlv1.GetNodeStatusResponse {
		resp, err := tn.control.GetNodeStatus(tn.ctx(t), &controlv1.GetNodeStatusRequest{})
		if err != nil {
			t.Fatalf("GetNodeStatus: %v", err)
		}
		return resp
	}
	waitStatus := func(when string) {
		t.Helper()
		deadline := time.Now().Add(waitTimeout)
		for {
			got := status()
			if got.GetMeetings() == 2 && got.GetParticipants() == 3 && got.GetReady() && !got.GetDraining() {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("GetNodeStatus %s: got meetings %d participants %d ready %v draining %v, want 2, 3, true, false",
					when, got.GetMeetings(), got.GetParticipants(), got.GetReady(), got.GetDraining())
			}
			time.Sleep(pollInterval)
		}
	}
	waitStatus("before the panic")

	if err := tn.node.InjectPanic(tn.ctx(t), "", ""); err != nil {
		t.Fatalf("InjectPanic controller: %v", err)
	}
	tn.waitMetric(t, restarts("meeting_controller"), 1)
	waitStatus("after the controller restarted")
	if got := tn.metric(t, panics("meeting_controller")); got != 1 {
		t.Fatalf("controller panics: got %v, want 1", got)
	}
	if got := tn.metric(t, panics("meeting")); got != 0 {
		t.Fatalf("meeting panics: got %v, want 0", got)
	}
}

func TestFaults_BadFramesNeverPanic(t *testing.T) {
	tn := startNode(t)
	tn.assign(t, meetingID)
	host := tn.join(t, meetingID, "u1", jointoken.RoleHost, nil)

	oversized := binary.AppendUvarint(nil, 1<<20)
	malformed := append(binary.AppendUvarint(nil, 3), 0xff, 0xff, 0xff)
	// Field 2047 as a varint: valid protobuf that sets no payload.
	unknownField := append(binary.AppendUvarint(nil, 3), 0xf8, 0x7f, 0x01)
	for i, frame := range [][]byte{oversized, malformed, unknownField} {
		s := tn.join(t, meetingID, fmt.Sprintf("bad-%d", i), jointoken.RoleParticipant, nil)
		if err := s.client.WriteRaw(frame); err != nil {
			t.Fatalf("frame %d: WriteRaw: %v", i, err)
		}
		if i < 2 {
			s.expect("protocol error goodbye", func(m *signalingv1.ServerMessage) bool {
				return m.GetGoodbye().GetReason() == signalingv1.GoodbyeReason_GOODBYE_REASON_PROTOCOL_ERROR
			})
			continue
		}
		s.expect("unknown message error", func(m *signalingv1.ServerMessage) bool {
			return m.GetError().GetCode() == signalingv1.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE
		})
	}

	host.selfMute(true, false)
	host.expect("self-mute after bad frames", isSelfMute(host.id(), true, false))
	for _, kind := range []string{"meeting", "connection", "meeting_controller"} {
		if got := tn.metric(t, panics(kind)); got != 0 {
			t.Fatalf("%s panics after bad frames: got %v, want 0", kind, got)
		}
	}
}
