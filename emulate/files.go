package emulate

import (
	"context"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/notify"
)

// The descriptor calls. A rump descriptor reaches the target as a shadow:
// open installs one at a free number at or above fdoff, the calls on that
// number are served here with the rump descriptor behind it, and close
// closes the rump descriptor and lets the host close the shadow.

// maxIO bounds the bytes one read or write moves; a longer request is
// served in part, which read and write may always do.
const maxIO = 1 << 20

func init() {
	for nr, h := range map[int]handler{
		unix.SYS_OPEN:       openHandler(-1, 0, 1, 2),
		unix.SYS_CREAT:      openHandler(-1, 0, -1, 1),
		unix.SYS_OPENAT:     openHandler(0, 1, 2, 3),
		unix.SYS_CLOSE:      closeHandler,
		unix.SYS_READ:       readHandler(false),
		unix.SYS_PREAD64:    readHandler(true),
		unix.SYS_WRITE:      writeHandler(false),
		unix.SYS_PWRITE64:   writeHandler(true),
		unix.SYS_FSTAT:      fstatHandler,
		unix.SYS_LSEEK:      lseekHandler,
		unix.SYS_GETDENTS64: getdentsHandler(netbsd.AppendLinuxDirent64),
		unix.SYS_FADVISE64:  fadviseHandler,
		unix.SYS_IOCTL:      ioctlHandler,
		unix.SYS_FCNTL:      fcntlHandler,
		unix.SYS_DUP:        dupHandler,
		// Calls that move data inside one kernel cannot join two: the
		// errnos below are the ones that make callers such as cp fall
		// back to read and write.
		unix.SYS_COPY_FILE_RANGE: fails(unix.EXDEV),
		unix.SYS_SENDFILE:        fails(unix.EINVAL),
		unix.SYS_SPLICE:          fails(unix.EINVAL),
		unix.SYS_TEE:             fails(unix.EINVAL),
		unix.SYS_VMSPLICE:        fails(unix.EBADF),
		unix.SYS_MMAP:            mmapHandler,
	} {
		handlers[nr] = h
	}
}

// dirfdOf is dirfd for an argument index, or the working directory for -1.
func (c *Call) dirfdOf(i int) uint64 {
	if i < 0 {
		return atFDCWD
	}
	return c.dirfd(i)
}

// fails answers every call with errno e.
func fails(e unix.Errno) handler {
	return func(context.Context, *Call) Reply { return Reply{Errno: e} }
}

// rumpFD returns the rump descriptor behind the shadow in argument i.
func (c *Call) rumpFD(i int) (uint64, bool) {
	r, ok := c.Shadows.Lookup(int(c.arg(i)))
	return sint(r), ok && r != fdinject.Foreign
}

// openHandler serves open, creat and openat: flags argument flagsArg (-1
// for creat, whose flags are fixed) and mode argument modeArg.
func openHandler(dirfdArg, _, flagsArg, modeArg int) handler {
	return onPath(func(ctx context.Context, c *Call, s *staged, path uint64) Reply {
		linuxFlags := uint32(unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC)
		if flagsArg >= 0 {
			linuxFlags = uint32(c.arg(flagsArg))
		}
		return c.open(ctx, c.dirfdOf(dirfdArg), path, linuxFlags, uint32(c.arg(modeArg)))
	})
}

// open opens the staged rump path at path, relative to rump directory
// dirfd, with Linux open flags and mode, and answers with a new shadow.
func (c *Call) open(ctx context.Context, dirfd, path uint64, linuxFlags, mode uint32) Reply {
	// Close-on-exec is the shadow's alone: the rump descriptor follows
	// it when an exec closes the shadow.
	flags, err := netbsd.OpenFlagsFromLinux(pathOnly(linuxFlags) &^ unix.O_CLOEXEC)
	if err != nil {
		return Reply{Errno: unix.EINVAL}
	}
	if linuxFlags&(unix.O_CREAT|unix.O_TMPFILE) != 0 {
		c.syncUmask(ctx)
	}
	r := c.rump(ctx, netbsd.SYS_OPENAT, dirfd, path, uint64(flags), uint64(mode&0o7777))
	const pathLink = unix.O_PATH | unix.O_NOFOLLOW
	if r.Errno == unix.ELOOP && linuxFlags&pathLink == pathLink {
		// A descriptor for the link itself, which NetBSD cannot open.
		// glibc's fchmodat(AT_SYMLINK_NOFOLLOW) opens one only to
		// answer EOPNOTSUPP for a link, which is the answer here.
		return Reply{Errno: unix.EOPNOTSUPP}
	}
	if r.Errno != 0 {
		return r
	}
	return c.shadowFor(ctx, int32(r.Value), linuxFlags&unix.O_CLOEXEC != 0)
}

// pathOnly turns an O_PATH open, which NetBSD lacks, into a read-only one:
// the descriptor serves the *at calls and fstat as an O_PATH one would,
// though opening it needs read permission.
func pathOnly(flags uint32) uint32 {
	if flags&unix.O_PATH == 0 {
		return flags
	}
	keep := uint32(unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC)
	return unix.O_RDONLY | flags&keep
}

