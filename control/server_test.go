package control

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/convene/convene/messages/controlv1"
	"github.com/convene/convene/messages/signalingv1"
)

func TestServer_RoundTrip(t *testing.T) {
	ts := startTestServer(t, nil)

	tests := []struct {
		name     string
		call     func(ctx context.Context) (proto.Message, error)
		want     proto.Message
		wantCall backendCall
	}{
		{
			name: "AssignMeeting",
			call: func(ctx context.Context) (proto.Message, error) {
				return ts.client.AssignMeeting(ctx, &controlv1.AssignMeetingRequest{
					MeetingId:              "m1",
					MediaHandlers:          []*signalingv1.MediaHandler{{Id: "mh1", Url: "https://mh1.example.test", Region: "eu"}},
					RequestingControllerId: "gc-1",
				})
			},
			want:     cannedAssign,
			wantCall: backendCall{method: "AssignMeeting", meetingID: "m1"},
		},
		{
			name: "GetMeeting",
			call: func(ctx context.Context) (proto.Message, error) {
				return ts.client.GetMeeting(ctx, &controlv1.GetMeetingRequest{MeetingId: "m1"})
			},
			want:     &controlv1.GetMeetingResponse{Meeting: cannedMeeting},
			wantCall: backendCall{method: "GetMeeting", meetingID: "m1"},
		},
		{
			name: "ListMeetings",
			call: func(ctx context.Context) (proto.Message, error) {
				return ts.client.ListMeetings(ctx, &controlv1.ListMeetingsRequest{PageSize: 10, PageToken: "tok"})
			},
			want:     cannedList,
			wantCall: backendCall{method: "ListMeetings", pageSize: 10, pageToken: "tok"},
		},
		{
			name: "ListMeetings default page size",
			call: func(ctx context.Context) (proto.Message, error) {
				return ts.client.ListMeetings(ctx, &controlv1.ListMeetingsRequest{})
			},
			want:     cannedList,
			wantCall: backendCall{method: "ListMeetings", pageSize: 100},
		},
		{
			name: "EndMeeting",
			call: func(ctx context.Context) (proto.Message, error) {
				return ts.client.EndMeeting(ctx, &controlv1.EndMeetingRequest{MeetingId: "m1", Reason: "over"})
			},
			want:     &controlv1.EndMeetingResponse{},
			wantCall: backendCall{method: "EndMeeting", meetingID: "m1", reason: "over"},
		},
		{
			name: "RemoveParticipant",
			call: func(ctx context.Context) (proto.Message, error) {
				return ts.client.RemoveParticipant(ctx, &controlv1.RemoveParticipantRequest{MeetingId: "m1", ParticipantId: "p1", Reason: "spam"})
			},
			want:     &controlv1.RemoveParticipantResponse{},
			wantCall: backendCall{method: "RemoveParticipant", meetingID: "m1", participantID: "p1", reason: "spam"},
		},
		{
			name: "MuteParticipant",
			call: func(ctx context.Context) (proto.Message, error) {
				return ts.client.MuteParticipant(ctx, &controlv1.MuteParticipantRequest{MeetingId: "m1", ParticipantId: "p1", Audio: true, Reason: "noise"})
			},
			want:     &controlv1.MuteParticipantResponse{Participant: cannedParticipant},
			wantCall: backendCall{method: "MuteParticipant", meetingID: "m1", participantID: "p1", reason: "noise"},
		},
		{
			name: "GetNodeStatus",
			call: func(ctx context.Context) (proto.Message, error) {
				return ts.client.GetNodeStatus(ctx, &controlv1.GetNodeStatusRequest{})
			},
			want:     cannedStatus,
			wantCall: backendCall{method: "NodeStatus"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(ts.backend.recorded())

			got, err := tt.call(authContext(t))
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("got response %v, want %v", got, tt.want)
			}

			calls := ts.backend.recorded()[before:]
			if len(calls) != 1 {
				t.Fatalf("got %d backend calls %+v, want 1", len(calls), calls)
			}
			if calls[0] != tt.wantCall {
				t.Errorf("got backend call %+v, want %+v", calls[0], tt.wantCall)
			}
		})
	}
}

