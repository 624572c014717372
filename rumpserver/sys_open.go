package rumpserver

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// lockRetry is how often a blocking lock that is held elsewhere is tried
// again: the host's blocking lock calls cannot be interrupted, so waiting
// for a lock is polling it.
const lockRetry = 20 * time.Millisecond

// open(path, flags, mode).
func (cl *call) sysOpen() (int64, netbsd.Errno) {
	return cl.doOpen(netbsd.AT_FDCWD, cl.ptr(0), cl.uint(1), cl.uint(2))
}

// openat(fd, path, oflags, mode).
func (cl *call) sysOpenat() (int64, netbsd.Errno) {
	return cl.doOpen(cl.int(0), cl.ptr(1), cl.uint(2), cl.uint(3))
}

// doOpen opens a file under the root.
//
// The host descriptor is always opened non-blocking, which matters only for
// FIFOs and devices: the call waits itself for what would block. Opening a
// FIFO for writing waits for a reader by polling; opening one for reading
// does not wait for a writer, as Linux offers no way to see one coming.
// O_EXLOCK and O_SHLOCK take a flock(2) lock once the file is open. O_SEARCH
// opens with O_PATH, which like O_SEARCH allows lookups and nothing else.
// NetBSD bits Linux lacks otherwise (O_ALT_IO, O_RSYNC) are ignored, as
// NetBSD ignores bits outside its mask.
func (cl *call) doOpen(dirfd int32, pathAddr uint64, flags, mode uint32) (int64,
	netbsd.Errno) {
	path, errno := cl.copyinPath(pathAddr)
	if errno != 0 {
		return 0, errno
	}
	full, errno := cl.rootPath(dirfd, path)
	if errno != 0 {
		return 0, errno
	}

	linux, _ := netbsd.OpenFlagsToLinux(flags)
	host := int(linux&^unix.O_CLOEXEC) | unix.O_NONBLOCK | unix.O_NOCTTY
	if flags&netbsd.O_SEARCH != 0 {
		host = unix.O_PATH | int(linux&(unix.O_DIRECTORY|unix.O_NOFOLLOW))
	}
	mode &^= cl.p.getUmask()

	nbio := flags&netbsd.O_NONBLOCK != 0
	fd, errno := cl.k.openInRoot(full, host, mode)
	for errno == netbsd.ENXIO && !nbio && flags&netbsd.O_ACCMODE == netbsd.O_WRONLY &&
		cl.isFifo(full) {
		if errno = cl.sleep(lockRetry); errno != 0 {
			return 0, errno
		}
		fd, errno = cl.k.openInRoot(full, host, mode)
	}
	if errno != 0 {
		return 0, errno
	}

	f := newFile(cl.k, fd, kindVnode)
	defer f.release()
	f.nbio.Store(nbio)
	f.nosigpipe.Store(flags&netbsd.O_NOSIGPIPE != 0)
	switch {
	case flags&netbsd.O_EXLOCK != 0:
		errno = cl.flock(f, unix.LOCK_EX, nbio)
	case flags&netbsd.O_SHLOCK != 0:
		errno = cl.flock(f, unix.LOCK_SH, nbio)
	}
	if errno != 0 {
		return 0, errno
	}
	nfd, errno := cl.p.install(f, flags&netbsd.O_CLOEXEC != 0, 0)
	return int64(nfd), errno
}

// isFifo reports whether a root-relative path names a FIFO.
func (cl *call) isFifo(full string) bool {
	fd, errno := cl.k.openInRoot(full, unix.O_PATH, 0)
	if errno != 0 {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO
}

// flock takes a flock(2) lock, polling while it is held elsewhere unless the
// call must not block.
func (cl *call) flock(f *file, how int, nbio bool) netbsd.Errno {
	for {
		err := unix.Flock(f.fd, how|unix.LOCK_NB)
		if err != unix.EWOULDBLOCK || nbio || how&unix.LOCK_UN != 0 {
			return toErrno(err)
		}
		if errno := cl.sleep(lockRetry); errno != 0 {
			return errno
		}
	}
}

// flock(fd, how); LOCK_SH/EX/NB/UN are the same numbers on Linux. A file
// that is no vnode (a socket, a pipe) is EOPNOTSUPP, as on NetBSD.
func (cl *call) sysFlock() (int64, netbsd.Errno) {
	_, f, errno := cl.fileArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	if !f.isVnode() {
		return 0, netbsd.EOPNOTSUPP
	}
	how := int(cl.int(1))
	if how&^(unix.LOCK_SH|unix.LOCK_EX|unix.LOCK_NB|unix.LOCK_UN) != 0 {
		return 0, netbsd.EINVAL
	}
	return 0, cl.flock(f, how&^unix.LOCK_NB, how&unix.LOCK_NB != 0)
}

// close(fd).
func (cl *call) sysClose() (int64, netbsd.Errno) {
	return 0, cl.p.closeFd(cl.int(0))
}

// __fstat50(fd, sb).
func (cl *call) sysFstat() (int64, netbsd.Errno) {
	_, f, errno := cl.fileArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	var st netbsd.Stat
	if f.kind == kindConsole {
		st = cl.consoleStat()
	} else {
		var hst unix.Stat_t
		if err := unix.Fstat(f.fd, &hst); err != nil {
			return 0, toErrno(err)
		}
		st = netbsd.StatFromLinux(&hst)
	}
	return 0, cl.copyout(cl.ptr(1), st.Encode())
}

// consoleStat is what the rump console answers fstat with: a character
// device, mode 0600, every time the kernel's boot time, everything else 0.
func (cl *call) consoleStat() netbsd.Stat {
	boot := unix.NsecToTimespec(cl.k.boot.UnixNano())
	return netbsd.Stat{Mode: netbsd.S_IFCHR | 0o600, Atim: boot, Mtim: boot, Ctim: boot,
		Birthtim: boot}
}

// fchmod(fd, mode).
func (cl *call) sysFchmod() (int64, netbsd.Errno) {
	f, errno := cl.vnodeArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	return 0, toErrno(unix.Fchmodat(unix.AT_FDCWD, fdPath(f.fd), cl.uint(1)&0o7777, 0))
}

// fchown(fd, uid, gid) and __posix_fchown.
func (cl *call) sysFchown() (int64, netbsd.Errno) {
	f, errno := cl.vnodeArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	err := unix.Fchownat(f.fd, "", int(cl.int(1)), int(cl.int(2)), unix.AT_EMPTY_PATH)
	return 0, toErrno(err)
}

// fchdir(fd).
func (cl *call) sysFchdir() (int64, netbsd.Errno) {
	f, errno := cl.vnodeArg(0)
	if errno != 0 {
		return 0, errno
	}
	typ, errno := fileType(f.fd)
	if errno != 0 {
		f.release()
		return 0, errno
	}
	if typ != unix.S_IFDIR {
		f.release()
		return 0, netbsd.ENOTDIR
	}
	cl.p.setCwd(f)
	return 0, 0
}
