// Package store keeps meeting snapshots between activations of a Meeting
// actor. Saves are guarded by a compare-and-set on the fencing generation,
// so a stale activation can never overwrite the state of a newer one.
//
// Memory is the default implementation: it survives actor restarts but not
// the death of the process.
package store
