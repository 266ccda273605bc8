package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/messages/signalingv1"
)

const testControlToken = "test-control-token-0123456789"

// fakeControl is a ControlServiceServer that records every request and
// returns fixed responses. GetMeeting of meeting "missing" returns NOT_FOUND.
type fakeControl struct {
	controlv1.UnimplementedControlServiceServer

	mu       sync.Mutex
	requests []proto.Message
}

func (f *fakeControl) record(req proto.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
}

func (f *fakeControl) recorded() []proto.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]proto.Message(nil), f.requests...)
}

var (
	assignResponse = &controlv1.AssignMeetingResponse{
		Accepted: true, SignalingUrl: "https://127.0.0.1:7443/signaling", Generation: 3, NodeId: "node-1",
	}
	getResponse = &controlv1.GetMeetingResponse{
		Meeting: &controlv1.Meeting{MeetingId: "m-1", NodeId: "node-1", Generation: 3},
	}
	listResponse = &controlv1.ListMeetingsResponse{
		Meetings:      []*controlv1.MeetingSummary{{MeetingId: "m-1", Participants: 2}},
		NextPageToken: "page-2",
	}
	muteResponse = &controlv1.MuteParticipantResponse{
		Participant: &signalingv1.Participant{ParticipantId: "p-1", HostMuteReason: "noise"},
	}
	statusResponse = &controlv1.GetNodeStatusResponse{NodeId: "node-1", Ready: true, Meetings: 4, MaxMeetings: 1000}
)

func (f *fakeControl) AssignMeeting(_ context.Context, req *controlv1.AssignMeetingRequest) (*controlv1.AssignMeetingResponse, error) {
	f.record(req)
	return assignResponse, nil
}

func (f *fakeControl) GetMeeting(_ context.Context, req *controlv1.GetMeetingRequest) (*controlv1.GetMeetingResponse, error) {
	f.record(req)
	if req.GetMeetingId() == "missing" {
		return nil, status.Error(codes.NotFound, "meeting missing not found")
	}
	return getResponse, nil
}

func (f *fakeControl) ListMeetings(_ context.Context, req *controlv1.ListMeetingsRequest) (*controlv1.ListMeetingsResponse, error) {
	f.record(req)
	return listResponse, nil
}

func (f *fakeControl) EndMeeting(_ context.Context, req *controlv1.EndMeetingRequest) (*controlv1.EndMeetingResponse, error) {
	f.record(req)
	return &controlv1.EndMeetingResponse{}, nil
}

func (f *fakeControl) RemoveParticipant(_ context.Context, req *controlv1.RemoveParticipantRequest) (*controlv1.RemoveParticipantResponse, error) {
	f.record(req)
	return &controlv1.RemoveParticipantResponse{}, nil
}

func (f *fakeControl) MuteParticipant(_ context.Context, req *controlv1.MuteParticipantRequest) (*controlv1.MuteParticipantResponse, error) {
	f.record(req)
	return muteResponse, nil
}

func (f *fakeControl) GetNodeStatus(_ context.Context, req *controlv1.GetNodeStatusRequest) (*controlv1.GetNodeStatusResponse, error) {
	f.record(req)
	return statusResponse, nil
}

// checkBearer rejects calls whose authorization metadata is not exactly
// "Bearer <testControlToken>".
func checkBearer(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) != 1 || values[0] != "Bearer "+testControlToken {
		return nil, status.Error(codes.Unauthenticated, "invalid control token")
	}
	return handler(ctx, req)
}

// startFakeControl serves a fakeControl on a loopback port until the test
// ends and returns it with its address.
func startFakeControl(t *testing.T) (*fakeControl, string) {
	t.Helper()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	fake := &fakeControl{}
	srv := grpc.NewServer(grpc.UnaryInterceptor(checkBearer))
	controlv1.RegisterControlServiceServer(srv, fake)

	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-served
	})
	return fake, lis.Addr().String()
}

