// Package rumpconn owns connections to a rump kernel: dialling, the
// handshakes, concurrent calls with the server's copy requests served from
// target memory, prefork, fork and exec, the pool of ready connections, and
// the reconnect policy. It is the rumpclient of hijackd: one Conn stands for
// one target process and is one process in the rump kernel.
//
// It does not translate Linux calls into NetBSD ones (that is package
// emulate's job: every number, argument and errno here is NetBSD's already),
// and it does not touch seccomp.
//
// # Using it
//
// ParseServer turns RUMP_SERVER into a Server. Dial, or Pool.Dial, opens a
// Conn with a GUEST handshake; Syscall performs one call and may be used
// from many goroutines at once. Before a host fork the parent calls Prefork
// and the child's Conn is opened with DialFork; after a host exec, Exec.
// Close ends the rump process.
//
// The server asks for client memory while a call runs; a Conn serves those
// requests from the Memory it was opened with, normally a Staging over the
// target's address space, so that translated structures never have to be
// written into the target.
package rumpconn
