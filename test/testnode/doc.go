// Package testnode starts a real in-process Convene node on loopback for
// the node-level test suites: test/e2e, test/faults and test/shutdown. It
// also provides the clients those suites use to reach the node. These are
// a gRPC control client with the bearer token, join tokens from the dev
// signer, WebTransport signaling clients pinned to the node's certificate,
// bounded waits for server messages, and /metrics scrapes.
//
// It is test support, imported only by tests, and not a stable API.
// Functions that take a testing.TB fail the test on error, except that
// WaitSample returns its timeout as an error. Every wait is bounded by
// WaitTimeout.
package testnode
