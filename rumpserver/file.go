package rumpserver

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// fileKind says what backs a file, which decides the calls it takes: only
// vnodes (host files, directories, FIFOs) take the file system calls, as only
// DTYPE_VNODE files do in NetBSD.
type fileKind uint8

const (
	kindVnode fileKind = iota
	kindSocket
	kindPipe
	kindConsole
)

// file is an open file, NetBSD's struct file: what descriptors refer to, and
// what dup, fork and descriptor passing share. It owns one host descriptor,
// which is always non-blocking and close-on-exec on the host; the NetBSD
// status flags that the host descriptor does not carry are kept here.
//
// A file is reference counted. Every descriptor slot holds one reference, and
// so does every system call using it, so that the host descriptor is closed
// only when no call can still be using its number: a closed number the host
// reused for another process's file must never be reachable.
type file struct {
	refs atomic.Int32
	k    *kernel
	kind fileKind
	fd   int // host descriptor; -1 for the console

	// nbio is the NetBSD O_NONBLOCK flag: whether calls that would block
	// fail with EAGAIN instead of waiting.
	nbio atomic.Bool
	// nosigpipe is the NetBSD O_NOSIGPIPE flag: a write to a broken
	// connection fails with EPIPE without raising SIGPIPE.
	nosigpipe atomic.Bool

	// dirMu serializes directory reads, which read and then reposition
	// the shared offset.
	dirMu sync.Mutex

	sock *socket // set for kindSocket
}

// socket is what a file backed by a host socket knows beyond the host.
type socket struct {
	family int // NetBSD address family
	typ    int // base socket type, the same number on both systems

	mu sync.Mutex
	// noSigpipe is the SO_NOSIGPIPE option; guarded by mu.
	noSigpipe bool
	// name is the AF_LOCAL name the socket is bound to, as its process
	// gave it, and hostName the name the host bound; guarded by mu.
	name, hostName string
	// dirFd holds the directory of a bound AF_LOCAL socket open, which
	// keeps hostName, a path through it, unique among live sockets;
	// guarded by mu; -1 if none.
	dirFd int
	// peer is the AF_LOCAL name the socket was connected to; guarded by
	// mu.
	peer string

	// connected is set once a stream socket has been connected or
	// accepted. Linux fails a write on a stream socket that never was
	// with EPIPE, NetBSD with ENOTCONN and no signal.
	connected atomic.Bool
}

// unconnected turns the host's EPIPE for a write on a stream socket that was
// never connected into NetBSD's ENOTCONN.
func (f *file) unconnected(errno netbsd.Errno) netbsd.Errno {
	if errno == netbsd.EPIPE && f.sock != nil && f.sock.typ != unix.SOCK_DGRAM &&
		!f.sock.connected.Load() {
		return netbsd.ENOTCONN
	}
	return errno
}

// newFile wraps host descriptor fd, taking ownership of it, with one
// reference.
func newFile(k *kernel, fd int, kind fileKind) *file {
	f := &file{k: k, fd: fd, kind: kind}
	f.refs.Store(1)
	return f
}

// newConsole returns the rump console, the file a guest process gets on
// descriptors 0, 1 and 2: write-only, with output to the server's console.
func newConsole(k *kernel) *file {
	return newFile(k, -1, kindConsole)
}

// newSocketFile wraps a host socket of the given NetBSD family and type.
func newSocketFile(k *kernel, fd, family, typ int) *file {
	f := newFile(k, fd, kindSocket)
	f.sock = &socket{family: family, typ: typ, dirFd: -1}
	return f
}

// acquire takes a reference for a caller that will release it.
func (f *file) acquire() *file {
	f.refs.Add(1)
	return f
}

// release drops a reference; the last one closes the host descriptor.
func (f *file) release() {
	if f.refs.Add(-1) != 0 {
		return
	}
	if f.sock != nil {
		f.sock.mu.Lock()
		if f.sock.hostName != "" {
			f.k.forgetUnixName(f.sock.hostName)
		}
		if f.sock.dirFd >= 0 {
			unix.Close(f.sock.dirFd)
		}
		f.sock.mu.Unlock()
	}
	if f.fd >= 0 {
		unix.Close(f.fd)
	}
}

// isVnode reports whether the file takes the calls NetBSD reserves for
// vnodes (fchmod, fsync, ftruncate, getdents, ...).
func (f *file) isVnode() bool { return f.kind == kindVnode }

// sigpipe reports whether a write that hits a broken connection raises
// SIGPIPE, given the call's MSG_NOSIGNAL.
func (f *file) sigpipe(nosignal bool) bool {
	if nosignal || f.nosigpipe.Load() {
		return false
	}
	if f.sock != nil {
		f.sock.mu.Lock()
		defer f.sock.mu.Unlock()
		return !f.sock.noSigpipe
	}
	return true
}

// hostFileKind classifies a host descriptor the server did not open itself,
// one received in an SCM_RIGHTS message.
func hostFileKind(fd int) fileKind {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return kindVnode
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFSOCK:
		return kindSocket
	case unix.S_IFIFO:
		// A pipe and an open FIFO look alike from a descriptor; both are
		// taken as a pipe, which refuses the vnode calls a FIFO would take.
		return kindPipe
	}
	return kindVnode
}
