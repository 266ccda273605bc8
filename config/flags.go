package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// EnvPrefix starts the name of every environment variable read by
// [ApplyEnv].
const EnvPrefix = "CONVENE_"

// field describes one Config field: its flag name, its help text with the
// unit, and a flag.Value that reads and writes the field.
type field struct {
	name  string
	usage string
	value flag.Value
}

// EnvName returns the environment variable that sets the flag flagName, such
// as CONVENE_GRPC_ADDR for "grpc-addr".
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// fields returns the descriptors of every field of c, in help order. Each
// value points into c, so setting it changes c.
func fields(c *Config) []field {
	return []field{
		{name: "data-dir", value: (*stringValue)(&c.DataDir),
			usage: "directory for the dev join-token key, master secret, certificate and control token"},
		{name: "node-id", value: (*stringValue)(&c.NodeID),
			usage: "node name, at most 64 bytes of [a-zA-Z0-9._-]; empty generates node-<8 hex digits>"},
		{name: "grpc-addr", value: (*stringValue)(&c.GRPCAddr),
			usage: "TCP host:port of the control gRPC server"},
		{name: "signaling-addr", value: (*stringValue)(&c.SignalingAddr),
			usage: "UDP host:port of the WebTransport signaling server"},
		{name: "http-addr", value: (*stringValue)(&c.HTTPAddr),
			usage: "TCP host:port of the health, metrics and dashboard server"},
		{name: "cluster-addr", value: (*stringValue)(&c.ClusterAddr),
			usage: "TCP host:port of the protoactor remote endpoint; port 0 picks a free port"},
		{name: "signaling-url", value: (*stringValue)(&c.SignalingURL),
			usage: "public https URL of the signaling server; empty means https://<signaling-addr>/signaling"},
		{name: "tls-cert-file", value: (*stringValue)(&c.TLSCertFile),
			usage: "PEM certificate chain of the signaling server; set with --tls-key-file, or neither for a self-signed certificate"},
		{name: "tls-key-file", value: (*stringValue)(&c.TLSKeyFile),
			usage: "PEM private key of the signaling server; set with --tls-cert-file"},
		{name: "allowed-origins", value: (*listValue)(&c.AllowedOrigins),
			usage: "comma-separated browser origins (scheme://host[:port]) allowed to open WebTransport sessions"},
		{name: "join-token-keys-file", value: (*stringValue)(&c.JoinTokenKeysFile),
			usage: "JWKS or PEM file of join-token public keys; empty means the dev key in --data-dir"},
		{name: "join-token-audience", value: (*stringValue)(&c.JoinTokenAudience),
			usage: "aud claim that join tokens must carry"},
		{name: "master-secret-file", value: (*stringValue)(&c.MasterSecretFile),
			usage: "file with the master secret, at least 32 bytes; empty means <data-dir>/master-secret, created if missing"},
		{name: "previous-master-secret-file", value: (*stringValue)(&c.PreviousMasterSecretFile),
			usage: "file with the master secret before the last rotation, still accepted"},
		{name: "previous-secret-valid-until", value: (*timeValue)(&c.PreviousSecretValidUntil),
			usage: "RFC 3339 time when the previous master secret stops being accepted; empty means one hour after the node starts"},
		{name: "control-token-file", value: (*stringValue)(&c.ControlTokenFile),
			usage: "file with the control gRPC bearer token; empty means <data-dir>/control-token, created if missing"},
		{name: "control-token", value: (*secretValue)(&c.ControlToken),
			usage: "control gRPC bearer token, at least 16 bytes, overrides --control-token-file; prefer the environment variable"},
		{name: "grace-period", value: (*durationValue)(&c.GracePeriod),
			usage: "duration a disconnected participant can resume, 10ms to 10m"},
		{name: "join-timeout", value: (*durationValue)(&c.JoinTimeout),
			usage: "duration a new session has to send its join request, 10ms to 1m"},
		{name: "max-message-size", value: (*intValue)(&c.MaxMessageSize),
			usage: "largest signaling message in bytes, 1024 to 1048576"},
		{name: "outbound-queue-size", value: (*intValue)(&c.OutboundQueueSize),
			usage: "frames queued per connection before it counts as slow, 8 to 65536"},
		{name: "write-timeout", value: (*durationValue)(&c.WriteTimeout),
			usage: "duration limit of one write to a client stream, 10ms to 1m"},
		{name: "max-meetings", value: (*intValue)(&c.MaxMeetings),
			usage: "meetings hosted by this node at most, 1 to 1000000"},
		{name: "max-participants", value: (*intValue)(&c.MaxParticipants),
			usage: "participants hosted by this node at most, 1 to 10000000"},
		{name: "max-participants-per-meeting", value: (*intValue)(&c.MaxParticipantsPerMeeting),
			usage: "participants in one meeting at most, 1 to --max-participants"},
		{name: "admission-threshold", value: (*floatValue)(&c.AdmissionThreshold),
			usage: "fraction of --max-meetings or --max-participants above which new meetings are rejected, greater than 0 and at most 1"},
		{name: "meeting-mailbox-warning", value: (*intValue)(&c.MeetingMailboxWarning),
			usage: "meeting mailbox depth in messages that counts as warning, below the critical depth"},
		{name: "meeting-mailbox-critical", value: (*intValue)(&c.MeetingMailboxCritical),
			usage: "meeting mailbox depth in messages that counts as critical, at most 1000000"},
		{name: "connection-mailbox-warning", value: (*intValue)(&c.ConnectionMailboxWarning),
			usage: "connection mailbox depth in messages that counts as warning, below the critical depth"},
		{name: "connection-mailbox-critical", value: (*intValue)(&c.ConnectionMailboxCritical),
			usage: "connection mailbox depth in messages that counts as critical, at most 1000000"},
		{name: "shutdown-timeout", value: (*durationValue)(&c.ShutdownTimeout),
			usage: "duration limit of the drain on SIGINT or SIGTERM, 10ms to 10m"},
		{name: "log-level", value: (*stringValue)(&c.LogLevel),
			usage: "minimum log level: debug, info, warn or error"},
		{name: "log-format", value: (*stringValue)(&c.LogFormat),
			usage: "log format: text or json"},
		{name: "actor-log-level", value: (*stringValue)(&c.ActorLogLevel),
			usage: "minimum level of protoactor logs: debug, info, warn or error"},
		{name: "cluster-name", value: (*stringValue)(&c.ClusterName),
			usage: "protoactor cluster name, at most 64 bytes of [a-zA-Z0-9._-]"},
		{name: "cluster-provider", value: (*stringValue)(&c.ClusterProvider),
			usage: "how cluster members find each other: local (one member in this process)"},
	}
}

