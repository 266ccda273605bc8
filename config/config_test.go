package config

import (
	"bytes"
	"errors"
	"flag"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// envMap returns a lookup function over m, in place of os.LookupEnv.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func TestDefault_Validates(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate(): got %v, want nil", err)
	}
}

func TestValidate_RejectsField(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(c *Config)
		wantFlag string
	}{
		{"empty data dir", func(c *Config) { c.DataDir = "" }, "data-dir"},
		{"node id too long", func(c *Config) { c.NodeID = strings.Repeat("n", 65) }, "node-id"},
		{"node id bad byte", func(c *Config) { c.NodeID = "node/1" }, "node-id"},
		{"grpc addr without port", func(c *Config) { c.GRPCAddr = "127.0.0.1" }, "grpc-addr"},
		{"signaling addr bad port", func(c *Config) { c.SignalingAddr = "127.0.0.1:http" }, "signaling-addr"},
		{"http addr port too high", func(c *Config) { c.HTTPAddr = "127.0.0.1:70000" }, "http-addr"},
		{"cluster addr empty", func(c *Config) { c.ClusterAddr = "" }, "cluster-addr"},
		{"signaling url http", func(c *Config) { c.SignalingURL = "http://127.0.0.1:7443/signaling" }, "signaling-url"},
		{"signaling url relative", func(c *Config) { c.SignalingURL = "/signaling" }, "signaling-url"},
		{"tls cert without key", func(c *Config) { c.TLSCertFile = "cert.pem" }, "tls-cert-file"},
		{"tls key without cert", func(c *Config) { c.TLSKeyFile = "key.pem" }, "tls-key-file"},
		{"origin with path", func(c *Config) { c.AllowedOrigins = []string{"http://127.0.0.1:7480/x"} }, "allowed-origins"},
		{"origin without scheme", func(c *Config) { c.AllowedOrigins = []string{"127.0.0.1:7480"} }, "allowed-origins"},
		{"empty audience", func(c *Config) { c.JoinTokenAudience = "" }, "join-token-audience"},
		{"valid until without file", func(c *Config) { c.PreviousSecretValidUntil = time.Unix(1, 0) }, "previous-secret-valid-until"},
		{"short control token", func(c *Config) { c.ControlToken = "short" }, "control-token"},
		{"grace period too short", func(c *Config) { c.GracePeriod = 9 * time.Millisecond }, "grace-period"},
		{"grace period too long", func(c *Config) { c.GracePeriod = 11 * time.Minute }, "grace-period"},
		{"join timeout zero", func(c *Config) { c.JoinTimeout = 0 }, "join-timeout"},
		{"write timeout too long", func(c *Config) { c.WriteTimeout = 2 * time.Minute }, "write-timeout"},
		{"shutdown timeout negative", func(c *Config) { c.ShutdownTimeout = -time.Second }, "shutdown-timeout"},
		{"message size too small", func(c *Config) { c.MaxMessageSize = 1023 }, "max-message-size"},
		{"message size too large", func(c *Config) { c.MaxMessageSize = 1<<20 + 1 }, "max-message-size"},
		{"outbound queue too small", func(c *Config) { c.OutboundQueueSize = 7 }, "outbound-queue-size"},
		{"outbound queue too large", func(c *Config) { c.OutboundQueueSize = 65537 }, "outbound-queue-size"},
		{"max meetings zero", func(c *Config) { c.MaxMeetings = 0 }, "max-meetings"},
		{"max participants zero", func(c *Config) { c.MaxParticipants = 0 }, "max-participants"},
		{"per meeting above total", func(c *Config) { c.MaxParticipantsPerMeeting = c.MaxParticipants + 1 }, "max-participants-per-meeting"},
		{"admission threshold zero", func(c *Config) { c.AdmissionThreshold = 0 }, "admission-threshold"},
		{"admission threshold above one", func(c *Config) { c.AdmissionThreshold = 1.01 }, "admission-threshold"},
		{"meeting warning at critical", func(c *Config) { c.MeetingMailboxWarning = c.MeetingMailboxCritical }, "meeting-mailbox-warning"},
		{"meeting critical zero", func(c *Config) { c.MeetingMailboxCritical = 0 }, "meeting-mailbox-critical"},
		{"connection warning above critical", func(c *Config) { c.ConnectionMailboxWarning = 300 }, "connection-mailbox-warning"},
		{"connection warning zero", func(c *Config) { c.ConnectionMailboxWarning = 0 }, "connection-mailbox-warning"},
		{"log level unknown", func(c *Config) { c.LogLevel = "trace" }, "log-level"},
		{"log format unknown", func(c *Config) { c.LogFormat = "xml" }, "log-format"},
		{"actor log level unknown", func(c *Config) { c.ActorLogLevel = "verbose" }, "actor-log-level"},
		{"cluster name empty", func(c *Config) { c.ClusterName = "" }, "cluster-name"},
		{"cluster name bad byte", func(c *Config) { c.ClusterName = "a b" }, "cluster-name"},
		{"cluster provider unknown", func(c *Config) { c.ClusterProvider = "consul" }, "cluster-provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)

			err := c.Validate()
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate(): got %v, want an error wrapping ErrInvalidConfig", err)
			}
			if want := "--" + tt.wantFlag + " "; !strings.Contains(err.Error(), want) {
				t.Errorf("Validate() message: got %q, want it to contain %q", err, want)
			}
		})
	}
}

