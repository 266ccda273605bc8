package faults

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
	"github.com/convene/convene/test/testnode"
)

const (
	// meetingID is the meeting every test assigns first.
	meetingID = "fault-meeting"
	// panicsTotal and restartsTotal are the actor fault counters, labelled
	// by actor kind.
	panicsTotal   = "convene_actor_panics_total"
	restartsTotal = "convene_actor_restarts_total"
)

// startNode starts a node on loopback with a fresh data directory, as the
// demo does. Node logs at warn level and above go to t.Log, and protoactor
// logs are discarded. Cleanup stops the node.
func startNode(t *testing.T) *testnode.Node {
	t.Helper()
	logs := testnode.NewLogBuffer(t)
	return testnode.Start(t, nil, node.Options{
		Logger:      logs.Logger(slog.LevelWarn),
		ActorLogger: slog.New(slog.DiscardHandler),
	})
}

// session is a signaling client that remembers every message it read.
type session struct {
	*testnode.Participant
	t    *testing.T
	read []*signalingv1.ServerMessage
}

// join dials and joins meeting id as user with a fresh join token. resume,
// when not nil, is the JoinResponse whose binding the session resumes.
func join(t *testing.T, tn *testnode.Node, id, user string, role jointoken.Role, resume *signalingv1.JoinResponse) *session {
	t.Helper()
	var params client.JoinParams
	if resume != nil {
		params.CorrelationID = resume.GetCorrelationId()
		params.BindingToken = resume.GetBindingToken()
	}
	return &session{Participant: tn.Join(t, id, user, role, params), t: t}
}

// expect reads messages until one matches and fails the test when none
// arrives within testnode.WaitTimeout or the session ends first.
func (s *session) expect(what string, match func(*signalingv1.ServerMessage) bool) *signalingv1.ServerMessage {
	s.t.Helper()
	return testnode.Expect(s.t, s.Client, s.User+": "+what, func(m *signalingv1.ServerMessage) bool {
		s.read = append(s.read, m)
		return match(m)
	})
}

// goodbyes counts the goodbyes read so far and those pending.
func (s *session) goodbyes() int {
	n := 0
	for _, m := range append(append([]*signalingv1.ServerMessage(nil), s.read...), s.Client.Pending()...) {
		if m.GetGoodbye() != nil {
			n++
		}
	}
	return n
}

// selfMute sends a self-mute request.
func (s *session) selfMute(audio, video bool) {
	s.t.Helper()
	if _, err := s.Client.Send(testnode.SelfMuteMessage(audio, video)); err != nil {
		s.t.Fatalf("%s: send self-mute: %v", s.User, err)
	}
}

func isSelfMute(id string, audio, video bool) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		p := m.GetParticipantUpdated().GetParticipant()
		return p.GetParticipantId() == id && p.GetSelfMute().GetAudio() == audio && p.GetSelfMute().GetVideo() == video
	}
}

// metric returns the value of the sample name{actor=kind} from /metrics.
// A sample not exported yet counts as 0.
func metric(t *testing.T, tn *testnode.Node, name, kind string) float64 {
	t.Helper()
	value, _ := testnode.ScrapeMetrics(t, tn.Endpoints.HTTPAddr).Sample(name, map[string]string{"actor": kind})
	return value
}

// waitMetric polls /metrics until the sample name{actor=kind} has value
// want.
func waitMetric(t *testing.T, tn *testnode.Node, name, kind string, want float64) {
	t.Helper()
	if err := testnode.WaitSample(t, tn.Endpoints.HTTPAddr, name, map[string]string{"actor": kind}, want); err != nil {
		t.Fatal(err)
	}
}

