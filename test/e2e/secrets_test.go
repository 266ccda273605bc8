package e2e

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/client"
	"github.com/convene/convene/config"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/node"
)

func TestLogs_NoSecrets(t *testing.T) {
	const meetingID = "m-secrets"
	tn := startNode(t, func(c *config.Config) {
		c.LogLevel = "debug"
	}, node.Options{})
	tn.assign(t, meetingID)

	// secrets maps a description to each value that must not be logged.
	secrets := map[string]string{"control token": tn.token}

	// Joins, a drop and a resume, a replay and a wrong token.
	host := tn.join(t, meetingID, "user-host", jointoken.RoleHost)
	secrets["host join token"] = host.joinToken
	secrets["host binding token"] = host.resp.GetBindingToken()

	bobToken := tn.mint(t, meetingID, "user-bob", jointoken.RoleParticipant)
	secrets["bob join token"] = bobToken
	bobClient := tn.dial(t)
	bobResp, err := joinOn(bobClient, client.JoinParams{MeetingID: meetingID, JoinToken: bobToken, DisplayName: "bob"})
	if err != nil {
		t.Fatalf("join bob: %v", err)
	}
	bob := &joined{client: bobClient, resp: bobResp, user: "user-bob"}
	secrets["bob binding token"] = bob.resp.GetBindingToken()
	if err := bob.client.Close(); err != nil {
		t.Fatalf("close bob: %v", err)
	}
	expectMessage(t, host.client, "bob disconnected", isUpdateOf(bob.id(), signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED))

	resumeToken := tn.mint(t, meetingID, "user-bob", jointoken.RoleParticipant)
	secrets["bob resume join token"] = resumeToken
	resumedClient := tn.dial(t)
	resumed, err := joinOn(resumedClient, client.JoinParams{
		MeetingID: meetingID, JoinToken: resumeToken, DisplayName: "bob",
		CorrelationID: bob.resp.GetCorrelationId(), BindingToken: bob.resp.GetBindingToken(),
	})
	if err != nil || !resumed.GetResumed() {
		t.Fatalf("resume bob: got %v (resumed=%v), want resumed", err, resumed.GetResumed())
	}
	secrets["bob resumed binding token"] = resumed.GetBindingToken()

	replay := tn.joinWith(t, meetingID, "user-bob", jointoken.RoleParticipant, resumeParams(bob, bob.resp.GetBindingToken()))
	checkResume(t, replay.resp, signalingv1.ResumeResult_RESUME_RESULT_REJECTED_REPLAYED)
	secrets["replay join token"] = replay.joinToken
	secrets["replay binding token"] = replay.resp.GetBindingToken()

	wrong := foreignSigner(t, tn.signer.KeyID())
	wrongToken, err := wrong.Mint(jointoken.MintRequest{MeetingID: meetingID, UserID: "user-eve", Role: jointoken.RoleHost, Lifetime: tokenLifetime})
	if err != nil {
		t.Fatalf("mint wrong token: %v", err)
	}
	secrets["wrong join token"] = wrongToken
	wrongClient := tn.dial(t)
	_, err = joinOn(wrongClient, client.JoinParams{MeetingID: meetingID, JoinToken: wrongToken, DisplayName: "eve"})
	expectRejected(t, err, signalingv1.ErrorCode_ERROR_CODE_UNAUTHENTICATED)
	expectClosed(t, wrongClient, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_JOIN_REJECTED)

	// Files in the data directory.
	master, err := os.ReadFile(filepath.Join(tn.cfg.DataDir, config.MasterSecretFileName))
	if err != nil {
		t.Fatalf("read master secret: %v", err)
	}
	secrets["master secret hex"] = hex.EncodeToString(master)
	secrets["master secret base64"] = base64.StdEncoding.EncodeToString(master)
	pem, err := os.ReadFile(filepath.Join(tn.cfg.DataDir, jointoken.DevKeyFileName))
	if err != nil {
		t.Fatalf("read dev key: %v", err)
	}
	for i, line := range strings.Split(string(pem), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			secrets[fmt.Sprintf("dev key PEM line %d", i)] = line
		}
	}

	// Stop the node so that every log line is written.
	if err := tn.stop(); err != nil {
		t.Fatalf("node.Stop: %v", err)
	}
	logs := tn.logs.String()
	if !strings.Contains(logs, "level=DEBUG") {
		t.Fatal("captured logs have no debug lines, want the node to log at debug level")
	}
	for what, value := range secrets {
		t.Run(what, func(t *testing.T) {
			if value == "" {
				t.Fatal("secret is empty, want a value to look for")
			}
			if strings.Contains(logs, value) {
				t.Errorf("logs contain the %s", what)
			}
			// A JWT's signature part is enough to replay it, so check parts too.
			if parts := strings.Split(value, "."); len(parts) == 3 {
				if strings.Contains(logs, parts[2]) {
					t.Errorf("logs contain the signature of the %s", what)
				}
			}
		})
	}
}
