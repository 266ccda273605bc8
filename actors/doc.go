// Package actors holds Convene's three protoactor actors.
//
//   - MeetingController: one per node under a well-known name. It admits or
//     rejects meeting assignments against the node's capacity and keeps the
//     registry of the meetings this node hosts.
//   - Meeting: one per meeting id, a cluster kind placed by the cluster's
//     identity lookup. It owns the roster, roles, both mute tiers, session
//     bindings and grace deadlines, saves a snapshot to the meeting store
//     before it acknowledges a change that must survive, and broadcasts
//     changes to its Connection children.
//   - Connection: one per WebTransport session, a child of its Meeting. It
//     queues the Meeting's messages on a bounded outbound queue drained by a
//     writer goroutine, and closes the session on protocol errors. A client
//     that cannot keep up is disconnected and never blocks its Meeting.
//     The session's reader goroutine decodes client frames and sends them
//     to the Meeting directly: the Meeting's PID and mailbox survive a
//     restart, so no frame is lost when a Connection is replaced.
//
// Messages between a Meeting and its Connections never leave the process
// and are plain Go values; messages that may cross nodes are the protobuf
// types of package actorv1.
package actors
