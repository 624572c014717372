package rumpserver

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// Sockets live in the server's network namespace. Their host descriptors are
// non-blocking like every other; NetBSD's SOCK_NONBLOCK, SOCK_CLOEXEC and
// SOCK_NOSIGPIPE are kept by the file and the descriptor table.

// hostFamily maps the families this kernel has: local, inet and inet6, as a
// rump kernel with rumpnet_local, _netinet and _netinet6. Others, the
// routing socket among them, give EAFNOSUPPORT.
func hostFamily(family int32) (int, netbsd.Errno) {
	switch family {
	case netbsd.AF_LOCAL:
		return unix.AF_UNIX, 0
	case netbsd.AF_INET:
		return unix.AF_INET, 0
	case netbsd.AF_INET6:
		return unix.AF_INET6, 0
	}
	return 0, netbsd.EAFNOSUPPORT
}

// socketFlags are the flags socket, socketpair and paccept take.
const socketFlags = netbsd.SOCK_CLOEXEC | netbsd.SOCK_NONBLOCK | netbsd.SOCK_NOSIGPIPE

// newSocket wraps host socket fd as a file of NetBSD family and type word
// typ, flags included, and installs it.
func (cl *call) newSocket(fd int, family, typ int32) (int32, netbsd.Errno) {
	f := newSocketFile(cl.k, fd, int(family), int(typ&^socketFlags))
	defer f.release()
	f.nbio.Store(typ&netbsd.SOCK_NONBLOCK != 0)
	f.nosigpipe.Store(typ&netbsd.SOCK_NOSIGPIPE != 0)
	return cl.p.install(f, typ&netbsd.SOCK_CLOEXEC != 0, 0)
}

// __socket30(domain, type, protocol). Inet6 sockets start with IPV6_V6ONLY
// set, NetBSD's default, where Linux's is to take inet connections too.
func (cl *call) sysSocket() (int64, netbsd.Errno) {
	family, typ, proto := cl.int(0), cl.int(1), int(cl.int(2))
	hfam, errno := hostFamily(family)
	if errno != 0 {
		return 0, errno
	}
	base := int(typ &^ socketFlags)
	if typ&^socketFlags&^0xf != 0 {
		return 0, netbsd.EINVAL
	}
	fd, err := unix.Socket(hfam, base|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return 0, toErrno(err)
	}
	if hfam == unix.AF_INET6 {
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
	}
	nfd, errno := cl.newSocket(fd, family, typ)
	return int64(nfd), errno
}

// socketpair(domain, type, protocol, rsv): AF_LOCAL only, as on NetBSD.
func (cl *call) sysSocketpair() (int64, netbsd.Errno) {
	family, typ, proto := cl.int(0), cl.int(1), int(cl.int(2))
	if family != netbsd.AF_LOCAL {
		return 0, netbsd.EOPNOTSUPP
	}
	base := int(typ &^ socketFlags)
	fds, err := unix.Socketpair(unix.AF_UNIX, base|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return 0, toErrno(err)
	}
	a, errno := cl.newSocket(fds[0], family, typ)
	if errno != 0 {
		unix.Close(fds[1])
		return 0, errno
	}
	b, errno := cl.newSocket(fds[1], family, typ)
	if errno != 0 {
		cl.p.closeFd(a)
		return 0, errno
	}
	if errno := cl.copyout(cl.ptr(3), append(intBytes(a), intBytes(b)...)); errno != 0 {
		cl.p.closeFd(a)
		cl.p.closeFd(b)
		return 0, errno
	}
	return 0, 0
}

// sockArg looks up the socket in slot i; other files give ENOTSOCK.
func (cl *call) sockArg(i int) (*fdEntry, *file, netbsd.Errno) {
	e, f, errno := cl.fileArg(i)
	if errno != 0 {
		return nil, nil, errno
	}
	if f.sock == nil {
		f.release()
		return nil, nil, netbsd.ENOTSOCK
	}
	return e, f, 0
}

// bind(s, name, namelen).
func (cl *call) sysBind() (int64, netbsd.Errno) {
	_, f, errno := cl.sockArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	sa, errno := cl.sockaddrArg(cl.ptr(1), cl.uint(2))
	if errno != 0 {
		return 0, errno
	}
	if int(sa[1]) != f.sock.family {
		return 0, netbsd.EAFNOSUPPORT
	}
	if f.sock.family == netbsd.AF_LOCAL {
		path, errno := localPath(sa)
		if errno != 0 {
			return 0, errno
		}
		return 0, cl.bindLocal(f, path)
	}
	hsa, err := netbsd.ParseSockaddr(sa)
	if err != nil {
		return 0, netbsd.EINVAL
	}
	return 0, toErrno(unix.Bind(f.fd, hsa))
}

