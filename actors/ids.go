package actors

// MeetingID identifies a meeting across the cluster.
type MeetingID string

// ParticipantID identifies a participant inside one meeting. Resumes keep it.
type ParticipantID string

// ControlAPIActor is the host_muted_by value of a mute applied through the
// control API instead of by a host.
const ControlAPIActor = "control-api"

// MeetingKind is the cluster kind name of the Meeting actor.
const MeetingKind = "meeting"

// ControllerName is the well-known name of the MeetingController on each node.
const ControllerName = "meeting-controller"
