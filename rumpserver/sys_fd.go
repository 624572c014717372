package rumpserver

import (
	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// dup(fd).
func (cl *call) sysDup() (int64, netbsd.Errno) {
	_, f, errno := cl.fileArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	fd, errno := cl.p.install(f, false, 0)
	return int64(fd), errno
}

// dup2(from, to). The new descriptor is not close-on-exec.
func (cl *call) sysDup2() (int64, netbsd.Errno) {
	_, f, errno := cl.fileArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	to := cl.int(1)
	if to == cl.int(0) {
		return int64(to), 0
	}
	return int64(to), cl.p.installAt(to, f, false)
}

// dup3(from, to, flags): flags O_CLOEXEC, which applies to the new
// descriptor, and O_NONBLOCK and O_NOSIGPIPE, which NetBSD sets on the file.
func (cl *call) sysDup3() (int64, netbsd.Errno) {
	flags := cl.uint(2)
	if flags&^(netbsd.O_CLOEXEC|netbsd.O_NONBLOCK|netbsd.O_NOSIGPIPE) != 0 {
		return 0, netbsd.EINVAL
	}
	_, f, errno := cl.fileArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	to := cl.int(1)
	if to == cl.int(0) {
		return 0, netbsd.EINVAL
	}
	if flags&netbsd.O_NONBLOCK != 0 {
		f.nbio.Store(true)
	}
	if flags&netbsd.O_NOSIGPIPE != 0 {
		f.nosigpipe.Store(true)
	}
	return int64(to), cl.p.installAt(to, f, flags&netbsd.O_CLOEXEC != 0)
}

// fcntl(fd, cmd, arg). Record locks are the host's open file description
// locks (F_OFD_*), owned by the open file rather than by the server process,
// which would own every POSIX lock of every rump process alike; a process
// and its fork children therefore share their locks, which only a host
// process per rump process would avoid. F_GETOWN and F_SETOWN are accepted
// and have no effect: this kernel raises no SIGIO or SIGURG, which would need
// the host's signals routed to the owning client.
func (cl *call) sysFcntl() (int64, netbsd.Errno) {
	fd, cmd, arg := cl.int(0), cl.int(1), cl.args[2]
	e, f, errno := cl.p.getFile(fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()

	switch cmd {
	case netbsd.F_DUPFD, netbsd.F_DUPFD_CLOEXEC:
		nfd, errno := cl.p.install(f, cmd == netbsd.F_DUPFD_CLOEXEC, int(int32(arg)))
		return int64(nfd), errno
	case netbsd.F_GETFD:
		on, errno := cl.p.cloexec(fd)
		if on {
			return netbsd.FD_CLOEXEC, errno
		}
		return 0, errno
	case netbsd.F_SETFD:
		return 0, cl.p.setCloexec(fd, arg&netbsd.FD_CLOEXEC != 0)
	case netbsd.F_GETFL:
		return cl.getfl(f)
	case netbsd.F_SETFL:
		return 0, cl.setfl(f, uint32(arg))
	case netbsd.F_GETOWN, netbsd.F_SETOWN:
		return 0, 0
	case netbsd.F_CLOSEM:
		cl.p.closeWhere(int(int32(arg)), func(*fdEntry) bool { return true })
		return 0, 0
	case netbsd.F_MAXFD:
		return int64(cl.p.maxFd()), 0
	case netbsd.F_GETNOSIGPIPE:
		if f.nosigpipe.Load() {
			return 1, 0
		}
		return 0, 0
	case netbsd.F_SETNOSIGPIPE:
		f.nosigpipe.Store(arg != 0)
		return 0, 0
	case netbsd.F_GETLK, netbsd.F_SETLK, netbsd.F_SETLKW:
		return 0, cl.recordLock(e, f, int(cmd), arg)
	}
	return 0, netbsd.EINVAL
}

// getfl answers F_GETFL in NetBSD bits: the host's status flags but for
// O_NONBLOCK, which the host descriptor always has, and the flags the file
// keeps itself.
func (cl *call) getfl(f *file) (int64, netbsd.Errno) {
	var flags uint32
	if f.kind == kindConsole {
		flags = netbsd.O_WRONLY
	} else {
		host, err := unix.FcntlInt(uintptr(f.fd), unix.F_GETFL, 0)
		if err != nil {
			return 0, toErrno(err)
		}
		flags, _ = netbsd.OpenFlagsFromLinux(uint32(host) &^ (unix.O_NONBLOCK | unix.O_PATH))
	}
	if f.nbio.Load() {
		flags |= netbsd.O_NONBLOCK
	}
	if f.nosigpipe.Load() {
		flags |= netbsd.O_NOSIGPIPE
	}
	return int64(flags), 0
}

// setfl answers F_SETFL. Of the host's status flags only O_APPEND and
// O_DIRECT are passed on; O_ASYNC is not, since the host would send its
// SIGIO to the server.
func (cl *call) setfl(f *file, flags uint32) netbsd.Errno {
	f.nbio.Store(flags&netbsd.O_NONBLOCK != 0)
	f.nosigpipe.Store(flags&netbsd.O_NOSIGPIPE != 0)
	if f.kind == kindConsole {
		return 0
	}
	linux, _ := netbsd.OpenFlagsToLinux(flags)
	host := int(linux&(unix.O_APPEND|unix.O_DIRECT)) | unix.O_NONBLOCK
	_, err := unix.FcntlInt(uintptr(f.fd), unix.F_SETFL, host)
	return toErrno(err)
}

// recordLock serves F_GETLK, F_SETLK and F_SETLKW with a NetBSD struct flock
// at addr. F_SETLKW polls while the lock is held elsewhere.
func (cl *call) recordLock(e *fdEntry, f *file, cmd int, addr uint64) netbsd.Errno {
	if !f.isVnode() {
		return netbsd.EINVAL
	}
	b, errno := cl.copyin(addr, netbsd.FlockSize)
	if errno != 0 {
		return errno
	}
	nl, err := netbsd.DecodeFlock(b)
	if err != nil {
		return netbsd.EINVAL
	}
	lk, err := nl.ToLinux()
	if err != nil {
		return netbsd.EINVAL
	}
	lk.Pid = 0

	if cmd == netbsd.F_GETLK {
		if err := unix.FcntlFlock(uintptr(f.fd), unix.F_OFD_GETLK, &lk); err != nil {
			return toErrno(err)
		}
		out, err := netbsd.FlockFromLinux(&lk)
		if err != nil {
			return netbsd.EINVAL
		}
		return cl.copyout(addr, out.Encode())
	}
	for {
		err := unix.FcntlFlock(uintptr(f.fd), unix.F_OFD_SETLK, &lk)
		if cmd == netbsd.F_SETLK || (err != unix.EAGAIN && err != unix.EACCES) {
			return toErrno(err)
		}
		if errno := cl.sleep(lockRetry); errno != 0 {
			return errno
		}
		if !cl.p.holdsEntry(e) {
			return netbsd.EBADF
		}
	}
}

// holdsEntry reports whether slot e is still in the table.
func (p *process) holdsEntry(e *fdEntry) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.holdsLocked(e)
}

// ioctl(fd, com, data): the descriptor commands every file takes, and
// TIOCGETA on the console, which the rump console answers to look like a
// terminal. Other commands fail as NetBSD fails them: ENOTTY for files,
// EOPNOTSUPP for sockets.
func (cl *call) sysIoctl() (int64, netbsd.Errno) {
	fd, com, data := cl.int(0), uint32(cl.args[1]), cl.ptr(2)
	_, f, errno := cl.p.getFile(fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()

	switch com {
	case netbsd.FIOCLEX, netbsd.FIONCLEX:
		return 0, cl.p.setCloexec(fd, com == netbsd.FIOCLEX)
	case netbsd.FIONBIO, netbsd.FIOASYNC:
		v, errno := cl.copyinInt(data)
		if errno == 0 && com == netbsd.FIONBIO {
			f.nbio.Store(v != 0)
		}
		return 0, errno
	case netbsd.FIONREAD:
		n := 0
		if f.kind != kindConsole {
			var err error
			if n, err = unix.IoctlGetInt(f.fd, netbsd.LinuxFIONREAD); err != nil {
				return 0, toErrno(err)
			}
		}
		return 0, cl.copyoutInt(data, int32(n))
	case netbsd.SIOCATMARK:
		if f.sock == nil {
			return 0, netbsd.ENOTTY
		}
		n, err := unix.IoctlGetInt(f.fd, unix.SIOCATMARK)
		if err != nil {
			return 0, toErrno(err)
		}
		return 0, cl.copyoutInt(data, int32(n))
	case netbsd.TIOCGETA:
		if f.kind == kindConsole {
			return 0, cl.copyout(data, make([]byte, netbsd.TermiosSize))
		}
	}
	if f.sock != nil {
		return 0, netbsd.EOPNOTSUPP
	}
	return 0, netbsd.ENOTTY
}
