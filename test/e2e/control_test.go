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
	tn := startNode(t, nil, node.Options{})
	meetings := []string{"m-a", "m-b", "m-c"}
	first := map[string]*controlv1.AssignMeetingResponse{}
	for _, id := range meetings {
		first[id] = tn.assign(t, id)
	}

	t.Run("assign", func(t *testing.T) {
		resp := first["m-a"]
		if resp.GetSignalingUrl() != tn.endpoints.SignalingURL {
			t.Errorf("signaling_url: got %q, want %q", resp.GetSignalingUrl(), tn.endpoints.SignalingURL)
		}
		if resp.GetCertificateSha256() != tn.endpoints.CertificateSHA256 {
			t.Errorf("certificate_sha256: got %q, want %q", resp.GetCertificateSha256(), tn.endpoints.CertificateSHA256)
		}
		if resp.GetNodeId() != tn.endpoints.NodeID {
			t.Errorf("node_id: got %q, want %q", resp.GetNodeId(), tn.endpoints.NodeID)
		}
		if resp.GetGeneration() == 0 {
			t.Error("generation: got 0, want positive")
		}
	})

	t.Run("assign again is idempotent", func(t *testing.T) {
		again := tn.assign(t, "m-a")
		if again.GetGeneration() != first["m-a"].GetGeneration() {
			t.Errorf("generation of a repeated assignment: got %d, want %d", again.GetGeneration(), first["m-a"].GetGeneration())
		}
		if again.GetSignalingUrl() != first["m-a"].GetSignalingUrl() {
			t.Errorf("signaling_url of a repeated assignment: got %q, want %q", again.GetSignalingUrl(), first["m-a"].GetSignalingUrl())
		}
	})

	host := tn.join(t, "m-a", "user-host", jointoken.RoleHost)
	bob := tn.join(t, "m-a", "user-bob", jointoken.RoleParticipant)
	carol := tn.join(t, "m-a", "user-carol", jointoken.RoleParticipant)

	t.Run("get meeting", func(t *testing.T) {
		m := tn.getMeeting(t, "m-a")
		if m.GetMeetingId() != "m-a" || m.GetNodeId() != tn.endpoints.NodeID || m.GetRequestingControllerId() != "e2e" {
			t.Errorf("meeting: got id %q node %q controller %q, want m-a, %q, e2e",
				m.GetMeetingId(), m.GetNodeId(), m.GetRequestingControllerId(), tn.endpoints.NodeID)
		}
		var ids []string
		for _, p := range m.GetParticipants() {
			ids = append(ids, p.GetParticipantId())
		}
		for _, want := range []string{host.id(), bob.id(), carol.id()} {
			if !slices.Contains(ids, want) {
				t.Errorf("participants: got %v, want it to contain %q", ids, want)
			}
		}
	})

	t.Run("list meetings in pages of one", func(t *testing.T) {
		var got []string
		token := ""
		for page := 0; page < len(meetings)+2; page++ {
			resp, err := tn.control.ListMeetings(tn.controlCtx(t), &controlv1.ListMeetingsRequest{PageSize: 1, PageToken: token})
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
		resp, err := tn.control.GetNodeStatus(tn.controlCtx(t), &controlv1.GetNodeStatusRequest{})
		if err != nil {
			t.Fatalf("GetNodeStatus: %v", err)
		}
		if resp.GetMeetings() != 3 || resp.GetParticipants() != 3 {
			t.Errorf("counts: got %d meetings, %d participants, want 3 and 3", resp.GetMeetings(), resp.GetParticipants())
		}
		if !resp.GetReady() || resp.GetDraining() {
			t.Errorf("state: got ready=%v draining=%v, want ready and not draining", resp.GetReady(), resp.GetDraining())
		}
		if resp.GetNodeId() != tn.endpoints.NodeID || resp.GetSignalingUrl() != tn.endpoints.SignalingURL {
			t.Errorf("identity: got node %q url %q, want %q and %q", resp.GetNodeId(), resp.GetSignalingUrl(), tn.endpoints.NodeID, tn.endpoints.SignalingURL)
		}
		if resp.GetMaxMeetings() != uint32(tn.cfg.MaxMeetings) || resp.GetMaxParticipants() != uint32(tn.cfg.MaxParticipants) {
			t.Errorf("limits: got %d meetings, %d participants, want %d and %d",
				resp.GetMaxMeetings(), resp.GetMaxParticipants(), tn.cfg.MaxMeetings, tn.cfg.MaxParticipants)
		}
	})

	t.Run("mute participant", func(t *testing.T) {
		resp, err := tn.control.MuteParticipant(tn.controlCtx(t), &controlv1.MuteParticipantRequest{
			MeetingId: "m-a", ParticipantId: carol.id(), Audio: true, Reason: "platform policy",
		})
		if err != nil {
			t.Fatalf("MuteParticipant: %v", err)
		}
		p := resp.GetParticipant()
		if !p.GetHostMute().GetAudio() || p.GetHostMute().GetVideo() || p.GetHostMutedBy() != "control-api" {
			t.Errorf("muted participant: got host_mute %v by %q, want audio only by control-api", p.GetHostMute(), p.GetHostMutedBy())
		}
		expectMessage(t, carol.client, "own host-mute update", func(m *signalingv1.ServerMessage) bool {
			u := m.GetParticipantUpdated().GetParticipant()
			return u.GetParticipantId() == carol.id() && u.GetHostMutedBy() == "control-api" && u.GetHostMuteReason() == "platform policy"
		})
	})

	t.Run("remove participant", func(t *testing.T) {
		_, err := tn.control.RemoveParticipant(tn.controlCtx(t), &controlv1.RemoveParticipantRequest{
			MeetingId: "m-a", ParticipantId: bob.id(), Reason: "removed by test",
		})
		if err != nil {
			t.Fatalf("RemoveParticipant: %v", err)
		}
		expectGoodbye(t, bob.client, signalingv1.GoodbyeReason_GOODBYE_REASON_REMOVED)
		expectClosed(t, bob.client, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_REMOVED)
		expectMessage(t, host.client, "bob left with REMOVED", isLeftOf(bob.id(), signalingv1.LeaveReason_LEAVE_REASON_REMOVED))
		if entry := tn.rosterEntry(t, "m-a", bob.id()); entry != nil {
			t.Errorf("GetMeeting lists a removed participant: %v", entry)
		}
	})

	t.Run("unknown participant", func(t *testing.T) {
		_, err := tn.control.RemoveParticipant(tn.controlCtx(t), &controlv1.RemoveParticipantRequest{MeetingId: "m-a", ParticipantId: "p-unknown"})
		expectCode(t, err, codes.NotFound)
		_, err = tn.control.MuteParticipant(tn.controlCtx(t), &controlv1.MuteParticipantRequest{MeetingId: "m-a", ParticipantId: "p-unknown", Audio: true})
		expectCode(t, err, codes.NotFound)
	})

	t.Run("wrong bearer token", func(t *testing.T) {
		calls := map[string]func(context.Context) error{
			"AssignMeeting": func(ctx context.Context) error {
				_, err := tn.control.AssignMeeting(ctx, &controlv1.AssignMeetingRequest{MeetingId: "m-x"})
				return err
			},
			"GetMeeting": func(ctx context.Context) error {
				_, err := tn.control.GetMeeting(ctx, &controlv1.GetMeetingRequest{MeetingId: "m-a"})
				return err
			},
			"GetNodeStatus": func(ctx context.Context) error {
				_, err := tn.control.GetNodeStatus(ctx, &controlv1.GetNodeStatusRequest{})
				return err
			},
		}
		for name, call := range calls {
			t.Run(name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
				defer cancel()
				wrong := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tn.token+"x")
				expectCode(t, call(wrong), codes.Unauthenticated)
				expectCode(t, call(ctx), codes.Unauthenticated)
			})
		}
		resp, err := tn.control.ListMeetings(tn.controlCtx(t), &controlv1.ListMeetingsRequest{})
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
	tn := startNode(t, nil, node.Options{})
	tn.assign(t, "m-c")
	ended := tn.join(t, "m-c", "user-ended", jointoken.RoleParticipant)

	_, err := tn.control.EndMeeting(tn.controlCtx(t), &controlv1.EndMeetingRequest{MeetingId: "m-c", Reason: "over"})
	if err != nil {
		t.Fatalf("EndMeeting: %v", err)
	}
	msg := expectMessage(t, ended.client, "meeting_ended", func(m *signalingv1.ServerMessage) bool { return m.GetMeetingEnded() != nil })
	if got := msg.GetMeetingEnded().GetReason(); got != "over" {
		t.Errorf("meeting_ended reason: got %q, want %q", got, "over")
	}
	expectGoodbye(t, ended.client, signalingv1.GoodbyeReason_GOODBYE_REASON_MEETING_ENDED)
	expectClosed(t, ended.client, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_MEETING_ENDED)

	_, err = tn.control.GetMeeting(tn.controlCtx(t), &controlv1.GetMeetingRequest{MeetingId: "m-c"})
	expectCode(t, err, codes.NotFound)

	if _, err := joinOn(tn.dial(t), client.JoinParams{
		MeetingID: "m-c", JoinToken: tn.mint(t, "m-c", ended.user, jointoken.RoleParticipant), DisplayName: "late",
		CorrelationID: ended.resp.GetCorrelationId(), BindingToken: ended.resp.GetBindingToken(),
	}); err == nil {
		t.Fatal("resume after EndMeeting: got a join response, want rejected")
	}

	t.Run("unknown meeting", func(t *testing.T) {
		_, err := tn.control.GetMeeting(tn.controlCtx(t), &controlv1.GetMeetingRequest{MeetingId: "m-unknown"})
		expectCode(t, err, codes.NotFound)
	})

}