func TestValidate_AcceptsLimits(t *testing.T) {
	c := Default()
	c.NodeID = strings.Repeat("n", MaxNodeIDBytes)
	c.GracePeriod = 10 * time.Millisecond
	c.MaxMessageSize = 1 << 20
	c.AdmissionThreshold = 1
	c.GRPCAddr = "[::1]:0"
	c.AllowedOrigins = nil
	c.TLSCertFile, c.TLSKeyFile = "cert.pem", "key.pem"
	c.PreviousMasterSecretFile = "old-secret"
	c.PreviousSecretValidUntil = time.Unix(1, 0)
	c.ControlToken = strings.Repeat("t", MinControlTokenBytes)

	if err := c.Validate(); err != nil {
		t.Fatalf("Validate(): got %v, want nil", err)
	}
}

func TestValidate_JoinsAllErrors(t *testing.T) {
	c := Default()
	c.MaxMeetings = 0
	c.LogFormat = "xml"

	err := c.Validate()
	for _, want := range []string{"--max-meetings ", "--log-format "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() message: got %q, want it to contain %q", err, want)
		}
	}
}

func TestValidate_HidesControlToken(t *testing.T) {
	c := Default()
	c.ControlToken = "tooshortsecret"

	err := c.Validate()
	if err == nil {
		t.Fatal("Validate(): got nil, want an error for the short token")
	}
	if strings.Contains(err.Error(), c.ControlToken) {
		t.Errorf("Validate() message: got %q, want it without the token", err)
	}
}

func TestBindFlags_EveryField(t *testing.T) {
	var c Config
	descriptors := fields(&c)

	if got, want := len(descriptors), reflect.TypeFor[Config]().NumField(); got != want {
		t.Errorf("descriptors: got %d, want one per Config field (%d)", got, want)
	}

	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	BindFlags(fs, &c)
	seen := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		seen[f.Name] = true
		if want := EnvName(f.Name); !strings.Contains(f.Usage, want) {
			t.Errorf("--%s usage: got %q, want it to name %s", f.Name, f.Usage, want)
		}
	})
	if len(seen) != len(descriptors) {
		t.Errorf("registered flags: got %d, want %d distinct names", len(seen), len(descriptors))
	}
}

func TestEnvName_Format(t *testing.T) {
	if got, want := EnvName("max-participants-per-meeting"), "CONVENE_MAX_PARTICIPANTS_PER_MEETING"; got != want {
		t.Errorf("EnvName: got %q, want %q", got, want)
	}
}

