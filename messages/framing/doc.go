// Package framing reads and writes length-delimited protobuf messages on a
// byte stream such as a WebTransport stream.
//
// Each frame is the message size in bytes as a protobuf varint followed by
// the wire-format message, the format that
// google.golang.org/protobuf/encoding/protodelim writes. Both sides enforce a
// maximum message size, DefaultMaxSize unless configured, so a peer cannot
// make the reader allocate more than that per message.
//
// After ErrTooLarge or ErrMalformed the stream position is no longer at a
// frame boundary, so the caller must close the stream.
package framing