func TestFaults_MeetingPanic(t *testing.T) {
	tn := startNode(t)
	tn.Assign(t, meetingID)
	host := join(t, tn, meetingID, "u1", jointoken.RoleHost, nil)
	guest := join(t, tn, meetingID, "u2", jointoken.RoleParticipant, nil)
	host.expect("guest joined", func(m *signalingv1.ServerMessage) bool {
		return m.GetParticipantJoined().GetParticipant().GetParticipantId() == guest.ID()
	})
	guest.selfMute(false, true)
	host.expect("guest self-mute before the panic", isSelfMute(guest.ID(), false, true))
	before := tn.GetMeeting(t, meetingID)

	if err := tn.Node.InjectPanic(tn.ControlContext(t), meetingID, ""); err != nil {
		t.Fatalf("InjectPanic meeting: %v", err)
	}
	waitMetric(t, tn, restartsTotal, "meeting", 1)

	guest.selfMute(true, true)
	for _, s := range []*session{host, guest} {
		s.expect("guest self-mute after the restart", isSelfMute(guest.ID(), true, true))
	}
	for _, s := range []*session{host, guest} {
		if n := s.goodbyes(); n != 0 {
			t.Fatalf("%s: goodbyes after the meeting restart: got %d, want 0", s.User, n)
		}
		select {
		case <-s.Client.Done():
			t.Fatalf("%s: session ended after the meeting restart, want open", s.User)
		default:
		}
	}

	after := tn.GetMeeting(t, meetingID)
	if got, want := after.GetGeneration(), before.GetGeneration()+1; got != want {
		t.Fatalf("generation after the restart: got %d, want %d", got, want)
	}
	if len(after.GetParticipants()) != len(before.GetParticipants()) {
		t.Fatalf("roster size after the restart: got %d, want %d", len(after.GetParticipants()), len(before.GetParticipants()))
	}
	for i, want := range before.GetParticipants() {
		got := after.GetParticipants()[i]
		if got.GetParticipantId() == guest.ID() {
			// The guest self-muted audio after the restart.
			want = proto.Clone(want).(*signalingv1.Participant)
			want.SelfMute = &signalingv1.MuteState{Audio: true, Video: true}
		}
		if !proto.Equal(got, want) {
			t.Fatalf("roster entry %d after the restart:\ngot  %v\nwant %v", i, got, want)
		}
	}

	if got := metric(t, tn, panicsTotal, "meeting"); got != 1 {
		t.Fatalf("meeting panics: got %v, want 1", got)
	}
	if got := metric(t, tn, restartsTotal, "meeting"); got != 1 {
		t.Fatalf("meeting restarts: got %v, want 1", got)
	}
}

func TestFaults_ConnectionPanic(t *testing.T) {
	tn := startNode(t)
	tn.Assign(t, meetingID)
	host := join(t, tn, meetingID, "u1", jointoken.RoleHost, nil)
	guest := join(t, tn, meetingID, "u2", jointoken.RoleParticipant, nil)
	guest.selfMute(true, false)
	host.expect("guest self-mute before the panic", isSelfMute(guest.ID(), true, false))
	generation := tn.GetMeeting(t, meetingID).GetGeneration()

	if err := tn.Node.InjectPanic(tn.ControlContext(t), meetingID, guest.ID()); err != nil {
		t.Fatalf("InjectPanic connection: %v", err)
	}
	guest.expect("Goodbye INTERNAL_ERROR", func(m *signalingv1.ServerMessage) bool {
		return m.GetGoodbye().GetReason() == signalingv1.GoodbyeReason_GOODBYE_REASON_INTERNAL_ERROR
	})
	testnode.ExpectClosed(t, guest.Client, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_INTERNAL_ERROR)
	host.expect("guest disconnected", testnode.IsConnectionState(guest.ID(), signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED))

	resumed := join(t, tn, meetingID, "u2", jointoken.RoleParticipant, guest.Response)
	if !resumed.Response.GetResumed() || resumed.ID() != guest.ID() {
		t.Fatalf("resume after a connection panic: got resumed=%v participant %q, want true %q", resumed.Response.GetResumed(), resumed.ID(), guest.ID())
	}
	host.expect("guest connected again", testnode.IsConnectionState(guest.ID(), signalingv1.ConnectionState_CONNECTION_STATE_CONNECTED))
	resumed.selfMute(true, true)
	host.expect("self-mute over the new session", isSelfMute(guest.ID(), true, true))
	if n := host.goodbyes(); n != 0 {
		t.Fatalf("host: goodbyes after another client's connection panicked: got %d, want 0", n)
	}

	if got := tn.GetMeeting(t, meetingID).GetGeneration(); got != generation {
		t.Fatalf("generation after a connection panic: got %d, want %d", got, generation)
	}
	if got := metric(t, tn, panicsTotal, "connection"); got != 1 {
		t.Fatalf("connection panics: got %v, want 1", got)
	}
	if got := metric(t, tn, panicsTotal, "meeting"); got != 0 {
		t.Fatalf("meeting panics: got %v, want 0", got)
	}
	if got := metric(t, tn, restartsTotal, "meeting"); got != 0 {
		t.Fatalf("meeting restarts: got %v, want 0", got)
	}
}