func TestLoad_FlagOverridesEnv(t *testing.T) {
	env := envMap(map[string]string{
		"CONVENE_GRPC_ADDR":    "127.0.0.1:9000",
		"CONVENE_GRACE_PERIOD": "2s",
		"CONVENE_LOG_LEVEL":    "",
	})

	c, err := Load([]string{"--grpc-addr", "127.0.0.1:9001"}, env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	if c.GRPCAddr != "127.0.0.1:9001" {
		t.Errorf("GRPCAddr: got %q, want the flag value 127.0.0.1:9001", c.GRPCAddr)
	}
	if c.GracePeriod != 2*time.Second {
		t.Errorf("GracePeriod: got %s, want the env value 2s", c.GracePeriod)
	}
	if c.LogLevel != "info" {
		t.Errorf("LogLevel: got %q, want the default info for an empty env var", c.LogLevel)
	}
	if c.HTTPAddr != Default().HTTPAddr {
		t.Errorf("HTTPAddr: got %q, want the default %q", c.HTTPAddr, Default().HTTPAddr)
	}
}

func TestLoad_CommaLists(t *testing.T) {
	env := envMap(map[string]string{"CONVENE_ALLOWED_ORIGINS": " https://a.example , ,https://b.example:8443"})

	c, err := Load(nil, env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want := []string{"https://a.example", "https://b.example:8443"}; !slices.Equal(c.AllowedOrigins, want) {
		t.Errorf("AllowedOrigins from env: got %q, want %q", c.AllowedOrigins, want)
	}

	c, err = Load([]string{"--allowed-origins=https://c.example"}, env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want := []string{"https://c.example"}; !slices.Equal(c.AllowedOrigins, want) {
		t.Errorf("AllowedOrigins from flag: got %q, want %q", c.AllowedOrigins, want)
	}

	c, err = Load([]string{"--allowed-origins="}, env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(c.AllowedOrigins) != 0 {
		t.Errorf("AllowedOrigins from empty flag: got %q, want none", c.AllowedOrigins)
	}
}

func TestLoad_DurationsAndTimes(t *testing.T) {
	env := envMap(map[string]string{
		"CONVENE_JOIN_TIMEOUT":                "1m",
		"CONVENE_PREVIOUS_MASTER_SECRET_FILE": "old-secret",
		"CONVENE_PREVIOUS_SECRET_VALID_UNTIL": "2030-01-02T15:04:05Z",
	})

	c, err := Load([]string{"--grace-period=50ms", "--shutdown-timeout", "1.5s", "--admission-threshold=0.5"}, env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	if c.GracePeriod != 50*time.Millisecond {
		t.Errorf("GracePeriod: got %s, want 50ms", c.GracePeriod)
	}
	if c.ShutdownTimeout != 1500*time.Millisecond {
		t.Errorf("ShutdownTimeout: got %s, want 1.5s", c.ShutdownTimeout)
	}
	if c.JoinTimeout != time.Minute {
		t.Errorf("JoinTimeout: got %s, want 1m", c.JoinTimeout)
	}
	if c.AdmissionThreshold != 0.5 {
		t.Errorf("AdmissionThreshold: got %g, want 0.5", c.AdmissionThreshold)
	}
	if want := time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC); !c.PreviousSecretValidUntil.Equal(want) {
		t.Errorf("PreviousSecretValidUntil: got %s, want %s", c.PreviousSecretValidUntil, want)
	}
}

func TestLoad_InvalidEnv(t *testing.T) {
	env := envMap(map[string]string{
		"CONVENE_GRACE_PERIOD": "30",
		"CONVENE_MAX_MEETINGS": "many",
	})

	_, err := Load(nil, env)
	if !errors.Is(err, ErrInvalidEnv) {
		t.Fatalf("Load: got %v, want an error wrapping ErrInvalidEnv", err)
	}
	for _, want := range []string{"CONVENE_GRACE_PERIOD", "CONVENE_MAX_MEETINGS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Load message: got %q, want it to contain %s", err, want)
		}
	}
}

func TestLoad_InvalidFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"--no-such-flag"}},
		{"bad duration", []string{"--grace-period=soon"}},
		{"bad time", []string{"--previous-secret-valid-until=tomorrow"}},
		{"positional argument", []string{"extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, envMap(nil))
			if !errors.Is(err, ErrInvalidFlag) {
				t.Errorf("Load(%q): got %v, want an error wrapping ErrInvalidFlag", tt.args, err)
			}
		})
	}
}

