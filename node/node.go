package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/actors/mailboxstats"
	"github.com/convene/convene/cluster"
	"github.com/convene/convene/config"
	"github.com/convene/convene/control"
	"github.com/convene/convene/httpapi"
	"github.com/convene/convene/internal/clock"
	"github.com/convene/convene/metrics"
	"github.com/convene/convene/signaling"
	"github.com/convene/convene/store"
	"github.com/convene/convene/transport/wt"
)

// Options are the parts of a node that tests and embedders replace.
type Options struct {
	// Logger receives the node's logs; nil discards them.
	Logger *slog.Logger
	// ActorLogger receives protoactor's logs; nil discards them.
	ActorLogger *slog.Logger
	// Clock drives grace periods and token expiry; nil is the system clock.
	Clock clock.Clock
	// Store keeps meeting snapshots; nil is an in-process store.
	Store store.Store
}

// Endpoints are the addresses a started node serves.
type Endpoints struct {
	NodeID       string
	GRPCAddr     string
	SignalingURL string
	HTTPAddr     string
	ClusterAddr  string
	// CertificateSHA256 is the lowercase hex SHA-256 of the signaling
	// certificate, for browsers' serverCertificateHashes.
	CertificateSHA256 string
	// ControlTokenFile is the file of the control bearer token, if it has one.
	ControlTokenFile string
	// DevKeyFile is the development join-token key, when no key file is set.
	DevKeyFile string
}

// Node is one Convene node. Start it once and Stop it once.
type Node struct {
	cfg     config.Config
	opts    Options
	log     *slog.Logger
	secrets *secrets
	nodeID  string

	member     *cluster.Member
	controller *actor.PID
	directory  *actors.Directory
	metrics    *metrics.Metrics
	// mailboxes are the mailbox statistics of the meeting, connection and
	// meeting controller kinds.
	mailboxes []*mailboxstats.Tracker
	signaling *wt.Server
	control   *control.Server
	http      *httpapi.Server

	// sessions tracks the goroutines of Connection actors.
	sessions  sync.WaitGroup
	draining  atomic.Bool
	ready     atomic.Bool
	started   time.Time
	endpoints Endpoints
}

// New validates cfg and loads or creates the node's secrets. It binds no
// socket; Start does.
func New(cfg config.Config, opts Options) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ActorLogger == nil {
		opts.ActorLogger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Store == nil {
		opts.Store = store.NewMemory()
	}

	s, err := loadSecrets(cfg, opts.Clock.Now)
	if err != nil {
		return nil, err
	}
	nodeID := cfg.NodeID
	if nodeID == "" {
		nodeID = randomNodeID()
	}
	return &Node{
		cfg:     cfg,
		opts:    opts,
		log:     opts.Logger.With("node_id", nodeID),
		secrets: s,
		nodeID:  nodeID,
		metrics: metrics.New(),
	}, nil
}

