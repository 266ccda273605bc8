package demo

import (
	"fmt"
	"strings"

	"github.com/convene/convene/messages/signalingv1"
)

// names maps participant ids to the demo's display names, so transcripts
// read the same on every run.
type names map[string]string

func (n names) of(id string) string {
	if name, ok := n[id]; ok {
		return name
	}
	return id
}

// describe renders a server message as one stable transcript line.
func (n names) describe(msg *signalingv1.ServerMessage) string {
	switch p := msg.GetPayload().(type) {
	case *signalingv1.ServerMessage_JoinResponse:
		r := p.JoinResponse
		roster := make([]string, 0, len(r.GetRoster()))
		for _, member := range r.GetRoster() {
			roster = append(roster, n.participant(member))
		}
		return fmt.Sprintf("join_response resumed=%v result=%s role=%s roster=[%s]",
			r.GetResumed(), short(r.GetResumeResult().String(), "RESUME_RESULT_"), short(r.GetRole().String(), "ROLE_"), strings.Join(roster, "; "))
	case *signalingv1.ServerMessage_ParticipantJoined:
		return "participant_joined " + n.participant(p.ParticipantJoined.GetParticipant())
	case *signalingv1.ServerMessage_ParticipantUpdated:
		return "participant_updated " + n.participant(p.ParticipantUpdated.GetParticipant())
	case *signalingv1.ServerMessage_ParticipantLeft:
		return fmt.Sprintf("participant_left %s reason=%s", n.of(p.ParticipantLeft.GetParticipantId()), short(p.ParticipantLeft.GetReason().String(), "LEAVE_REASON_"))
	case *signalingv1.ServerMessage_UnmuteRequested:
		r := p.UnmuteRequested
		return fmt.Sprintf("unmute_requested %s %s", n.of(r.GetParticipantId()), kinds(r.GetAudio(), r.GetVideo()))
	case *signalingv1.ServerMessage_UnmuteDecided:
		d := p.UnmuteDecided
		return fmt.Sprintf("unmute_decided %s %s approved=%v by=%s", n.of(d.GetParticipantId()), kinds(d.GetAudio(), d.GetVideo()), d.GetApproved(), n.of(d.GetDecidedBy()))
	case *signalingv1.ServerMessage_MeetingEnded:
		return fmt.Sprintf("meeting_ended reason=%q", p.MeetingEnded.GetReason())
	case *signalingv1.ServerMessage_Error:
		return fmt.Sprintf("error %s", short(p.Error.GetCode().String(), "ERROR_CODE_"))
	case *signalingv1.ServerMessage_Goodbye:
		return fmt.Sprintf("goodbye %s", short(p.Goodbye.GetReason().String(), "GOODBYE_REASON_"))
	case *signalingv1.ServerMessage_Pong:
		return "pong"
	case *signalingv1.ServerMessage_Redirect:
		return "redirect " + p.Redirect.GetSignalingUrl()
	default:
		return fmt.Sprintf("unknown %T", p)
	}
}

func (n names) participant(p *signalingv1.Participant) string {
	state := "connected"
	if p.GetConnectionState() == signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED {
		state = "disconnected"
	}
	text := fmt.Sprintf("%s(%s, %s, self-mute %s, host-mute %s", n.of(p.GetParticipantId()),
		short(p.GetRole().String(), "ROLE_"), state,
		kinds(p.GetSelfMute().GetAudio(), p.GetSelfMute().GetVideo()),
		kinds(p.GetHostMute().GetAudio(), p.GetHostMute().GetVideo()))
	if by := p.GetHostMutedBy(); by != "" {
		text += " by " + n.of(by)
	}
	return text + ")"
}

func kinds(audio, video bool) string {
	switch {
	case audio && video:
		return "audio+video"
	case audio:
		return "audio"
	case video:
		return "video"
	default:
		return "none"
	}
}

func short(s, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(s, prefix))
}
