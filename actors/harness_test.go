package actors_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/auth/binding"
	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/internal/clock"
	"github.com/convene/convene/messages/actorv1"
	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/store"
)

const (
	// waitTimeout bounds every wait for asynchronous behaviour.
	waitTimeout = 5 * time.Second
	// pollInterval is the pause between two checks of a condition.
	pollInterval = 2 * time.Millisecond
	// requestTimeout bounds one request to an actor.
	requestTimeout = 2 * time.Second
)

// errSessionClosed is what a fake stream's Read and Write return once the
// session is closed.
var errSessionClosed = errors.New("fake session closed")

// eventually polls cond until it reports true or waitTimeout passes, then
// fails the test with the last reason cond gave.
func eventually(t *testing.T, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %s", waitTimeout, why)
		}
		time.Sleep(pollInterval)
	}
}

// readResult is one value a fake stream's Read returns.
type readResult struct {
	msg *signalingv1.ClientMessage
	err error
}

// closeRecord is one call of a fake stream's Close.
type closeRecord struct {
	code   signalingv1.SessionCloseCode
	reason string
}

// fakeStream implements actors.Stream. Read returns what the test pushes;
// Write decodes each frame into the inbox; Close records its code. A gate
// set by block makes Write wait until release.
type fakeStream struct {
	reads chan readResult
	done  chan struct{}

	mu        sync.Mutex
	inbox     []*signalingv1.ServerMessage
	decodeErr []error
	closes    []closeRecord
	gate      chan struct{}
	blocked   int
}

func newFakeStream() *fakeStream {
	return &fakeStream{
		reads: make(chan readResult, 256),
		done:  make(chan struct{}),
	}
}

func (s *fakeStream) Read(m proto.Message) error {
	select {
	case r := <-s.reads:
		if r.err != nil {
			return r.err
		}
		proto.Merge(m, r.msg)
		return nil
	case <-s.done:
		return errSessionClosed
	}
}

func (s *fakeStream) Write(frame []byte) error {
	s.mu.Lock()
	gate := s.gate
	if gate != nil {
		s.blocked++
	}
	s.mu.Unlock()
	if gate != nil {
		<-gate
		s.mu.Lock()
		s.blocked--
		s.mu.Unlock()
	}

	msg := &signalingv1.ServerMessage{}
	err := framing.NewReader(bytes.NewReader(frame), actors.MaxServerMessageSize).Read(msg)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.decodeErr = append(s.decodeErr, err)
		return nil
	}
	s.inbox = append(s.inbox, msg)
	return nil
}

func (s *fakeStream) SetWriteDeadline(time.Time) error { return nil }

func (s *fakeStream) Close(code signalingv1.SessionCloseCode, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closes = append(s.closes, closeRecord{code: code, reason: reason})
	if len(s.closes) == 1 {
		close(s.done)
	}
}

// push hands the Connection's reader one client message.
func (s *fakeStream) push(msg *signalingv1.ClientMessage) { s.reads <- readResult{msg: msg} }

// fail makes the Connection's next Read return err.
func (s *fakeStream) fail(err error) { s.reads <- readResult{err: err} }

// block makes every later Write wait until release.
func (s *fakeStream) block() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
}

// release lets blocked and later writes through.
func (s *fakeStream) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

func (s *fakeStream) blockedWrites() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blocked
}

// messages returns a copy of the inbox.
func (s *fakeStream) messages() []*signalingv1.ServerMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*signalingv1.ServerMessage(nil), s.inbox...)
}

// closed returns the first close and whether there was one.
func (s *fakeStream) closed() (closeRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.closes) == 0 {
		return closeRecord{}, false
	}
	return s.closes[0], true
}

func (s *fakeStream) decodeErrors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.decodeErr...)
}

// recordingObserver counts observer events by name and label.
type recordingObserver struct {
	mu     sync.Mutex
	counts map[string]int
}

func newRecordingObserver() *recordingObserver {
	return &recordingObserver{counts: make(map[string]int)}
}

func (o *recordingObserver) add(key string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.counts[key]++
}

func (o *recordingObserver) count(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.counts[key]
}