func TestLoad_ValidatesResult(t *testing.T) {
	_, err := Load([]string{"--max-meetings=0"}, envMap(nil))
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Load: got %v, want an error wrapping ErrInvalidConfig", err)
	}
}

func TestLoad_HelpListsEveryFlag(t *testing.T) {
	var out bytes.Buffer

	_, err := LoadWithOutput([]string{"-h"}, envMap(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("LoadWithOutput(-h): got %v, want flag.ErrHelp", err)
	}

	var c Config
	for _, f := range fields(&c) {
		want := "--" + f.name + " (env " + EnvName(f.name) + ")"
		if !strings.Contains(out.String(), want) {
			t.Errorf("help output: missing %q", want)
		}
	}
	if !strings.Contains(out.String(), "(default 30s)") {
		t.Errorf("help output: missing the grace period default (default 30s):\n%s", out.String())
	}
}

func TestDescribe_RedactsControlToken(t *testing.T) {
	c := Default()
	c.ControlToken = "0123456789abcdef0123"

	got := c.Describe()

	if strings.Contains(got, c.ControlToken) {
		t.Errorf("Describe: got the control token in %q", got)
	}
	for _, want := range []string{"--control-token=<set> (env CONVENE_CONTROL_TOKEN)", "--grpc-addr=127.0.0.1:7400 (env CONVENE_GRPC_ADDR)"} {
		if !strings.Contains(got, want) {
			t.Errorf("Describe: missing %q in\n%s", want, got)
		}
	}
}

func TestBindFlags_HidesControlToken(t *testing.T) {
	c := Default()
	token := "0123456789abcdef0123"
	if err := ApplyEnv(&c, envMap(map[string]string{"CONVENE_CONTROL_TOKEN": token})); err != nil {
		t.Fatalf("ApplyEnv: %v", err)
	}

	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	BindFlags(fs, &c)
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.PrintDefaults()

	if c.ControlToken != token {
		t.Errorf("ControlToken: got %d bytes, want the env token", len(c.ControlToken))
	}
	if strings.Contains(help.String(), token) {
		t.Errorf("PrintDefaults: got the control token in\n%s", help.String())
	}
}

func TestResolvedSignalingURL_Cases(t *testing.T) {
	tests := []struct {
		name          string
		signalingURL  string
		signalingAddr string
		want          string
	}{
		{"explicit url", "https://meet.example/signaling", "127.0.0.1:7443", "https://meet.example/signaling"},
		{"loopback addr", "", "127.0.0.1:7443", "https://127.0.0.1:7443/signaling"},
		{"ipv6 loopback", "", "[::1]:7443", "https://[::1]:7443/signaling"},
		{"all interfaces", "", "0.0.0.0:7443", "https://localhost:7443/signaling"},
		{"empty host", "", ":7443", "https://localhost:7443/signaling"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.SignalingURL = tt.signalingURL
			c.SignalingAddr = tt.signalingAddr

			if got := c.ResolvedSignalingURL(); got != tt.want {
				t.Errorf("ResolvedSignalingURL: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSecretPaths_DefaultToDataDir(t *testing.T) {
	c := Default()
	c.DataDir = "/srv/convene"

	if got, want := c.MasterSecretPath(), "/srv/convene/master-secret"; got != want {
		t.Errorf("MasterSecretPath: got %q, want %q", got, want)
	}
	if got, want := c.ControlTokenPath(), "/srv/convene/control-token"; got != want {
		t.Errorf("ControlTokenPath: got %q, want %q", got, want)
	}

	c.MasterSecretFile = "/etc/convene/secret"
	if got, want := c.MasterSecretPath(), "/etc/convene/secret"; got != want {
		t.Errorf("MasterSecretPath with file: got %q, want %q", got, want)
	}
}
