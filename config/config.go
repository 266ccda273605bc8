package config

import (
	"net"
	"net/url"
	"path/filepath"
	"time"
)

// File names that a node keeps in [Config.DataDir] when no other path is
// configured.
const (
	// MasterSecretFileName is the master secret file, 32 random bytes.
	MasterSecretFileName = "master-secret"

	// ControlTokenFileName is the control token file, 64 lowercase hex
	// digits and a newline.
	ControlTokenFileName = "control-token"
)

// Sizes of the generated secrets and limits on supplied ones.
const (
	// MasterSecretBytes is the size of a generated master secret and the
	// minimum size of a supplied one.
	MasterSecretBytes = 32

	// ControlTokenRandomBytes is the number of random bytes behind a
	// generated control token, which is stored hex-encoded.
	ControlTokenRandomBytes = 32

	// MinControlTokenBytes is the minimum length of a control token.
	MinControlTokenBytes = 16

	// MaxNodeIDBytes is the maximum length of [Config.NodeID].
	MaxNodeIDBytes = 64

	// MaxClusterNameBytes is the maximum length of [Config.ClusterName].
	MaxClusterNameBytes = 64
)

// Config holds the settings of one Convene node. Build it with [Default] or
// [Load], and check it with [Config.Validate] before use. Every field has a
// flag --foo-bar and an environment variable CONVENE_FOO_BAR; see [Usage].
// Every default binds to loopback and needs no external service.
type Config struct {
	// DataDir is the directory that contains the dev join-token key, the
	// master secret, the self-signed certificate and the control token.
	// Created with mode 0700 when missing. Default "./convene-data". Must
	// not be empty.
	DataDir string

	// NodeID names this node in logs, metrics and placement. Empty makes
	// the node generate "node-<8 hex digits>". At most [MaxNodeIDBytes]
	// bytes of [a-zA-Z0-9._-]. Default "".
	NodeID string

	// GRPCAddr is the TCP host:port of the control gRPC server. Default
	// "127.0.0.1:7400". Port 0 picks a free port.
	GRPCAddr string

	// SignalingAddr is the UDP host:port of the WebTransport (HTTP/3)
	// signaling server. Default "127.0.0.1:7443". Port 0 picks a free port.
	SignalingAddr string

	// HTTPAddr is the TCP host:port of the health, metrics and dashboard
	// server. Default "127.0.0.1:7480". Port 0 picks a free port.
	HTTPAddr string

	// ClusterAddr is the TCP host:port of the protoactor remote endpoint.
	// Default "127.0.0.1:0", a free port.
	ClusterAddr string

	// SignalingURL is the public https URL that clients use to reach the
	// signaling server. Empty selects https://<SignalingAddr>/signaling; see
	// [Config.ResolvedSignalingURL]. Default "".
	SignalingURL string

	// TLSCertFile and TLSKeyFile are PEM files with the signaling server's
	// certificate chain and private key. Set both or neither. Empty makes
	// the node use a self-signed certificate in DataDir. Default "".
	TLSCertFile string
	TLSKeyFile  string

	// AllowedOrigins lists the browser origins (scheme://host[:port]) that
	// may open a WebTransport session. Comma-separated in the flag and the
	// environment variable. Default
	// "http://127.0.0.1:7480,http://localhost:7480", the dashboard.
	AllowedOrigins []string

	// JoinTokenKeysFile is a JWKS or PEM file with the public keys that
	// verify join tokens. Empty selects the dev key in DataDir. Default "".
	JoinTokenKeysFile string

	// JoinTokenAudience is the aud claim that join tokens must carry.
	// Default "convene". Must not be empty.
	JoinTokenAudience string

	// MasterSecretFile contains the master secret, at least
	// [MasterSecretBytes] bytes. Empty selects DataDir/master-secret, which
	// is created with 32 random bytes and mode 0600. Default "".
	MasterSecretFile string

	// PreviousMasterSecretFile contains the master secret that was in use
	// before the last rotation. It is still accepted until
	// PreviousSecretValidUntil, or until the node restarts without it when
	// that is zero. Default "".
	PreviousMasterSecretFile string

	// PreviousSecretValidUntil is when the previous master secret stops
	// being accepted, RFC 3339 in the flag. The zero time sets no limit.
	// Requires PreviousMasterSecretFile. Default zero.
	PreviousSecretValidUntil time.Time

	// ControlTokenFile contains the bearer token that control gRPC clients
	// must send. Empty selects DataDir/control-token, which is created with
	// 32 random bytes, hex-encoded, and mode 0600. Default "".
	ControlTokenFile string

	// ControlToken is the control bearer token itself and takes precedence
	// over ControlTokenFile. At least [MinControlTokenBytes] bytes when set.
	// Prefer the environment variable CONVENE_CONTROL_TOKEN to the flag,
	// which other local users can read in the process list. Default "".
	ControlToken string

	// GracePeriod is how long a disconnected participant keeps its place
	// and can resume. Default 30s, range 10ms to 10m. Values under 1s are
	// for demos and tests.
	GracePeriod time.Duration

	// JoinTimeout is how long a new session has to send its join request.
	// Default 5s, range 10ms to 1m.
	JoinTimeout time.Duration

	// MaxMessageSize is the largest signaling message accepted, in bytes.
	// Default 65536, range 1024 to 1048576.
	MaxMessageSize int

	// OutboundQueueSize is the number of frames queued for one connection
	// before it counts as slow. Default 256, range 8 to 65536.
	OutboundQueueSize int

	// WriteTimeout bounds one write to a client stream. Default 5s, range
	// 10ms to 1m.
	WriteTimeout time.Duration

	// MaxMeetings is the number of meetings this node hosts at most.
	// Default 1000, range 1 to 1000000.
	MaxMeetings int

	// MaxParticipants is the number of participants this node hosts at
	// most, over all meetings. Default 20000, range 1 to 10000000.
	MaxParticipants int

	// MaxParticipantsPerMeeting is the size limit of one meeting. Default
	// 500, range 1 to MaxParticipants.
	MaxParticipantsPerMeeting int

	// AdmissionThreshold is the fraction of MaxMeetings or MaxParticipants
	// above which the node rejects new meetings. Default 0.85, range
	// greater than 0 and at most 1.
	AdmissionThreshold float64

	// MeetingMailboxWarning and MeetingMailboxCritical are the queue
	// depths, in messages, at which a meeting actor's mailbox counts as
	// warning or critical. Defaults 100 and 500, range 1 to 1000000, and
	// warning must be below critical.
	MeetingMailboxWarning  int
	MeetingMailboxCritical int

	// ConnectionMailboxWarning and ConnectionMailboxCritical are the same
	// depths for connection actors. Defaults 50 and 200, range 1 to
	// 1000000, and warning must be below critical.
	ConnectionMailboxWarning  int
	ConnectionMailboxCritical int

	// ShutdownTimeout bounds the drain on SIGINT or SIGTERM. Default 20s,
	// range 10ms to 10m.
	ShutdownTimeout time.Duration

	// LogLevel is the minimum slog level: debug, info, warn or error.
	// Default "info".
	LogLevel string

	// LogFormat is the slog handler: text or json. Default "text".
	LogFormat string

	// ActorLogLevel is the minimum level of protoactor's own logs: debug,
	// info, warn or error. Default "warn".
	ActorLogLevel string

	// ClusterName is the protoactor cluster name. Members with different
	// names never join. Default "convene", at most [MaxClusterNameBytes]
	// bytes of [a-zA-Z0-9._-].
	ClusterName string

	// ClusterProvider selects how members find each other. Only "local"
	// is valid for now: one member in this process, no external service.
	// Default "local".
	ClusterProvider string
}