func (o *recordingObserver) JoinFinished(result string, _ time.Duration) { o.add("join/" + result) }
func (o *recordingObserver) BindingChecked(result string)                { o.add("binding/" + result) }
func (o *recordingObserver) MessageReceived(kind string)                 { o.add("received/" + kind) }
func (o *recordingObserver) MessageSent(kind string)                     { o.add("sent/" + kind) }
func (o *recordingObserver) MessageDropped(reason string)                { o.add("dropped/" + reason) }
func (o *recordingObserver) GraceExpired()                               { o.add("grace_expired") }
func (o *recordingObserver) ActorPanicked(kind string)                   { o.add("panicked/" + kind) }
func (o *recordingObserver) ActorRestarted(kind string)                  { o.add("restarted/" + kind) }
func (o *recordingObserver) ResumeFinished(result string)                { o.add("resume/" + result) }

// harness is one test's actor system with a MeetingController, a fake
// clock, an in-memory store and a binding keyring.
type harness struct {
	t          *testing.T
	system     *actor.ActorSystem
	clock      *clock.Fake
	start      time.Time
	store      *store.Memory
	keyring    *binding.Keyring
	observer   *recordingObserver
	cfg        actors.MeetingConfig
	controller *actor.PID
	// props is the one Meeting Props of the node, as the cluster kind has.
	props *actor.Props
	// directory is shared by the Meetings and the MeetingController, as on
	// a node, so that a restarted controller can rebuild its registry.
	directory *actors.Directory

	mu       sync.Mutex
	streams  []*fakeStream
	meetings []*actor.PID
}

// newHarness starts an actor system and its MeetingController. configure
// may change the MeetingConfig before any meeting is spawned.
func newHarness(t *testing.T, configure ...func(*actors.MeetingConfig)) *harness {
	t.Helper()
	discard := slog.New(slog.DiscardHandler)
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }))

	keyring, err := binding.NewKeyring(binding.KeyringConfig{Current: bytes.Repeat([]byte{7}, binding.MinSecretSize)})
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	h := &harness{
		t:         t,
		system:    system,
		clock:     clock.NewFake(start),
		start:     start,
		store:     store.NewMemory(),
		keyring:   keyring,
		observer:  newRecordingObserver(),
		directory: actors.NewDirectory(),
	}
	h.cfg = actors.MeetingConfig{
		NodeID:       "node-1",
		SignalingURL: "https://127.0.0.1:4433/signaling",
		Store:        h.store,
		Keyring:      actors.StaticKeyring{K: keyring},
		Clock:        h.clock,
		Logger:       discard,
		Observer:     h.observer,
		Directory:    h.directory,
	}
	for _, f := range configure {
		f(&h.cfg)
	}
	h.setMeetingProps()

	h.controller, err = system.Root.SpawnNamed(actors.NewControllerProps(actors.ControllerConfig{
		MaxMeetings:     100,
		MaxParticipants: 1000,
		Logger:          discard,
		Directory:       h.directory,
		Observer:        h.observer,
	}), actors.ControllerName)
	if err != nil {
		t.Fatalf("spawn controller: %v", err)
	}
	system.Root.Send(h.controller, &actors.SetReady{Ready: true})

	t.Cleanup(h.shutdown)
	return h
}

// shutdown releases blocked writes, stops every meeting (which stops its
// Connections and their writers), ends the readers, and checks that every
// frame written was a valid ServerMessage.
func (h *harness) shutdown() {
	h.mu.Lock()
	streams := append([]*fakeStream(nil), h.streams...)
	meetings := append([]*actor.PID(nil), h.meetings...)
	h.mu.Unlock()

	for _, s := range streams {
		s.release()
	}
	for _, pid := range meetings {
		_ = h.system.Root.StopFuture(pid).Wait()
	}
	for _, s := range streams {
		s.Close(signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_UNSPECIFIED, "test ended")
	}
	_ = h.system.Root.StopFuture(h.controller).Wait()
	h.system.Shutdown()

	for i, s := range streams {
		if errs := s.decodeErrors(); len(errs) > 0 {
			h.t.Errorf("stream %d: frames that did not decode as ServerMessage: %v", i, errs)
		}
	}
}

// meetingNamePrefix starts the actor name of every Meeting the harness
// spawns; the rest of the name is the meeting id.
const meetingNamePrefix = "meeting-"

// setMeetingProps rebuilds the Meeting Props from h.cfg with opts, such as
// mailbox statistics, followed by the ClusterInit middleware. Call it
// before the first meeting is spawned.
func (h *harness) setMeetingProps(opts ...actor.PropsOption) {
	opts = append(opts, actor.WithReceiverMiddleware(deliverClusterInit))
	h.props = actors.NewMeetingProps(h.cfg, opts...)
}

