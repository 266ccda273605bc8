package testnode

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// LogBuffer is an io.Writer for slog handlers that sends each record to
// t.Log, which shows it only on failure, and keeps every record for checks
// on the log content. It is safe for concurrent use.
type LogBuffer struct {
	t   testing.TB
	mu  sync.Mutex
	buf bytes.Buffer
	// ended is set when the test has finished. t.Log panics after that,
	// and node goroutines may still log then, so Write only buffers.
	ended bool
}

// NewLogBuffer returns a LogBuffer for t. Call it before starting the
// node whose logs it receives: its cleanup then runs after the node's
// Stop.
func NewLogBuffer(t testing.TB) *LogBuffer {
	l := &LogBuffer{t: t}
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.ended = true
	})
	return l
}

// Logger returns a text logger at level that writes to l.
func (l *LogBuffer) Logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: level}))
}

// Write implements io.Writer for the slog handler, one record per call.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.ended {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// String returns every record written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// SyncBuffer is a bytes.Buffer safe for concurrent use, such as the
// stdout of a process that a goroutine copies while the test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns the buffer's content.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
