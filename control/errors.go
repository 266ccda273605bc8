package control

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The Backend wraps one of these sentinels (with %w) in every error that the
// caller should see. The server sends the full message of such an error to the
// caller, so it must not contain internal details. Any other error becomes
// INTERNAL with a generic message.
var (
	// ErrMeetingNotFound is returned when the meeting does not run on this
	// node. It maps to NOT_FOUND.
	ErrMeetingNotFound = errors.New("meeting not found")

	// ErrParticipantNotFound is returned when the meeting has no participant
	// with the requested ID. It maps to NOT_FOUND.
	ErrParticipantNotFound = errors.New("participant not found")

	// ErrInvalidArgument is returned when a request field is invalid. The
	// server's own request validation wraps it too. It maps to
	// INVALID_ARGUMENT.
	ErrInvalidArgument = errors.New("invalid argument")

	// ErrPermissionDenied is returned when the caller may not perform the
	// operation on this meeting or participant. It maps to PERMISSION_DENIED.
	ErrPermissionDenied = errors.New("permission denied")

	// ErrFailedPrecondition is returned when the meeting or participant is in
	// a state that does not allow the operation, such as a meeting that has
	// already ended. It maps to FAILED_PRECONDITION.
	ErrFailedPrecondition = errors.New("failed precondition")

	// ErrUnavailable is returned when the node cannot serve the request right
	// now, for example while draining or before the cluster is ready. It maps
	// to UNAVAILABLE, which callers may retry.
	ErrUnavailable = errors.New("unavailable")

	// ErrResourceExhausted is returned when a limit of the node or the meeting
	// is reached. It maps to RESOURCE_EXHAUSTED.
	ErrResourceExhausted = errors.New("resource exhausted")

	// ErrDeadlineExceeded is returned when an internal step (such as a request
	// to an actor) timed out. It maps to DEADLINE_EXCEEDED.
	ErrDeadlineExceeded = errors.New("deadline exceeded")
)

// Lifecycle errors of [Server].
var (
	// ErrServerStarted is returned by [Server.Start] when it was already
	// called.
	ErrServerStarted = errors.New("control server already started")

	// ErrServerStopped is returned by [Server.Start] after [Server.Stop].
	ErrServerStopped = errors.New("control server already stopped")
)

// sentinelCodes lists the gRPC code of each sentinel. The first match wins
// when an error wraps more than one.
var sentinelCodes = []struct {
	err  error
	code codes.Code
}{
	{ErrMeetingNotFound, codes.NotFound},
	{ErrParticipantNotFound, codes.NotFound},
	{ErrInvalidArgument, codes.InvalidArgument},
	{ErrPermissionDenied, codes.PermissionDenied},
	{ErrFailedPrecondition, codes.FailedPrecondition},
	{ErrUnavailable, codes.Unavailable},
	{ErrResourceExhausted, codes.ResourceExhausted},
	{ErrDeadlineExceeded, codes.DeadlineExceeded},
}

// internalMessage is the only text a caller sees for an unexpected error.
const internalMessage = "internal error"

// toStatus translates an error from validation or the Backend into a gRPC
// status error, and returns nil for nil. Errors that wrap a sentinel keep
// their message. Wrapped context.Canceled and context.DeadlineExceeded become
// CANCELED and DEADLINE_EXCEEDED with a generic message. Every other error is
// logged at Error and becomes INTERNAL with [internalMessage].
func (s *controlService) toStatus(err error) error {
	if err == nil {
		return nil
	}

	for _, sentinel := range sentinelCodes {
		if errors.Is(err, sentinel.err) {
			return status.Error(sentinel.code, err.Error())
		}
	}

	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, "request canceled")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}

	s.logger.Error("control request failed", slog.Any("error", err))
	return status.Error(codes.Internal, internalMessage)
}
