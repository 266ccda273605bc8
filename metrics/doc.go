// Package metrics holds the Prometheus registry of a Convene node.
//
// Metrics implements the actors.Observer interface, exports node status and
// mailbox statistics through collectors read at scrape time, and bridges
// protoactor's OpenTelemetry instruments into the same private registry.
// Every convene_ metric uses bounded label sets (result, direction, type,
// reason, actor, level, state) and never a meeting or participant id.
package metrics
