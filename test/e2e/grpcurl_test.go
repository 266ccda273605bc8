package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/node"
	"github.com/convene/convene/test/testnode"
)

// grpcurlBuildTimeout bounds building grpcurl: seconds with a warm build
// cache, an estimated few minutes with a cold one.
const grpcurlBuildTimeout = 5 * time.Minute

// buildGrpcurl builds the grpcurl version pinned in tools/go.mod and
// returns the binary's path.
func buildGrpcurl(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("find the go command: %v", err)
	}
	// The test runs in test/e2e, so "../.." is the module root.
	moduleRoot, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatalf("resolve module root: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), grpcurlBuildTimeout)
	defer cancel()
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

// runGrpcurl runs grpcurl with a bounded time and returns its stdout and
// stderr together.
func runGrpcurl(t *testing.T, binary string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testnode.WaitTimeout)
	defer cancel()
	output, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	return string(output), err
}

func TestGrpcurl_AgainstNode(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds grpcurl from tools/go.mod")
	}
	binary := buildGrpcurl(t)
	tn := testnode.Start(t, nil, node.Options{})
	addr := tn.Endpoints.GRPCAddr
	auth := "authorization: Bearer " + tn.ControlToken

	t.Run("list", func(t *testing.T) {
		output, err := runGrpcurl(t, binary, "-plaintext", "-H", auth, addr, "list")
		if err != nil {
			t.Fatalf("grpcurl list: %v\n%s", err, output)
		}
		for _, want := range []string{"convene.control.v1.ControlService", "grpc.health.v1.Health"} {
			if !strings.Contains(output, want) {
				t.Errorf("grpcurl list: got %q, want it to contain %q", output, want)
			}
		}
	})

	t.Run("assign meeting", func(t *testing.T) {
		output, err := runGrpcurl(t, binary, "-plaintext", "-H", auth, "-d", `{"meeting_id":"m-grpcurl"}`,
			addr, "convene.control.v1.ControlService/AssignMeeting")
		if err != nil {
			t.Fatalf("grpcurl AssignMeeting: %v\n%s", err, output)
		}
		var resp struct {
			Accepted     bool   `json:"accepted"`
			SignalingURL string `json:"signalingUrl"`
			Generation   string `json:"generation"`
			NodeID       string `json:"nodeId"`
		}
		if err := json.Unmarshal([]byte(output), &resp); err != nil {
			t.Fatalf("decode AssignMeeting output %q: %v", output, err)
		}
		if !resp.Accepted || resp.SignalingURL != tn.Endpoints.SignalingURL || resp.NodeID != tn.Endpoints.NodeID || resp.Generation == "" {
			t.Errorf("AssignMeeting: got %+v, want accepted at %q on %q with a generation", resp, tn.Endpoints.SignalingURL, tn.Endpoints.NodeID)
		}
		if m := tn.GetMeeting(t, "m-grpcurl"); m.GetMeetingId() != "m-grpcurl" {
			t.Errorf("GetMeeting after grpcurl assignment: got %q, want m-grpcurl", m.GetMeetingId())
		}
	})

	t.Run("node status", func(t *testing.T) {
		output, err := runGrpcurl(t, binary, "-plaintext", "-H", auth, addr, "convene.control.v1.ControlService/GetNodeStatus")
		if err != nil {
			t.Fatalf("grpcurl GetNodeStatus: %v\n%s", err, output)
		}
		var resp struct {
			NodeID   string `json:"nodeId"`
			Ready    bool   `json:"ready"`
			Meetings int    `json:"meetings"`
		}
		if err := json.Unmarshal([]byte(output), &resp); err != nil {
			t.Fatalf("decode GetNodeStatus output %q: %v", output, err)
		}
		if resp.NodeID != tn.Endpoints.NodeID || !resp.Ready || resp.Meetings != 1 {
			t.Errorf("GetNodeStatus: got %+v, want node %q ready with 1 meeting", resp, tn.Endpoints.NodeID)
		}
	})

	// Reflection needs the token, so it goes only to the reflection
	// requests that fetch the schema and the Check call carries none.
	t.Run("health check without token", func(t *testing.T) {
		output, err := runGrpcurl(t, binary, "-plaintext", "-reflect-header", auth, addr, "grpc.health.v1.Health/Check")
		if err != nil {
			t.Fatalf("grpcurl Health/Check: %v\n%s", err, output)
		}
		var resp struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal([]byte(output), &resp); err != nil {
			t.Fatalf("decode Health/Check output %q: %v", output, err)
		}
		if resp.Status != "SERVING" {
			t.Errorf("health status: got %q, want SERVING", resp.Status)
		}
	})

	t.Run("control call without token", func(t *testing.T) {
		output, err := runGrpcurl(t, binary, "-plaintext", addr, "convene.control.v1.ControlService/GetNodeStatus")
		if err == nil {
			t.Fatalf("grpcurl GetNodeStatus without token: succeeded with %q, want Unauthenticated", output)
		}
		if !strings.Contains(output, "Unauthenticated") {
			t.Errorf("grpcurl GetNodeStatus without token: got %q, want Unauthenticated", output)
		}
	})
}
