package demo

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/messages/signalingv1"
)

// view renders a roster entry the way names.participant does.
func view(name, role, state, self, host, by string) string {
	text := fmt.Sprintf("%s(%s, %s, self-mute %s, host-mute %s", name, role, state, self, host)
	if by != "" {
		text += " by " + by
	}
	return text + ")"
}

// play runs the scripted meeting. Failures are collected, not returned, so
// that the transcript shows every step.
func (d *demo) play() {
	alice := view("alice", "host", "connected", "none", "none", "")
	bob := view("bob", "participant", "connected", "none", "none", "")
	bobMuted := view("bob", "participant", "connected", "audio", "none", "")
	bobAway := view("bob", "participant", "disconnected", "audio", "none", "")
	carol := view("carol", "participant", "connected", "none", "none", "")
	carolHostMuted := view("carol", "participant", "connected", "none", "audio", "alice")
	dave := view("dave", "participant", "connected", "none", "none", "")
	daveAway := view("dave", "participant", "disconnected", "none", "none", "")
	bob2 := view("bob#2", "participant", "connected", "none", "none", "")

	d.step("the global controller assigns the meeting over gRPC", func() error {
		ctx, cancel := d.controlCtx()
		defer cancel()
		resp, err := d.control.AssignMeeting(ctx, &controlv1.AssignMeetingRequest{
			MeetingId:              MeetingID,
			RequestingControllerId: "demo",
			MediaHandlers:          []*signalingv1.MediaHandler{{Id: "mh-1", Url: "https://media-1.example.invalid", Region: "local"}},
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(d.out, "   control   AssignMeeting: accepted=%v generation=%d\n", resp.GetAccepted(), resp.GetGeneration())
		if !resp.GetAccepted() || resp.GetSignalingUrl() != d.url {
			return fmt.Errorf("assignment: accepted=%v url=%q, want accepted at %q", resp.GetAccepted(), resp.GetSignalingUrl(), d.url)
		}
		return nil
	})

	d.step("alice joins as host", func() error {
		p, err := d.joinAs("alice", "user-alice", jointoken.RoleHost, "", "")
		if err != nil {
			return err
		}
		d.checkJoin(p, "join_response resumed=false result=not_requested role=host roster=["+alice+"]")
		d.expect(nil)
		return nil
	})
	d.step("bob joins", func() error {
		p, err := d.joinAs("bob", "user-bob", jointoken.RoleParticipant, "", "")
		if err != nil {
			return err
		}
		d.checkJoin(p, "join_response resumed=false result=not_requested role=participant roster=["+alice+"; "+bob+"]")
		d.expect(map[string][]string{"alice": {"participant_joined " + bob}})
		return nil
	})
	d.step("carol joins", func() error {
		p, err := d.joinAs("carol", "user-carol", jointoken.RoleParticipant, "", "")
		if err != nil {
			return err
		}
		d.checkJoin(p, "join_response resumed=false result=not_requested role=participant roster=["+alice+"; "+bob+"; "+carol+"]")
		joined := []string{"participant_joined " + carol}
		d.expect(map[string][]string{"alice": joined, "bob": joined})
		return nil
	})
	d.step("dave joins", func() error {
		p, err := d.joinAs("dave", "user-dave", jointoken.RoleParticipant, "", "")
		if err != nil {
			return err
		}
		d.checkJoin(p, "join_response resumed=false result=not_requested role=participant roster=["+alice+"; "+bob+"; "+carol+"; "+dave+"]")
		joined := []string{"participant_joined " + dave}
		d.expect(map[string][]string{"alice": joined, "bob": joined, "carol": joined})
		return nil
	})

	d.step("bob mutes his own audio", func() error {
		if err := d.send("bob", selfMute(true, false)); err != nil {
			return err
		}
		updated := []string{"participant_updated " + bobMuted}
		d.expect(map[string][]string{"alice": updated, "bob": updated, "carol": updated, "dave": updated})
		return nil
	})
	d.step("alice host-mutes carol's audio", func() error {
		if err := d.send("alice", hostMute(d.clients["carol"].join.GetParticipantId(), true, false)); err != nil {
			return err
		}
		updated := []string{"participant_updated " + carolHostMuted}
		d.expect(map[string][]string{"alice": updated, "bob": updated, "carol": updated, "dave": updated})
		return nil
	})
	d.step("carol tries to unmute her audio herself and is refused", func() error {
		if err := d.send("carol", selfMute(false, false)); err != nil {
			return err
		}
		d.expect(map[string][]string{"carol": {"error host_muted"}})
		return nil
	})
	d.step("carol asks the hosts to unmute her audio", func() error {
		if err := d.send("carol", &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_UnmuteRequest{UnmuteRequest: &signalingv1.UnmuteRequest{Audio: true}}}); err != nil {
			return err
		}
		d.expect(map[string][]string{"alice": {"unmute_requested carol audio"}})
		return nil
	})
	d.step("alice approves; carol's host mute is lifted and her self-mute is untouched", func() error {
		decision := &signalingv1.UnmuteDecision{ParticipantId: d.clients["carol"].join.GetParticipantId(), Audio: true, Approved: true}
		if err := d.send("alice", &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_UnmuteDecision{UnmuteDecision: decision}}); err != nil {
			return err
		}
		decided := "unmute_decided carol audio approved=true by=alice"
		updated := "participant_updated " + carol
		d.expect(map[string][]string{
			"alice": {decided, updated}, "carol": {decided, updated},
			"bob": {updated}, "dave": {updated},
		})
		return nil
	})
	d.step("dave, not a host, tries to host-mute bob and is refused", func() error {
		if err := d.send("dave", hostMute(d.clients["bob"].join.GetParticipantId(), true, true)); err != nil {
			return err
		}
		d.expect(map[string][]string{"dave": {"error permission_denied"}})
		return nil
	})

	var consumedBobToken string
	d.step("bob's connection drops", func() error {
		consumedBobToken = d.clients["bob"].join.GetBindingToken()
		if err := d.drop("bob"); err != nil {
			return err
		}
		updated := []string{"participant_updated " + bobAway}
		d.expect(map[string][]string{"alice": updated, "carol": updated, "dave": updated})
		return nil
	})
	d.step("bob resumes with his binding token and keeps his state", func() error {
		bobID, correlation := d.participantIDs["bob"], d.correlations["bob"]
		p, err := d.joinAs("bob", "user-bob", jointoken.RoleParticipant, correlation, consumedBobToken)
		if err != nil {
			return err
		}
		d.checkJoin(p, "join_response resumed=true result=resumed role=participant roster=["+alice+"; "+bobMuted+"; "+carol+"; "+dave+"]")
		if p.join.GetParticipantId() != bobID {
			return fmt.Errorf("resumed participant id %q, want %q", p.join.GetParticipantId(), bobID)
		}
		if p.join.GetBindingToken() == consumedBobToken {
			return errors.New("resume returned the consumed binding token")
		}
		updated := []string{"participant_updated " + bobMuted}
		d.expect(map[string][]string{"alice": updated, "carol": updated, "dave": updated})
		return nil
	})
	d.step("someone replays bob's consumed binding token: no resume, a new participant", func() error {
		p, err := d.joinAs("bob#2", "user-bob", jointoken.RoleParticipant, d.correlationOf("bob"), consumedBobToken)
		if err != nil {
			return err
		}
		d.checkJoin(p, "join_response resumed=false result=rejected_replayed role=participant roster=["+alice+"; "+bobMuted+"; "+carol+"; "+dave+"; "+bob2+"]")
		joined := []string{"participant_joined " + bob2}
		d.expect(map[string][]string{"alice": joined, "bob": joined, "carol": joined, "dave": joined})
		return nil
	})
	d.step("bob#2 leaves", func() error {
		if err := d.send("bob#2", leave()); err != nil {
			return err
		}
		left := []string{"participant_left bob#2 reason=voluntary"}
		d.expect(map[string][]string{"bob#2": {"goodbye left"}, "alice": left, "bob": left, "carol": left, "dave": left})
		d.expectClosed("bob#2", signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_LEFT)
		return nil
	})

	d.step(fmt.Sprintf("dave's connection drops and he does not come back within %s", d.grace), func() error {
		if err := d.drop("dave"); err != nil {
			return err
		}
		seen := []string{"participant_updated " + daveAway, "participant_left dave reason=timeout"}
		d.expect(map[string][]string{"alice": seen, "bob": seen, "carol": seen})
		return nil
	})
	d.step("carol leaves", func() error {
		if err := d.send("carol", leave()); err != nil {
			return err
		}
		left := []string{"participant_left carol reason=voluntary"}
		d.expect(map[string][]string{"carol": {"goodbye left"}, "alice": left, "bob": left})
		d.expectClosed("carol", signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_LEFT)
		return nil
	})

	bobCorrelation, bobToken := d.correlationOf("bob"), d.clients["bob"].join.GetBindingToken()
	d.step("the global controller ends the meeting", func() error {
		ctx, cancel := d.controlCtx()
		defer cancel()
		if _, err := d.control.EndMeeting(ctx, &controlv1.EndMeetingRequest{MeetingId: MeetingID, Reason: "standup over"}); err != nil {
			return err
		}
		ended := []string{`meeting_ended reason="standup over"`, "goodbye meeting_ended"}
		d.expect(map[string][]string{"alice": ended, "bob": ended})
		d.expectClosed("alice", signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_MEETING_ENDED)
		d.expectClosed("bob", signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_MEETING_ENDED)
		return nil
	})
	d.step("after the end, nobody can resume and the meeting is gone", func() error {
		_, err := d.joinAs("bob", "user-bob", jointoken.RoleParticipant, bobCorrelation, bobToken)
		var serverErr *client.ServerError
		if !errors.As(err, &serverErr) || serverErr.Err.GetCode() != signalingv1.ErrorCode_ERROR_CODE_NOT_FOUND {
			return fmt.Errorf("resume after end: got %v, want error not_found", err)
		}
		fmt.Fprintf(d.out, "   bob       resume rejected: %s\n", short(serverErr.Err.GetCode().String(), "ERROR_CODE_"))

		ctx, cancel := d.controlCtx()
		defer cancel()
		_, err = d.control.GetMeeting(ctx, &controlv1.GetMeetingRequest{MeetingId: MeetingID})
		if status.Code(err) != codes.NotFound {
			return fmt.Errorf("GetMeeting after end: got %v, want NotFound", err)
		}
		fmt.Fprintf(d.out, "   control   GetMeeting: %s\n", status.Code(err))
		return nil
	})
}

// correlationOf returns the correlation id of a demo user's participant.
func (d *demo) correlationOf(name string) string { return d.correlations[name] }

func selfMute(audio, video bool) *signalingv1.ClientMessage {
	return &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_SelfMute{SelfMute: &signalingv1.SelfMuteRequest{Audio: audio, Video: video}}}
}

func hostMute(participantID string, audio, video bool) *signalingv1.ClientMessage {
	return &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_HostMute{HostMute: &signalingv1.HostMuteRequest{ParticipantId: participantID, Audio: audio, Video: video}}}
}

func leave() *signalingv1.ClientMessage {
	return &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_Leave{Leave: &signalingv1.LeaveRequest{}}}
}
