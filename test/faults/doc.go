// Package faults injects panics into the actors of a real in-process
// Convene node and checks what clients and operators see. Clients connect
// over real WebTransport (QUIC on loopback), the control API is called over
// real gRPC, and the counters are read from the node's /metrics endpoint.
// Each test starts its own node with its own data directory. The package
// has only tests.
package faults
