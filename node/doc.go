// Package node assembles a Convene node: the cluster member that hosts
// Meeting actors, the node's MeetingController, the WebTransport signaling
// endpoint, the control gRPC service and the HTTP endpoint for health and
// metrics. It loads or creates the node's secrets in its data directory.
package node
