package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/convene/convene/messages/signalingv1"
)

// MaxReasonBytes bounds the free-text reason of a mute, removal or end.
const MaxReasonBytes = 256

// onSelfMute sets the sender's own mute state. Lifting a self-mute on a
// kind that a host muted is rejected: the host mute is enforced.
func (m *Meeting) onSelfMute(c actor.Context, p *participant, seq uint64, req *signalingv1.SelfMuteRequest) {
	host := p.rec.GetHostMute()
	if (host.GetAudio() && !req.GetAudio()) || (host.GetVideo() && !req.GetVideo()) {
		m.sendError(c, p.conn, seq, signalingv1.ErrorCode_ERROR_CODE_HOST_MUTED,
			"a host muted this media; send an unmute request")
		return
	}
	p.rec.SelfMute = &signalingv1.MuteState{Audio: req.GetAudio(), Video: req.GetVideo()}
	// Once a flush is pending, later updates join it, so that nobody gets
	// the same state twice.
	if m.dirty != nil || m.cfg.Overload.Critical(c.Self().GetId()) {
		m.coalesce(c, p)
		return
	}
	// Self-mute is informational, so a failed save does not block it.
	if err := m.persist(); err != nil {
		m.saveFailed(c, err)
	}
	m.broadcast(c, participantUpdated(p), "")
}

// coalesce defers a self-mute broadcast while the Meeting's mailbox is
// critical: one flush, queued behind the backlog, broadcasts each changed
// participant once and saves once, however many updates came in between.
func (m *Meeting) coalesce(c actor.Context, p *participant) {
	if m.dirty == nil {
		m.dirty = make(map[ParticipantID]struct{})
		m.log.Warn("meeting mailbox critical: coalescing self-mute updates")
		c.Send(c.Self(), &flushUpdates{})
	}
	if _, pending := m.dirty[p.id()]; pending {
		m.cfg.Observer.MessageDropped("coalesced")
	}
	m.dirty[p.id()] = struct{}{}
}

// onFlushUpdates broadcasts the coalesced self-mute changes.
func (m *Meeting) onFlushUpdates(c actor.Context) {
	dirty := m.dirty
	m.dirty = nil
	if err := m.persist(); err != nil {
		m.saveFailed(c, err)
	}
	for _, id := range m.order {
		if _, ok := dirty[id]; ok {
			m.broadcast(c, participantUpdated(m.participants[id]), "")
		}
	}
	m.log.Info("meeting flushed coalesced updates", "participants", len(dirty))
}

// onHostMute host-mutes a participant on behalf of a host.
func (m *Meeting) onHostMute(c actor.Context, sender *participant, seq uint64, req *signalingv1.HostMuteRequest) {
	if !sender.isHost() {
		m.sendError(c, sender.conn, seq, signalingv1.ErrorCode_ERROR_CODE_PERMISSION_DENIED, "host mute needs the host role")
		return
	}
	target, code, text := m.checkMute(req.GetParticipantId(), req.GetAudio(), req.GetVideo(), req.GetReason())
	if code != signalingv1.ErrorCode_ERROR_CODE_UNSPECIFIED {
		m.sendError(c, sender.conn, seq, code, text)
		return
	}
	if err := m.applyHostMute(c, target, req.GetAudio(), req.GetVideo(), string(sender.id()), req.GetReason()); err != nil {
		m.sendError(c, sender.conn, seq, signalingv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "meeting state could not be saved; try again")
	}
}

// checkMute validates a host mute from a host or the control API.
func (m *Meeting) checkMute(targetID string, audio, video bool, reason string) (*participant, signalingv1.ErrorCode, string) {
	if !audio && !video {
		return nil, signalingv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "host mute needs audio or video"
	}
	if len(reason) > MaxReasonBytes {
		return nil, signalingv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, fmt.Sprintf("reason: longer than %d bytes", MaxReasonBytes)
	}
	target, ok := m.participants[ParticipantID(targetID)]
	if !ok {
		return nil, signalingv1.ErrorCode_ERROR_CODE_NOT_FOUND, "participant not found"
	}
	return target, signalingv1.ErrorCode_ERROR_CODE_UNSPECIFIED, ""
}

// applyHostMute sets the host tier, saves, and broadcasts the change. On a
// failed save the change is undone and the error returned.
func (m *Meeting) applyHostMute(c actor.Context, target *participant, audio, video bool, by, reason string) error {
	previous := cloneRecord(target.rec)
	mute := target.rec.GetHostMute()
	target.rec.HostMute = &signalingv1.MuteState{
		Audio: mute.GetAudio() || audio,
		Video: mute.GetVideo() || video,
	}
	target.rec.HostMutedBy = by
	target.rec.HostMuteReason = reason
	if err := m.persist(); err != nil {
		target.rec = previous
		m.saveFailed(c, err)
		return err
	}
	target.log.Info("participant host-muted", "audio", audio, "video", video, "by", by)
	m.broadcast(c, participantUpdated(target), "")
	return nil
}