// shadowFor installs a shadow for new rump descriptor fd and answers the
// call with its number. When the shadow cannot be installed, the rump
// descriptor is closed again.
func (c *Call) shadowFor(ctx context.Context, fd int32, cloexec bool) Reply {
	return c.shadowAt(ctx, fd, cloexec, 0)
}

// shadowAt is shadowFor with the shadow numbered at least min.
func (c *Call) shadowAt(ctx context.Context, fd int32, cloexec bool, min int) Reply {
	num, err := c.Shadows.Reserve(c.PID, max(c.FDOff, min), fd)
	if err != nil {
		c.rump(ctx, netbsd.SYS_CLOSE, sint(fd))
		if errno, ok := err.(unix.Errno); ok {
			return Reply{Errno: errno}
		}
		return Reply{Errno: unix.EMFILE}
	}
	return c.install(ctx, num, fd, cloexec, unix.EMFILE)
}

// install injects the shadow of rump descriptor fd at number num, already
// recorded in the table, and answers the call with it. When the target
// cannot take it, the record is dropped, the rump descriptor closed, and the
// call fails with fallback.
func (c *Call) install(ctx context.Context, num int, fd int32, cloexec bool,
	fallback unix.Errno) Reply {
	src := -1
	var err error
	if sock := c.Sockets.Lookup(fd); sock != nil {
		if src = sock.shadow.FD(); src < 0 {
			err = unix.EBADF // closed by another thread meanwhile
		}
	}
	if err == nil {
		err = c.Inject(src, num, cloexec)
	}
	if err == nil {
		return Reply{Sent: true}
	}
	c.Shadows.Remove(num)
	c.rump(ctx, netbsd.SYS_CLOSE, sint(fd))
	if err == notify.ErrGone {
		return Reply{Sent: true} // nobody is waiting for the answer
	}
	return Reply{Errno: fallback}
}

func closeHandler(ctx context.Context, c *Call) Reply {
	r, ok := c.Shadows.Remove(int(c.arg(0)))
	if !ok {
		return Reply{Continue: true}
	}
	if r == fdinject.Foreign {
		c.closeSysctl(ctx, int(c.arg(0)))
		return Reply{Continue: true}
	}
	// The shadow goes whatever the rump kernel says, as a host close
	// releases the descriptor even when it reports an error. The socket
	// goes first: a watcher's poll that the close ends must not take
	// the POLLNVAL for the socket's readiness.
	c.Sockets.Remove(r)
	c.rump(ctx, netbsd.SYS_CLOSE, sint(r))
	return Reply{Continue: true}
}

func readHandler(positional bool) handler {
	return func(ctx context.Context, c *Call) Reply {
		fd, ok := c.rumpFD(0)
		if !ok {
			return Reply{Continue: true}
		}
		if c.socket(fd) != nil {
			if positional {
				return Reply{Errno: unix.ESPIPE}
			}
			return c.recv(ctx, fd, c.N.Args[1], c.N.Args[2], 0, 0, 0)
		}
		n := min(c.N.Args[2], maxIO)
		buf := make([]byte, n)
		var s staged
		defer s.release()
		addr, err := c.stage(&s, buf)
		if err != nil {
			return Reply{Errno: unix.ENOMEM}
		}
		var r Reply
		if positional {
			r = c.rump(ctx, netbsd.SYS_PREAD, fd, addr, n, c.N.Args[3])
		} else {
			r = c.rump(ctx, netbsd.SYS_READ, fd, addr, n)
		}
		if r.Errno != 0 || r.Value <= 0 {
			return r
		}
		got := min(uint64(r.Value), n)
		if err := c.copyOut(c.N.Args[1], buf[:got]); err != nil {
			return Reply{Errno: unix.EFAULT}
		}
		return Reply{Value: int64(got)}
	}
}

func writeHandler(positional bool) handler {
	return func(ctx context.Context, c *Call) Reply {
		fd, ok := c.rumpFD(0)
		if !ok {
			return Reply{Continue: true}
		}
		buf := make([]byte, min(c.N.Args[2], maxIO))
		if err := notify.ReadMemory(c.N.PID, c.N.Args[1], buf); err != nil {
			return Reply{Errno: unix.EFAULT}
		}
		if c.socket(fd) != nil {
			if positional {
				return Reply{Errno: unix.ESPIPE}
			}
			return c.send(ctx, fd, buf, 0, false, 0, 0)
		}
		if c.Valid() != nil {
			return Reply{Sent: true}
		}
		var s staged
		defer s.release()
		addr, err := c.stage(&s, buf)
		if err != nil {
			return Reply{Errno: unix.ENOMEM}
		}
		if positional {
			return c.rump(ctx, netbsd.SYS_PWRITE, fd, addr, uint64(len(buf)), c.N.Args[3])
		}
		return c.rump(ctx, netbsd.SYS_WRITE, fd, addr, uint64(len(buf)))
	}
}

func fstatHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	return c.fstatInto(ctx, fd, c.N.Args[1])
}

func lseekHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	// SEEK_SET, SEEK_CUR and SEEK_END are 0, 1 and 2 on both systems.
	whence := c.arg(2)
	if whence < 0 || whence > 2 {
		return Reply{Errno: unix.EINVAL}
	}
	return c.rump(ctx, netbsd.SYS_LSEEK, fd, c.N.Args[1], sint(whence))
}

// getdentsHandler serves getdents64 or the old getdents with NetBSD's
// getdents, each record appended in the Linux format with appendRec. A
// NetBSD record is never shorter than two thirds of the Linux record of the
// same entry, in either format (the two have the same length), so asking
// the rump kernel for two thirds of the target's buffer always leaves room
// for every entry it returns: none is lost between the two.
func getdentsHandler(appendRec func([]byte, netbsd.Dirent) ([]byte, error)) handler {
	return func(ctx context.Context, c *Call) Reply {
		fd, ok := c.rumpFD(0)
		if !ok {
			return Reply{Continue: true}
		}
		return c.getdents(ctx, fd, appendRec)
	}
}

// getdents fills the target's buffer with the entries of rump directory fd.
func (c *Call) getdents(ctx context.Context, fd uint64,
	appendRec func([]byte, netbsd.Dirent) ([]byte, error)) Reply {
	size := min(c.N.Args[2], maxIO)
	ask := size * 2 / 3
	if ask < 512 {
		if size < uint64(netbsd.LinuxDirent64Size(netbsd.MAXNAMLEN)) {
			return Reply{Errno: unix.EINVAL}
		}
		ask = 512
	}
	var s staged
	defer s.release()
	buf := make([]byte, ask)
	addr, err := c.stage(&s, buf)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	r := c.rump(ctx, netbsd.SYS___GETDENTS30, fd, addr, ask)
	if r.Errno != 0 || r.Value <= 0 {
		return r
	}
	ents, err := netbsd.ParseDirents(buf[:min(uint64(r.Value), ask)])
	if err != nil {
		return Reply{Errno: unix.EIO}
	}
	var out []byte
	for i, d := range ents {
		d.Off = int64(i + 1) // a cookie; seekdir on rump directories is not served
		if out, err = appendRec(out, d); err != nil {
			return Reply{Errno: unix.EIO}
		}
	}
	if uint64(len(out)) > size {
		return Reply{Errno: unix.EINVAL}
	}
	if err := c.copyOut(c.N.Args[1], out); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	return Reply{Value: int64(len(out))}
}

// fadviseHandler accepts the advice: it only says how the file will be
// read, and the rump kernel's page cache is its own business.
func fadviseHandler(_ context.Context, c *Call) Reply {
	if _, ok := c.rumpFD(0); !ok {
		return Reply{Continue: true}
	}
	return Reply{}
}

// ioctlHandler serves the descriptor ioctls; see Call.ioctl.
func ioctlHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	return c.ioctl(ctx, fd)
}

// dupHandler serves dup.
func dupHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	return c.dup(ctx, fd, 0, false)
}

// dup duplicates rump descriptor fd in the rump kernel and gives the copy a
// shadow numbered at least min. Shadows are never below fdoff, so a smaller
// min yields a number at fdoff or above: not the lowest free one, as the
// host would give, but a valid answer to "at least min".
func (c *Call) dup(ctx context.Context, fd uint64, min int, cloexec bool) Reply {
	if min < 0 {
		return Reply{Errno: unix.EINVAL}
	}
	r := c.rump(ctx, netbsd.SYS_FCNTL, fd, netbsd.F_DUPFD, 0)
	if r.Errno != 0 {
		return r
	}
	c.Sockets.alias(int32(r.Value), int32(fd))
	return c.shadowAt(ctx, int32(r.Value), cloexec, min)
}

// fcntlHandler serves the descriptor flags from the shadow, which carries
// close-on-exec as the host sees it, and the file status flags and record
// locks from the rump kernel. NetBSD has no open file description locks, so
// the F_OFD_* commands fail with EINVAL, as on a kernel that predates them;
// so do the other commands NetBSD lacks (F_SETSIG, leases, pipe sizes,
// seals) and F_GETOWN and F_SETOWN, since the rump kernel's SIGIO could not
// reach the target.
func fcntlHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	switch c.arg(1) {
	case unix.F_GETFD, unix.F_SETFD:
		return Reply{Continue: true}
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		return c.dup(ctx, fd, int(c.arg(2)), c.arg(1) == unix.F_DUPFD_CLOEXEC)
	case unix.F_GETFL:
		r := c.rump(ctx, netbsd.SYS_FCNTL, fd, netbsd.F_GETFL, 0)
		if r.Errno != 0 {
			return r
		}
		linux, _ := netbsd.OpenFlagsToLinux(uint32(r.Value))
		return Reply{Value: int64(linux)}
	case unix.F_SETFL:
		return c.setfl(ctx, fd)
	case unix.F_GETLK, unix.F_SETLK, unix.F_SETLKW:
		return c.recordLock(ctx, fd)
	}
	return Reply{Errno: unix.EINVAL}
}