// Default returns the default configuration. It passes [Config.Validate].
func Default() Config {
	return Config{
		DataDir:                   "./convene-data",
		GRPCAddr:                  "127.0.0.1:7400",
		SignalingAddr:             "127.0.0.1:7443",
		HTTPAddr:                  "127.0.0.1:7480",
		ClusterAddr:               "127.0.0.1:0",
		AllowedOrigins:            []string{"http://127.0.0.1:7480", "http://localhost:7480"},
		JoinTokenAudience:         "convene",
		GracePeriod:               30 * time.Second,
		JoinTimeout:               5 * time.Second,
		MaxMessageSize:            64 << 10,
		OutboundQueueSize:         256,
		WriteTimeout:              5 * time.Second,
		MaxMeetings:               1000,
		MaxParticipants:           20000,
		MaxParticipantsPerMeeting: 500,
		AdmissionThreshold:        0.85,
		MeetingMailboxWarning:     100,
		MeetingMailboxCritical:    500,
		ConnectionMailboxWarning:  50,
		ConnectionMailboxCritical: 200,
		ShutdownTimeout:           20 * time.Second,
		LogLevel:                  "info",
		LogFormat:                 "text",
		ActorLogLevel:             "warn",
		ClusterName:               "convene",
		ClusterProvider:           "local",
	}
}

// ResolvedSignalingURL returns SignalingURL when set, and otherwise
// https://<SignalingAddr>/signaling. An unspecified host (empty, 0.0.0.0 or
// ::) becomes localhost, a name the self-signed certificate covers.
//
// NOTE: with port 0 in SignalingAddr the result still contains port 0, so the
// node must put the bound address into SignalingAddr before calling this.
func (c Config) ResolvedSignalingURL() string {
	if c.SignalingURL != "" {
		return c.SignalingURL
	}

	host, port, err := net.SplitHostPort(c.SignalingAddr)
	if err != nil {
		// Validate rejects such an address, so this only serves callers that
		// skipped it.
		host, port = c.SignalingAddr, ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}

	hostPort := host
	if port != "" {
		hostPort = net.JoinHostPort(host, port)
	}
	u := url.URL{Scheme: "https", Host: hostPort, Path: "/signaling"}
	return u.String()
}

// MasterSecretPath returns MasterSecretFile, or DataDir/master-secret when
// it is empty.
func (c Config) MasterSecretPath() string {
	if c.MasterSecretFile != "" {
		return c.MasterSecretFile
	}
	return filepath.Join(c.DataDir, MasterSecretFileName)
}

// ControlTokenPath returns ControlTokenFile, or DataDir/control-token when
// it is empty.
func (c Config) ControlTokenPath() string {
	if c.ControlTokenFile != "" {
		return c.ControlTokenFile
	}
	return filepath.Join(c.DataDir, ControlTokenFileName)
}

// ResolveControlToken returns ControlToken when set. Otherwise it reads the
// token from [Config.ControlTokenPath], creating the file as
// [LoadOrCreateControlToken] does when it is missing.
func (c Config) ResolveControlToken() (string, error) {
	if c.ControlToken != "" {
		return c.ControlToken, nil
	}
	if c.ControlTokenFile != "" {
		// A file named explicitly must exist: creating a fresh token at a
		// mistyped path would lock out every client of the old one.
		return ReadControlToken(c.ControlTokenFile)
	}
	return LoadOrCreateControlToken(c.ControlTokenPath())
}
