package control

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// grpcurlBuildTimeout bounds building grpcurl. The build takes seconds with
// a warm build cache, and an estimated few minutes with cold caches.
const grpcurlBuildTimeout = 10 * time.Minute

// buildGrpcurl builds the grpcurl version pinned in tools/go.mod into a
// temporary directory and returns the binary's path.
func buildGrpcurl(t *testing.T) string {
	t.Helper()

	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("find the go command: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), grpcurlBuildTimeout)
	defer cancel()

	// The test runs in the package directory, so ".." is the module root.
	moduleRoot, err := filepath.Abs("..")
	if err != nil {
		t.Fatalf("resolve module root: %v", err)
	}
	binary := filepath.Join(t.TempDir(), "grpcurl")
	build := exec.CommandContext(ctx, goTool, "build",
		"-modfile="+filepath.Join(moduleRoot, "tools", "go.mod"),
		"-o", binary,
		"github.com/fullstorydev/grpcurl/cmd/grpcurl")
	build.Dir = moduleRoot
	if output, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build grpcurl: %v\n%s", err, output)
	}
	return binary
}

// runGrpcurl runs grpcurl with args and returns its combined output and
// error.
func runGrpcurl(t *testing.T, binary string, args ...string) (string, error) {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	output, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	return string(output), err
}

func TestGrpcurl_Reflection(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds grpcurl from tools/go.mod")
	}

	binary := buildGrpcurl(t)
	ts := startTestServer(t, nil)
	addr := ts.server.Addr().String()
	authHeader := "authorization: Bearer " + testToken

	t.Run("list", func(t *testing.T) {
		output, err := runGrpcurl(t, binary, "-plaintext", "-H", authHeader, addr, "list")
		if err != nil {
			t.Fatalf("grpcurl list: %v\n%s", err, output)
		}
		for _, want := range []string{ServiceName, "grpc.health.v1.Health"} {
			if !strings.Contains(output, want) {
				t.Errorf("grpcurl list: got output %q, want it to contain %q", output, want)
			}
		}
	})

	t.Run("list without token", func(t *testing.T) {
		output, err := runGrpcurl(t, binary, "-plaintext", addr, "list")
		if err == nil {
			t.Fatalf("grpcurl list without token: got success with output %q, want a failure", output)
		}
		if !strings.Contains(output, "Unauthenticated") {
			t.Errorf("grpcurl list without token: got output %q, want it to contain %q", output, "Unauthenticated")
		}
	})

	t.Run("describe", func(t *testing.T) {
		output, err := runGrpcurl(t, binary, "-plaintext", "-H", authHeader, addr, "describe", ServiceName)
		if err != nil {
			t.Fatalf("grpcurl describe: %v\n%s", err, output)
		}
		for _, want := range []string{
			"service ControlService {",
			"rpc GetMeeting ( .convene.control.v1.GetMeetingRequest ) returns ( .convene.control.v1.GetMeetingResponse );",
			"rpc MuteParticipant",
		} {
			if !strings.Contains(output, want) {
				t.Errorf("grpcurl describe: got output %q, want it to contain %q", output, want)
			}
		}
	})

	t.Run("GetMeeting", func(t *testing.T) {
		output, err := runGrpcurl(t, binary, "-plaintext", "-H", authHeader,
			"-d", `{"meeting_id":"m1"}`, addr, ServiceName+"/GetMeeting")
		if err != nil {
			t.Fatalf("grpcurl GetMeeting: %v\n%s", err, output)
		}
		for _, want := range []string{`"meetingId": "m1"`, `"nodeId": "node-a"`, `"participantId": "p1"`} {
			if !strings.Contains(output, want) {
				t.Errorf("grpcurl GetMeeting: got output %q, want it to contain %q", output, want)
			}
		}

		calls := ts.backend.recorded()
		if len(calls) != 1 || calls[0] != (backendCall{method: "GetMeeting", meetingID: "m1"}) {
			t.Errorf("got backend calls %+v, want one GetMeeting for m1", calls)
		}
	})

	// The token goes only to the reflection requests that fetch the schema,
	// so the Check call itself carries no token.
	t.Run("health check without token", func(t *testing.T) {
		output, err := runGrpcurl(t, binary, "-plaintext", "-reflect-header", authHeader,
			"-d", `{"service":"`+ServiceName+`"}`, addr, "grpc.health.v1.Health/Check")
		if err != nil {
			t.Fatalf("grpcurl health check: %v\n%s", err, output)
		}
		if !strings.Contains(output, `"status": "SERVING"`) {
			t.Errorf("grpcurl health check: got output %q, want it to contain %q", output, `"status": "SERVING"`)
		}
	})
}
