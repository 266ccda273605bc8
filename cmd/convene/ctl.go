package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/convene/convene/config"
	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/messages/signalingv1"
)

// rpcCall sends one prepared control request and returns the response.
type rpcCall func(ctx context.Context, client controlv1.ControlServiceClient) (proto.Message, error)

// ctlMethod is one method of "convene ctl". prepare registers the method's
// flags on fs, parses args and returns the call to make.
type ctlMethod struct {
	name    string
	summary string
	prepare func(fs *flag.FlagSet, args []string, stdout io.Writer) (rpcCall, error)
}

var ctlMethods = []ctlMethod{
	{"assign", "AssignMeeting: place a meeting on the node", prepareAssign},
	{"get", "GetMeeting: show a meeting and its roster", prepareGet},
	{"list", "ListMeetings: list one page of meetings", prepareList},
	{"end", "EndMeeting: end a meeting for every participant", prepareEnd},
	{"remove", "RemoveParticipant: remove a participant from a meeting", prepareRemove},
	{"mute", "MuteParticipant: host-mute a participant's audio, video or both", prepareMute},
	{"status", "GetNodeStatus: show the node's load, limits and state", prepareStatus},
}

// callError is a gRPC error returned by the node. It keeps the status, so
// status.FromError still works on it.
type callError struct {
	method string
	status *status.Status
}

func (e *callError) Error() string {
	return fmt.Sprintf("ctl %s: %s: %s", e.method, e.status.Code(), e.status.Message())
}

func (e *callError) GRPCStatus() *status.Status { return e.status }

func runCtl(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return ctl(ctx, args, stdout, stderr, os.LookupEnv)
}

// ctl implements "convene ctl": it parses the connection flags and one
// method with its flags, calls the method over plaintext gRPC with the
// control token as a bearer token, and writes the response as protojson.
func ctl(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) error {
	defaults := config.Default()
	addrEnv := config.EnvName("grpc-addr")
	tokenEnv := config.EnvName("control-token")
	tokenFileEnv := config.EnvName("control-token-file")
	dataDirEnv := config.EnvName("data-dir")

	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	addr := fs.String("addr", envOr(lookupEnv, addrEnv, defaults.GRPCAddr),
		"host:port of the node's control gRPC server (env "+addrEnv+")")
	tokenFile := fs.String("token-file", "",
		"file with the control token; overrides "+tokenEnv+" (default <data-dir>/control-token, env "+tokenFileEnv+")")
	dataDir := fs.String("data-dir", envOr(lookupEnv, dataDirEnv, defaults.DataDir),
		"node data directory, read for control-token when no other token is given (env "+dataDirEnv+")")
	timeout := fs.Duration("timeout", 5*time.Second, "duration limit of the call")

	usage := func(w io.Writer) {
		fmt.Fprintln(w, "Usage: convene ctl [flags] <method> [method flags]")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Methods:")
		for _, m := range ctlMethods {
			fmt.Fprintf(w, "  %-7s %s\n", m.name, m.summary)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, `Run "convene ctl <method> -h" for the flags of a method. Flags:`)
		writeFlagDefaults(w, fs)
	}
	if err := parseFlags(fs, args, stdout, usage); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("ctl: missing method; run convene ctl -h for the list")
	}
	if *timeout <= 0 {
		return usagef("ctl: invalid --timeout %s, want a positive duration", *timeout)
	}

	method, ok := findCtlMethod(fs.Arg(0))
	if !ok {
		return usagef("ctl: unknown method %q; run convene ctl -h for the list", fs.Arg(0))
	}
	methodFlags := flag.NewFlagSet("ctl "+method.name, flag.ContinueOnError)
	call, err := method.prepare(methodFlags, fs.Args()[1:], stdout)
	if err != nil {
		return err
	}
	if methodFlags.NArg() > 0 {
		return usagef("ctl %s: unexpected argument %q; pass values with flags", method.name, methodFlags.Arg(0))
	}

	explicitTokenFile := ""
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "token-file" {
			explicitTokenFile = *tokenFile
		}
	})
	token, err := controlToken(lookupEnv, explicitTokenFile, *dataDir)
	if err != nil {
		return fmt.Errorf("ctl %s: %w", method.name, err)
	}

	if !isLoopbackAddr(*addr) {
		// NOTE: ctl has no TLS option yet, so the token crosses the network
		// in plaintext when addr is not loopback.
		fmt.Fprintf(stderr, "convene: warning: sending the control token without TLS to %s\n", *addr)
	}

	resp, err := invoke(ctx, *addr, token, *timeout, call)
	if err != nil {
		if st, ok := status.FromError(err); ok {
			return &callError{method: method.name, status: st}
		}
		return fmt.Errorf("ctl %s: %w", method.name, err)
	}

	out, err := formatResponse(resp)
	if err != nil {
		return fmt.Errorf("ctl %s: %w", method.name, err)
	}
	if _, err := stdout.Write(out); err != nil {
		return err
	}
	// A rejected assignment is a failure for scripts, though the call worked.
	if assigned, ok := resp.(*controlv1.AssignMeetingResponse); ok && !assigned.GetAccepted() {
		return fmt.Errorf("ctl %s: meeting not accepted: %s", method.name, assigned.GetRejectReason())
	}
	return nil
}

