// Package shutdown tests a real Convene node's graceful shutdown and its
// operations endpoints. It covers the drain that Stop runs, with real
// WebTransport clients and a real gRPC control client, and the convene
// binary under SIGTERM and SIGINT. It also checks the health endpoints and
// the Prometheus metrics after a signaling flow. Every server binds to
// loopback. The package has only tests.
package shutdown
