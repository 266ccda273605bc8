package e2e

import (
	"context"
	"errors"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
	"github.com/convene/convene/test/testnode"
	"github.com/convene/convene/transport/wt"
)

// expectCode fails the test unless err carries the gRPC code want.
func expectCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("gRPC code: got %s (%v), want %s", got, err, want)
	}
}

func TestControl_Methods(t *testing.T) {
	tn := testnode.Start(t, nil, node.Options{})
	meetings := []string{"m-a", "m-b", "m-c"}
	first := map[string]*controlv1.AssignMeetingResponse{}
	for _, id := range meetings {
		first[id] = tn.Assign(t, id)
	}

	t.Run("assign", func(t *testing.T) {
		resp := first["m-a"]
		if resp.GetSignalingUrl() != tn.Endpoints.SignalingURL {
			t.Errorf("signaling_url: got %q, want %q", resp.GetSignalingUrl(), tn.Endpoints.SignalingURL)
		}
		if resp.GetCertificateSha256() != tn.Endpoints.CertificateSHA256 {
			t.Errorf("certificate_sha256: got %q, want %q", resp.GetCertificateSha256(), tn.Endpoints.CertificateSHA256)
		}
		if resp.GetNodeId() != tn.Endpoints.NodeID {
			t.Errorf("node_id: got %q, want %q", resp.GetNodeId(), tn.Endpoints.NodeID)
		}
		if resp.GetGeneration() == 0 {
			t.Error("generation: got 0, want positive")
		}
	})

	t.Run("assign again is idempotent", func(t *testing.T) {
		again := tn.Assign(t, "m-a")
		if again.GetGeneration() != first["m-a"].GetGeneration() {
			t.Errorf("generation of a repeated assignment: got %d, want %d", again.GetGeneration(), first["m-a"].GetGeneration())
		}
		if again.GetSignalingUrl() != first["m-a"].GetSignalingUrl() {
			t.Errorf("signaling_url of a repeated assignment: got %q, want %q", again.GetSignalingUrl(), first["m-a"].GetSignalingUrl())
		}
	})

	host := tn.Join(t, "m-a", "user-host", jointoken.RoleHost, client.JoinParams{})
	bob := tn.Join(t, "m-a", "user-bob", jointoken.RoleParticipant, client.JoinParams{})
	carol := tn.Join(t, "m-a", "user-carol", jointoken.RoleParticipant, client.JoinParams{})

	t.Run("get meeting", func(t *testing.T) {
		m := tn.GetMeeting(t, "m-a")
		if m.GetMeetingId() != "m-a" || m.GetNodeId() != tn.Endpoints.NodeID || m.GetRequestingControllerId() != testnode.ControllerID {
			t.Errorf("meeting: got id %q node %q controller %q, want m-a, %q, %q",
				m.GetMeetingId(), m.GetNodeId(), m.GetRequestingControllerId(), tn.Endpoints.NodeID, testnode.ControllerID)
		}
		var ids []string
		for _, p := range m.GetParticipants() {
			ids = append(ids, p.GetParticipantId())
		}
		for _, want := range []string{host.ID(), bob.ID(), carol.ID()} {
			if !slices.Contains(ids, want) {
				t.Errorf("participants: got %v, want it to contain %q", ids, want)
			}
		}
	})

	t.Run("list meetings in pages of one", func(t *testing.T) {
		var got []string
		token := ""
		for page := 0; page < len(meetings)+2; page++ {
			resp, err := tn.Control.ListMeetings(tn.ControlContext(t), &controlv1.ListMeetingsRequest{PageSize: 1, PageToken: token})
			if err != nil {
				t.Fatalf("ListMeetings page %d: %v", page, err)
			}
			if n := len(resp.GetMeetings()); n != 1 {
				t.Fatalf("ListMeetings page %d: got %d meetings, want 1", page, n)
			}
			summary := resp.GetMeetings()[0]
			got = append(got, summary.GetMeetingId())
			if summary.GetMeetingId() == "m-a" && (summary.GetParticipants() != 3 || summary.GetConnectedParticipants() != 3) {
				t.Errorf("m-a summary: got %d participants, %d connected, want 3 and 3",
					summary.GetParticipants(), summary.GetConnectedParticipants())
			}
			token = resp.GetNextPageToken()
			if token == "" {
				break
			}
		}
		if !slices.Equal(got, meetings) {
			t.Fatalf("meetings over all pages: got %v, want %v", got, meetings)
		}
	})

	t.Run("node status", func(t *testing.T) {
		resp, err := tn.Control.GetNodeStatus(tn.ControlContext(t), &controlv1.GetNodeStatusRequest{})
		if err != nil {
			t.Fatalf("GetNodeStatus: %v", err)
		}
		if resp.GetMeetings() != 3 || resp.GetParticipants() != 3 {
			t.Errorf("counts: got %d meetings, %d participants, want 3 and 3", resp.GetMeetings(), resp.GetParticipants())
		}
		if !resp.GetReady() || resp.GetDraining() {
			t.Errorf("state: got ready=%v draining=%v, want ready and not draining", resp.GetReady(), resp.GetDraining())
		}
		if resp.GetNodeId() != tn.Endpoints.NodeID || resp.GetSignalingUrl() != tn.Endpoints.SignalingURL {
			t.Errorf("identity: got node %q url %q, want %q and %q", resp.GetNodeId(), resp.GetSignalingUrl(), tn.Endpoints.NodeID, tn.Endpoints.SignalingURL)
		}
		if resp.GetMaxMeetings() != uint32(tn.Config.MaxMeetings) || resp.GetMaxParticipants() != uint32(tn.Config.MaxParticipants) {
			t.Errorf("limits: got %d meetings, %d participants, want %d and %d",
				resp.GetMaxMeetings(), resp.GetMaxParticipants(), tn.Config.MaxMeetings, tn.Config.MaxParticipants)
		}
	})

	t.Run("mute participant", func(t *testing.T) {
		resp, err := tn.Control.MuteParticipant(tn.ControlContext(t), &controlv1.MuteParticipantRequest{
			MeetingId: "m-a", ParticipantId: carol.ID(), Audio: true, Reason: "platform policy",
		})
		if err != nil {
			t.Fatalf("MuteParticipant: %v", err)
		}
		p := resp.GetParticipant()
		if !p.GetHostMute().GetAudio() || p.GetHostMute().GetVideo() || p.GetHostMutedBy() != "control-api" {
			t.Errorf("muted participant: got host_mute %v by %q, want audio only by control-api", p.GetHostMute(), p.GetHostMutedBy())
		}
		testnode.Expect(t, carol.Client, "own host-mute update", func(m *signalingv1.ServerMessage) bool {
			u := m.GetParticipantUpdated().GetParticipant()
			return u.GetParticipantId() == carol.ID() && u.GetHostMutedBy() == "control-api" && u.GetHostMuteReason() == "platform policy"
		})
	})

	t.Run("remove participant", func(t *testing.T) {
		_, err := tn.Control.RemoveParticipant(tn.ControlContext(t), &controlv1.RemoveParticipantRequest{
			MeetingId: "m-a", ParticipantId: bob.ID(), Reason: "removed by test",
		})
		if err != nil {
			t.Fatalf("RemoveParticipant: %v", err)
		}
		expectGoodbye(t, bob.Client, signalingv1.GoodbyeReason_GOODBYE_REASON_REMOVED)
		testnode.ExpectClosed(t, bob.Client, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_REMOVED)
		testnode.Expect(t, host.Client, "bob left with REMOVED", isLeftOf(bob.ID(), signalingv1.LeaveReason_LEAVE_REASON_REMOVED))
		if entry := rosterEntry(t, tn, "m-a", bob.ID()); entry != nil {
			t.Errorf("GetMeeting lists a removed participant: %v", entry)
		}
	})

	t.Run("unknown participant", func(t *testing.T) {
		_, err := tn.Control.RemoveParticipant(tn.ControlContext(t), &controlv1.RemoveParticipantRequest{MeetingId: "m-a", ParticipantId: "p-unknown"})
		expectCode(t, err, codes.NotFound)
		_, err = tn.Control.MuteParticipant(tn.ControlContext(t), &controlv1.MuteParticipantRequest{MeetingId: "m-a", ParticipantId: "p-unknown", Audio: true})
		expectCode(t, err, codes.NotFound)
	})

	t.Run("wrong bearer token", func(t *testing.T) {
		calls := map[string]func(context.Context) error{
			"AssignMeeting": func(ctx context.Context) error {
				_, err := tn.Control.AssignMeeting(ctx, &controlv1.AssignMeetingRequest{MeetingId: "m-x"})
				return err
			},
			"GetMeeting": func(ctx context.Context) error {
				_, err := tn.Control.GetMeeting(ctx, &controlv1.GetMeetingRequest{MeetingId: "m-a"})
				return err
			},
			"GetNodeStatus": func(ctx context.Context) error {
				_, err := tn.Control.GetNodeStatus(ctx, &controlv1.GetNodeStatusRequest{})
				return err
			},
		}
		for name, call := range calls {
			t.Run(name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), testnode.WaitTimeout)
				defer cancel()
				wrong := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tn.ControlToken+"x")
				expectCode(t, call(wrong), codes.Unauthenticated)
				expectCode(t, call(ctx), codes.Unauthenticated)
			})
		}
		resp, err := tn.Control.ListMeetings(tn.ControlContext(t), &controlv1.ListMeetingsRequest{})
		if err != nil {
			t.Fatalf("ListMeetings: %v", err)
		}
		for _, m := range resp.GetMeetings() {
			if m.GetMeetingId() == "m-x" {
				t.Error("ListMeetings lists m-x after a rejected AssignMeeting")
			}
		}
	})
}