// formatResponse encodes resp as protojson with the field names of the
// .proto file and every field shown, indented by two spaces and ending in a
// newline. json.Indent replaces the whitespace that protojson varies on
// purpose between runs, so the output is stable.
func formatResponse(resp proto.Message) ([]byte, error) {
	compact, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("encode %s as JSON: %w", resp.ProtoReflect().Descriptor().FullName(), err)
	}

	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return nil, fmt.Errorf("indent JSON: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func findCtlMethod(name string) (ctlMethod, bool) {
	for _, m := range ctlMethods {
		if m.name == name {
			return m, true
		}
	}
	return ctlMethod{}, false
}

// controlToken picks the bearer token in this order: the --token-file flag,
// the CONVENE_CONTROL_TOKEN variable, the CONVENE_CONTROL_TOKEN_FILE
// variable, and dataDir/control-token. ctl never creates a token file.
func controlToken(lookupEnv func(string) (string, bool), explicitTokenFile, dataDir string) (string, error) {
	path := explicitTokenFile
	if path == "" {
		if token, ok := lookupEnv(config.EnvName("control-token")); ok && token != "" {
			return token, nil
		}
		path = envOr(lookupEnv, config.EnvName("control-token-file"), filepath.Join(dataDir, config.ControlTokenFileName))
	}

	token, err := config.ReadControlToken(path)
	if err != nil {
		return "", fmt.Errorf("read control token: %w; pass --token-file or set %s", err, config.EnvName("control-token"))
	}
	return token, nil
}

// invoke dials addr, sends call with the bearer token and closes the
// connection. The deadline covers connecting and the call.
func invoke(ctx context.Context, addr, token string, timeout time.Duration, call rpcCall) (proto.Message, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	defer conn.Close()

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)

	return call(ctx, controlv1.NewControlServiceClient(conn))
}

func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseMethodFlags parses the flags of one ctl method, with help that lists
// them.
func parseMethodFlags(fs *flag.FlagSet, args []string, stdout io.Writer, synopsis string) error {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: convene ctl [flags] %s\n\n", synopsis)
		writeFlagDefaults(w, fs)
	}
	return parseFlags(fs, args, stdout, usage)
}

// requireFlag returns a usage error when the flag --name of method is empty.
func requireFlag(method, name, value string) error {
	if value == "" {
		return usagef("ctl %s: missing --%s", method, name)
	}
	return nil
}

// mediaHandlerList collects repeated --media-handler id=url flags.
type mediaHandlerList []*signalingv1.MediaHandler

func (l *mediaHandlerList) String() string {
	if l == nil {
		return ""
	}
	items := make([]string, 0, len(*l))
	for _, h := range *l {
		items = append(items, h.GetId()+"="+h.GetUrl())
	}
	return strings.Join(items, ",")
}

func (l *mediaHandlerList) Set(s string) error {
	id, url, ok := strings.Cut(s, "=")
	if !ok || id == "" || url == "" {
		return fmt.Errorf("invalid media handler %q, want id=url", s)
	}
	*l = append(*l, &signalingv1.MediaHandler{Id: id, Url: url})
	return nil
}

func prepareAssign(fs *flag.FlagSet, args []string, stdout io.Writer) (rpcCall, error) {
	meetingID := fs.String("meeting", "", "meeting ID (required)")
	var handlers mediaHandlerList
	fs.Var(&handlers, "media-handler", "media handler as id=url; repeat the flag for several")
	controllerID := fs.String("controller-id", "convene-ctl", "requesting controller ID, recorded by the node for audits")
	if err := parseMethodFlags(fs, args, stdout, "assign --meeting ID [--media-handler id=url ...]"); err != nil {
		return nil, err
	}
	if err := requireFlag("assign", "meeting", *meetingID); err != nil {
		return nil, err
	}

	req := &controlv1.AssignMeetingRequest{
		MeetingId:              *meetingID,
		MediaHandlers:          handlers,
		RequestingControllerId: *controllerID,
	}
	return func(ctx context.Context, c controlv1.ControlServiceClient) (proto.Message, error) {
		return c.AssignMeeting(ctx, req)
	}, nil
}

