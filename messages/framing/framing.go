package framing

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// DefaultMaxSize is the default maximum size of one message in bytes,
// excluding its length prefix.
const DefaultMaxSize = 64 << 10

// maxVarintLen is the length of the longest valid 64-bit varint.
const maxVarintLen = 10

// Reader reads length-delimited messages from a stream. It buffers input,
// so the caller must not read the underlying stream directly once it has
// used a Reader on it. A Reader is not safe for concurrent use.
type Reader struct {
	br      *bufio.Reader
	maxSize int
	body    []byte // reused for messages that do not fit in br's buffer
}

// NewReader returns a Reader that accepts messages of at most maxSize bytes.
// A maxSize of zero or less selects DefaultMaxSize.
func NewReader(r io.Reader, maxSize int) *Reader {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return &Reader{br: bufio.NewReader(r), maxSize: maxSize}
}

// Read reads the next frame and unmarshals it into m, replacing its contents.
// It returns io.EOF when the stream ends cleanly at a frame boundary. It
// returns an error wrapping ErrTooLarge, without reading the body, when the
// announced size exceeds the limit, and an error wrapping ErrMalformed for an
// invalid varint, a truncated frame or an invalid body. Errors from the
// underlying stream, such as deadline errors, are returned wrapped.
func (r *Reader) Read(m proto.Message) error {
	size, err := r.readSize()
	if err != nil {
		return err
	}
	if size > uint64(r.maxSize) {
		return fmt.Errorf("%w: announced size %d bytes exceeds maximum %d bytes", ErrTooLarge, size, r.maxSize)
	}

	body, err := r.readBody(int(size))
	if err != nil {
		return err
	}

	if err := proto.Unmarshal(body, m); err != nil {
		return fmt.Errorf("%w: unmarshal %d-byte %s: %w", ErrMalformed, size, m.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}

// readSize reads the varint length prefix byte by byte, so that no byte of
// the body is consumed before the size is checked.
func (r *Reader) readSize() (uint64, error) {
	var prefix [maxVarintLen]byte
	for i := range prefix {
		b, err := r.br.ReadByte()
		if errors.Is(err, io.EOF) {
			if i == 0 {
				return 0, io.EOF
			}
			return 0, fmt.Errorf("%w: stream ended after %d bytes of the length prefix: %w", ErrMalformed, i, io.ErrUnexpectedEOF)
		}
		if err != nil {
			return 0, fmt.Errorf("read length prefix: %w", err)
		}
		prefix[i] = b
		if b < 0x80 {
			size, n := protowire.ConsumeVarint(prefix[:i+1])
			if n < 0 {
				return 0, fmt.Errorf("%w: invalid length prefix %x: %w", ErrMalformed, prefix[:i+1], protowire.ParseError(n))
			}
			return size, nil
		}
	}
	return 0, fmt.Errorf("%w: length prefix longer than %d bytes", ErrMalformed, maxVarintLen)
}

// readBody returns the next size bytes. The slice is valid until the next
// call, which is enough because proto.Unmarshal copies what it keeps.
func (r *Reader) readBody(size int) ([]byte, error) {
	if size <= r.br.Size() {
		body, err := r.br.Peek(size)
		if err == nil {
			// Discard cannot fail here, because Peek has buffered size bytes.
			_, _ = r.br.Discard(size)
			return body, nil
		}
		return nil, r.bodyError(size, len(body), err)
	}

	if cap(r.body) < size {
		r.body = make([]byte, size)
	}
	body := r.body[:size]
	n, err := io.ReadFull(r.br, body)
	if err != nil {
		return nil, r.bodyError(size, n, err)
	}
	return body, nil
}

func (r *Reader) bodyError(size, got int, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: stream ended after %d of %d body bytes: %w", ErrMalformed, got, size, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("read %d-byte message body: %w", size, err)
}

// Marshal returns m encoded as one frame: its varint length followed by its
// wire-format bytes. A maxSize of zero or less selects DefaultMaxSize. It
// returns an error wrapping ErrTooLarge when the encoded message exceeds
// maxSize bytes.
func Marshal(m proto.Message, maxSize int) ([]byte, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}

	size := proto.Size(m)
	if size > maxSize {
		return nil, fmt.Errorf("%w: %s encodes to %d bytes, maximum is %d bytes",
			ErrTooLarge, m.ProtoReflect().Descriptor().FullName(), size, maxSize)
	}

	frame := make([]byte, 0, protowire.SizeVarint(uint64(size))+size)
	frame = protowire.AppendVarint(frame, uint64(size))
	// UseCachedSize reuses the size computed by proto.Size above.
	frame, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(frame, m)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return frame, nil
}

// Write encodes m as one frame and writes it with a single call to w.Write.
// It is not safe to call concurrently on one w. A maxSize of zero or less selects DefaultMaxSize. It returns an
// error wrapping ErrTooLarge when the encoded message exceeds maxSize bytes.
func Write(w io.Writer, m proto.Message, maxSize int) error {
	frame, err := Marshal(m, maxSize)
	if err != nil {
		return err
	}
	if _, err := w.Write(frame); err != nil {
		return fmt.Errorf("write %d-byte frame: %w", len(frame), err)
	}
	return nil
}