// Start binds every endpoint and joins the cluster. On error it stops what
// it started.
func (n *Node) Start(ctx context.Context) (err error) {
	n.started = n.opts.Clock.Now()
	defer func() {
		if err != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
			defer cancel()
			_ = n.Stop(stopCtx)
		}
	}()

	// The signaling endpoint binds first: Meetings put its URL into
	// placements. Sessions that arrive before the cluster member started
	// get "unavailable".
	handler, err := signaling.NewHandler(signaling.Config{
		Meetings:       n,
		Verifier:       n.secrets.verifier,
		JoinTimeout:    n.cfg.JoinTimeout,
		MaxMessageSize: n.cfg.MaxMessageSize,
		Draining:       n.draining.Load,
		Logger:         n.log.With("component", "signaling"),
		Observer:       n.metrics,
		Sessions:       n.metrics,
	})
	if err != nil {
		return err
	}
	n.signaling, err = wt.NewServer(wt.ServerConfig{
		Addr:           n.cfg.SignalingAddr,
		Certificate:    n.secrets.cert.TLS,
		AllowedOrigins: n.cfg.AllowedOrigins,
		Logger:         n.log.With("component", "webtransport"),
	}, handler.ServeSession)
	if err != nil {
		return err
	}
	if err := n.signaling.Start(); err != nil {
		return fmt.Errorf("start signaling endpoint on %s: %w", n.cfg.SignalingAddr, err)
	}
	signalingURL := n.cfg.SignalingURL
	if signalingURL == "" {
		signalingURL = n.signaling.URL()
	}

	n.directory = actors.NewDirectory()
	overload := actors.NewOverload()
	meetingMailbox, connectionMailbox, controllerMailbox := n.newMailboxTrackers(overload)
	meetingProps := actors.NewMeetingProps(actors.MeetingConfig{
		Overload:          overload,
		ConnectionProps:   []actor.PropsOption{connectionMailbox.Props()},
		Directory:         n.directory,
		NodeID:            n.nodeID,
		SignalingURL:      signalingURL,
		CertificateSHA256: n.secrets.cert.Fingerprint(),
		GracePeriod:       n.cfg.GracePeriod,
		MaxParticipants:   n.cfg.MaxParticipantsPerMeeting,
		Store:             n.opts.Store,
		Keyring:           actors.StaticKeyring{K: n.secrets.keyring},
		Clock:             n.opts.Clock,
		Logger:            n.log,
		Observer:          n.metrics,
		Connection: actors.ConnectionConfig{
			QueueSize:    n.cfg.OutboundQueueSize,
			WriteTimeout: n.cfg.WriteTimeout,
			Go:           n.goSession,
			Overload:     overload,
		},
	}, meetingMailbox.Props())
	n.member, err = cluster.Start(ctx, cluster.Config{
		Name:     n.cfg.ClusterName,
		Provider: n.cfg.ClusterProvider,
		Addr:     n.cfg.ClusterAddr,
		Kinds:    []*protocluster.Kind{protocluster.NewKind(actors.MeetingKind, meetingProps)},
		Logger:   n.opts.ActorLogger,
		// protoactor's own metrics go to the node's registry.
		MeterProvider: n.metrics.MeterProvider(),
	})
	if err != nil {
		return err
	}
	n.controller, err = n.member.System.Root.SpawnNamed(actors.NewControllerProps(actors.ControllerConfig{
		MaxMeetings:        n.cfg.MaxMeetings,
		MaxParticipants:    n.cfg.MaxParticipants,
		AdmissionThreshold: n.cfg.AdmissionThreshold,
		Logger:             n.log,
		Directory:          n.directory,
		Observer:           n.metrics,
	}, controllerMailbox.Props()), actors.ControllerName)
	if err != nil {
		return fmt.Errorf("spawn meeting controller: %w", err)
	}
	n.member.System.Root.Send(n.controller, &actors.SetReady{Ready: true})

	n.control, err = control.NewServer(control.ServerConfig{
		Addr:   n.cfg.GRPCAddr,
		Token:  n.secrets.controlToken,
		Logger: n.log,
	}, &backend{node: n})
	if err != nil {
		return err
	}
	if err := n.control.Start(); err != nil {
		return fmt.Errorf("start control endpoint on %s: %w", n.cfg.GRPCAddr, err)
	}

	n.metrics.SetStatusSource(n.metricsStatus)
	n.http = httpapi.NewServer(httpapi.Config{
		Addr:    n.cfg.HTTPAddr,
		Ready:   n.readiness,
		Metrics: n.metrics.Handler(),
		Logger:  n.log.With("component", "http"),
	})
	if err := n.http.Start(); err != nil {
		return fmt.Errorf("start HTTP endpoint on %s: %w", n.cfg.HTTPAddr, err)
	}

	n.endpoints = Endpoints{
		NodeID:            n.nodeID,
		GRPCAddr:          n.control.Addr().String(),
		SignalingURL:      signalingURL,
		HTTPAddr:          n.http.Addr().String(),
		ClusterAddr:       n.member.Address(),
		CertificateSHA256: n.secrets.cert.Fingerprint(),
		DevKeyFile:        n.secrets.devKeyFile,
	}
	if n.cfg.ControlToken == "" {
		n.endpoints.ControlTokenFile = n.cfg.ControlTokenPath()
	}
	n.ready.Store(true)
	n.log.Info("node started", "grpc_addr", n.endpoints.GRPCAddr, "signaling_url", signalingURL,
		"http_addr", n.endpoints.HTTPAddr, "cluster_addr", n.endpoints.ClusterAddr)
	return nil
}

