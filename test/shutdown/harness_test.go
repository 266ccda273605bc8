package shutdown

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/config"
	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
	"github.com/convene/convene/transport/wt"
)

const (
	// waitTimeout bounds every wait for one expected message, close, call
	// or HTTP response.
	waitTimeout = 5 * time.Second
	// stopTimeout bounds the node's Stop in cleanup.
	stopTimeout = 15 * time.Second
	// tokenLifetime is the lifetime of the join tokens the tests mint.
	tokenLifetime = 10 * time.Minute
	// pollInterval is the pause between two polls of a condition.
	pollInterval = 10 * time.Millisecond
	// slowReceiveWindow is the QUIC receive window, in bytes, of a client
	// that never reads: the node's writes to it block once a few updates
	// filled it.
	slowReceiveWindow = 1024
)

// testNode is a started node with the clients a test needs to reach it.
type testNode struct {
	node      *node.Node
	cfg       config.Config
	endpoints node.Endpoints
	signer    *jointoken.Signer
	control   controlv1.ControlServiceClient
	token     string
	certHash  [32]byte
	// now is the node's clock, used as the issue time of minted tokens.
	now func() time.Time

	stopOnce sync.Once
	stopErr  error
}

// startNode starts a node on loopback with a fresh data directory, as the
// demo does. edit, if not nil, changes the configuration first. Node logs
// go to t.Log. Cleanup stops the node unless the test already did.
func startNode(t *testing.T, edit func(*config.Config), opts node.Options) *testNode {
	t.Helper()

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.SignalingAddr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.ClusterAddr = "127.0.0.1:0"
	if edit != nil {
		edit(&cfg)
	}

	logs := newTestLogWriter(t)
	if opts.Logger == nil {
		opts.Logger = logs.logger()
	}
	if opts.ActorLogger == nil {
		opts.ActorLogger = logs.logger().With("component", "protoactor")
	}
	now := time.Now
	if opts.Clock != nil {
		now = opts.Clock.Now
	}

	n, err := node.New(cfg, opts)
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	startCtx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := n.Start(startCtx); err != nil {
		t.Fatalf("node.Start: %v", err)
	}
	tn := &testNode{node: n, cfg: cfg, now: now}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := tn.stop(ctx); err != nil {
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

	tn.endpoints = endpoints
	tn.signer = signer
	tn.control = controlv1.NewControlServiceClient(conn)
	tn.token = n.ControlToken()
	tn.certHash = parseCertHash(t, endpoints.CertificateSHA256)
	return tn
}

// stop stops the node once and returns the error of the first call to
// every caller.
func (tn *testNode) stop(ctx context.Context) error {
	tn.stopOnce.Do(func() {
		tn.stopErr = tn.node.Stop(ctx)
	})
	return tn.stopErr
}

func parseCertHash(t *testing.T, hexHash string) [32]byte {
	t.Helper()
	var h [32]byte
	raw, err := hex.DecodeString(hexHash)
	if err != nil || len(raw) != len(h) {
		t.Fatalf("certificate hash %q: want 64 hex digits (%v)", hexHash, err)
	}
	copy(h[:], raw)
	return h
}

// controlCtx returns a bounded context that carries the control bearer
// token.
func (tn *testNode) controlCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tn.token)
}

// assign assigns a meeting over gRPC and fails the test unless accepted.
func (tn *testNode) assign(t *testing.T, meetingID string) {
	t.Helper()
	resp, err := tn.control.AssignMeeting(tn.controlCtx(t), &controlv1.AssignMeetingRequest{
		MeetingId:              meetingID,
		RequestingControllerId: "shutdown-test",
	})
	if err != nil {
		t.Fatalf("AssignMeeting %q: %v", meetingID, err)
	}
	if !resp.GetAccepted() {
		t.Fatalf("AssignMeeting %q: got accepted=false reason %s, want accepted", meetingID, resp.GetRejectReason())
	}
}

