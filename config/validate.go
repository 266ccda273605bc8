package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Limits checked by [Config.Validate].
const (
	minDuration         = 10 * time.Millisecond
	maxGracePeriod      = 10 * time.Minute
	maxJoinTimeout      = time.Minute
	maxWriteTimeout     = time.Minute
	maxShutdownTimeout  = 10 * time.Minute
	minMaxMessageSize   = 1 << 10
	maxMaxMessageSize   = 1 << 20
	minOutboundQueue    = 8
	maxOutboundQueue    = 65536
	maxMaxMeetings      = 1_000_000
	maxMaxParticipants  = 10_000_000
	maxMailboxThreshold = 1_000_000
)

// logLevels are the values accepted by LogLevel and ActorLogLevel.
var logLevels = []string{"debug", "info", "warn", "error"}

// Validate checks every field against its documented range and returns nil
// or the errors of all bad fields joined with errors.Join. Each error wraps
// [ErrInvalidConfig] and names the field by its flag and the limit it broke.
// Validate touches no file and no socket.
func (c Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	if c.DataDir == "" {
		add(invalid("data-dir", "is empty, want a directory path"))
	}
	if c.NodeID != "" {
		add(checkName("node-id", c.NodeID, MaxNodeIDBytes))
	}

	add(checkHostPort("grpc-addr", c.GRPCAddr))
	add(checkHostPort("signaling-addr", c.SignalingAddr))
	add(checkHostPort("http-addr", c.HTTPAddr))
	add(checkHostPort("cluster-addr", c.ClusterAddr))
	if c.SignalingURL != "" {
		add(checkSignalingURL(c.SignalingURL))
	}

	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		add(invalid("tls-cert-file", "and --tls-key-file must be set together or both left empty"))
	}
	for _, origin := range c.AllowedOrigins {
		add(checkOrigin(origin))
	}

	if c.JoinTokenAudience == "" {
		add(invalid("join-token-audience", "is empty, want the aud claim of join tokens"))
	}
	if !c.PreviousSecretValidUntil.IsZero() && c.PreviousMasterSecretFile == "" {
		add(invalid("previous-secret-valid-until", "is set without --previous-master-secret-file"))
	}
	if c.ControlToken != "" && len(c.ControlToken) < MinControlTokenBytes {
		// The token itself must never appear in an error.
		add(invalid("control-token", "is %d bytes, want at least %d", len(c.ControlToken), MinControlTokenBytes))
	}

	add(checkDuration("grace-period", c.GracePeriod, minDuration, maxGracePeriod))
	add(checkDuration("join-timeout", c.JoinTimeout, minDuration, maxJoinTimeout))
	add(checkDuration("write-timeout", c.WriteTimeout, minDuration, maxWriteTimeout))
	add(checkDuration("shutdown-timeout", c.ShutdownTimeout, minDuration, maxShutdownTimeout))
	add(checkInt("max-message-size", c.MaxMessageSize, minMaxMessageSize, maxMaxMessageSize))
	add(checkInt("outbound-queue-size", c.OutboundQueueSize, minOutboundQueue, maxOutboundQueue))

	add(checkInt("max-meetings", c.MaxMeetings, 1, maxMaxMeetings))
	add(checkInt("max-participants", c.MaxParticipants, 1, maxMaxParticipants))
	if c.MaxParticipantsPerMeeting < 1 || c.MaxParticipantsPerMeeting > c.MaxParticipants {
		add(invalid("max-participants-per-meeting", "is %d, want 1 to --max-participants (%d)",
			c.MaxParticipantsPerMeeting, c.MaxParticipants))
	}
	if !(c.AdmissionThreshold > 0 && c.AdmissionThreshold <= 1) {
		add(invalid("admission-threshold", "is %g, want greater than 0 and at most 1", c.AdmissionThreshold))
	}

	add(checkMailbox("meeting-mailbox", c.MeetingMailboxWarning, c.MeetingMailboxCritical))
	add(checkMailbox("connection-mailbox", c.ConnectionMailboxWarning, c.ConnectionMailboxCritical))

	add(checkOneOf("log-level", c.LogLevel, logLevels))
	add(checkOneOf("log-format", c.LogFormat, []string{"text", "json"}))
	add(checkOneOf("actor-log-level", c.ActorLogLevel, logLevels))
	add(checkName("cluster-name", c.ClusterName, MaxClusterNameBytes))
	add(checkOneOf("cluster-provider", c.ClusterProvider, []string{"local"}))

	return errors.Join(errs...)
}

// invalid returns an error that wraps ErrInvalidConfig and starts with the
// flag name.
func invalid(flagName, format string, args ...any) error {
	return fmt.Errorf("%w: --%s %s", ErrInvalidConfig, flagName, fmt.Sprintf(format, args...))
}

func checkHostPort(flagName, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return invalid(flagName, "%q is not host:port: %v", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return invalid(flagName, "%q has port %q, want a number from 0 to 65535", addr, port)
	}
	return nil
}

func checkSignalingURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("signaling-url", "%q does not parse: %v", raw, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return invalid("signaling-url", "%q is not an absolute https URL", raw)
	}
	return nil
}

// checkOrigin accepts a browser origin as sent in the Origin header:
// http or https, a host, an optional port, and no path, query or fragment.
func checkOrigin(origin string) error {
	u, err := url.Parse(origin)
	if err != nil {
		return invalid("allowed-origins", "entry %q does not parse: %v", origin, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("allowed-origins", "entry %q is not an http or https origin such as https://app.example.com", origin)
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return invalid("allowed-origins", "entry %q has more than scheme://host[:port]", origin)
	}
	return nil
}

// checkName accepts 1 to maxBytes bytes of [a-zA-Z0-9._-].
func checkName(flagName, name string, maxBytes int) error {
	if name == "" {
		return invalid(flagName, "is empty")
	}
	if len(name) > maxBytes {
		return invalid(flagName, "is %d bytes, maximum %d", len(name), maxBytes)
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return invalid(flagName, "%q contains %q at byte %d, want only [a-zA-Z0-9._-]", name, name[i], i)
		}
	}
	return nil
}

func isNameByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	default:
		return b == '.' || b == '_' || b == '-'
	}
}

func checkDuration(flagName string, d, minimum, maximum time.Duration) error {
	if d < minimum || d > maximum {
		return invalid(flagName, "is %s, want %s to %s", d, minimum, maximum)
	}
	return nil
}

func checkInt(flagName string, n, minimum, maximum int) error {
	if n < minimum || n > maximum {
		return invalid(flagName, "is %d, want %d to %d", n, minimum, maximum)
	}
	return nil
}

// checkMailbox checks the --<prefix>-warning and --<prefix>-critical pair.
func checkMailbox(prefix string, warning, critical int) error {
	warningFlag, criticalFlag := prefix+"-warning", prefix+"-critical"
	if err := checkInt(warningFlag, warning, 1, maxMailboxThreshold); err != nil {
		return err
	}
	if err := checkInt(criticalFlag, critical, 1, maxMailboxThreshold); err != nil {
		return err
	}
	if warning >= critical {
		return invalid(warningFlag, "is %d, want below --%s (%d)", warning, criticalFlag, critical)
	}
	return nil
}

func checkOneOf(flagName, value string, allowed []string) error {
	if !slices.Contains(allowed, value) {
		return invalid(flagName, "is %q, want one of %q", value, allowed)
	}
	return nil
}
