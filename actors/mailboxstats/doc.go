// Package mailboxstats measures the queue depth of actor mailboxes and
// classifies it as normal, warning or critical.
//
// A Tracker serves one actor kind. Its Props option gives every actor of
// that kind its own unbounded mailbox with a counter: depth is the number of
// user messages posted minus the number received, so the message that the
// actor is processing still counts. System messages, the types that
// implement actor.SystemMessage or actor.MailboxMessage such as Started,
// Stop, Watch, Terminated, Failure and SuspendMailbox, pass through the same
// protoactor middleware hooks but are not counted.
//
// Protoactor creates a mailbox before the actor has a PID. The counter is
// bound to its actor when spawn calls RegisterHandlers on the mailbox with
// the actor context, whose Self is already set. The counter then wraps that
// context and counts a message as received when the actor's Receive returns
// or panics. Protoactor's MessageReceived hook would miss the panic case.
// A receiver middleware removes the counter from its Tracker when the actor
// gets *actor.Stopped, so stopped actors leave nothing behind.
//
// Each level change is logged once and passed to the Tracker's callback.
// Single messages are never logged.
package mailboxstats
