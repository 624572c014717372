package rumpserver

import (
	"math"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// ioArgs looks up the descriptor in slot 0 of a read or write call, plain,
// vector or positional, and returns the offset in slot 4 of a positional one,
// which must not be negative, or -1 for a call at the file's offset. The
// caller releases the file.
func (cl *call) ioArgs(positional bool) (*fdEntry, *file, int64, netbsd.Errno) {
	e, f, errno := cl.fileArg(0)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	if !positional {
		return e, f, -1, 0
	}
	if cl.long(4) < 0 {
		f.release()
		return nil, nil, 0, netbsd.EINVAL
	}
	return e, f, cl.long(4), 0
}

// read(fd, buf, nbyte); also pread(fd, buf, nbyte, PAD, offset) with
// positional.
func (cl *call) doRead(positional bool) (int64, netbsd.Errno) {
	e, f, off, errno := cl.ioArgs(positional)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	nbyte := cl.args[2]
	if nbyte > 1<<63-1 {
		return 0, netbsd.EINVAL
	}

	buf := make([]byte, min(nbyte, maxIO))
	n, errno := cl.readInto(e, f, buf, off)
	if errno != 0 {
		return 0, errno
	}
	if errno := cl.copyout(cl.ptr(1), buf[:n]); errno != 0 {
		return 0, errno
	}
	return int64(n), 0
}

func (cl *call) sysRead() (int64, netbsd.Errno)  { return cl.doRead(false) }
func (cl *call) sysPread() (int64, netbsd.Errno) { return cl.doRead(true) }

// write(fd, buf, nbyte); also pwrite(fd, buf, nbyte, PAD, offset).
func (cl *call) doWrite(positional bool) (int64, netbsd.Errno) {
	e, f, off, errno := cl.ioArgs(positional)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	nbyte := cl.args[2]
	if nbyte > 1<<63-1 {
		return 0, netbsd.EINVAL
	}

	data, errno := cl.copyin(cl.ptr(1), int(min(nbyte, maxIO)))
	if errno != 0 {
		return 0, errno
	}
	n, errno := cl.writeFrom(e, f, data, off)
	return int64(n), errno
}

func (cl *call) sysWrite() (int64, netbsd.Errno)  { return cl.doWrite(false) }
func (cl *call) sysPwrite() (int64, netbsd.Errno) { return cl.doWrite(true) }

// readv(fd, iovp, iovcnt); also preadv(fd, iovp, iovcnt, PAD, offset).
func (cl *call) doReadv(positional bool) (int64, netbsd.Errno) {
	e, f, off, errno := cl.ioArgs(positional)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	iov, total, errno := cl.iovecs(cl.ptr(1), cl.int(2))
	if errno != 0 {
		return 0, errno
	}

	buf := make([]byte, total)
	n, errno := cl.readInto(e, f, buf, off)
	if errno != 0 {
		return 0, errno
	}
	if errno := cl.scatter(iov, buf[:n]); errno != 0 {
		return 0, errno
	}
	return int64(n), 0
}

func (cl *call) sysReadv() (int64, netbsd.Errno)  { return cl.doReadv(false) }
func (cl *call) sysPreadv() (int64, netbsd.Errno) { return cl.doReadv(true) }

// writev(fd, iovp, iovcnt); also pwritev(fd, iovp, iovcnt, PAD, offset).
func (cl *call) doWritev(positional bool) (int64, netbsd.Errno) {
	e, f, off, errno := cl.ioArgs(positional)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	iov, _, errno := cl.iovecs(cl.ptr(1), cl.int(2))
	if errno != 0 {
		return 0, errno
	}

	data, errno := cl.gather(iov)
	if errno != 0 {
		return 0, errno
	}
	n, errno := cl.writeFrom(e, f, data, off)
	return int64(n), errno
}

func (cl *call) sysWritev() (int64, netbsd.Errno)  { return cl.doWritev(false) }
func (cl *call) sysPwritev() (int64, netbsd.Errno) { return cl.doWritev(true) }

// lseek(fd, PAD, offset, whence). Only vnodes have an offset; the others,
// the console among them, answer ESPIPE.
func (cl *call) sysLseek() (int64, netbsd.Errno) {
	_, f, errno := cl.fileArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	if !f.isVnode() {
		return 0, netbsd.ESPIPE
	}
	off, err := unix.Seek(f.fd, cl.long(2), int(cl.int(3)))
	if err != nil {
		return 0, toErrno(err)
	}
	return off, 0
}

// vnodeArg looks up the descriptor in slot i for a call only vnodes take;
// other files give EINVAL, as NetBSD's fd_getvnode does.
func (cl *call) vnodeArg(i int) (*file, netbsd.Errno) {
	_, f, errno := cl.fileArg(i)
	if errno != 0 {
		return nil, errno
	}
	if !f.isVnode() {
		f.release()
		return nil, netbsd.EINVAL
	}
	return f, 0
}

// fsync(fd) and fdatasync(fd).
func (cl *call) sysFsync() (int64, netbsd.Errno) {
	f, errno := cl.vnodeArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	cl.takeLong()
	return 0, toErrno(unix.Fsync(f.fd))
}

func (cl *call) sysFdatasync() (int64, netbsd.Errno) {
	f, errno := cl.vnodeArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	cl.takeLong()
	return 0, toErrno(unix.Fdatasync(f.fd))
}

// posix_fallocate(fd, PAD, pos, len) reports its failure in retval[0], as
// POSIX specifies, never in the error field. The host file system
// allocates, as a NetBSD file system that implements VOP_FALLOCATE does
// (puffs passes it on to its server); NetBSD's tmpfs and rumpfs answer
// EOPNOTSUPP.
func (cl *call) sysPosixFallocate() (int64, netbsd.Errno) {
	return int64(cl.fallocate()), 0
}

func (cl *call) fallocate() netbsd.Errno {
	pos, n := cl.long(2), cl.long(3)
	if pos < 0 || n < 0 || n > math.MaxInt64-pos {
		return netbsd.EINVAL
	}
	f, errno := cl.vnodeArg(0)
	if errno != 0 {
		return errno
	}
	defer f.release()
	flags, err := unix.FcntlInt(uintptr(f.fd), unix.F_GETFL, 0)
	switch {
	case err != nil:
		return toErrno(err)
	case flags&unix.O_ACCMODE == unix.O_RDONLY:
		return netbsd.EBADF
	case n == 0:
		return 0 // nothing to allocate; Linux would refuse the length
	}
	return toErrno(unix.Fallocate(f.fd, 0, pos, n))
}

// ftruncate(fd, PAD, length).
func (cl *call) sysFtruncate() (int64, netbsd.Errno) {
	f, errno := cl.vnodeArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	if cl.long(2) < 0 {
		return 0, netbsd.EINVAL
	}
	return 0, toErrno(unix.Ftruncate(f.fd, cl.long(2)))
}
