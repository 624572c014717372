// Package conformance holds client-level tests of the rump kernel as hijackd
// sees it: rumpconn connections making NetBSD system calls, with paths and
// buffers passed through a Staging, and NetBSD return values and errno values
// asserted.
//
// Every test runs against the embedded server, started in the test on a unix
// socket with a temporary root, and again against the server RUMP_SERVER
// names when that is set, a real NetBSD rump_server, with the same expected
// results: a difference between the two is a bug in the embedded server (or in
// what the tests expect). The tests make no assumption of a fresh server: what
// they create lives in a directory of their own, under a name no other run
// uses, which they remove again.
//
// The reconnect tests need to stop and restart the server, so they run
// against the embedded server only.
package conformance