func TestServer_RejectsBadToken(t *testing.T) {
	ts := startTestServer(t, nil)

	tests := []struct {
		name    string
		values  []string // authorization metadata values
		wantMsg string
	}{
		{name: "missing", values: nil, wantMsg: "missing bearer token"},
		{name: "wrong token", values: []string{"Bearer wrong-token-0123456789abcdef"}, wantMsg: "invalid bearer token"},
		{name: "token prefix", values: []string{"Bearer " + testToken[:len(testToken)-1]}, wantMsg: "invalid bearer token"},
		{name: "token with suffix", values: []string{"Bearer " + testToken + "x"}, wantMsg: "invalid bearer token"},
		{name: "other scheme", values: []string{"Basic " + testToken}, wantMsg: "missing bearer token"},
		{name: "no scheme", values: []string{testToken}, wantMsg: "missing bearer token"},
		{name: "empty bearer", values: []string{"Bearer "}, wantMsg: "missing bearer token"},
		{name: "two values", values: []string{"Bearer " + testToken, "Bearer " + testToken}, wantMsg: "invalid bearer token: more than one authorization value"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			for _, value := range tt.values {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", value)
			}

			_, err := ts.client.GetMeeting(ctx, &controlv1.GetMeetingRequest{MeetingId: "m1"})
			if got := status.Code(err); got != codes.Unauthenticated {
				t.Fatalf("got code %v (error %v), want %v", got, err, codes.Unauthenticated)
			}
			if got := status.Convert(err).Message(); got != tt.wantMsg {
				t.Errorf("got message %q, want %q", got, tt.wantMsg)
			}
			if calls := ts.backend.recorded(); len(calls) != 0 {
				t.Errorf("got backend calls %+v, want none", calls)
			}
		})
	}

	if strings.Contains(ts.logs.String(), testToken) {
		t.Errorf("server logs contain the token:\n%s", ts.logs.String())
	}
}

func TestServer_SchemeCaseInsensitive(t *testing.T) {
	ts := startTestServer(t, nil)
	ctx := metadata.AppendToOutgoingContext(testContext(t), "authorization", "bearer "+testToken)

	if _, err := ts.client.GetNodeStatus(ctx, &controlv1.GetNodeStatusRequest{}); err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
}

func TestServer_HealthWithoutToken(t *testing.T) {
	ts := startTestServer(t, nil)
	health := healthpb.NewHealthClient(ts.conn)

	for _, service := range []string{"", ServiceName} {
		resp, err := health.Check(testContext(t), &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatalf("Check(%q): got error %v, want nil", service, err)
		}
		if got := resp.GetStatus(); got != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q): got status %v, want SERVING", service, got)
		}
	}
}

func TestServer_ReflectionNeedsToken(t *testing.T) {
	ts := startTestServer(t, nil)
	reflection := reflectionpb.NewServerReflectionClient(ts.conn)
	listRequest := &reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}

	t.Run("without token", func(t *testing.T) {
		stream, err := reflection.ServerReflectionInfo(testContext(t))
		if err != nil {
			t.Fatalf("open stream: got error %v, want nil", err)
		}
		if err := stream.Send(listRequest); err != nil {
			t.Fatalf("send: got error %v, want nil", err)
		}
		_, err = stream.Recv()
		if got := status.Code(err); got != codes.Unauthenticated {
			t.Errorf("got code %v (error %v), want %v", got, err, codes.Unauthenticated)
		}
	})

	t.Run("with token", func(t *testing.T) {
		stream, err := reflection.ServerReflectionInfo(authContext(t))
		if err != nil {
			t.Fatalf("open stream: got error %v, want nil", err)
		}
		if err := stream.Send(listRequest); err != nil {
			t.Fatalf("send: got error %v, want nil", err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("recv: got error %v, want nil", err)
		}
		var names []string
		for _, service := range resp.GetListServicesResponse().GetService() {
			names = append(names, service.GetName())
		}
		if !strings.Contains(strings.Join(names, ","), ServiceName) {
			t.Errorf("got services %v, want them to contain %s", names, ServiceName)
		}
		if err := stream.CloseSend(); err != nil {
			t.Errorf("close send: got error %v, want nil", err)
		}
	})
}

