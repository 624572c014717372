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
// apart from the others, the way the rump kernel runs it on an LWP of its
// own: on the goroutine reading the connection while it is the only call in
// flight, and on a goroutine of its own otherwise (conn.go says when a call
// moves). It is dispatched by number to a handler (dispatch.go and the sys_*.go
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
//
// # Using it
//
// In-process, New and Serve (or ServeConn for one connected socket) serve the
// kernel over any stream. Confined, Spawn starts the hijack-rumpserver
// command in a network namespace of its own, without privilege, and Dial
// hands it one connection per rump process.
//
// # Limitations
//
// Each is also stated in a comment where it applies.
//
//   - Calls this kernel lacks answer ENOSYS, as those of a component a
//     rump_server lacks: select and pselect, kqueue and kevent, recvmmsg and
//     sendmmsg, mount, chroot, extended attributes, the
//     clock, timer and rlimit calls, and every call NetBSD's own rump
//     kernels lack (fork, execve, mmap, ...). Routing sockets, interface
//     ioctls and IPv6 scope configuration are absent: the network is the
//     namespace the server runs in.
//   - Rump processes have root credentials in name only: permission checks
//     are the host's for the server's uid, and files are created with the
//     server's owner, under the process's umask and then the server's
//     (hijack-rumpserver clears its own).
//   - One read, write or message call moves at most 256 KiB; a larger one
//     is served short, as a kernel may serve it.
//   - Opening a FIFO for reading does not wait for a writer; opening one for
//     writing waits for a reader by polling.
//   - Record locks are the host's open file description locks: a process and
//     the children forked from it share theirs, and F_GETLK reports no pid.
//     Blocking lock requests poll.
//   - No signal but SIGPIPE is ever raised: F_SETOWN has no effect, and the
//     signal masks of paccept and pollts are ignored.
//   - Descriptors passed with SCM_RIGHTS arrive as new files, without the
//     sender's NetBSD-only flags (O_NONBLOCK as this kernel keeps it,
//     O_NOSIGPIPE); SCM_CREDS is neither sent nor received.
//   - All processes share the server's host descriptor limit; descriptor
//     tables are bounded per process (Config.MaxFiles) but not in total.
package rumpserver