// deliverClusterInit passes a ClusterInit to the actor right after every
// Started, as protoactor's cluster middleware does for a grain
// (withClusterReceiveMiddleware in cluster/config.go). A Meeting restarted
// after a panic is a new instance that gets Started again, and it needs
// its identity again to reload its snapshot.
func deliverClusterInit(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(c actor.ReceiverContext, envelope *actor.MessageEnvelope) {
		next(c, envelope)
		if _, ok := envelope.Message.(*actor.Started); !ok {
			return
		}
		id := strings.TrimPrefix(c.Self().GetId(), meetingNamePrefix)
		next(c, actor.WrapEnvelope(&cluster.ClusterInit{Identity: &cluster.ClusterIdentity{Identity: id, Kind: actors.MeetingKind}}))
	}
}

// spawnMeeting spawns a Meeting activation for id, which gets its
// ClusterInit as a grain would; it does not activate the meeting.
func (h *harness) spawnMeeting(id string) *actor.PID {
	h.t.Helper()
	pid, err := h.system.Root.SpawnNamed(h.props, meetingNamePrefix+id)
	if err != nil {
		h.t.Fatalf("spawn meeting %q: %v", id, err)
	}
	h.mu.Lock()
	h.meetings = append(h.meetings, pid)
	h.mu.Unlock()
	return pid
}

// activate requests ActivateMeeting and fails the test on an error.
func (h *harness) activate(pid *actor.PID, id string) *actorv1.ActivateMeetingReply {
	h.t.Helper()
	reply := request[*actorv1.ActivateMeetingReply](h, pid, &actorv1.ActivateMeeting{MeetingId: id, RequestingControllerId: "global-1"})
	if reply.GetError() != nil {
		h.t.Fatalf("ActivateMeeting %q: got error %v, want none", id, reply.GetError())
	}
	return reply
}

// startMeeting spawns and activates meeting id.
func (h *harness) startMeeting(id string) *actor.PID {
	h.t.Helper()
	pid := h.spawnMeeting(id)
	h.activate(pid, id)
	return pid
}

// request sends msg to pid and returns the reply as R.
func request[R any](h *harness, pid *actor.PID, msg any) R {
	h.t.Helper()
	result, err := h.system.Root.RequestFuture(pid, msg, requestTimeout).Result()
	if err != nil {
		h.t.Fatalf("request %T: %v", msg, err)
	}
	reply, ok := result.(R)
	if !ok {
		var want R
		h.t.Fatalf("request %T: got reply %T, want %T", msg, result, want)
	}
	return reply
}

// state returns the meeting's roster through GetMeetingState.
func (h *harness) state(pid *actor.PID) *actorv1.GetMeetingStateReply {
	h.t.Helper()
	return request[*actorv1.GetMeetingStateReply](h, pid, &actorv1.GetMeetingState{})
}

// waitStopped waits until pid has stopped.
func (h *harness) waitStopped(pid *actor.PID) {
	h.t.Helper()
	terminated := make(chan struct{})
	var once sync.Once
	watcher := h.system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch msg := c.Message().(type) {
		case *actor.Started:
			c.Watch(pid)
		case *actor.Terminated:
			if msg.Who.Equal(pid) {
				once.Do(func() { close(terminated) })
			}
		}
	}))
	defer h.system.Root.Stop(watcher)
	select {
	case <-terminated:
	case <-time.After(waitTimeout):
		h.t.Fatalf("actor %s still running after %v", pid, waitTimeout)
	}
}

// client is one test session attached to a meeting.
type client struct {
	h       *harness
	stream  *fakeStream
	claims  jointoken.Claims
	seq     uint64
	joinSeq uint64
}

func claimsFor(user string, role jointoken.Role) jointoken.Claims {
	return jointoken.Claims{UserID: jointoken.UserID(user), MeetingID: "m1", Role: role}
}

// attach hands a new session to meeting pid with the given join request.
func (h *harness) attach(pid *actor.PID, claims jointoken.Claims, join *signalingv1.JoinRequest) *client {
	stream := newFakeStream()
	h.mu.Lock()
	h.streams = append(h.streams, stream)
	h.mu.Unlock()
	c := &client{h: h, stream: stream, claims: claims, seq: 1, joinSeq: 1}
	h.system.Root.Send(pid, &actors.AttachSession{
		Stream:     stream,
		Join:       &signalingv1.ClientMessage{Sequence: 1, Payload: &signalingv1.ClientMessage_Join{Join: join}},
		Claims:     claims,
		RemoteAddr: "127.0.0.1:50000",
	})
	return c
}