func TestServer_SetServing(t *testing.T) {
	ts := startTestServer(t, nil)
	health := healthpb.NewHealthClient(ts.conn)

	steps := []struct {
		serving bool
		want    healthpb.HealthCheckResponse_ServingStatus
	}{
		{serving: false, want: healthpb.HealthCheckResponse_NOT_SERVING},
		{serving: true, want: healthpb.HealthCheckResponse_SERVING},
	}
	for _, step := range steps {
		ts.server.SetServing(step.serving)
		for _, service := range []string{"", ServiceName} {
			resp, err := health.Check(testContext(t), &healthpb.HealthCheckRequest{Service: service})
			if err != nil {
				t.Fatalf("SetServing(%v), Check(%q): got error %v, want nil", step.serving, service, err)
			}
			if got := resp.GetStatus(); got != step.want {
				t.Errorf("SetServing(%v), Check(%q): got status %v, want %v", step.serving, service, got, step.want)
			}
		}
	}
}

func TestServer_MaxRecvMsgSize(t *testing.T) {
	ts := startTestServer(t, func(cfg *ServerConfig) { cfg.MaxRecvMsgSize = 1024 })

	_, err := ts.client.EndMeeting(authContext(t), &controlv1.EndMeetingRequest{
		MeetingId: "m1",
		Reason:    strings.Repeat("r", 2000),
	})
	if got := status.Code(err); got != codes.ResourceExhausted {
		t.Errorf("got code %v (error %v), want %v", got, err, codes.ResourceExhausted)
	}
	if calls := ts.backend.recorded(); len(calls) != 0 {
		t.Errorf("got backend calls %+v, want none", calls)
	}
}

func TestServer_StopLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	server, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", Token: testToken}, &fakeBackend{})
	if err != nil {
		t.Fatalf("NewServer: got error %v, want nil", err)
	}
	if err := server.Start(); err != nil {
		t.Fatalf("Start: got error %v, want nil", err)
	}

	// A sub-test owns the client, so its cleanup closes the connection
	// before the leak check runs.
	t.Run("calls", func(t *testing.T) {
		conn := dialServer(t, server)
		client := controlv1.NewControlServiceClient(conn)
		if _, err := client.GetMeeting(authContext(t), &controlv1.GetMeetingRequest{MeetingId: "m1"}); err != nil {
			t.Fatalf("GetMeeting: got error %v, want nil", err)
		}
	})

	if err := server.Stop(testContext(t)); err != nil {
		t.Fatalf("Stop: got error %v, want nil", err)
	}
}

func TestServer_StopForcesAfterContext(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	server, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", Token: testToken}, &fakeBackend{})
	if err != nil {
		t.Fatalf("NewServer: got error %v, want nil", err)
	}
	if err := server.Start(); err != nil {
		t.Fatalf("Start: got error %v, want nil", err)
	}

	t.Run("watch", func(t *testing.T) {
		conn := dialServer(t, server)
		watch, err := healthpb.NewHealthClient(conn).Watch(testContext(t), &healthpb.HealthCheckRequest{Service: ServiceName})
		if err != nil {
			t.Fatalf("Watch: got error %v, want nil", err)
		}
		first, err := watch.Recv()
		if err != nil || first.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("first watch update: got %v, %v, want SERVING, nil", first, err)
		}

		// The open Watch stream keeps GracefulStop waiting until stopCtx
		// is canceled.
		stopCtx, cancelStop := context.WithCancel(testContext(t))
		stopErr := make(chan error, 1)
		go func() { stopErr <- server.Stop(stopCtx) }()

		update, err := watch.Recv()
		if err != nil || update.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("watch update during stop: got %v, %v, want NOT_SERVING, nil", update, err)
		}

		cancelStop()
		if err := <-stopErr; !errors.Is(err, context.Canceled) {
			t.Errorf("Stop: got error %v, want one wrapping %v", err, context.Canceled)
		}
		if _, err := watch.Recv(); err == nil {
			t.Errorf("watch after stop: got nil error, want the stream closed")
		}
	})
}

