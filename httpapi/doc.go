// Package httpapi serves a node's operational HTTP endpoint: liveness and
// readiness probes and, when a handler is configured, Prometheus metrics.
package httpapi
