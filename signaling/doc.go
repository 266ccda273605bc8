// Package signaling serves the client signaling endpoint. It reads a new
// session's first frame, which must be a join request that arrives within
// the join timeout, verifies the join token, finds the Meeting that hosts
// the meeting, and hands the session to it. A client that reached the wrong
// node gets a Redirect to the hosting node.
//
// Failures before the hand-over get a typed Error, a Goodbye, and a
// WebTransport close with an application error code from
// signalingv1.SessionCloseCode. Browsers may not see the close code, so the
// Goodbye always comes first.
package signaling