func TestServer_Lifecycle(t *testing.T) {
	server, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", Token: testToken}, &fakeBackend{})
	if err != nil {
		t.Fatalf("NewServer: got error %v, want nil", err)
	}
	if got := server.Addr(); got != nil {
		t.Errorf("Addr before Start: got %v, want nil", got)
	}

	if err := server.Start(); err != nil {
		t.Fatalf("Start: got error %v, want nil", err)
	}
	if got := server.Addr(); got == nil || strings.HasSuffix(got.String(), ":0") {
		t.Errorf("Addr after Start: got %v, want a bound port", got)
	}
	if err := server.Start(); !errors.Is(err, ErrServerStarted) {
		t.Errorf("second Start: got error %v, want %v", err, ErrServerStarted)
	}

	if err := server.Stop(testContext(t)); err != nil {
		t.Errorf("Stop: got error %v, want nil", err)
	}
	if err := server.Stop(testContext(t)); err != nil {
		t.Errorf("second Stop: got error %v, want nil", err)
	}
	if err := server.Start(); !errors.Is(err, ErrServerStopped) {
		t.Errorf("Start after Stop: got error %v, want %v", err, ErrServerStopped)
	}
}

func TestServer_StopBeforeStart(t *testing.T) {
	server, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", Token: testToken}, &fakeBackend{})
	if err != nil {
		t.Fatalf("NewServer: got error %v, want nil", err)
	}

	if err := server.Stop(testContext(t)); err != nil {
		t.Errorf("Stop: got error %v, want nil", err)
	}
	if err := server.Start(); !errors.Is(err, ErrServerStopped) {
		t.Errorf("Start after Stop: got error %v, want %v", err, ErrServerStopped)
	}
}

func TestServer_StartListenError(t *testing.T) {
	first := startTestServer(t, nil)

	second, err := NewServer(ServerConfig{Addr: first.server.Addr().String(), Token: testToken}, &fakeBackend{})
	if err != nil {
		t.Fatalf("NewServer: got error %v, want nil", err)
	}
	t.Cleanup(func() {
		if err := second.Stop(context.Background()); err != nil {
			t.Errorf("Stop: got error %v, want nil", err)
		}
	})

	err = second.Start()
	if err == nil || !strings.Contains(err.Error(), first.server.Addr().String()) {
		t.Errorf("Start on a used port: got error %v, want one naming the address", err)
	}
}

func TestServerConfig_Validate(t *testing.T) {
	valid := ServerConfig{Addr: "127.0.0.1:0", Token: testToken}

	tests := []struct {
		name    string
		modify  func(*ServerConfig)
		wantErr string // empty for a valid config
	}{
		{name: "valid", modify: func(*ServerConfig) {}},
		{name: "minimum token", modify: func(c *ServerConfig) { c.Token = strings.Repeat("t", MinTokenBytes) }},
		{name: "missing addr", modify: func(c *ServerConfig) { c.Addr = "" }, wantErr: "Addr: missing"},
		{name: "missing token", modify: func(c *ServerConfig) { c.Token = "" }, wantErr: "Token: missing"},
		{name: "short token", modify: func(c *ServerConfig) { c.Token = "short-secret" }, wantErr: "Token: 12 bytes, want at least 16"},
		{name: "token with space", modify: func(c *ServerConfig) { c.Token = "secret with spaces inside" }, wantErr: "Token: byte 6 is not visible ASCII"},
		{name: "token with non-ASCII", modify: func(c *ServerConfig) { c.Token = "secret-\u00e9-0123456789" }, wantErr: "Token: byte 7 is not visible ASCII"},
		{name: "negative max message", modify: func(c *ServerConfig) { c.MaxRecvMsgSize = -1 }, wantErr: "MaxRecvMsgSize: -1 is negative"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.modify(&cfg)

			err := cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("got error %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}
			if cfg.Token != "" && strings.Contains(err.Error(), cfg.Token) {
				t.Errorf("error %q contains the token", err)
			}
			if _, err := NewServer(cfg, &fakeBackend{}); err == nil {
				t.Errorf("NewServer: got nil error, want the validation error")
			}
		})
	}
}

func TestNewServer_NilBackend(t *testing.T) {
	_, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", Token: testToken}, nil)
	if err == nil || !strings.Contains(err.Error(), "backend: missing") {
		t.Errorf("got error %v, want one containing %q", err, "backend: missing")
	}
}