// onUnmuteRequest forwards a host-muted participant's request to the hosts.
// It stays pending, so hosts who join later receive it too.
func (m *Meeting) onUnmuteRequest(c actor.Context, p *participant, seq uint64, req *signalingv1.UnmuteRequest) {
	if !req.GetAudio() && !req.GetVideo() {
		m.sendError(c, p.conn, seq, signalingv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "unmute request needs audio or video")
		return
	}
	host := p.rec.GetHostMute()
	want := &signalingv1.MuteState{Audio: req.GetAudio() && host.GetAudio(), Video: req.GetVideo() && host.GetVideo()}
	if !want.GetAudio() && !want.GetVideo() {
		m.sendError(c, p.conn, seq, signalingv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "the requested media is not host-muted")
		return
	}
	pending := p.rec.GetUnmuteRequested()
	if pending.GetAudio() == want.GetAudio() && pending.GetVideo() == want.GetVideo() {
		// The hosts already have this request; repeating it would let one
		// participant flood them.
		return
	}
	p.rec.UnmuteRequested = want
	if err := m.persist(); err != nil {
		m.saveFailed(c, err)
	}
	p.log.Info("participant requested unmute", "audio", want.GetAudio(), "video", want.GetVideo())
	m.sendToHosts(c, unmuteRequested(p), p.id())
}

// onUnmuteDecision applies a host's decision. An approval lifts the host
// mute of the decided kinds and never touches the self-mute.
func (m *Meeting) onUnmuteDecision(c actor.Context, host *participant, seq uint64, d *signalingv1.UnmuteDecision) {
	if !host.isHost() {
		m.sendError(c, host.conn, seq, signalingv1.ErrorCode_ERROR_CODE_PERMISSION_DENIED, "unmute decision needs the host role")
		return
	}
	target, ok := m.participants[ParticipantID(d.GetParticipantId())]
	if !ok {
		m.sendError(c, host.conn, seq, signalingv1.ErrorCode_ERROR_CODE_NOT_FOUND, "participant not found")
		return
	}
	audio, video := d.GetAudio(), d.GetVideo()
	if !audio && !video {
		// No kinds named: decide on the pending request.
		pending := target.rec.GetUnmuteRequested()
		audio, video = pending.GetAudio(), pending.GetVideo()
	}
	if !audio && !video {
		m.sendError(c, host.conn, seq, signalingv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "no pending unmute request; name audio or video")
		return
	}

	previous := cloneRecord(target.rec)
	pending := target.rec.GetUnmuteRequested()
	target.rec.UnmuteRequested = &signalingv1.MuteState{Audio: pending.GetAudio() && !audio, Video: pending.GetVideo() && !video}
	changed := false
	if d.GetApproved() {
		mute := target.rec.GetHostMute()
		lifted := &signalingv1.MuteState{Audio: mute.GetAudio() && !audio, Video: mute.GetVideo() && !video}
		changed = lifted.GetAudio() != mute.GetAudio() || lifted.GetVideo() != mute.GetVideo()
		target.rec.HostMute = lifted
		if !lifted.GetAudio() && !lifted.GetVideo() {
			target.rec.HostMutedBy = ""
			target.rec.HostMuteReason = ""
		}
	}
	if err := m.persist(); err != nil {
		target.rec = previous
		m.saveFailed(c, err)
		m.sendError(c, host.conn, seq, signalingv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "meeting state could not be saved; try again")
		return
	}

	target.log.Info("unmute decided", "approved", d.GetApproved(), "audio", audio, "video", video, "by", host.id())
	decided := &signalingv1.ServerMessage{Payload: &signalingv1.ServerMessage_UnmuteDecided{UnmuteDecided: &signalingv1.UnmuteDecided{
		ParticipantId: string(target.id()),
		Audio:         audio,
		Video:         video,
		Approved:      d.GetApproved(),
		DecidedBy:     string(host.id()),
	}}}
	m.send(c, target.conn, decided)
	m.sendToHosts(c, decided, target.id())
	if changed {
		m.broadcast(c, participantUpdated(target), "")
	}
}

func unmuteRequested(p *participant) *signalingv1.ServerMessage {
	pending := p.rec.GetUnmuteRequested()
	return &signalingv1.ServerMessage{Payload: &signalingv1.ServerMessage_UnmuteRequested{UnmuteRequested: &signalingv1.UnmuteRequested{
		ParticipantId: string(p.id()),
		Audio:         pending.GetAudio(),
		Video:         pending.GetVideo(),
	}}}
}