// mint returns a join token for user in meetingID, issued at the node's
// current time.
func (tn *testNode) mint(t *testing.T, meetingID, user string) string {
	t.Helper()
	token, err := tn.signer.Mint(jointoken.MintRequest{
		MeetingID: meetingID,
		UserID:    jointoken.UserID(user),
		Role:      jointoken.RoleParticipant,
		Lifetime:  tokenLifetime,
		Now:       tn.now(),
	})
	if err != nil {
		t.Fatalf("mint join token for %s: %v", user, err)
	}
	return token
}

// dial opens a signaling session. Cleanup closes it.
func (tn *testNode) dial(t *testing.T) *client.Client {
	t.Helper()
	return dialURL(t, tn.endpoints.SignalingURL, tn.certHash)
}

func dialURL(t *testing.T, url string, certHash [32]byte) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := client.Dial(ctx, url, wt.DialOptions{CertHashes: [][32]byte{certHash}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// join dials and joins meetingID as user with a fresh token, and fails the
// test unless the join succeeds.
func (tn *testNode) join(t *testing.T, meetingID, user string, p client.JoinParams) (*client.Client, *signalingv1.JoinResponse) {
	t.Helper()
	c := tn.dial(t)
	p.MeetingID = meetingID
	p.JoinToken = tn.mint(t, meetingID, user)
	if p.DisplayName == "" {
		p.DisplayName = user
	}
	resp, err := joinOn(c, p)
	if err != nil {
		t.Fatalf("join %q as %s: %v", meetingID, user, err)
	}
	return c, resp
}

// joinOn sends a join on c and waits a bounded time for the response.
func joinOn(c *client.Client, p client.JoinParams) (*signalingv1.JoinResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return c.Join(ctx, p)
}

// next returns c's next message, failing the test after waitTimeout.
func next(t *testing.T, c *client.Client, what string) *signalingv1.ServerMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	msg, err := c.Next(ctx)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return msg
}

// expectMessage reads c's messages until one satisfies match, skipping
// others, and fails the test when none arrives within waitTimeout.
func expectMessage(t *testing.T, c *client.Client, what string, match func(*signalingv1.ServerMessage) bool) *signalingv1.ServerMessage {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var skipped []string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		msg, err := c.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("waiting for %s: %v (skipped %d: %s)", what, err, len(skipped), strings.Join(skipped, "; "))
		}
		if match(msg) {
			return msg
		}
		skipped = append(skipped, shortText(msg))
	}
	t.Fatalf("waiting for %s: timed out after %s (skipped %d: %s)", what, waitTimeout, len(skipped), strings.Join(skipped, "; "))
	return nil
}

// expectClosed waits until the node closed c's session and checks the
// close code.
func expectClosed(t *testing.T, c *client.Client, want signalingv1.SessionCloseCode) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(waitTimeout):
		t.Fatalf("session still open after %s, want closed with %s", waitTimeout, want)
	}
	code, ok := c.CloseCode()
	if !ok || signalingv1.SessionCloseCode(code) != want {
		t.Fatalf("close code: got %s (known %v), want %s", signalingv1.SessionCloseCode(code), ok, want)
	}
}

func selfMuteMessage(audio, video bool) *signalingv1.ClientMessage {
	return &signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_SelfMute{SelfMute: &signalingv1.SelfMuteRequest{Audio: audio, Video: video}}}
}

// shortText describes a server message for failure output.
func shortText(m *signalingv1.ServerMessage) string {
	text := fmt.Sprintf("%v", m)
	if len(text) > 160 {
		text = text[:160] + "…"
	}
	return text
}

// slowSession is a signaling session whose QUIC receive window is only
// slowReceiveWindow bytes and whose stream the test never reads, so the
// node's writes to it block once the window is full.
type slowSession struct {
	qconn *quic.Conn
	ws    *webtransport.Session
	str   *webtransport.Stream
}

