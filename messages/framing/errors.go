package framing

import "errors"

var (
	// ErrTooLarge is returned when a message is larger than the maximum
	// message size: by Reader.Read when the length prefix announces more
	// bytes than the limit, and by Write and Marshal when the encoded message
	// exceeds it.
	ErrTooLarge = errors.New("message too large")

	// ErrMalformed is returned by Reader.Read for a length prefix that is not
	// a valid varint, a stream that ends inside a frame (the error then also
	// wraps io.ErrUnexpectedEOF), or a body that is not a valid message.
	ErrMalformed = errors.New("malformed message frame")
)