// stoppedActivationRaceBug describes a data race that the race detector
// reports in the node's Stop after any meeting activation has stopped: after
// EndMeeting, and after a lookup of a meeting that does not run.
const stoppedActivationRaceBug = "BUG: protoactor-go (v0.0.0-20240822202345-3c0e61ca19c9) MemberList.BroadcastEvent " +
	"reads ml.members without ml.mutex; disthash placementActor.onTerminated calls it when a meeting " +
	"activation stops, and the next topology update (Cluster.Shutdown in node.Stop) writes it under " +
	"the mutex, so -race fails the test; it runs without -race"

// TestControl_MeetingNotFound covers EndMeeting and lookups of meetings
// that do not run. Both stop a meeting activation.
func TestControl_MeetingNotFound(t *testing.T) {
	if raceEnabled {
		t.Skip(stoppedActivationRaceBug)
	}
	tn := testnode.Start(t, nil, node.Options{})
	tn.Assign(t, "m-c")
	ended := tn.Join(t, "m-c", "user-ended", jointoken.RoleParticipant, client.JoinParams{})

	_, err := tn.Control.EndMeeting(tn.ControlContext(t), &controlv1.EndMeetingRequest{MeetingId: "m-c", Reason: "over"})
	if err != nil {
		t.Fatalf("EndMeeting: %v", err)
	}
	msg := testnode.Expect(t, ended.Client, "meeting_ended", func(m *signalingv1.ServerMessage) bool { return m.GetMeetingEnded() != nil })
	if got := msg.GetMeetingEnded().GetReason(); got != "over" {
		t.Errorf("meeting_ended reason: got %q, want %q", got, "over")
	}
	expectGoodbye(t, ended.Client, signalingv1.GoodbyeReason_GOODBYE_REASON_MEETING_ENDED)
	testnode.ExpectClosed(t, ended.Client, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_MEETING_ENDED)

	_, err = tn.Control.GetMeeting(tn.ControlContext(t), &controlv1.GetMeetingRequest{MeetingId: "m-c"})
	expectCode(t, err, codes.NotFound)

	if _, err := testnode.JoinOn(tn.Dial(t), client.JoinParams{
		MeetingID: "m-c", JoinToken: tn.Mint(t, "m-c", ended.User, jointoken.RoleParticipant), DisplayName: "late",
		CorrelationID: ended.Response.GetCorrelationId(), BindingToken: ended.Response.GetBindingToken(),
	}); err == nil {
		t.Fatal("resume after EndMeeting: got a join response, want rejected")
	}

	t.Run("unknown meeting", func(t *testing.T) {
		_, err := tn.Control.GetMeeting(tn.ControlContext(t), &controlv1.GetMeetingRequest{MeetingId: "m-unknown"})
		expectCode(t, err, codes.NotFound)
	})

}