func TestFaults_ControllerPanic(t *testing.T) {
	tn := startNode(t)
	tn.Assign(t, meetingID)
	tn.Assign(t, "fault-other")
	join(t, tn, meetingID, "u1", jointoken.RoleHost, nil)
	join(t, tn, meetingID, "u2", jointoken.RoleParticipant, nil)
	join(t, tn, "fault-other", "u3", jointoken.RoleHost, nil)

	status := func() *controlv1.GetNodeStatusResponse {
		resp, err := tn.Control.GetNodeStatus(tn.ControlContext(t), &controlv1.GetNodeStatusRequest{})
		if err != nil {
			t.Fatalf("GetNodeStatus: %v", err)
		}
		return resp
	}
	waitStatus := func(when string) {
		t.Helper()
		deadline := time.Now().Add(testnode.WaitTimeout)
		for {
			got := status()
			if got.GetMeetings() == 2 && got.GetParticipants() == 3 && got.GetReady() && !got.GetDraining() {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("GetNodeStatus %s: got meetings %d participants %d ready %v draining %v, want 2, 3, true, false",
					when, got.GetMeetings(), got.GetParticipants(), got.GetReady(), got.GetDraining())
			}
			time.Sleep(testnode.PollInterval)
		}
	}
	waitStatus("before the panic")

	if err := tn.Node.InjectPanic(tn.ControlContext(t), "", ""); err != nil {
		t.Fatalf("InjectPanic controller: %v", err)
	}
	waitMetric(t, tn, restartsTotal, "meeting_controller", 1)
	waitStatus("after the controller restarted")
	if got := metric(t, tn, panicsTotal, "meeting_controller"); got != 1 {
		t.Fatalf("controller panics: got %v, want 1", got)
	}
	if got := metric(t, tn, panicsTotal, "meeting"); got != 0 {
		t.Fatalf("meeting panics: got %v, want 0", got)
	}
}

func TestFaults_BadFramesNeverPanic(t *testing.T) {
	tn := startNode(t)
	tn.Assign(t, meetingID)
	host := join(t, tn, meetingID, "u1", jointoken.RoleHost, nil)

	oversized := binary.AppendUvarint(nil, 1<<20)
	malformed := append(binary.AppendUvarint(nil, 3), 0xff, 0xff, 0xff)
	// Field 2047 as a varint: valid protobuf that sets no payload.
	unknownField := append(binary.AppendUvarint(nil, 3), 0xf8, 0x7f, 0x01)
	for i, frame := range [][]byte{oversized, malformed, unknownField} {
		s := join(t, tn, meetingID, fmt.Sprintf("bad-%d", i), jointoken.RoleParticipant, nil)
		if err := s.Client.WriteRaw(frame); err != nil {
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
	host.expect("self-mute after bad frames", isSelfMute(host.ID(), true, false))
	for _, kind := range []string{"meeting", "connection", "meeting_controller"} {
		if got := metric(t, tn, panicsTotal, kind); got != 0 {
			t.Fatalf("%s panics after bad frames: got %v, want 0", kind, got)
		}
	}
}
