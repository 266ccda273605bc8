package framing

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestReader_RoundTrip(t *testing.T) {
	messages := []*wrapperspb.StringValue{
		wrapperspb.String("hello"),
		wrapperspb.String(""),                          // encodes to zero bytes
		wrapperspb.String(strings.Repeat("x", 10_000)), // larger than the bufio buffer
		wrapperspb.String("after the large one"),
	}

	var buf bytes.Buffer
	for _, m := range messages {
		if err := Write(&buf, m, 0); err != nil {
			t.Fatalf("Write(%d chars): %v", len(m.GetValue()), err)
		}
	}

	r := NewReader(&buf, 0)
	for i, want := range messages {
		got := &wrapperspb.StringValue{Value: "stale contents"}
		if err := r.Read(got); err != nil {
			t.Fatalf("Read message %d: %v", i, err)
		}
		if !proto.Equal(got, want) {
			t.Errorf("message %d: got %d chars, want %d chars", i, len(got.GetValue()), len(want.GetValue()))
		}
	}
	if err := r.Read(&wrapperspb.StringValue{}); !errors.Is(err, io.EOF) {
		t.Fatalf("Read after last message: got %v, want io.EOF", err)
	}
}

func TestReader_EmptyStream(t *testing.T) {
	err := NewReader(bytes.NewReader(nil), 0).Read(&wrapperspb.StringValue{})
	if err != io.EOF { //nolint:errorlint // a clean end must be io.EOF itself, as io.Reader callers expect
		t.Fatalf("Read: got %v, want io.EOF unwrapped", err)
	}
}

func TestFraming_ProtodelimCompatible(t *testing.T) {
	m := wrapperspb.String("compatible")

	t.Run("protodelim to Reader", func(t *testing.T) {
		var buf bytes.Buffer
		if _, err := protodelim.MarshalTo(&buf, m); err != nil {
			t.Fatalf("protodelim.MarshalTo: %v", err)
		}
		got := &wrapperspb.StringValue{}
		if err := NewReader(&buf, 0).Read(got); err != nil {
			t.Fatalf("Read: %v", err)
		}
		if !proto.Equal(got, m) {
			t.Errorf("message: got %v, want %v", got, m)
		}
	})

	t.Run("Write to protodelim", func(t *testing.T) {
		var buf bytes.Buffer
		if err := Write(&buf, m, 0); err != nil {
			t.Fatalf("Write: %v", err)
		}
		got := &wrapperspb.StringValue{}
		if err := protodelim.UnmarshalFrom(bufio.NewReader(&buf), got); err != nil {
			t.Fatalf("protodelim.UnmarshalFrom: %v", err)
		}
		if !proto.Equal(got, m) {
			t.Errorf("message: got %v, want %v", got, m)
		}
	})
}

func TestMarshal_MatchesWrite(t *testing.T) {
	m := wrapperspb.String("queued")
	frame, err := Marshal(m, 0)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, m, 0); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if !bytes.Equal(frame, buf.Bytes()) {
		t.Errorf("Marshal: got %x, want %x", frame, buf.Bytes())
	}
}

func TestWrite_SizeLimit(t *testing.T) {
	m := wrapperspb.Bytes(make([]byte, 1000))
	size := proto.Size(m)

	t.Run("exact limit accepted", func(t *testing.T) {
		var buf bytes.Buffer
		if err := Write(&buf, m, size); err != nil {
			t.Fatalf("Write with limit %d: %v", size, err)
		}
		got := &wrapperspb.BytesValue{}
		if err := NewReader(&buf, size).Read(got); err != nil {
			t.Fatalf("Read with limit %d: %v", size, err)
		}
		if len(got.GetValue()) != 1000 {
			t.Errorf("value length: got %d, want 1000", len(got.GetValue()))
		}
	})

	t.Run("one byte over rejected", func(t *testing.T) {
		var buf bytes.Buffer
		err := Write(&buf, m, size-1)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Write with limit %d: got %v, want ErrTooLarge", size-1, err)
		}
		if buf.Len() != 0 {
			t.Errorf("bytes written: got %d, want 0", buf.Len())
		}
	})

	t.Run("default limit", func(t *testing.T) {
		big := wrapperspb.Bytes(make([]byte, DefaultMaxSize))
		if _, err := Marshal(big, 0); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Marshal of %d bytes: got %v, want ErrTooLarge", proto.Size(big), err)
		}
	})
}

