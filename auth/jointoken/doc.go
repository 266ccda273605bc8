// Package jointoken issues and verifies join tokens: JSON Web Tokens signed
// with Ed25519 (JOSE alg "EdDSA") that admit one user to one meeting.
//
// Join tokens are normally minted upstream. A node holds only the public keys,
// loaded with [LoadPublicKeys], and checks each token with [Verifier.Verify]:
//
//   - the header alg must be exactly "EdDSA", so "none", HMAC and RSA tokens
//     are rejected whatever key they claim;
//   - the signature must verify against the key named by the kid header, or
//     against one of the configured keys when the token has no kid;
//   - exp is required, and exp and nbf are checked with a clock skew
//     ([DefaultSkew] unless configured);
//   - aud must contain the configured audience ([DefaultAudience] unless
//     configured);
//   - the meeting_id claim must equal the meeting being joined, role must be
//     "host" or "participant", and sub (the user ID) must be 1 to
//     [MaxUserIDBytes] bytes long.
//
// Every verification failure matches errors.Is(err, [ErrInvalidToken]) and one
// narrower sentinel from errors.go. [Reason] maps an error to a short label
// for metrics. Error messages never contain the token.
//
// For development, [LoadOrCreateDevSigner] keeps a private key in the data
// directory, and [Signer.Mint] issues tokens signed with it.
package jointoken
