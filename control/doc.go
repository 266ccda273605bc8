// Package control serves the control API (convene.control.v1.ControlService)
// over gRPC. The global controller uses it to assign meetings to this node
// and to manage them.
//
// The package is a thin edge. Each handler validates the request, calls the
// [Backend] that the node implements elsewhere, and translates the Backend's
// error into a gRPC status in one place. Errors that wrap a sentinel from
// errors.go keep their message and get the matching code. Context errors
// become CANCELED or DEADLINE_EXCEEDED. Every other error is logged and sent
// as INTERNAL with a generic message.
//
// # Authentication
//
// Every call needs the metadata "authorization: Bearer <token>" with the
// token from [ServerConfig.Token], compared in constant time. The only
// exception is the standard health service (grpc.health.v1.Health), which
// load balancers and orchestrators probe without credentials. Server
// reflection needs the token too, because it discloses the API surface.
// grpcurl sends the token with -H, or with -reflect-header to send it only
// on the reflection requests:
//
//	grpcurl -plaintext -H "authorization: Bearer $TOKEN" 127.0.0.1:7400 list
//	grpcurl -plaintext -reflect-header "authorization: Bearer $TOKEN" \
//	    127.0.0.1:7400 grpc.health.v1.Health/Check
//
// NOTE: the server listens without TLS, so the token crosses the network in
// plaintext. Bind it to loopback or a private network, or put a
// TLS-terminating proxy in front of it.
//
// # Health
//
// The health service reports the status of "" and [ServiceName]. Both start
// as SERVING. The node calls [Server.SetServing](false) while draining, and
// [Server.Stop] sets NOT_SERVING before it closes connections.
//
// # Logging
//
// Every call is logged at Debug with its method, status code, duration and
// peer address. Metadata, and so the token, is never logged.
package control