// BindFlags registers one flag per Config field on fs, each writing into c.
// The current values of c become the flag defaults shown by -h. The help
// text of each flag names its environment variable.
func BindFlags(fs *flag.FlagSet, c *Config) {
	for _, f := range fields(c) {
		fs.Var(f.value, f.name, f.usage+" (env "+EnvName(f.name)+")")
	}
}

// ApplyEnv sets each field of c whose environment variable lookup returns.
// A variable that is set to the empty string is ignored, like an unset one.
// Errors wrap [ErrInvalidEnv], name the variable and are joined, so one
// call reports every bad variable. Pass os.LookupEnv outside tests.
func ApplyEnv(c *Config, lookup func(string) (string, bool)) error {
	var errs []error
	for _, f := range fields(c) {
		name := EnvName(f.name)
		raw, ok := lookup(name)
		if !ok || raw == "" {
			continue
		}
		if err := f.value.Set(raw); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrInvalidEnv, name, err))
		}
	}
	return errors.Join(errs...)
}

// Load builds a Config from defaults, then the environment variables from
// lookupEnv, then the flags in args, and validates it. The flag set is named
// "node". Help (-h) is written to os.Stderr and returns flag.ErrHelp. Other
// errors wrap [ErrInvalidEnv], [ErrInvalidFlag] or [ErrInvalidConfig].
func Load(args []string, lookupEnv func(string) (string, bool)) (Config, error) {
	return LoadWithOutput(args, lookupEnv, os.Stderr)
}

// LoadWithOutput is [Load] that writes the help text of -h to output, and
// nothing else.
func LoadWithOutput(args []string, lookupEnv func(string) (string, bool), output io.Writer) (Config, error) {
	c := Default()

	// Environment variables override defaults, and flags parsed next
	// override environment variables.
	if err := ApplyEnv(&c, lookupEnv); err != nil {
		return Config{}, err
	}

	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	BindFlags(fs, &c)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(output, "Usage: convene node [flags]")
		fmt.Fprintln(output)
		fmt.Fprintln(output, "Every flag can also be set by its environment variable; flags take precedence.")
		fmt.Fprintln(output)
		Usage(output)
		return Config{}, err
	}
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w; run convene node -h for the flag list", ErrInvalidFlag, err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected argument %q; convene node takes only flags", ErrInvalidFlag, fs.Arg(0))
	}

	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Usage writes every flag with its environment variable, help text with
// unit, and default value to w.
func Usage(w io.Writer) {
	c := Default()
	for _, f := range fields(&c) {
		fmt.Fprintf(w, "  --%s (env %s)\n", f.name, EnvName(f.name))
		fmt.Fprintf(w, "    \t%s", f.usage)
		if def := f.value.String(); def != "" {
			fmt.Fprintf(w, " (default %s)", def)
		}
		fmt.Fprintln(w)
	}
}

// Describe returns one line per field, "--flag=value (env NAME)", in help
// order, for logs and support output. The control token is shown as
// "<set>" or "", never as its value.
func (c Config) Describe() string {
	var b strings.Builder
	for _, f := range fields(&c) {
		fmt.Fprintf(&b, "--%s=%s (env %s)\n", f.name, f.value.String(), EnvName(f.name))
	}
	return b.String()
}