func TestControl_Drain(t *testing.T) {
	const meetingID = "m-drain"
	tn := startNode(t, nil, node.Options{})
	tn.assign(t, meetingID)
	open := tn.join(t, meetingID, "user-open", jointoken.RoleParticipant)

	stopped := make(chan error, 1)
	go func() { stopped <- tn.stop() }()

	// The first assignments may still be accepted before Stop marks the
	// node draining; the loop ends at the first one that is not.
	var observed string
	for i := 0; i < 500 && observed == ""; i++ {
		resp, err := tn.control.AssignMeeting(tn.controlCtx(t), &controlv1.AssignMeetingRequest{MeetingId: "m-during-drain"})
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
		expectGoodbye(t, open.client, signalingv1.GoodbyeReason_GOODBYE_REASON_DRAINING)
		expectClosed(t, open.client, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_DRAINING)
	})

	t.Run("new join refused", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		c, err := client.Dial(ctx, tn.endpoints.SignalingURL, wt.DialOptions{CertHashes: [][32]byte{tn.certHash}})
		if err != nil {
			t.Logf("dial during drain failed: %v", err)
			return
		}
		t.Cleanup(func() { _ = c.Close() })
		resp, err := joinOn(c, client.JoinParams{
			MeetingID: meetingID, JoinToken: tn.mint(t, meetingID, "user-late", jointoken.RoleParticipant), DisplayName: "late",
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
