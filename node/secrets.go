package node

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"time"

	"github.com/convene/convene/auth/binding"
	"github.com/convene/convene/auth/jointoken"
	"github.com/convene/convene/config"
	"github.com/convene/convene/transport/certs"
)

// secrets are the keys and certificate a node needs, loaded from the data
// directory or the files the configuration names.
type secrets struct {
	cert         *certs.Certificate
	keyring      *binding.Keyring
	verifier     *jointoken.Verifier
	controlToken string
	// devKeyFile is set when join tokens are verified with the development
	// key from the data directory.
	devKeyFile string
}

func loadSecrets(cfg config.Config, now func() time.Time) (*secrets, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", cfg.DataDir, err)
	}
	s := &secrets{}

	var err error
	if cfg.TLSCertFile != "" {
		s.cert, err = certs.Load(cfg.TLSCertFile, cfg.TLSKeyFile)
	} else {
		s.cert, err = certs.LoadOrCreate(cfg.DataDir, now())
	}
	if err != nil {
		return nil, fmt.Errorf("signaling certificate: %w", err)
	}

	// Only the default file in the data directory is created: a secret
	// named explicitly must exist, because a fresh one at a mistyped path
	// would silently invalidate every binding token of the cluster.
	var master []byte
	if cfg.MasterSecretFile != "" {
		master, err = config.ReadSecretFile(cfg.MasterSecretFile, config.MasterSecretBytes)
	} else {
		master, err = config.LoadOrCreateSecretFile(cfg.MasterSecretPath(), config.MasterSecretBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("master secret: %w", err)
	}
	keyringConfig := binding.KeyringConfig{Current: master}
	if cfg.PreviousMasterSecretFile != "" {
		previous, err := config.ReadSecretFile(cfg.PreviousMasterSecretFile, config.MasterSecretBytes)
		if err != nil {
			return nil, fmt.Errorf("previous master secret: %w", err)
		}
		keyringConfig.Previous = previous
		keyringConfig.PreviousValidUntil = cfg.PreviousSecretValidUntil
		if keyringConfig.PreviousValidUntil.IsZero() {
			keyringConfig.PreviousValidUntil = now().Add(binding.DefaultRotationWindow)
		}
	}
	if s.keyring, err = binding.NewKeyring(keyringConfig); err != nil {
		return nil, fmt.Errorf("session binding keyring: %w", err)
	}

	keys, err := joinTokenKeys(cfg, s)
	if err != nil {
		return nil, err
	}
	s.verifier, err = jointoken.NewVerifier(jointoken.VerifierConfig{Keys: keys, Audience: cfg.JoinTokenAudience, Now: now})
	if err != nil {
		return nil, fmt.Errorf("join token verifier: %w", err)
	}

	if s.controlToken, err = cfg.ResolveControlToken(); err != nil {
		return nil, fmt.Errorf("control token: %w", err)
	}
	return s, nil
}

func joinTokenKeys(cfg config.Config, s *secrets) (map[string]ed25519.PublicKey, error) {
	if cfg.JoinTokenKeysFile != "" {
		keys, err := jointoken.LoadPublicKeys(cfg.JoinTokenKeysFile)
		if err != nil {
			return nil, fmt.Errorf("join token keys: %w", err)
		}
		return keys, nil
	}
	signer, err := jointoken.LoadOrCreateDevSigner(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("development join token key: %w", err)
	}
	s.devKeyFile = cfg.DataDir + string(os.PathSeparator) + jointoken.DevKeyFileName
	return map[string]ed25519.PublicKey{signer.KeyID(): signer.PublicKey()}, nil
}
