package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/config"
)

func runToken(_ context.Context, args []string, stdout, _ io.Writer) error {
	return mintToken(args, stdout, os.LookupEnv, time.Now)
}

// mintToken implements "convene token": it parses args, mints a join token
// with the dev key in the data directory and writes it to stdout followed
// by a newline. The key file is created when missing, as the node does.
func mintToken(args []string, stdout io.Writer, lookupEnv func(string) (string, bool), now func() time.Time) error {
	defaults := config.Default()
	dataDirEnv := config.EnvName("data-dir")
	audienceEnv := config.EnvName("join-token-audience")

	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	meetingID := fs.String("meeting", "", "meeting ID of the meeting_id claim (required)")
	userID := fs.String("user", "", "user ID of the sub claim (required)")
	role := fs.String("role", string(jointoken.RoleParticipant), "role claim: host or participant")
	ttl := fs.Duration("ttl", time.Hour, "token lifetime from now, such as 10m or 24h")
	audience := fs.String("audience", envOr(lookupEnv, audienceEnv, defaults.JoinTokenAudience),
		"aud claim, which must match the node's --join-token-audience (env "+audienceEnv+")")
	dataDir := fs.String("data-dir", envOr(lookupEnv, dataDirEnv, defaults.DataDir),
		"node data directory with the dev join-token key, created if missing (env "+dataDirEnv+")")

	usage := func(w io.Writer) {
		fmt.Fprintln(w, "Usage: convene token --meeting ID --user ID [flags]")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Prints a join token signed with the development key of the data directory.")
		fmt.Fprintln(w)
		writeFlagDefaults(w, fs)
	}
	if err := parseFlags(fs, args, stdout, usage); err != nil {
		return err
	}

	switch {
	case fs.NArg() > 0:
		return usagef("token: unexpected argument %q; pass values with flags", fs.Arg(0))
	case *meetingID == "":
		return usagef("token: missing --meeting")
	case *userID == "":
		return usagef("token: missing --user")
	case !jointoken.Role(*role).Valid():
		return usagef("token: invalid --role %q, want %s or %s", *role, jointoken.RoleHost, jointoken.RoleParticipant)
	case *ttl <= 0:
		return usagef("token: invalid --ttl %s, want a positive duration", *ttl)
	}

	// The key must exist already: a fresh key in a mistyped directory would
	// mint tokens that the node rejects.
	keyFile := filepath.Join(*dataDir, jointoken.DevKeyFileName)
	if _, err := os.Stat(keyFile); err != nil {
		return fmt.Errorf("token: no dev join-token key at %s; start a node with --data-dir %s first, or pass the node's --data-dir", keyFile, *dataDir)
	}
	signer, err := jointoken.LoadOrCreateDevSigner(*dataDir)
	if err != nil {
		return fmt.Errorf("token: load dev join-token key: %w", err)
	}

	token, err := signer.Mint(jointoken.MintRequest{
		MeetingID: *meetingID,
		UserID:    jointoken.UserID(*userID),
		Role:      jointoken.Role(*role),
		Audience:  *audience,
		Lifetime:  *ttl,
		Now:       now(),
	})
	if errors.Is(err, jointoken.ErrInvalidRequest) {
		return usagef("token: %w", err)
	}
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}

	_, err = fmt.Fprintln(stdout, token)
	return err
}