// join attaches a new participant of meeting "m1" and waits for its
// successful JoinResponse.
func (h *harness) join(pid *actor.PID, user string, role jointoken.Role) *client {
	h.t.Helper()
	c := h.attach(pid, claimsFor(user, role), &signalingv1.JoinRequest{MeetingId: "m1", DisplayName: "name " + user})
	c.joinResponse()
	return c
}

// resume attaches a new session that resumes with the given binding.
func (h *harness) resume(pid *actor.PID, user string, role jointoken.Role, correlationID, token string) *client {
	return h.attach(pid, claimsFor(user, role), &signalingv1.JoinRequest{
		MeetingId:     "m1",
		DisplayName:   "name " + user,
		CorrelationId: correlationID,
		BindingToken:  token,
	})
}

// joinResponse waits for the session's JoinResponse.
func (c *client) joinResponse() *signalingv1.JoinResponse {
	c.h.t.Helper()
	return c.waitFor("JoinResponse", func(m *signalingv1.ServerMessage) bool {
		return m.GetJoinResponse() != nil
	}).GetJoinResponse()
}

func (c *client) id() string { return c.joinResponse().GetParticipantId() }

// send pushes a client message with the next sequence number and returns
// that number.
func (c *client) send(payload func(*signalingv1.ClientMessage)) uint64 {
	c.seq++
	msg := &signalingv1.ClientMessage{Sequence: c.seq}
	payload(msg)
	c.stream.push(msg)
	return c.seq
}

func (c *client) selfMute(audio, video bool) uint64 {
	return c.send(func(m *signalingv1.ClientMessage) {
		m.Payload = &signalingv1.ClientMessage_SelfMute{SelfMute: &signalingv1.SelfMuteRequest{Audio: audio, Video: video}}
	})
}

func (c *client) hostMute(target string, audio, video bool, reason string) uint64 {
	return c.send(func(m *signalingv1.ClientMessage) {
		m.Payload = &signalingv1.ClientMessage_HostMute{HostMute: &signalingv1.HostMuteRequest{
			ParticipantId: target, Audio: audio, Video: video, Reason: reason,
		}}
	})
}

func (c *client) unmuteRequest(audio, video bool) uint64 {
	return c.send(func(m *signalingv1.ClientMessage) {
		m.Payload = &signalingv1.ClientMessage_UnmuteRequest{UnmuteRequest: &signalingv1.UnmuteRequest{Audio: audio, Video: video}}
	})
}

func (c *client) unmuteDecision(target string, audio, video, approved bool) uint64 {
	return c.send(func(m *signalingv1.ClientMessage) {
		m.Payload = &signalingv1.ClientMessage_UnmuteDecision{UnmuteDecision: &signalingv1.UnmuteDecision{
			ParticipantId: target, Audio: audio, Video: video, Approved: approved,
		}}
	})
}

func (c *client) leave() uint64 {
	return c.send(func(m *signalingv1.ClientMessage) {
		m.Payload = &signalingv1.ClientMessage_Leave{Leave: &signalingv1.LeaveRequest{}}
	})
}

// sync waits until everything the Meeting sent this session before now has
// been written: a second join makes the Meeting reply ALREADY_JOINED, and
// that reply follows every earlier frame for this session.
func (c *client) sync() {
	c.h.t.Helper()
	seq := c.send(func(m *signalingv1.ClientMessage) {
		m.Payload = &signalingv1.ClientMessage_Join{Join: &signalingv1.JoinRequest{MeetingId: "m1"}}
	})
	c.waitError(seq, signalingv1.ErrorCode_ERROR_CODE_ALREADY_JOINED)
}

// syncAll runs sync on each client in order. Syncing the sender of an
// action first makes the others' barriers follow the action too.
func syncAll(clients ...*client) {
	for _, c := range clients {
		c.h.t.Helper()
		c.sync()
	}
}

// find returns the first message matching match, or nil.
func (c *client) find(match func(*signalingv1.ServerMessage) bool) *signalingv1.ServerMessage {
	for _, m := range c.stream.messages() {
		if match(m) {
			return m
		}
	}
	return nil
}

// count returns the number of messages matching match.
func (c *client) count(match func(*signalingv1.ServerMessage) bool) int {
	n := 0
	for _, m := range c.stream.messages() {
		if match(m) {
			n++
		}
	}
	return n
}