// prefixOnlyReader returns prefix on its first Read and fails the test if
// it is read again, which proves the body was never requested.
type prefixOnlyReader struct {
	t      *testing.T
	prefix []byte
	done   bool
}

func (r *prefixOnlyReader) Read(p []byte) (int, error) {
	if r.done {
		r.t.Error("Read: body was requested after an oversized length prefix")
		return 0, io.EOF
	}
	r.done = true
	return copy(p, r.prefix), nil
}

func TestReader_TooLarge(t *testing.T) {
	const limit = 100
	src := &prefixOnlyReader{t: t, prefix: protowire.AppendVarint(nil, limit+1)}

	err := NewReader(src, limit).Read(&wrapperspb.BytesValue{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Read: got %v, want ErrTooLarge", err)
	}
	for _, want := range []string{"101", "100"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want it to name %s", err, want)
		}
	}
}

func TestReader_Malformed(t *testing.T) {
	garbage := []byte{0xff, 0xff} // field 0 is invalid in any message

	tests := []struct {
		name          string
		input         []byte
		wantTruncated bool
	}{
		{name: "prefix longer than 10 bytes", input: bytes.Repeat([]byte{0xff}, 11)},
		{name: "prefix overflows 64 bits", input: append(bytes.Repeat([]byte{0xff}, 9), 0x02)},
		{name: "prefix truncated", input: []byte{0x80}, wantTruncated: true},
		{name: "body truncated", input: []byte{0x05, 0x0a, 0x03}, wantTruncated: true},
		{name: "large body truncated", input: append(protowire.AppendVarint(nil, 8000), make([]byte, 5000)...), wantTruncated: true},
		{name: "garbage body", input: append([]byte{byte(len(garbage))}, garbage...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewReader(bytes.NewReader(tt.input), 0).Read(&wrapperspb.StringValue{})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Read(%x): got %v, want ErrMalformed", tt.input, err)
			}
			if got := errors.Is(err, io.ErrUnexpectedEOF); got != tt.wantTruncated {
				t.Errorf("errors.Is(err, io.ErrUnexpectedEOF): got %t, want %t (err %v)", got, tt.wantTruncated, err)
			}
		})
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestReader_StreamError(t *testing.T) {
	err := NewReader(failingReader{err: os.ErrDeadlineExceeded}, 0).Read(&wrapperspb.StringValue{})
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read: got %v, want os.ErrDeadlineExceeded", err)
	}
	if errors.Is(err, ErrMalformed) {
		t.Errorf("Read: got ErrMalformed for a stream error %v", err)
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	m := wrapperspb.String(strings.Repeat("signal", 20))
	got := &wrapperspb.StringValue{}
	var buf bytes.Buffer
	r := NewReader(&buf, 0)

	b.ReportAllocs()
	for b.Loop() {
		if err := Write(&buf, m, 0); err != nil {
			b.Fatalf("Write: %v", err)
		}
		if err := r.Read(got); err != nil {
			b.Fatalf("Read: %v", err)
		}
	}
}

func FuzzReader(f *testing.F) {
	valid, err := structpb.NewStruct(map[string]any{"kind": "join", "seq": 1, "tags": []any{"a", true}})
	if err != nil {
		f.Fatalf("NewStruct: %v", err)
	}
	frame, err := Marshal(valid, 0)
	if err != nil {
		f.Fatalf("Marshal: %v", err)
	}
	f.Add(frame)
	f.Add(append(frame, frame...))
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Add(bytes.Repeat([]byte{0xff}, 11))
	f.Add([]byte{0x02, 0xff, 0xff})
	f.Add(protowire.AppendVarint(nil, DefaultMaxSize+1))

	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), 1024)
		// Each successful Read consumes at least one byte, so the loop ends.
		for range len(data) + 1 {
			err := r.Read(&structpb.Struct{})
			if err == nil {
				continue
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Read: got unexpected error %v", err)
			}
			return
		}
		t.Fatal("Read: did not reach an error after consuming all input")
	})
}
