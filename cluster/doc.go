// Package cluster starts and stops a node's membership in the protoactor
// cluster that hosts meetings as a cluster kind.
//
// protoactor's own StartMember and Shutdown panic on errors, sleep for fixed
// times and take no context; Member wraps them in Start and Stop, which
// return errors and respect the caller's deadline.
//
// Providers: "local" keeps every member in this process through an
// in-memory agent, with no external service. Several members that share one
// agent form one cluster, which the multi-node tests use.
package cluster
