package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/convene/convene/config"
	"github.com/convene/convene/internal/logging"
	"github.com/convene/convene/node"
)

// runNode runs a node until SIGINT or SIGTERM, then drains it. A second
// signal during the drain stops at once.
func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := config.LoadWithOutput(args, os.LookupEnv, stderr)
	if err != nil {
		return err
	}
	logger, err := logging.New(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	actorLogger, err := logging.New(stderr, cfg.ActorLogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}

	n, err := node.New(cfg, node.Options{Logger: logger, ActorLogger: actorLogger.With("component", "protoactor")})
	if err != nil {
		return err
	}
	if err := n.Start(ctx); err != nil {
		return err
	}
	printEndpoints(stdout, n.Endpoints())

	<-ctx.Done()
	// Register for the second signal before the message requests it. A
	// signal that arrives before Notify goes to the cancelled NotifyContext
	// and is lost.
	force := make(chan os.Signal, 1)
	signal.Notify(force, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(force)
	fmt.Fprintln(stdout, "convene: draining; send the signal again to stop at once")

	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	go func() {
		select {
		case <-force:
			cancel()
		case <-stopCtx.Done():
		}
	}()

	if err := n.Stop(stopCtx); err != nil {
		if errors.Is(err, context.Canceled) {
			return errors.New("stopped at once by a second signal")
		}
		return err
	}
	return nil
}

func printEndpoints(w io.Writer, e node.Endpoints) {
	fmt.Fprintf(w, "convene node %s started\n", e.NodeID)
	fmt.Fprintf(w, "  signaling (WebTransport): %s\n", e.SignalingURL)
	fmt.Fprintf(w, "  certificate SHA-256:      %s\n", e.CertificateSHA256)
	fmt.Fprintf(w, "  control (gRPC):           %s\n", e.GRPCAddr)
	fmt.Fprintf(w, "  health and metrics:       http://%s/health/ready\n", e.HTTPAddr)
	fmt.Fprintf(w, "  cluster member:           %s\n", e.ClusterAddr)
	if e.ControlTokenFile != "" {
		fmt.Fprintf(w, "  control token file:       %s\n", e.ControlTokenFile)
	}
	if e.DevKeyFile != "" {
		fmt.Fprintf(w, "  dev join-token key:       %s (mint tokens with: convene token)\n", e.DevKeyFile)
	}
}