// waitFor waits for a message matching match and returns the first one.
func (c *client) waitFor(what string, match func(*signalingv1.ServerMessage) bool) *signalingv1.ServerMessage {
	c.h.t.Helper()
	var found *signalingv1.ServerMessage
	eventually(c.h.t, func() (bool, string) {
		found = c.find(match)
		if found != nil {
			return true, ""
		}
		return false, fmt.Sprintf("no %s among %s", what, describe(c.stream.messages()))
	})
	return found
}

// waitCount waits until at least n messages match.
func (c *client) waitCount(what string, n int, match func(*signalingv1.ServerMessage) bool) {
	c.h.t.Helper()
	eventually(c.h.t, func() (bool, string) {
		got := c.count(match)
		return got >= n, fmt.Sprintf("got %d %s, want %d", got, what, n)
	})
}

// waitError waits for the Error replying to seq and checks its code.
func (c *client) waitError(seq uint64, code signalingv1.ErrorCode) *signalingv1.Error {
	c.h.t.Helper()
	m := c.waitFor(fmt.Sprintf("Error for sequence %d", seq), func(m *signalingv1.ServerMessage) bool {
		return m.GetError() != nil && m.GetInReplyTo() == seq
	})
	if got := m.GetError().GetCode(); got != code {
		c.h.t.Fatalf("error for sequence %d: got %v (%q), want %v", seq, got, m.GetError().GetMessage(), code)
	}
	if got := m.GetError().GetSequence(); got != seq {
		c.h.t.Fatalf("error sequence field: got %d, want %d", got, seq)
	}
	return m.GetError()
}

// waitClosed waits until the session is closed and checks its close code.
func (c *client) waitClosed(code signalingv1.SessionCloseCode) {
	c.h.t.Helper()
	eventually(c.h.t, func() (bool, string) {
		_, ok := c.stream.closed()
		return ok, "session not closed"
	})
	rec, _ := c.stream.closed()
	if rec.code != code {
		c.h.t.Fatalf("close code: got %v (%q), want %v", rec.code, rec.reason, code)
	}
}

// lastGoodbye checks that the session's last frame is a Goodbye with reason.
func (c *client) lastGoodbye(reason signalingv1.GoodbyeReason) {
	c.h.t.Helper()
	msgs := c.stream.messages()
	if len(msgs) == 0 {
		c.h.t.Fatalf("no frames written, want a final Goodbye %v", reason)
	}
	last := msgs[len(msgs)-1]
	if last.GetGoodbye() == nil || last.GetGoodbye().GetReason() != reason {
		c.h.t.Fatalf("last frame: got %s, want Goodbye %v", describe([]*signalingv1.ServerMessage{last}), reason)
	}
}

// isOpen reports whether the session is still open.
func (c *client) isOpen() bool {
	_, closed := c.stream.closed()
	return !closed
}

// Matchers for common server messages.

func isUpdateOf(id string, state signalingv1.ConnectionState) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		p := m.GetParticipantUpdated().GetParticipant()
		return p != nil && p.GetParticipantId() == id && p.GetConnectionState() == state
	}
}

func isAnyUpdateOf(id string) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		return m.GetParticipantUpdated().GetParticipant().GetParticipantId() == id
	}
}

func isLeftOf(id string, reason signalingv1.LeaveReason) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		left := m.GetParticipantLeft()
		return left != nil && left.GetParticipantId() == id && left.GetReason() == reason
	}
}

func isAnyLeftOf(id string) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		return m.GetParticipantLeft().GetParticipantId() == id
	}
}

func isGoodbye(reason signalingv1.GoodbyeReason) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		return m.GetGoodbye() != nil && m.GetGoodbye().GetReason() == reason
	}
}

func isErrorCode(code signalingv1.ErrorCode) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		return m.GetError() != nil && m.GetError().GetCode() == code
	}
}

func isUnmuteRequestedFor(id string) func(*signalingv1.ServerMessage) bool {
	return func(m *signalingv1.ServerMessage) bool {
		return m.GetUnmuteRequested().GetParticipantId() == id
	}
}

// rosterEntry returns the participant id from a GetMeetingState reply.
func rosterEntry(reply *actorv1.GetMeetingStateReply, id string) *signalingv1.Participant {
	for _, p := range reply.GetParticipants() {
		if p.GetParticipantId() == id {
			return p
		}
	}
	return nil
}

// describe lists messages by payload type for failure output.
func describe(msgs []*signalingv1.ServerMessage) string {
	parts := make([]string, 0, len(msgs))
	for _, m := range msgs {
		parts = append(parts, fmt.Sprintf("%T{%v}", m.GetPayload(), m.GetPayload()))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