// dialSlow opens a slowSession to a signaling URL, pinning certHash as
// wt.Dial does. Cleanup closes it.
func dialSlow(t *testing.T, rawURL string, certHash [32]byte) *slowSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse signaling URL %q: %v", rawURL, err)
	}

	tlsConf := &tls.Config{
		ServerName:         u.Hostname(),
		NextProtos:         []string{http3.NextProtoH3},
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // replaced by the pin below, as with serverCertificateHashes
		VerifyConnection: func(state tls.ConnectionState) error {
			if len(state.PeerCertificates) == 0 {
				return errors.New("server sent no certificate")
			}
			if sum := sha256.Sum256(state.PeerCertificates[0].Raw); !slices.Equal(sum[:], certHash[:]) {
				return fmt.Errorf("server certificate hash %x does not match the pin", sum)
			}
			return nil
		},
	}
	qconn, err := quic.DialAddr(ctx, u.Host, tlsConf, &quic.Config{
		MaxIdleTimeout:                   wt.DefaultMaxIdleTimeout,
		KeepAlivePeriod:                  wt.DefaultKeepAlivePeriod,
		EnableDatagrams:                  true,
		EnableStreamResetPartialDelivery: true,
		InitialStreamReceiveWindow:       slowReceiveWindow,
		MaxStreamReceiveWindow:           slowReceiveWindow,
	})
	if err != nil {
		t.Fatalf("dial QUIC %s: %v", u.Host, err)
	}
	s := &slowSession{qconn: qconn}
	t.Cleanup(s.close)

	transport := &webtransport.Transport{}
	clientConn, err := transport.NewClientConn(qconn)
	if err != nil {
		t.Fatalf("create WebTransport client connection: %v", err)
	}
	rsp, ws, err := clientConn.Dial(ctx, rawURL, http.Header{})
	if err != nil || rsp.StatusCode != http.StatusOK {
		t.Fatalf("request session at %s: %v (response %v)", rawURL, err, rsp)
	}
	s.ws = ws
	str, err := ws.OpenStreamSync(ctx)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	s.str = str
	return s
}

// send writes one client frame.
func (s *slowSession) send(t *testing.T, msg *signalingv1.ClientMessage) {
	t.Helper()
	_ = s.str.SetWriteDeadline(time.Now().Add(waitTimeout))
	if err := framing.Write(s.str, msg, framing.DefaultMaxSize); err != nil {
		t.Fatalf("send %T on the slow session: %v", msg.GetPayload(), err)
	}
}

// done returns a channel closed when the session has ended.
func (s *slowSession) done() <-chan struct{} { return s.ws.Context().Done() }

func (s *slowSession) close() {
	if s.ws != nil {
		_ = s.ws.CloseWithError(0, "")
	}
	_ = s.qconn.CloseWithError(0, "")
}

// httpGet returns the status and body of a GET with a bounded wait.
func httpGet(url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	// A fresh transport per request: keep-alive connections would hold the
	// node's HTTP server open during its Shutdown and leak idle goroutines.
	transport := &http.Transport{DisableKeepAlives: true}
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// waitHTTPStatus polls url until it returns the status want, and fails the
// test after waitTimeout.
func waitHTTPStatus(t *testing.T, url string, want int) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	lastStatus, lastBody, lastErr := 0, "", error(nil)
	for time.Now().Before(deadline) {
		lastStatus, lastBody, lastErr = httpGet(url)
		if lastErr == nil && lastStatus == want {
			return lastBody
		}
		time.Sleep(pollInterval)
	}
	t.Fatalf("GET %s: got status %d body %q error %v after %s, want %d", url, lastStatus, lastBody, lastErr, waitTimeout, want)
	return ""
}

// testLogWriter sends log lines to t.Log, which shows them only on
// failure, until the test ends; node goroutines may still log after that.
type testLogWriter struct {
	t     *testing.T
	mu    sync.Mutex
	ended bool
}

func newTestLogWriter(t *testing.T) *testLogWriter {
	w := &testLogWriter{t: t}
	// Registered before the node's Stop, so it runs after it.
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.ended = true
	})
	return w
}

func (w *testLogWriter) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Write implements io.Writer for the slog handler, one record per call.
func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ended {
		w.t.Log(string(bytes.TrimRight(p, "\n")))
	}
	return len(p), nil
}
