// Package e2e tests a real in-process Convene node end to end: clients
// connect over real WebTransport (QUIC on loopback), the control API is
// called over real gRPC, and grpcurl checks the reflection service. Each
// test starts its own node with its own data directory. The package has
// only tests.
package e2e
