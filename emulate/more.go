package emulate

import (
	"context"
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/notify"
)

// Vector I/O, metadata calls on descriptors and paths, and dup2.

func init() {
	for nr, h := range map[int]handler{
		unix.SYS_READV:     vectorHandler(false, -1),
		unix.SYS_PREADV:    vectorHandler(false, 3),
		unix.SYS_PREADV2:   vectorHandler(false, 3),
		unix.SYS_WRITEV:    vectorHandler(true, -1),
		unix.SYS_PWRITEV:   vectorHandler(true, 3),
		unix.SYS_PWRITEV2:  vectorHandler(true, 3),
		unix.SYS_FTRUNCATE: fdCall(netbsd.SYS_FTRUNCATE, 1),
		unix.SYS_FSYNC:     fdCall(netbsd.SYS_FSYNC),
		unix.SYS_FDATASYNC: fdCall(netbsd.SYS_FDATASYNC),
		unix.SYS_FCHMOD:    fdCall(netbsd.SYS_FCHMOD, 1),
		unix.SYS_FCHOWN:    fdCall(netbsd.SYS___POSIX_FCHOWN, 1, 2),
		unix.SYS_CHOWN:     chownHandler(-1, 0),
		unix.SYS_LCHOWN:    chownHandler(-1, netbsd.AT_SYMLINK_NOFOLLOW),
		unix.SYS_FCHOWNAT:  chownHandler(0, 0),
		unix.SYS_UTIMENSAT: onPath(utimensatHandler),
		unix.SYS_DUP2:      dup2Handler,
		unix.SYS_DUP3:      dup2Handler,
	} {
		handlers[nr] = h
	}
}

// fdCall serves a call on a rump descriptor whose other arguments, the
// Linux arguments at the given indices, mean the same in NetBSD.
func fdCall(nr netbsd.Sysno, args ...int) handler {
	return func(ctx context.Context, c *Call) Reply {
		fd, ok := c.rumpFD(0)
		if !ok {
			return Reply{Continue: true}
		}
		a := []uint64{fd}
		for _, i := range args {
			a = append(a, c.N.Args[i])
		}
		return c.rump(ctx, nr, a...)
	}
}

// vectorHandler serves readv, writev and their positional forms (offset in
// argument offArg). The iovec array is read from the target and the data
// gathered into, or scattered from, one staged buffer, so the rump kernel
// sees a plain read or write.
func vectorHandler(write bool, offArg int) handler {
	return func(ctx context.Context, c *Call) Reply {
		fd, ok := c.rumpFD(0)
		if !ok {
			return Reply{Continue: true}
		}
		if (c.N.Nr == unix.SYS_PREADV2 || c.N.Nr == unix.SYS_PWRITEV2) && c.N.Args[5] != 0 {
			return Reply{Errno: unix.EOPNOTSUPP}
		}
		iov, err := c.iovecs(c.N.Args[1], int(c.arg(2)))
		if err != 0 {
			return Reply{Errno: err}
		}
		var total uint64
		for _, v := range iov {
			total = min(total+min(v.len, maxIO), maxIO) // a sum that cannot wrap
		}
		buf := make([]byte, total)
		if write {
			if err := gather(c.N.PID, iov, buf); err != nil {
				return Reply{Errno: unix.EFAULT}
			}
			if c.Valid() != nil {
				return Reply{Sent: true}
			}
		}
		if c.socket(fd) != nil {
			return c.socketVector(ctx, fd, write, offArg >= 0, iov, buf)
		}
		var s staged
		defer s.release()
		addr, serr := c.stage(&s, buf)
		if serr != nil {
			return Reply{Errno: unix.ENOMEM}
		}
		var r Reply
		switch {
		case write && offArg >= 0:
			r = c.rump(ctx, netbsd.SYS_PWRITE, fd, addr, total, c.N.Args[offArg])
		case write:
			r = c.rump(ctx, netbsd.SYS_WRITE, fd, addr, total)
		case offArg >= 0:
			r = c.rump(ctx, netbsd.SYS_PREAD, fd, addr, total, c.N.Args[offArg])
		default:
			r = c.rump(ctx, netbsd.SYS_READ, fd, addr, total)
		}
		if write || r.Errno != 0 || r.Value <= 0 {
			return r
		}
		if err := c.Valid(); err != nil {
			return Reply{Sent: true}
		}
		if err := scatter(c.N.PID, iov, buf[:min(uint64(r.Value), total)]); err != nil {
			return Reply{Errno: unix.EFAULT}
		}
		return r
	}
}

type iovec struct{ base, len uint64 }

// socketVector serves readv and writev on a rump socket, which may block
// and whose readiness they change, as recv and send do.
func (c *Call) socketVector(ctx context.Context, fd uint64, write, positional bool,
	iov []iovec, buf []byte) Reply {
	if positional {
		return Reply{Errno: unix.ESPIPE}
	}
	if write {
		return c.send(ctx, fd, buf, 0, false, 0, 0)
	}
	got, r := c.receive(ctx, fd, uint64(len(buf)), 0, false, nil)
	if r.Errno != 0 || r.Sent {
		return r
	}
	if err := c.Valid(); err != nil {
		return Reply{Sent: true}
	}
	if err := scatter(c.N.PID, iov, got.data); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	return Reply{Value: got.n}
}