func TestControl_Drain(t *testing.T) {
	const meetingID = "m-drain"
	tn := testnode.Start(t, nil, node.Options{})
	tn.Assign(t, meetingID)
	open := tn.Join(t, meetingID, "user-open", jointoken.RoleParticipant, client.JoinParams{})

	stopped := make(chan error, 1)
	go func() { stopped <- stop(tn) }()

	// The first assignments may still be accepted before Stop marks the
	// node draining; the loop ends at the first one that is not.
	var observed string
	for i := 0; i < 500 && observed == ""; i++ {
		resp, err := tn.Control.AssignMeeting(tn.ControlContext(t), &controlv1.AssignMeetingRequest{MeetingId: "m-during-drain"})
		switch {
		case err != nil:
			expectCode(t, err, codes.Unavailable)
			observed = "Unavailable: " + status.Convert(err).Message()
		case !resp.GetAccepted():
			if got := resp.GetRejectReason(); got != controlv1.RejectReason_REJECT_REASON_DRAINING {
				t.Fatalf("reject reason during drain: got %s, want DRAINING", got)
			}
			observed = "accepted=false " + resp.GetRejectReason().String()
		}
	}
	if observed == "" {
		t.Fatal("AssignMeeting accepted 500 meetings during drain, want a rejection")
	}
	t.Logf("AssignMeeting during drain: %s", observed)

	t.Run("open session gets a draining goodbye", func(t *testing.T) {
		expectGoodbye(t, open.Client, signalingv1.GoodbyeReason_GOODBYE_REASON_DRAINING)
		testnode.ExpectClosed(t, open.Client, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_DRAINING)
	})

	t.Run("new join refused", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), testnode.WaitTimeout)
		defer cancel()
		c, err := client.Dial(ctx, tn.Endpoints.SignalingURL, wt.DialOptions{CertHashes: [][32]byte{tn.CertHash}})
		if err != nil {
			t.Logf("dial during drain failed: %v", err)
			return
		}
		t.Cleanup(func() { _ = c.Close() })
		resp, err := testnode.JoinOn(c, client.JoinParams{
			MeetingID: meetingID, JoinToken: tn.Mint(t, meetingID, "user-late", jointoken.RoleParticipant), DisplayName: "late",
		})
		if err == nil {
			t.Fatalf("join during drain: got participant %q, want refused", resp.GetParticipantId())
		}
		var serverErr *client.ServerError
		if errors.As(err, &serverErr) {
			t.Logf("join during drain refused with %s", serverErr.Err.GetCode())
			return
		}
		t.Logf("join during drain refused: %v", err)
	})

	if err := <-stopped; err != nil {
		t.Errorf("node.Stop: %v", err)
	}
}
