// Package wt serves and dials WebTransport sessions over HTTP/3, on top of
// github.com/quic-go/webtransport-go.
//
// A session carries one bidirectional stream that the client opens right
// after the CONNECT request succeeds. [Server] accepts that stream, then
// passes the session to a [Handler] on its own goroutine. [Dial] is the Go
// client, used by tests, load generators and tools. It verifies the server
// certificate against CA roots or against SHA-256 pins, as browsers do with
// serverCertificateHashes.
//
// Closing with a code: a session closed with [Session.Close] sends the code
// and reason in a WT_CLOSE_SESSION capsule, but webtransport-go v0.13.0
// resets every open stream at the same time, so data written just before
// can be lost. [Session.CloseAfterFlush] first closes the write side of the
// stream and waits a bounded time for the peer. Chromium (checked with
// version 156) reports a server-initiated close as a lost connection without
// the code, so a protocol that must tell browsers why it closes should send
// an explicit goodbye message on the stream first.
//
// Errors from a session that ended because the connection died (idle
// timeout, peer killed) carry only text. [SessionErrorCode] extracts the
// code only from a clean close by the peer.
package wt
