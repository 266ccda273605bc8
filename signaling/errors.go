package signaling

import "errors"

// ErrMeetingNotFound is returned by Meetings.Locate when the meeting does
// not run.
var ErrMeetingNotFound = errors.New("signaling: meeting not found")