func prepareGet(fs *flag.FlagSet, args []string, stdout io.Writer) (rpcCall, error) {
	meetingID := fs.String("meeting", "", "meeting ID (required)")
	if err := parseMethodFlags(fs, args, stdout, "get --meeting ID"); err != nil {
		return nil, err
	}
	if err := requireFlag("get", "meeting", *meetingID); err != nil {
		return nil, err
	}

	req := &controlv1.GetMeetingRequest{MeetingId: *meetingID}
	return func(ctx context.Context, c controlv1.ControlServiceClient) (proto.Message, error) {
		return c.GetMeeting(ctx, req)
	}, nil
}

func prepareList(fs *flag.FlagSet, args []string, stdout io.Writer) (rpcCall, error) {
	pageSize := fs.Int("page-size", 0, "meetings per page, at most 1000; 0 lets the node choose (100)")
	pageToken := fs.String("page-token", "", "next_page_token of the previous page; empty for the first page")
	if err := parseMethodFlags(fs, args, stdout, "list [--page-size N] [--page-token T]"); err != nil {
		return nil, err
	}
	if *pageSize < 0 || *pageSize > 1000 {
		return nil, usagef("ctl list: invalid --page-size %d, want 0 to 1000", *pageSize)
	}

	req := &controlv1.ListMeetingsRequest{PageSize: int32(*pageSize), PageToken: *pageToken}
	return func(ctx context.Context, c controlv1.ControlServiceClient) (proto.Message, error) {
		return c.ListMeetings(ctx, req)
	}, nil
}

func prepareEnd(fs *flag.FlagSet, args []string, stdout io.Writer) (rpcCall, error) {
	meetingID := fs.String("meeting", "", "meeting ID (required)")
	reason := fs.String("reason", "", "reason shown to the participants, at most 256 bytes")
	if err := parseMethodFlags(fs, args, stdout, "end --meeting ID [--reason R]"); err != nil {
		return nil, err
	}
	if err := requireFlag("end", "meeting", *meetingID); err != nil {
		return nil, err
	}

	req := &controlv1.EndMeetingRequest{MeetingId: *meetingID, Reason: *reason}
	return func(ctx context.Context, c controlv1.ControlServiceClient) (proto.Message, error) {
		return c.EndMeeting(ctx, req)
	}, nil
}

func prepareRemove(fs *flag.FlagSet, args []string, stdout io.Writer) (rpcCall, error) {
	meetingID := fs.String("meeting", "", "meeting ID (required)")
	participantID := fs.String("participant", "", "participant ID (required)")
	reason := fs.String("reason", "", "reason shown to the participant")
	if err := parseMethodFlags(fs, args, stdout, "remove --meeting ID --participant ID [--reason R]"); err != nil {
		return nil, err
	}
	if err := errors.Join(
		requireFlag("remove", "meeting", *meetingID),
		requireFlag("remove", "participant", *participantID),
	); err != nil {
		return nil, &usageError{err: err}
	}

	req := &controlv1.RemoveParticipantRequest{MeetingId: *meetingID, ParticipantId: *participantID, Reason: *reason}
	return func(ctx context.Context, c controlv1.ControlServiceClient) (proto.Message, error) {
		return c.RemoveParticipant(ctx, req)
	}, nil
}

func prepareMute(fs *flag.FlagSet, args []string, stdout io.Writer) (rpcCall, error) {
	meetingID := fs.String("meeting", "", "meeting ID (required)")
	participantID := fs.String("participant", "", "participant ID (required)")
	audio := fs.Bool("audio", false, "mute the participant's audio")
	video := fs.Bool("video", false, "mute the participant's video")
	reason := fs.String("reason", "", "reason shown to the participant")
	if err := parseMethodFlags(fs, args, stdout, "mute --meeting ID --participant ID [--audio] [--video] [--reason R]"); err != nil {
		return nil, err
	}
	if err := errors.Join(
		requireFlag("mute", "meeting", *meetingID),
		requireFlag("mute", "participant", *participantID),
	); err != nil {
		return nil, &usageError{err: err}
	}
	if !*audio && !*video {
		return nil, usagef("ctl mute: missing --audio or --video; pass one or both")
	}

	req := &controlv1.MuteParticipantRequest{
		MeetingId:     *meetingID,
		ParticipantId: *participantID,
		Audio:         *audio,
		Video:         *video,
		Reason:        *reason,
	}
	return func(ctx context.Context, c controlv1.ControlServiceClient) (proto.Message, error) {
		return c.MuteParticipant(ctx, req)
	}, nil
}

func prepareStatus(fs *flag.FlagSet, args []string, stdout io.Writer) (rpcCall, error) {
	if err := parseMethodFlags(fs, args, stdout, "status"); err != nil {
		return nil, err
	}

	req := &controlv1.GetNodeStatusRequest{}
	return func(ctx context.Context, c controlv1.ControlServiceClient) (proto.Message, error) {
		return c.GetNodeStatus(ctx, req)
	}, nil
}
