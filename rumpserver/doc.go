// Package rumpserver is the embedded rump server: the sysproxy server side
// with the rump process model, and a host-backed kernel that executes NetBSD
// system calls on the host, confined to a root directory and to a network
// namespace of its own.
//
// It speaks exactly what a NetBSD rump_server speaks: the banner, the
// handshakes, NetBSD system call numbers and argument slots, NetBSD
// structures copied in and out through COPYIN and COPYOUT requests, and
// NetBSD errno values. A client cannot tell it from a rump kernel built with
// rumpvfs and rumpnet, apart from the file system it sees, which is a host
// directory, and the network, which is whatever namespace the server runs in.
//
// What it owns: connections, processes (descriptor tables, working
// directories, fork cookies), and the system calls. What it does not own:
// the confinement of the server process itself. Putting the server in a
// network namespace of its own and dropping its privileges is the business of
// the hijack-rumpserver command, which Spawn starts; a Server used in-process
// shares the network of its caller.
//
// # Layers
//
// A Server accepts connections and runs the protocol (conn.go,
// handshake.go, copy.go). Each connection that completes a handshake is bound
// to a process (process.go, fdtable.go, file.go). Each SYSCALL request runs
// on a goroutine of its own, the way the rump kernel runs it on an LWP of its
// own, and is dispatched by number to a handler (dispatch.go and the sys_*.go
// files) that decodes the argument slots, fetches its inputs from the client,
// calls the host, and writes its outputs back.
//
// # Confinement of files
//
// Every path a client names is resolved with openat2 and RESOLVE_IN_ROOT
// against the root directory, so neither ".." nor a symbolic link leaves it,
// and with RESOLVE_NO_MAGICLINKS, so /proc links inside it lead nowhere
// (resolve.go says how the calls without an fd-returning form are made).
//
// # Blocking
//
// Host descriptors are always non-blocking. A call that would block on a
// descriptor the client has not made non-blocking waits in poll(2) together
// with an eventfd of its own, which closing the descriptor, an exec
// handshake or the end of the connection signal, so that blocking calls end
// the way the rump kernel ends them (wait.go).
package rumpserver