func TestCtl_Methods(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantReq  proto.Message
		wantResp proto.Message
	}{
		{
			name: "assign",
			args: []string{"assign", "--meeting", "m-1", "--media-handler", "mh-1=https://media1.example/x",
				"--media-handler", "mh-2=https://media2.example/y", "--controller-id", "gc-7"},
			wantReq: &controlv1.AssignMeetingRequest{
				MeetingId: "m-1",
				MediaHandlers: []*signalingv1.MediaHandler{
					{Id: "mh-1", Url: "https://media1.example/x"},
					{Id: "mh-2", Url: "https://media2.example/y"},
				},
				RequestingControllerId: "gc-7",
			},
			wantResp: assignResponse,
		},
		{
			name:     "assign default controller",
			args:     []string{"assign", "--meeting", "m-1"},
			wantReq:  &controlv1.AssignMeetingRequest{MeetingId: "m-1", RequestingControllerId: "convene-ctl"},
			wantResp: assignResponse,
		},
		{
			name:     "get",
			args:     []string{"get", "--meeting", "m-1"},
			wantReq:  &controlv1.GetMeetingRequest{MeetingId: "m-1"},
			wantResp: getResponse,
		},
		{
			name:     "list",
			args:     []string{"list", "--page-size", "10", "--page-token", "page-1"},
			wantReq:  &controlv1.ListMeetingsRequest{PageSize: 10, PageToken: "page-1"},
			wantResp: listResponse,
		},
		{
			name:     "end",
			args:     []string{"end", "--meeting", "m-1", "--reason", "time is up"},
			wantReq:  &controlv1.EndMeetingRequest{MeetingId: "m-1", Reason: "time is up"},
			wantResp: &controlv1.EndMeetingResponse{},
		},
		{
			name:     "remove",
			args:     []string{"remove", "--meeting", "m-1", "--participant", "p-1", "--reason", "spam"},
			wantReq:  &controlv1.RemoveParticipantRequest{MeetingId: "m-1", ParticipantId: "p-1", Reason: "spam"},
			wantResp: &controlv1.RemoveParticipantResponse{},
		},
		{
			name:     "mute",
			args:     []string{"mute", "--meeting", "m-1", "--participant", "p-1", "--audio", "--reason", "noise"},
			wantReq:  &controlv1.MuteParticipantRequest{MeetingId: "m-1", ParticipantId: "p-1", Audio: true, Reason: "noise"},
			wantResp: muteResponse,
		},
		{
			name:     "status",
			args:     []string{"status"},
			wantReq:  &controlv1.GetNodeStatusRequest{},
			wantResp: statusResponse,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, addr := startFakeControl(t)
			env := envMap(map[string]string{"CONVENE_CONTROL_TOKEN": testControlToken})
			var stdout, stderr bytes.Buffer

			args := append([]string{"--addr", addr, "--data-dir", t.TempDir()}, tt.args...)
			if err := ctl(context.Background(), args, &stdout, &stderr, env); err != nil {
				t.Fatalf("ctl(%q): %v", args, err)
			}

			requests := fake.recorded()
			if len(requests) != 1 {
				t.Fatalf("requests: got %d, want 1", len(requests))
			}
			if !proto.Equal(requests[0], tt.wantReq) {
				t.Errorf("request: got %v, want %v", requests[0], tt.wantReq)
			}

			gotResp := tt.wantResp.ProtoReflect().New().Interface()
			if err := protojson.Unmarshal(stdout.Bytes(), gotResp); err != nil {
				t.Fatalf("parse output %q as JSON: %v", stdout.String(), err)
			}
			if !proto.Equal(gotResp, tt.wantResp) {
				t.Errorf("output: got %v, want %v", gotResp, tt.wantResp)
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr: got %q, want nothing for a loopback address", stderr.String())
			}
		})
	}
}

