// Package client is a Go signaling client for Convene: it dials a node's
// WebTransport endpoint, joins a meeting and exchanges signaling messages.
// The demo, the end-to-end tests and the benchmarks use it; it is also a
// reference for client authors.
package client
