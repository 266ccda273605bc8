// Package demo plays a scripted meeting against an in-process node over
// real WebTransport sessions and a real gRPC control client, and checks that
// every client sees exactly the expected messages. `convene demo` runs it.
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
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

// MeetingID is the meeting the demo plays.
const MeetingID = "demo-standup"

const (
	// waitTimeout bounds the wait for one expected message.
	waitTimeout = 5 * time.Second
	// settle is how long a step waits for unexpected extra messages.
	settle = 150 * time.Millisecond
)

// Options configure a demo run.
type Options struct {
	// GracePeriod is the node's grace period; short, so that the timeout
	// step is quick. Zero means 1.5 s.
	GracePeriod time.Duration
	// Logger receives the node's logs; nil discards them.
	Logger *slog.Logger
}

// Run plays the demo and writes its transcript to out. It returns an error
// unless every client saw exactly the expected messages; the last line it
// writes then starts with "demo: ok".
func Run(ctx context.Context, out io.Writer, opts Options) (err error) {
	if opts.GracePeriod <= 0 {
		opts.GracePeriod = 1500 * time.Millisecond
	}
	dataDir, err := os.MkdirTemp("", "convene-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)

	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.SignalingAddr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.ClusterAddr = "127.0.0.1:0"
	cfg.GracePeriod = opts.GracePeriod

	n, err := node.New(cfg, node.Options{Logger: opts.Logger})
	if err != nil {
		return err
	}
	if err := n.Start(ctx); err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if stopErr := n.Stop(stopCtx); stopErr != nil && err == nil {
			err = fmt.Errorf("stop node: %w", stopErr)
		}
	}()
	endpoints := n.Endpoints()
	fmt.Fprintf(out, "demo: node %s serves signaling at %s, control at %s (grace period %s)\n",
		endpoints.NodeID, endpoints.SignalingURL, endpoints.GRPCAddr, opts.GracePeriod)

	signer, err := jointoken.LoadOrCreateDevSigner(dataDir)
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(endpoints.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()

	d := &demo{
		ctx:            ctx,
		out:            out,
		signer:         signer,
		control:        controlv1.NewControlServiceClient(conn),
		auth:           metadata.Pairs("authorization", "Bearer "+n.ControlToken()),
		url:            endpoints.SignalingURL,
		names:          names{"control-api": "control-api"},
		clients:        map[string]*participant{},
		correlations:   map[string]string{},
		participantIDs: map[string]string{},
		grace:          opts.GracePeriod,
	}
	d.hash, err = certHash(endpoints.CertificateSHA256)
	if err != nil {
		return err
	}
	defer d.closeAll()

	d.play()
	if len(d.failures) > 0 {
		fmt.Fprintf(out, "demo: FAILED: %d unexpected results\n", len(d.failures))
		for _, f := range d.failures {
			fmt.Fprintf(out, "  - %s\n", f)
		}
		return fmt.Errorf("demo failed: %d unexpected results", len(d.failures))
	}
	fmt.Fprintf(out, "demo: ok: %d steps, %d clients, every client saw exactly the expected messages\n", d.steps, d.sessions)
	return nil
}

// participant is one demo client session.
type participant struct {
	name   string
	user   string
	role   jointoken.Role
	client *client.Client
	join   *signalingv1.JoinResponse
}

type demo struct {
	ctx     context.Context
	out     io.Writer
	signer  *jointoken.Signer
	control controlv1.ControlServiceClient
	auth    metadata.MD
	url     string
	hash    [32]byte
	names   names
	clients map[string]*participant
	grace   time.Duration
	// correlations and participantIDs outlive a dropped session.
	correlations   map[string]string
	participantIDs map[string]string
	failures       []string
	steps          int
	sessions       int
}

// step prints a heading and runs the action; an action error is a failure.
func (d *demo) step(title string, action func() error) {
	d.steps++
	fmt.Fprintf(d.out, "\n[%02d] %s\n", d.steps, title)
	if err := action(); err != nil {
		d.fail("step %d (%s): %v", d.steps, title, err)
	}
}

func (d *demo) fail(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	d.failures = append(d.failures, text)
	fmt.Fprintf(d.out, "  !! %s\n", text)
}

// expect reads the named clients' next messages, compares them with want
// in order, then checks that no client received anything else.
func (d *demo) expect(want map[string][]string) {
	for _, name := range sortedKeys(want) {
		p := d.clients[name]
		for _, line := range want[name] {
			ctx, cancel := context.WithTimeout(d.ctx, waitTimeout)
			msg, err := p.client.Next(ctx)
			cancel()
			if err != nil {
				d.fail("%s: waited for %q: %v", name, line, err)
				break
			}
			got := d.names.describe(msg)
			d.record(name, got, got == line)
			if got != line {
				d.fail("%s: got %q, want %q", name, got, line)
			}
		}
	}
	d.expectQuiet()
}

// expectQuiet fails for any message a live client received unasked.
func (d *demo) expectQuiet() {
	time.Sleep(settle)
	for _, name := range sortedKeys(d.clients) {
		for _, msg := range d.clients[name].client.Pending() {
			got := d.names.describe(msg)
			d.record(name, got, false)
			d.fail("%s: unexpected %q", name, got)
		}
	}
}

func (d *demo) record(name, line string, ok bool) {
	mark := " "
	if !ok {
		mark = "!"
	}
	fmt.Fprintf(d.out, " %s %-6s <- %s\n", mark, name, line)
}

// connect opens a session for a demo user.
func (d *demo) connect(name, user string, role jointoken.Role) (*participant, error) {
	c, err := client.Dial(d.ctx, d.url, wt.DialOptions{CertHashes: [][32]byte{d.hash}})
	if err != nil {
		return nil, err
	}
	d.sessions++
	return &participant{name: name, user: user, role: role, client: c}, nil
}

// joinAs connects and joins; a correlation id and binding token resume.
func (d *demo) joinAs(name, user string, role jointoken.Role, correlationID, bindingToken string) (*participant, error) {
	p, err := d.connect(name, user, role)
	if err != nil {
		return nil, err
	}
	token, err := d.mint(user, role)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(d.ctx, waitTimeout)
	defer cancel()
	resp, err := p.client.Join(ctx, client.JoinParams{
		MeetingID: MeetingID, JoinToken: token, DisplayName: name,
		CorrelationID: correlationID, BindingToken: bindingToken,
	})
	if err != nil {
		_ = p.client.Close()
		return nil, err
	}
	p.join = resp
	d.names[resp.GetParticipantId()] = name
	d.correlations[name] = resp.GetCorrelationId()
	d.participantIDs[name] = resp.GetParticipantId()
	d.clients[name] = p
	return p, nil
}

func (d *demo) mint(user string, role jointoken.Role) (string, error) {
	return d.signer.Mint(jointoken.MintRequest{
		MeetingID: MeetingID, UserID: jointoken.UserID(user), Role: role,
		Audience: jointoken.DefaultAudience, Lifetime: 10 * time.Minute,
	})
}

// checkJoin prints and checks a join response against want.
func (d *demo) checkJoin(p *participant, want string) {
	got := d.names.describe(&signalingv1.ServerMessage{Payload: &signalingv1.ServerMessage_JoinResponse{JoinResponse: p.join}})
	d.record(p.name, got, got == want)
	if got != want {
		d.fail("%s: got %q, want %q", p.name, got, want)
	}
}

func (d *demo) send(name string, msg *signalingv1.ClientMessage) error {
	_, err := d.clients[name].client.Send(msg)
	return err
}

// drop closes a client's session without a leave request, as a lost
// network would.
func (d *demo) drop(name string) error {
	p := d.clients[name]
	delete(d.clients, name)
	return p.client.Close()
}

// expectClosed waits until the node closed a client's session with want,
// and forgets the client.
func (d *demo) expectClosed(name string, want signalingv1.SessionCloseCode) {
	p := d.clients[name]
	delete(d.clients, name)
	select {
	case <-p.client.Done():
	case <-time.After(waitTimeout):
		d.fail("%s: session still open", name)
		return
	}
	code, ok := p.client.CloseCode()
	got := signalingv1.SessionCloseCode(code)
	d.record(name, "session closed: "+short(got.String(), "SESSION_CLOSE_CODE_"), ok && got == want)
	if !ok || got != want {
		d.fail("%s: session closed with code %d (known %v), want %s", name, code, ok, want)
	}
}

func (d *demo) closeAll() {
	for _, p := range d.clients {
		_ = p.client.Close()
	}
}

func (d *demo) controlCtx() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(d.ctx, waitTimeout)
	return metadata.NewOutgoingContext(ctx, d.auth), cancel
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func certHash(hexHash string) ([32]byte, error) {
	var h [32]byte
	if len(hexHash) != 64 {
		return h, fmt.Errorf("certificate hash %q: want 64 hex characters", hexHash)
	}
	for i := 0; i < 32; i++ {
		if _, err := fmt.Sscanf(hexHash[2*i:2*i+2], "%02x", &h[i]); err != nil {
			return h, fmt.Errorf("certificate hash: %w", err)
		}
	}
	return h, nil
}
