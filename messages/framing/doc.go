// Package framing reads and writes length-delimited protobuf messages on a
// byte stream such as a WebTransport stream.
//
// Each frame is the message size in bytes as a protobuf varint followed by
// the wire-format message, the format that
// google.golang.org/protobuf/encoding/protodelim writes. Both sides enforce a
// maximum message size, DefaultMaxSize unless configured, so a peer cannot
// make the reader allocate more than that per message.
//
// After any error from Reader.Read other than io.EOF, including a read
// deadline error, the Reader may have consumed part of a frame, so the
// caller must stop reading and close the stream.
package framing