func TestCtl_OutputFormat(t *testing.T) {
	_, addr := startFakeControl(t)
	env := envMap(map[string]string{"CONVENE_CONTROL_TOKEN": testControlToken})
	var stdout bytes.Buffer

	if err := ctl(context.Background(), []string{"--addr", addr, "end", "--meeting", "m-1"}, &stdout, &bytes.Buffer{}, env); err != nil {
		t.Fatalf("ctl end: %v", err)
	}
	if got, want := stdout.String(), "{}\n"; got != want {
		t.Errorf("end output: got %q, want %q", got, want)
	}

	stdout.Reset()
	if err := ctl(context.Background(), []string{"--addr", addr, "list"}, &stdout, &bytes.Buffer{}, env); err != nil {
		t.Fatalf("ctl list: %v", err)
	}
	want := `{
  "meetings": [
    {
      "meeting_id": "m-1",
      "participants": 2,
      "connected_participants": 0,
      "generation": "0",
      "created_at": null
    }
  ],
  "next_page_token": "page-2"
}
`
	if got := stdout.String(); got != want {
		t.Errorf("list output: got\n%s\nwant\n%s", got, want)
	}
}

func TestCtl_WrongToken(t *testing.T) {
	_, addr := startFakeControl(t)
	env := envMap(map[string]string{"CONVENE_CONTROL_TOKEN": "wrong-token-0123456789"})
	var stdout bytes.Buffer

	err := ctl(context.Background(), []string{"--addr", addr, "status"}, &stdout, &bytes.Buffer{}, env)

	if got := status.Code(err); got != codes.Unauthenticated {
		t.Errorf("status code: got %s, want %s (error %v)", got, codes.Unauthenticated, err)
	}
	if err == nil {
		t.Fatal("ctl status: got nil error, want Unauthenticated")
	}
	if want := "ctl status: Unauthenticated: invalid control token"; err.Error() != want {
		t.Errorf("message: got %q, want %q", err, want)
	}
	if got := exitCode(err); got != exitFailure {
		t.Errorf("exit code: got %d, want %d", got, exitFailure)
	}
	if stdout.Len() > 0 {
		t.Errorf("stdout: got %q, want nothing", stdout.String())
	}
}

func TestCtl_NotFound(t *testing.T) {
	_, addr := startFakeControl(t)
	env := envMap(map[string]string{"CONVENE_CONTROL_TOKEN": testControlToken})
	var stderr bytes.Buffer

	code := runCtlForTest(t, []string{"--addr", addr, "get", "--meeting", "missing"}, env, &stderr)

	if code != exitFailure {
		t.Errorf("exit code: got %d, want %d", code, exitFailure)
	}
	if want := "convene: ctl get: NotFound: meeting missing not found\n"; stderr.String() != want {
		t.Errorf("stderr: got %q, want %q", stderr.String(), want)
	}
}

// runCtlForTest runs ctl with env and maps its error as run does.
func runCtlForTest(t *testing.T, args []string, env func(string) (string, bool), stderr *bytes.Buffer) int {
	t.Helper()
	err := ctl(context.Background(), args, &bytes.Buffer{}, stderr, env)
	if err != nil {
		stderr.WriteString("convene: " + err.Error() + "\n")
	}
	return exitCode(err)
}

func TestCtl_TokenSources(t *testing.T) {
	writeToken := func(t *testing.T, token string) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "control-token")
		if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	tests := []struct {
		name  string
		setup func(t *testing.T) (args []string, env map[string]string)
	}{
		{"data dir file", func(t *testing.T) ([]string, map[string]string) {
			path := writeToken(t, testControlToken)
			return []string{"--data-dir", filepath.Dir(path)}, nil
		}},
		{"data dir from env", func(t *testing.T) ([]string, map[string]string) {
			path := writeToken(t, testControlToken)
			return nil, map[string]string{"CONVENE_DATA_DIR": filepath.Dir(path)}
		}},
		{"token file flag overrides env token", func(t *testing.T) ([]string, map[string]string) {
			path := writeToken(t, testControlToken)
			return []string{"--token-file", path}, map[string]string{"CONVENE_CONTROL_TOKEN": "wrong-token-0123456789"}
		}},
		{"env token overrides data dir", func(t *testing.T) ([]string, map[string]string) {
			path := writeToken(t, "wrong-token-0123456789")
			return []string{"--data-dir", filepath.Dir(path)}, map[string]string{"CONVENE_CONTROL_TOKEN": testControlToken}
		}},
		{"token file env", func(t *testing.T) ([]string, map[string]string) {
			path := writeToken(t, testControlToken)
			return []string{"--data-dir", t.TempDir()}, map[string]string{"CONVENE_CONTROL_TOKEN_FILE": path}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addr := startFakeControl(t)
			args, env := tt.setup(t)

			args = append(append([]string{"--addr", addr}, args...), "status")
			if err := ctl(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}, envMap(env)); err != nil {
				t.Errorf("ctl(%q): %v", args, err)
			}
		})
	}
}