// iovecs reads the target's iovec array, which has the same layout on both
// systems.
func (c *Call) iovecs(addr uint64, n int) ([]iovec, unix.Errno) {
	if n < 0 || n > 1024 {
		return nil, unix.EINVAL
	}
	raw := make([]byte, 16*n)
	if err := notify.ReadMemory(c.N.PID, addr, raw); err != nil {
		return nil, unix.EFAULT
	}
	iov := make([]iovec, n)
	for i := range iov {
		iov[i] = iovec{binary.LittleEndian.Uint64(raw[16*i:]),
			binary.LittleEndian.Uint64(raw[16*i+8:])}
		if int64(iov[i].len) < 0 {
			return nil, unix.EINVAL
		}
	}
	return iov, 0
}

func gather(pid int, iov []iovec, buf []byte) error {
	for _, v := range iov {
		n := min(v.len, uint64(len(buf)))
		if err := notify.ReadMemory(pid, v.base, buf[:n]); err != nil {
			return err
		}
		buf = buf[n:]
	}
	return nil
}

func scatter(pid int, iov []iovec, data []byte) error {
	for _, v := range iov {
		if len(data) == 0 {
			break
		}
		n := min(v.len, uint64(len(data)))
		if err := notify.WriteMemory(pid, v.base, data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// chownHandler serves chown, lchown and fchownat (whose directory is
// argument 0 and flags argument 4).
func chownHandler(dirfdArg int, flags uint32) handler {
	return onPath(func(ctx context.Context, c *Call, s *staged, path uint64) Reply {
		owner := 1
		if dirfdArg >= 0 {
			owner = 2
			f, err := netbsd.AtFlagsFromLinux(uint32(c.arg(4)))
			if err != nil {
				return Reply{Errno: unix.EINVAL}
			}
			flags = f
		}
		return c.rump(ctx, netbsd.SYS_FCHOWNAT, c.dirfdOf(dirfdArg), path,
			c.N.Args[owner], c.N.Args[owner+1], uint64(flags))
	})
}

// utimensatHandler serves utimensat; struct timespec, UTIME_NOW and
// UTIME_OMIT are the same on both systems. A NULL path sets the times of
// the directory descriptor itself.
func utimensatHandler(ctx context.Context, c *Call, s *staged, path uint64) Reply {
	times := uint64(0)
	if c.N.Args[2] != 0 {
		buf := make([]byte, 32)
		if err := notify.ReadMemory(c.N.PID, c.N.Args[2], buf); err != nil {
			return Reply{Errno: unix.EFAULT}
		}
		addr, err := c.stage(s, buf)
		if err != nil {
			return Reply{Errno: unix.ENOMEM}
		}
		times = addr
	}
	if c.N.Args[1] == 0 {
		fd, ok := c.rumpFD(0)
		if !ok {
			return Reply{Errno: unix.EBADF}
		}
		return c.rump(ctx, netbsd.SYS_FUTIMENS, fd, times)
	}
	flags, err := netbsd.AtFlagsFromLinux(uint32(c.arg(3)))
	if err != nil {
		return Reply{Errno: unix.EINVAL}
	}
	return c.rump(ctx, netbsd.SYS_UTIMENSAT, c.dirfd(0), path, times, uint64(flags))
}

// dup2Handler serves dup2 and dup3 where a shadow is involved. Onto a number
// at or above fdoff, the rump descriptor is duplicated and its new shadow
// installed at exactly that number, replacing what was there. A host
// descriptor duplicated onto a shadow replaces it: the rump descriptor
// behind the shadow is closed and the host does the rest.
func dup2Handler(ctx context.Context, c *Call) Reply {
	oldfd, newfd := int(c.arg(0)), int(c.arg(1))
	cloexec := c.N.Nr == unix.SYS_DUP3 && c.N.Args[2]&unix.O_CLOEXEC != 0
	if c.N.Nr == unix.SYS_DUP3 && (oldfd == newfd || c.N.Args[2]&^unix.O_CLOEXEC != 0) {
		return Reply{Errno: unix.EINVAL}
	}
	old, oldRump := c.Shadows.Lookup(oldfd)
	if old == fdinject.Foreign {
		// A /proc/sys file: the host duplicates it, and what is written
		// through the copy is set when the process next makes a rump
		// call or exits.
		c.Sysctl.keep(oldfd)
		oldRump = false
	}
	if !oldRump {
		if r, ok := c.Shadows.Remove(newfd); ok {
			c.Sockets.Remove(r)
			c.rump(ctx, netbsd.SYS_CLOSE, sint(r))
		}
		return Reply{Continue: true}
	}
	if oldfd == newfd {
		return Reply{Value: int64(newfd)}
	}
	if newfd < 0 {
		return Reply{Errno: unix.EBADF}
	}
	r := c.rump(ctx, netbsd.SYS_FCNTL, sint(old), netbsd.F_DUPFD, 0)
	if r.Errno != 0 {
		return r
	}
	if newfd < c.FDOff {
		// The host never traps calls on that number: it gets a pumped
		// shadow, a stream hijackd moves to and from the duplicate.
		return c.pumpAt(ctx, newfd, int32(r.Value), cloexec)
	}
	if prev, ok := c.Shadows.Remove(newfd); ok {
		c.Sockets.Remove(prev)
		c.rump(ctx, netbsd.SYS_CLOSE, sint(prev))
	}
	c.Sockets.alias(int32(r.Value), old)
	c.Shadows.Add(newfd, int32(r.Value))
	return c.install(ctx, newfd, int32(r.Value), cloexec, unix.EBADF)
}
