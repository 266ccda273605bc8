package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/transport/wt"
)

// maxServerMessageSize bounds one server frame; a join response carries the
// whole roster.
const maxServerMessageSize = 4 << 20

// ErrClosed is returned once the session has ended and every received
// message was read.
var ErrClosed = errors.New("client: session closed")

// Client is one signaling session. Send and the Next family may be called
// from different goroutines.
type Client struct {
	session *wt.ClientSession
	reader  *framing.Reader

	writeMu sync.Mutex
	seq     uint64

	mu      sync.Mutex
	inbox   []*signalingv1.ServerMessage
	arrived chan struct{}
	readErr error
	done    chan struct{}
}

// Dial connects to a signaling URL such as https://127.0.0.1:7443/signaling.
func Dial(ctx context.Context, url string, opts wt.DialOptions) (*Client, error) {
	session, err := wt.Dial(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	c := &Client{
		session: session,
		reader:  framing.NewReader(session, maxServerMessageSize),
		arrived: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	go c.readLoop()
	return c, nil
}

func (c *Client) readLoop() {
	defer close(c.done)
	defer c.awaitSessionEnd()
	for {
		msg := &signalingv1.ServerMessage{}
		err := c.reader.Read(msg)
		c.mu.Lock()
		if err != nil {
			c.readErr = err
		} else {
			c.inbox = append(c.inbox, msg)
		}
		c.mu.Unlock()
		select {
		case c.arrived <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// awaitSessionEnd waits, briefly, for the session close that follows the
// end of the stream, so that CloseCode sees the node's code.
func (c *Client) awaitSessionEnd() {
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	select {
	case <-c.session.Context().Done():
	case <-timer.C:
	}
}

// Send assigns the next sequence number to msg, sends it and returns the
// number.
func (c *Client) Send(msg *signalingv1.ClientMessage) (uint64, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.seq++
	msg.Sequence = c.seq
	_ = c.session.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := framing.Write(c.session, msg, framing.DefaultMaxSize); err != nil {
		return 0, fmt.Errorf("send %T: %w", msg.GetPayload(), err)
	}
	return msg.Sequence, nil
}

// WriteRaw writes bytes to the stream as they are, for protocol tests.
func (c *Client) WriteRaw(b []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_, err := c.session.Write(b)
	return err
}

// Next returns the next server message, waiting until one arrives, the
// session ends (ErrClosed) or ctx ends.
func (c *Client) Next(ctx context.Context) (*signalingv1.ServerMessage, error) {
	for {
		c.mu.Lock()
		if len(c.inbox) > 0 {
			msg := c.inbox[0]
			c.inbox = c.inbox[1:]
			c.mu.Unlock()
			return msg, nil
		}
		readErr := c.readErr
		c.mu.Unlock()
		if readErr != nil {
			return nil, fmt.Errorf("%w: %v", ErrClosed, readErr)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.arrived:
		}
	}
}

// Pending returns the messages received and not yet read, without waiting.
func (c *Client) Pending() []*signalingv1.ServerMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.inbox
	c.inbox = nil
	return out
}

// JoinParams are the fields of a join request.
type JoinParams struct {
	MeetingID     string
	JoinToken     string
	DisplayName   string
	CorrelationID string
	BindingToken  string
}

// Join sends a join request and waits for its response. A rejected join
// returns the server's Error as *ServerError.
func (c *Client) Join(ctx context.Context, p JoinParams) (*signalingv1.JoinResponse, error) {
	seq, err := c.Send(&signalingv1.ClientMessage{Payload: &signalingv1.ClientMessage_Join{Join: &signalingv1.JoinRequest{
		MeetingId:     p.MeetingID,
		JoinToken:     p.JoinToken,
		DisplayName:   p.DisplayName,
		CorrelationId: p.CorrelationID,
		BindingToken:  p.BindingToken,
	}}})
	if err != nil {
		return nil, err
	}
	for {
		msg, err := c.Next(ctx)
		if err != nil {
			return nil, err
		}
		if msg.GetInReplyTo() != seq {
			continue
		}
		if resp := msg.GetJoinResponse(); resp != nil {
			return resp, nil
		}
		if e := msg.GetError(); e != nil {
			return nil, &ServerError{Err: e}
		}
	}
}

// ServerError is an Error message from the node.
type ServerError struct{ Err *signalingv1.Error }

func (e *ServerError) Error() string {
	return fmt.Sprintf("server error %s: %s", e.Err.GetCode(), e.Err.GetMessage())
}

// Close ends the session the way a dropped connection does: without a
// leave request. The node keeps the participant for its grace period.
func (c *Client) Close() error {
	err := c.session.Close(0, "")
	<-c.done
	return err
}

// Done is closed when the session has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// CloseCode returns the application error code the node closed the session
// with, once it has ended.
func (c *Client) CloseCode() (uint32, bool) {
	return wt.SessionErrorCode(c.session.Err())
}