// Endpoints returns the addresses of a started node.
func (n *Node) Endpoints() Endpoints { return n.endpoints }

// ControlToken returns the bearer token of the control API.
func (n *Node) ControlToken() string { return n.secrets.controlToken }

// Stop drains the node within ctx: it rejects new meetings and sessions,
// sends every session a goodbye after the frames already queued for it,
// waits for the sessions to close, then stops every endpoint and the actor
// system. The control API keeps responding (AssignMeeting with DRAINING)
// until the sessions are gone.
func (n *Node) Stop(ctx context.Context) error {
	n.draining.Store(true)
	n.ready.Store(false)
	var errs []error
	if n.member != nil && n.controller != nil {
		n.member.System.Root.Send(n.controller, &actors.SetDraining{Draining: true})
	}
	if n.control != nil {
		n.control.SetServing(false)
	}
	if err := n.drainMeetings(ctx); err != nil {
		errs = append(errs, err)
	}
	if n.signaling != nil {
		if err := n.signaling.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop signaling endpoint: %w", err))
		}
	}
	if n.control != nil {
		if err := n.control.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop control endpoint: %w", err))
		}
	}
	if n.member != nil {
		if err := n.member.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := n.waitSessions(ctx); err != nil {
		errs = append(errs, err)
	}
	if n.http != nil {
		if err := n.http.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop HTTP endpoint: %w", err))
		}
	}
	n.log.Info("node stopped")
	return errors.Join(errs...)
}

// drainMeetings requests every local meeting to close its sessions and waits
// until their goroutines ended.
func (n *Node) drainMeetings(ctx context.Context) error {
	if n.member == nil || n.directory == nil {
		return nil
	}
	var futures []*actor.Future
	for _, pid := range n.directory.PIDs() {
		futures = append(futures, n.member.System.Root.RequestFuture(pid, &actors.Drain{}, requestTimeout(ctx)))
	}
	sessions := 0
	for _, f := range futures {
		reply, err := f.Result()
		if err != nil {
			n.log.Warn("meeting did not confirm the drain", "error", err)
			continue
		}
		sessions += reply.(*actors.Drained).Sessions
	}
	n.log.Info("node draining", "meetings", len(futures), "sessions", sessions)
	return n.waitSessions(ctx)
}

func (n *Node) goSession(f func()) {
	n.sessions.Add(1)
	go func() {
		defer n.sessions.Done()
		f()
	}()
}

func (n *Node) waitSessions(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		n.sessions.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for session goroutines: %w", ctx.Err())
	}
}

// readiness returns nil when the node can take meetings, else the reason.
func (n *Node) readiness() error {
	switch {
	case n.draining.Load():
		return errors.New("draining")
	case !n.ready.Load():
		return errors.New("cluster member not started")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	raw, err := n.askController(ctx, &actors.GetStatus{})
	if err != nil {
		return errors.New("meeting controller did not respond")
	}
	if status := raw.(*actors.NodeStatus); status.AtCapacity {
		return errors.New("at capacity")
	}
	return nil
}

// Metrics returns the node's metrics registry.
func (n *Node) Metrics() *metrics.Metrics { return n.metrics }

func randomNodeID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "node-" + hex.EncodeToString(b[:])
}
