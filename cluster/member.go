package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"go.opentelemetry.io/otel/metric"
)

// ProviderLocal names the in-process provider.
const ProviderLocal = "local"

// Config describes one cluster member.
type Config struct {
	// Name of the cluster; members only join members of the same name.
	Name string
	// Provider is the membership provider; only ProviderLocal exists now.
	Provider string
	// Addr is the host:port the member's remote endpoint listens on (TCP).
	// Port 0 picks a free port.
	Addr string
	// Kinds are the cluster kinds this member hosts.
	Kinds []*protocluster.Kind
	// Agent is the in-memory membership agent for ProviderLocal. Members
	// sharing an agent form one cluster; nil gives the member its own.
	Agent *test.InMemAgent
	// RequestTimeout bounds one grain request.
	RequestTimeout time.Duration
	// Logger receives protoactor's logs.
	Logger *slog.Logger
	// MeterProvider receives protoactor's metrics; nil disables them.
	MeterProvider metric.MeterProvider
	// ActorOptions are extra actor system options.
	ActorOptions []actor.ConfigOption
}

// Member is a started cluster member.
type Member struct {
	System  *actor.ActorSystem
	Cluster *protocluster.Cluster
}

// Start creates the actor system, starts the member and waits until it
// sees itself in the member list, or until ctx ends.
func Start(ctx context.Context, cfg Config) (*Member, error) {
	if cfg.Provider == "" {
		cfg.Provider = ProviderLocal
	}
	if cfg.Provider != ProviderLocal {
		return nil, fmt.Errorf("cluster provider %q: %w", cfg.Provider, ErrUnknownProvider)
	}
	host, port, err := splitHostPort(cfg.Addr)
	if err != nil {
		return nil, err
	}
	if cfg.Agent == nil {
		cfg.Agent = test.NewInMemAgent()
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}

	options := []actor.ConfigOption{}
	if cfg.Logger != nil {
		logger := cfg.Logger
		options = append(options, actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	}
	if cfg.MeterProvider != nil {
		options = append(options, actor.WithMetricProviders(cfg.MeterProvider))
	}
	options = append(options, cfg.ActorOptions...)
	system := actor.NewActorSystem(options...)

	// A peer that died is retried MaxRetryCount times with back-off, which
	// stretches a survivor's shutdown; two tries are enough on a LAN.
	remoteConfig := remote.Configure(host, port, func(c *remote.Config) { c.MaxRetryCount = 2 })
	provider := test.NewTestProvider(cfg.Agent)
	clusterConfig := protocluster.Configure(cfg.Name, provider, disthash.New(), remoteConfig,
		protocluster.WithKinds(cfg.Kinds...),
		protocluster.WithRequestTimeout(cfg.RequestTimeout),
	)
	c := protocluster.New(system, clusterConfig)

	started := make(chan error, 1)
	go func() {
		// StartMember panics when the listener or provider fails.
		defer func() {
			if r := recover(); r != nil {
				started <- fmt.Errorf("start cluster member on %s: %v", cfg.Addr, r)
			}
		}()
		c.StartMember()
		started <- nil
	}()

	select {
	case err := <-started:
		if err != nil {
			system.Shutdown()
			return nil, err
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("start cluster member: %w", ctx.Err())
	}

	m := &Member{System: system, Cluster: c}
	if err := m.waitForSelf(ctx); err != nil {
		_ = m.Stop(context.Background())
		return nil, err
	}
	return m, nil
}

// Address returns the member's remote address (host:port).
func (m *Member) Address() string { return m.System.Address() }

// IsLocal reports whether pid lives in this member's process. protoactor
// names the local address "nonhost" before remoting starts.
func (m *Member) IsLocal(pid *actor.PID) bool {
	return pid != nil && (pid.Address == m.System.Address() || pid.Address == "nonhost")
}

// Stop leaves the cluster gracefully and shuts the actor system down. It
// returns when that finished or ctx ended, whichever comes first.
func (m *Member) Stop(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Cluster.Shutdown(true)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop cluster member %s: %w", m.Address(), ctx.Err())
	}
}

func (m *Member) waitForSelf(ctx context.Context) error {
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for {
		if m.Cluster.MemberList.ContainsMemberID(m.System.ID) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for member %s to join: %w", m.Address(), ctx.Err())
		case <-ticker.C:
		}
	}
}

func splitHostPort(addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("cluster address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("cluster address %q: invalid port", addr)
	}
	if host == "" {
		return "", 0, errors.New("cluster address: missing host; name a loopback or interface address")
	}
	return host, port, nil
}
