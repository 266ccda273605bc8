// Package binding signs and checks session binding tokens, which let a client
// resume its session after a dropped connection.
//
// A token is HMAC-SHA256 over the correlation ID, the participant ID and a
// 16-byte nonce, each preceded by its length as a 4-byte big-endian integer,
// so no two different field splits produce the same input. It is sent as
// [TokenLength] lowercase hex digits. The HMAC key is derived per meeting:
//
//	HKDF-SHA256(ikm = master secret, salt = meeting ID, info = "session-binding"), 32 bytes
//
// HKDF pads a salt shorter than the hash block with zero bytes, so "m" and
// "m\x00" would derive the same key. [ValidateMeetingID] rejects control
// characters, including NUL, and every [Keyring] method calls it first.
//
// The token carries only the MAC. The server stores the current nonce of
// each participant and the nonces already consumed, passes them to
// [Keyring.Verify] in a [Binding], and issues a fresh nonce after each
// successful resume.
//
// A [Keyring] holds the master secret and, after [Keyring.Rotate], the
// previous secret, which stays accepted until a deadline
// ([DefaultRotationWindow] after rotation unless configured).
package binding