// connect(s, name, namelen). A blocking connect waits for the connection to
// complete and answers with its outcome; a non-blocking one answers
// EINPROGRESS. An interrupted wait answers EINTR and leaves the connection
// to complete on its own, as on NetBSD.
func (cl *call) sysConnect() (int64, netbsd.Errno) {
	e, f, errno := cl.sockArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	sa, errno := cl.sockaddrArg(cl.ptr(1), cl.uint(2))
	if errno != 0 {
		return 0, errno
	}
	if sa[1] == netbsd.AF_UNSPEC {
		return 0, connectUnspec(f.fd)
	}
	// NetBSD's soconnect refuses a listening socket with EOPNOTSUPP, where
	// Linux says EISCONN.
	if v, err := unix.GetsockoptInt(f.fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err == nil &&
		v != 0 {
		return 0, netbsd.EOPNOTSUPP
	}
	peer, errno := cl.peerArg(sa)
	if errno != 0 {
		return 0, errno
	}
	defer peer.close()

	err := unix.Connect(f.fd, peer.sa)
	for err == unix.EAGAIN && f.sock.family == netbsd.AF_LOCAL && !f.nbio.Load() {
		// A full backlog: Linux would make a blocking connect wait.
		if errno := cl.sleep(lockRetry); errno != 0 {
			return 0, errno
		}
		err = unix.Connect(f.fd, peer.sa)
	}
	if err == unix.EINPROGRESS && !f.nbio.Load() {
		if errno := cl.ioWait(e, f, unix.POLLOUT); errno != 0 {
			return 0, errno
		}
		soerr, gerr := unix.GetsockoptInt(f.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if gerr != nil {
			return 0, toErrno(gerr)
		}
		err = unix.Errno(soerr)
		if soerr == 0 {
			err = nil
		}
	}
	if err == unix.EINPROGRESS {
		// A connection was asked for: a write that fails from now on
		// fails as one on a connection would (EPIPE), not as one on a
		// socket never connected.
		f.sock.connected.Store(true)
	}
	if err != nil {
		return 0, toErrno(err)
	}
	f.sock.connected.Store(true)
	if peer.name != "" {
		f.sock.mu.Lock()
		f.sock.peer = peer.name
		f.sock.mu.Unlock()
	}
	return 0, 0
}

// connectUnspec dissolves a datagram socket's association, which takes an
// AF_UNSPEC address x/sys/unix has no type for.
func connectUnspec(fd int) netbsd.Errno {
	var sa [16]byte
	_, _, en := unix.Syscall(unix.SYS_CONNECT, uintptr(fd),
		uintptr(unsafe.Pointer(&sa[0])), uintptr(len(sa)))
	if en != 0 {
		return netbsd.ErrnoFromLinux(en)
	}
	return 0
}

// listen(s, backlog).
func (cl *call) sysListen() (int64, netbsd.Errno) {
	_, f, errno := cl.sockArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	return 0, toErrno(unix.Listen(f.fd, int(cl.int(1))))
}

// accept(s, name, anamelen): the new socket inherits the listener's
// O_NONBLOCK and O_NOSIGPIPE, BSD's way.
func (cl *call) sysAccept() (int64, netbsd.Errno) {
	return cl.doAccept(0, true)
}

// paccept(s, name, anamelen, mask, flags): the new socket has the flags
// asked for, O_NONBLOCK only if asked. The signal mask, which would apply
// while the call sleeps, is ignored: this kernel posts no signals then.
func (cl *call) sysPaccept() (int64, netbsd.Errno) {
	flags := cl.int(4)
	if flags&^socketFlags != 0 {
		return 0, netbsd.EINVAL
	}
	return cl.doAccept(flags, false)
}

func (cl *call) doAccept(flags int32, inherit bool) (int64, netbsd.Errno) {
	e, f, errno := cl.sockArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()

	var nfd int
	var hsa unix.Sockaddr
	errno = cl.retry(e, f, unix.POLLIN, false, func() (err error) {
		nfd, hsa, err = unix.Accept4(f.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return err
	})
	if errno != 0 {
		return 0, errno
	}

	nf := newSocketFile(cl.k, nfd, f.sock.family, f.sock.typ)
	nf.sock.connected.Store(true)
	defer nf.release()
	nf.nbio.Store(flags&netbsd.SOCK_NONBLOCK != 0 || inherit && f.nbio.Load())
	nf.nosigpipe.Store(flags&netbsd.SOCK_NOSIGPIPE != 0 || f.nosigpipe.Load())
	f.sock.mu.Lock()
	nf.sock.noSigpipe = f.sock.noSigpipe
	f.sock.mu.Unlock()
	fd, errno := cl.p.install(nf, flags&netbsd.SOCK_CLOEXEC != 0, 0)
	if errno != 0 {
		return 0, errno
	}
	sa := cl.netbsdAddr(hsa, f.sock.family)
	if errno := cl.copyoutAddr(cl.ptr(1), cl.ptr(2), sa); errno != 0 {
		cl.p.closeFd(fd)
		return 0, errno
	}
	return int64(fd), 0
}

// getsockname(fdes, asa, alen).
func (cl *call) sysGetsockname() (int64, netbsd.Errno) {
	_, f, errno := cl.sockArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	var sa []byte
	if f.sock.family == netbsd.AF_LOCAL {
		f.sock.mu.Lock()
		sa = localAddr(f.sock.name)
		f.sock.mu.Unlock()
	} else {
		hsa, err := unix.Getsockname(f.fd)
		if err != nil {
			return 0, toErrno(err)
		}
		sa = cl.netbsdAddr(hsa, f.sock.family)
	}
	return 0, cl.copyoutAddr(cl.ptr(1), cl.ptr(2), sa)
}

// getpeername(fdes, asa, alen).
func (cl *call) sysGetpeername() (int64, netbsd.Errno) {
	_, f, errno := cl.sockArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	hsa, err := unix.Getpeername(f.fd)
	if err != nil {
		return 0, toErrno(err)
	}
	sa := cl.netbsdAddr(hsa, f.sock.family)
	f.sock.mu.Lock()
	if f.sock.peer != "" {
		sa = localAddr(f.sock.peer)
	}
	f.sock.mu.Unlock()
	return 0, cl.copyoutAddr(cl.ptr(1), cl.ptr(2), sa)
}

// shutdown(s, how); SHUT_RD, SHUT_WR and SHUT_RDWR are the same numbers.
func (cl *call) sysShutdown() (int64, netbsd.Errno) {
	_, f, errno := cl.sockArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	how := int(cl.int(1))
	if how < unix.SHUT_RD || how > unix.SHUT_RDWR {
		return 0, netbsd.EINVAL
	}
	return 0, toErrno(unix.Shutdown(f.fd, how))
}
