package signaling

import (
	"io"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/transport/wt"
)

// closeLinger bounds how long a close waits for the client to read what
// was written before it.
const closeLinger = 250 * time.Millisecond

// sessionStream adapts a WebTransport session to actors.Stream.
type sessionStream struct {
	session *wt.Session
	reader  *framing.Reader
}

func newSessionStream(s *wt.Session, maxMessageSize int) *sessionStream {
	return &sessionStream{session: s, reader: framing.NewReader(s.Stream(), maxMessageSize)}
}

// Read decodes the next client message.
func (s *sessionStream) Read(m proto.Message) error { return s.reader.Read(m) }

// Write sends one encoded frame.
func (s *sessionStream) Write(frame []byte) error {
	n, err := s.session.Write(frame)
	if err == nil && n < len(frame) {
		err = io.ErrShortWrite
	}
	return err
}

// SetWriteDeadline bounds the next writes.
func (s *sessionStream) SetWriteDeadline(t time.Time) error { return s.session.SetWriteDeadline(t) }

// Close ends the stream, gives the client a moment to read the goodbye,
// then closes the session with code.
func (s *sessionStream) Close(code signalingv1.SessionCloseCode, reason string) {
	_ = s.session.CloseAfterFlush(uint32(code), reason, closeLinger)
}
