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
// Where the embedded server is known to answer wrongly, the case says which
// wrong errno it gives and skips with "known issue" when that comes back, so
// that it asserts NetBSD's answer again once the server is fixed. Where the
// file system decides (rumpfs, the root of a rump_server, has no rename),
// the case skips with the reason after checking the rest.
//
// The reconnect tests need to stop and restart the server, so they run
// against the embedded server only.
package conformance