func TestCtl_MissingTokenFile(t *testing.T) {
	_, addr := startFakeControl(t)

	err := ctl(context.Background(), []string{"--addr", addr, "--data-dir", t.TempDir(), "status"},
		&bytes.Buffer{}, &bytes.Buffer{}, envMap(nil))

	if err == nil {
		t.Fatal("ctl: got nil error, want a missing token error")
	}
	if !strings.Contains(err.Error(), "--token-file") {
		t.Errorf("message: got %q, want it to suggest --token-file", err)
	}
	if got := exitCode(err); got != exitFailure {
		t.Errorf("exit code: got %d, want %d", got, exitFailure)
	}
}

func TestCtl_UsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantMsg string
	}{
		{"missing method", nil, "ctl: missing method"},
		{"unknown method", []string{"restart"}, `ctl: unknown method "restart"`},
		{"get without meeting", []string{"get"}, "ctl get: missing --meeting"},
		{"assign without meeting", []string{"assign"}, "ctl assign: missing --meeting"},
		{"assign bad media handler", []string{"assign", "--meeting", "m", "--media-handler", "mh-1"}, `invalid media handler "mh-1", want id=url`},
		{"end without meeting", []string{"end"}, "ctl end: missing --meeting"},
		{"remove without participant", []string{"remove", "--meeting", "m"}, "ctl remove: missing --participant"},
		{"mute without kind", []string{"mute", "--meeting", "m", "--participant", "p"}, "ctl mute: missing --audio or --video"},
		{"list page size too large", []string{"list", "--page-size", "1001"}, "invalid --page-size 1001"},
		{"unknown method flag", []string{"status", "--verbose"}, "ctl status: flag provided but not defined: -verbose"},
		{"extra argument", []string{"status", "now"}, `ctl status: unexpected argument "now"`},
		{"zero timeout", []string{"--timeout", "0s", "status"}, "invalid --timeout 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, addr := startFakeControl(t)
			env := envMap(map[string]string{"CONVENE_CONTROL_TOKEN": testControlToken})

			args := append([]string{"--addr", addr}, tt.args...)
			err := ctl(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}, env)

			var usageErr *usageError
			if !errors.As(err, &usageErr) {
				t.Fatalf("ctl(%q): got %v, want a usage error", args, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("message: got %q, want it to contain %q", err, tt.wantMsg)
			}
			if got := len(fake.recorded()); got != 0 {
				t.Errorf("requests: got %d, want none after a usage error", got)
			}
		})
	}
}

func TestCtl_MethodHelp(t *testing.T) {
	var stdout bytes.Buffer

	err := ctl(context.Background(), []string{"mute", "-h"}, &stdout, &bytes.Buffer{}, envMap(nil))

	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("ctl mute -h: got %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-participant", "-audio", "-video"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help: missing %q in\n%s", want, stdout.String())
		}
	}
}

func TestIsLoopbackAddr_Cases(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:7400", true},
		{"[::1]:7400", true},
		{"localhost:7400", true},
		{"10.0.0.1:7400", false},
		{"node.example:7400", false},
		{"127.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := isLoopbackAddr(tt.addr); got != tt.want {
				t.Errorf("isLoopbackAddr(%q): got %t, want %t", tt.addr, got, tt.want)
			}
		})
	}
}
