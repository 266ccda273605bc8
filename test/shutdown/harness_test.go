package shutdown

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"

	"github.com/convene/convene/messages/framing"
	"github.com/convene/convene/messages/signalingv1"
	"github.com/convene/convene/test/testnode"
	"github.com/convene/convene/transport/wt"
)

// slowReceiveWindow is the QUIC receive window, in bytes, of a client that
// never reads: the node's writes to it block once a few updates filled it.
const slowReceiveWindow = 1024

// slowSession is a signaling session whose QUIC receive window is only
// slowReceiveWindow bytes and whose stream the test never reads, so the
// node's writes to it block once the window is full.
type slowSession struct {
	qconn *quic.Conn
	ws    *webtransport.Session
	str   *webtransport.Stream
}

// dialSlow opens a slowSession to a signaling URL, pinning certHash as
// wt.Dial does. Cleanup closes it.
func dialSlow(t *testing.T, rawURL string, certHash [32]byte) *slowSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testnode.WaitTimeout)
	defer cancel()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse signaling URL %q: %v", rawURL, err)
	}

	tlsConf := &tls.Config{
		ServerName:         u.Hostname(),
		NextProtos:         []string{http3.NextProtoH3},
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // replaced by the pin below, as with serverCertificateHashes
		VerifyConnection: func(state tls.ConnectionState) error {
			if len(state.PeerCertificates) == 0 {
				return errors.New("server sent no certificate")
			}
			if sum := sha256.Sum256(state.PeerCertificates[0].Raw); !slices.Equal(sum[:], certHash[:]) {
				return fmt.Errorf("server certificate hash %x does not match the pin", sum)
			}
			return nil
		},
	}
	qconn, err := quic.DialAddr(ctx, u.Host, tlsConf, &quic.Config{
		MaxIdleTimeout:                   wt.DefaultMaxIdleTimeout,
		KeepAlivePeriod:                  wt.DefaultKeepAlivePeriod,
		EnableDatagrams:                  true,
		EnableStreamResetPartialDelivery: true,
		InitialStreamReceiveWindow:       slowReceiveWindow,
		MaxStreamReceiveWindow:           slowReceiveWindow,
	})
	if err != nil {
		t.Fatalf("dial QUIC %s: %v", u.Host, err)
	}
	s := &slowSession{qconn: qconn}
	t.Cleanup(s.close)

	transport := &webtransport.Transport{}
	clientConn, err := transport.NewClientConn(qconn)
	if err != nil {
		t.Fatalf("create WebTransport client connection: %v", err)
	}
	rsp, ws, err := clientConn.Dial(ctx, rawURL, http.Header{})
	if err != nil || rsp.StatusCode != http.StatusOK {
		t.Fatalf("request session at %s: %v (response %v)", rawURL, err, rsp)
	}
	s.ws = ws
	str, err := ws.OpenStreamSync(ctx)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	s.str = str
	return s
}

// send writes one client frame.
func (s *slowSession) send(t *testing.T, msg *signalingv1.ClientMessage) {
	t.Helper()
	_ = s.str.SetWriteDeadline(time.Now().Add(testnode.WaitTimeout))
	if err := framing.Write(s.str, msg, framing.DefaultMaxSize); err != nil {
		t.Fatalf("send %T on the slow session: %v", msg.GetPayload(), err)
	}
}

// done returns a channel closed when the session has ended.
func (s *slowSession) done() <-chan struct{} { return s.ws.Context().Done() }

func (s *slowSession) close() {
	if s.ws != nil {
		_ = s.ws.CloseWithError(0, "")
	}
	_ = s.qconn.CloseWithError(0, "")
}
