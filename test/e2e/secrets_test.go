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
	"github.com/convene/convene/test/testnode"
)

func TestLogs_NoSecrets(t *testing.T) {
	const meetingID = "m-secrets"
	tn := testnode.Start(t, func(c *config.Config) {
		c.LogLevel = "debug"
	}, node.Options{})
	tn.Assign(t, meetingID)

	// secrets maps a description to each value that must not be logged.
	secrets := map[string]string{"control token": tn.ControlToken}

	// Joins, a drop and a resume, a replay and a wrong token.
	host := tn.Join(t, meetingID, "user-host", jointoken.RoleHost, client.JoinParams{})
	secrets["host join token"] = host.JoinToken
	secrets["host binding token"] = host.Response.GetBindingToken()

	bobToken := tn.Mint(t, meetingID, "user-bob", jointoken.RoleParticipant)
	secrets["bob join token"] = bobToken
	bobClient := tn.Dial(t)
	bobResp, err := testnode.JoinOn(bobClient, client.JoinParams{MeetingID: meetingID, JoinToken: bobToken, DisplayName: "bob"})
	if err != nil {
		t.Fatalf("join bob: %v", err)
	}
	bob := &testnode.Participant{Client: bobClient, Response: bobResp, User: "user-bob"}
	secrets["bob binding token"] = bob.Response.GetBindingToken()
	if err := bob.Client.Close(); err != nil {
		t.Fatalf("close bob: %v", err)
	}
	testnode.Expect(t, host.Client, "bob disconnected", testnode.IsConnectionState(bob.ID(), signalingv1.ConnectionState_CONNECTION_STATE_DISCONNECTED))

	resumeToken := tn.Mint(t, meetingID, "user-bob", jointoken.RoleParticipant)
	secrets["bob resume join token"] = resumeToken
	resumedClient := tn.Dial(t)
	resumed, err := testnode.JoinOn(resumedClient, client.JoinParams{
		MeetingID: meetingID, JoinToken: resumeToken, DisplayName: "bob",
		CorrelationID: bob.Response.GetCorrelationId(), BindingToken: bob.Response.GetBindingToken(),
	})
	if err != nil || !resumed.GetResumed() {
		t.Fatalf("resume bob: got %v (resumed=%v), want resumed", err, resumed.GetResumed())
	}
	secrets["bob resumed binding token"] = resumed.GetBindingToken()

	replay := tn.Join(t, meetingID, "user-bob", jointoken.RoleParticipant, resumeParams(bob, bob.Response.GetBindingToken()))
	checkResume(t, replay.Response, signalingv1.ResumeResult_RESUME_RESULT_REJECTED_REPLAYED)
	secrets["replay join token"] = replay.JoinToken
	secrets["replay binding token"] = replay.Response.GetBindingToken()

	wrong := foreignSigner(t, tn.Signer.KeyID())
	wrongToken, err := wrong.Mint(jointoken.MintRequest{MeetingID: meetingID, UserID: "user-eve", Role: jointoken.RoleHost, Lifetime: testnode.TokenLifetime})
	if err != nil {
		t.Fatalf("mint wrong token: %v", err)
	}
	secrets["wrong join token"] = wrongToken
	wrongClient := tn.Dial(t)
	_, err = testnode.JoinOn(wrongClient, client.JoinParams{MeetingID: meetingID, JoinToken: wrongToken, DisplayName: "eve"})
	expectRejected(t, err, signalingv1.ErrorCode_ERROR_CODE_UNAUTHENTICATED)
	testnode.ExpectClosed(t, wrongClient, signalingv1.SessionCloseCode_SESSION_CLOSE_CODE_JOIN_REJECTED)

	// Files in the data directory.
	master, err := os.ReadFile(filepath.Join(tn.Config.DataDir, config.MasterSecretFileName))
	if err != nil {
		t.Fatalf("read master secret: %v", err)
	}
	secrets["master secret hex"] = hex.EncodeToString(master)
	secrets["master secret base64"] = base64.StdEncoding.EncodeToString(master)
	pem, err := os.ReadFile(filepath.Join(tn.Config.DataDir, jointoken.DevKeyFileName))
	if err != nil {
		t.Fatalf("read dev key: %v", err)
	}
	for i, line := range strings.Split(string(pem), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			secrets[fmt.Sprintf("dev key PEM line %d", i)] = line
		}
	}

	// Stop the node so that every log line is written.
	if err := stop(tn); err != nil {
		t.Fatalf("node.Stop: %v", err)
	}
	logs := tn.Logs.String()
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
