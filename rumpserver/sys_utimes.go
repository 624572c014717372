package rumpserver

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// The calls that set access and modification times. A NULL times pointer
// means "now" for both.

// timevalsArg copies in the two NetBSD struct timeval at addr as timespecs,
// or returns nil for NULL. A tv_usec outside [0, 1000000) gives EINVAL.
func (cl *call) timevalsArg(addr uint64) ([]unix.Timespec, netbsd.Errno) {
	if addr == 0 {
		return nil, 0
	}
	b, errno := cl.copyin(addr, 2*netbsd.TimevalSize)
	if errno != 0 {
		return nil, errno
	}
	ts := make([]unix.Timespec, 2)
	for i := range ts {
		tv, err := netbsd.DecodeTimeval(b[i*netbsd.TimevalSize:])
		if err != nil || tv.Usec < 0 || tv.Usec >= 1e6 {
			return nil, netbsd.EINVAL
		}
		ts[i] = unix.Timespec{Sec: tv.Sec, Nsec: int64(tv.Usec) * 1000}
	}
	return ts, 0
}

// timespecsArg copies in the two struct timespec at addr, or returns nil for
// NULL. UTIME_NOW and UTIME_OMIT have the same values on the host.
func (cl *call) timespecsArg(addr uint64) ([]unix.Timespec, netbsd.Errno) {
	if addr == 0 {
		return nil, 0
	}
	b, errno := cl.copyin(addr, 2*netbsd.TimespecSize)
	if errno != 0 {
		return nil, errno
	}
	ts := make([]unix.Timespec, 2)
	for i := range ts {
		t, err := netbsd.DecodeTimespec(b[i*netbsd.TimespecSize:])
		if err != nil {
			return nil, netbsd.EINVAL
		}
		ts[i] = t
	}
	return ts, 0
}

// utimesPath sets the times of the file the path in slot i names.
func (cl *call) utimesPath(dirfd int32, i int, ts []unix.Timespec, nf bool) netbsd.Errno {
	if nf {
		pa, errno := cl.parentArg(dirfd, i)
		if errno != 0 {
			return errno
		}
		defer pa.close()
		if !pa.dot {
			return toErrno(unix.UtimesNanoAt(pa.fd, pa.name, ts, unix.AT_SYMLINK_NOFOLLOW))
		}
		// "." and ".." are directories, never symlinks: following is moot.
	}
	fd, errno := cl.pathArg(dirfd, i, false)
	if errno != 0 {
		return errno
	}
	defer unix.Close(fd)
	return toErrno(unix.UtimesNanoAt(unix.AT_FDCWD, fdPath(fd), ts, 0))
}

// __utimes50(path, tptr) and __lutimes50(path, tptr).
func (cl *call) doUtimes(nf bool) (int64, netbsd.Errno) {
	ts, errno := cl.timevalsArg(cl.ptr(1))
	if errno != 0 {
		return 0, errno
	}
	return 0, cl.utimesPath(netbsd.AT_FDCWD, 0, ts, nf)
}

func (cl *call) sysUtimes() (int64, netbsd.Errno)  { return cl.doUtimes(false) }
func (cl *call) sysLutimes() (int64, netbsd.Errno) { return cl.doUtimes(true) }

// utimensat(fd, path, tptr, flag).
func (cl *call) sysUtimensat() (int64, netbsd.Errno) {
	nf, errno := nofollow(cl.uint(3), netbsd.AT_SYMLINK_NOFOLLOW)
	if errno != 0 {
		return 0, errno
	}
	ts, errno := cl.timespecsArg(cl.ptr(2))
	if errno != 0 {
		return 0, errno
	}
	return 0, cl.utimesPath(cl.int(0), 1, ts, nf)
}

// __futimes50(fd, tptr) and futimens(fd, tptr).
func (cl *call) doFutimes(spec bool) (int64, netbsd.Errno) {
	var ts []unix.Timespec
	var errno netbsd.Errno
	if spec {
		ts, errno = cl.timespecsArg(cl.ptr(1))
	} else {
		ts, errno = cl.timevalsArg(cl.ptr(1))
	}
	if errno != 0 {
		return 0, errno
	}
	f, errno := cl.vnodeArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	return 0, futimens(f.fd, ts)
}

func (cl *call) sysFutimes() (int64, netbsd.Errno)  { return cl.doFutimes(false) }
func (cl *call) sysFutimens() (int64, netbsd.Errno) { return cl.doFutimes(true) }

// futimens sets the times of host descriptor fd: utimensat with a NULL path,
// which x/sys/unix does not offer.
func futimens(fd int, ts []unix.Timespec) netbsd.Errno {
	var p unsafe.Pointer
	if ts != nil {
		p = unsafe.Pointer(&ts[0])
	}
	_, _, en := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(p), 0, 0, 0)
	if en != 0 {
		return netbsd.ErrnoFromLinux(en)
	}
	return 0
}
