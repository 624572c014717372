package emulate

import (
	"context"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/notify"
)

// The path calls. Each handler receives the rump paths from the verdict,
// already stripped of the path prefix. Their directory is the rump kernel's
// root or working directory: a rump path is absolute or, relative, follows
// a working directory in the rump kernel.

var handlers = map[int]handler{
	unix.SYS_STAT:       statHandler(statPlain),
	unix.SYS_LSTAT:      statHandler(statNoFollow),
	unix.SYS_NEWFSTATAT: statHandler(statAt),
	unix.SYS_STATX:      onPath(statxHandler),

	unix.SYS_ACCESS:     accessHandler(-1, 1, -1),
	unix.SYS_FACCESSAT:  accessHandler(0, 2, -1),
	unix.SYS_FACCESSAT2: accessHandler(0, 2, 3),

	unix.SYS_MKDIR:   pathIntHandler(netbsd.SYS_MKDIRAT, -1, 1),
	unix.SYS_MKDIRAT: pathIntHandler(netbsd.SYS_MKDIRAT, 0, 2),
	unix.SYS_CHMOD:   pathIntHandler(netbsd.SYS_FCHMODAT, -1, 1),
	unix.SYS_RMDIR:   unlinkHandler(-1, -1, true),
	unix.SYS_UNLINK:  unlinkHandler(-1, -1, false),
	// unlinkat takes its AT_REMOVEDIR from the flags argument.
	unix.SYS_UNLINKAT: unlinkHandler(0, 2, false),

	unix.SYS_FCHMODAT:  onPath(fchmodatHandler),
	unix.SYS_FCHMODAT2: onPath(fchmodatHandler),

	unix.SYS_RENAME:    renameHandler(-1, -1, -1),
	unix.SYS_RENAMEAT:  renameHandler(0, 2, -1),
	unix.SYS_RENAMEAT2: renameHandler(0, 2, 4),

	unix.SYS_LINK:   linkHandler(-1, -1, -1),
	unix.SYS_LINKAT: linkHandler(0, 2, 4),

	unix.SYS_READLINK:   readlinkHandler(-1, 1, 2),
	unix.SYS_READLINKAT: readlinkHandler(0, 2, 3),

	unix.SYS_SYMLINK:   symlinkHandler(-1),
	unix.SYS_SYMLINKAT: symlinkHandler(1),

	unix.SYS_TRUNCATE: onPath(truncateHandler),
	unix.SYS_STATFS:   onPath(statfsHandler),
	unix.SYS_FSTATFS:  fstatfsHandler,

	// Extended attributes are not served: to programs, the rump file
	// systems simply do not support them.
	unix.SYS_GETXATTR:     noAttrs,
	unix.SYS_LGETXATTR:    noAttrs,
	unix.SYS_SETXATTR:     noAttrs,
	unix.SYS_LSETXATTR:    noAttrs,
	unix.SYS_LISTXATTR:    noAttrs,
	unix.SYS_LLISTXATTR:   noAttrs,
	unix.SYS_REMOVEXATTR:  noAttrs,
	unix.SYS_LREMOVEXATTR: noAttrs,
}

func noAttrs(context.Context, *Call) Reply { return Reply{Errno: unix.EOPNOTSUPP} }

const atFDCWD = uint64(1<<64 - 100) // NetBSD's AT_FDCWD, -100, in a slot

// atStatxSyncType masks statx's AT_STATX_FORCE_SYNC and AT_STATX_DONT_SYNC.
const atStatxSyncType = 0x6000

// dirfd returns the rump directory for a path relative to argument i: the
// rump descriptor behind a shadow, or the working directory.
func (c *Call) dirfd(i int) uint64 {
	if r, ok := c.Shadows.Lookup(int(c.arg(i))); ok {
		return sint(r) // fdinject.Foreign fails there with EBADF
	}
	return atFDCWD
}

// emptyPath reports whether an *at call with flags argument flagsArg names
// its directory descriptor itself (AT_EMPTY_PATH with an empty path).
func (c *Call) emptyPath(flagsArg int) bool {
	return uint32(c.arg(flagsArg))&unix.AT_EMPTY_PATH != 0 && c.Verdict.RumpPaths[0] == ""
}

// onPath makes a handler of one that takes the call's first rump path
// staged, with the set of staged buffers to add its own to; every buffer is
// released when it returns.
func onPath(h func(ctx context.Context, c *Call, s *staged, path uint64) Reply) handler {
	return func(ctx context.Context, c *Call) Reply {
		var s staged
		defer s.release()
		path, r, ok := c.path(&s, 0)
		if !ok {
			return r
		}
		return h(ctx, c, &s, path)
	}
}

// path stages rump path i of the call.
func (c *Call) path(s *staged, i int) (uint64, Reply, bool) {
	addr, err := c.stageString(s, c.Verdict.RumpPaths[i])
	if err != nil {
		return 0, Reply{Errno: unix.ENOMEM}, false
	}
	return addr, Reply{}, true
}

type statKind int

const (
	statPlain statKind = iota
	statNoFollow
	statAt
)

// statHandler serves stat, lstat and newfstatat with NetBSD's fstatat and
// writes the result as a Linux struct stat.
func statHandler(kind statKind) handler {
	return onPath(func(ctx context.Context, c *Call, s *staged, path uint64) Reply {
		bufArg, flags, dirfd := 1, uint32(0), atFDCWD
		switch kind {
		case statNoFollow:
			flags = netbsd.AT_SYMLINK_NOFOLLOW
		case statAt:
			bufArg, dirfd = 2, c.dirfd(0)
			if c.emptyPath(3) {
				return c.fstatInto(ctx, dirfd, c.N.Args[2])
			}
			var err error
			if flags, err = netbsd.AtFlagsFromLinux(uint32(c.arg(3))); err != nil {
				return Reply{Errno: unix.EINVAL}
			}
		}
		st, r, ok := c.fstatat(ctx, s, dirfd, path, flags)
		if !ok {
			return r
		}
		lst := st.ToLinux()
		return c.result(c.N.Args[bufArg], netbsd.EncodeLinuxStat(&lst))
	})
}

// statxHandler serves statx from the fields of NetBSD's struct stat.
func statxHandler(ctx context.Context, c *Call, s *staged, path uint64) Reply {
	var st netbsd.Stat
	var r Reply
	var ok bool
	if c.emptyPath(2) {
		st, r, ok = c.fstat(ctx, s, c.dirfd(0))
	} else {
		// AT_STATX_SYNC_TYPE bits only say how fresh the answer must
		// be; a local rump file system is always exact.
		flags, err := netbsd.AtFlagsFromLinux(uint32(c.arg(2)) &^ atStatxSyncType)
		if err != nil {
			return Reply{Errno: unix.EINVAL}
		}
		st, r, ok = c.fstatat(ctx, s, c.dirfd(0), path, flags)
	}
	if !ok {
		return r
	}
	x := st.Statx()
	return c.result(c.N.Args[4], netbsd.EncodeLinuxStatx(&x))
}

func (c *Call) fstatat(ctx context.Context, s *staged, dirfd, path uint64,
	flags uint32) (netbsd.Stat, Reply, bool) {
	return c.statCall(ctx, s, func(addr uint64) Reply {
		return c.rump(ctx, netbsd.SYS_FSTATAT, dirfd, path, addr, uint64(flags))
	})
}

// fstat stats rump descriptor fd.
func (c *Call) fstat(ctx context.Context, s *staged, fd uint64) (netbsd.Stat, Reply, bool) {
	return c.statCall(ctx, s, func(addr uint64) Reply {
		return c.rump(ctx, netbsd.SYS___FSTAT50, fd, addr)
	})
}

// fstatInto stats rump descriptor fd into the Linux struct stat at addr.
func (c *Call) fstatInto(ctx context.Context, fd, addr uint64) Reply {
	var s staged
	defer s.release()
	st, r, ok := c.fstat(ctx, &s, fd)
	if !ok {
		return r
	}
	lst := st.ToLinux()
	return c.result(addr, netbsd.EncodeLinuxStat(&lst))
}

// statCall runs call with a staged NetBSD struct stat and decodes it.
func (c *Call) statCall(ctx context.Context, s *staged,
	call func(addr uint64) Reply) (netbsd.Stat, Reply, bool) {
	buf := make([]byte, netbsd.StatSize)
	addr, err := c.stage(s, buf)
	if err != nil {
		return netbsd.Stat{}, Reply{Errno: unix.ENOMEM}, false
	}
	if r := call(addr); r.Errno != 0 {
		return netbsd.Stat{}, r, false
	}
	st, err := netbsd.DecodeStat(buf)
	if err != nil {
		return netbsd.Stat{}, Reply{Errno: unix.EIO}, false
	}
	return st, Reply{}, true
}

// result writes out to the target at addr and answers 0, or EFAULT when the
// target's buffer cannot be written.
func (c *Call) result(addr uint64, out []byte) Reply {
	if err := c.copyOut(addr, out); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	return Reply{}
}

// accessHandler serves access, faccessat and faccessat2: the mode is
// argument modeArg, the flags argument flagsArg (-1 for none).
func accessHandler(dirfdArg, modeArg, flagsArg int) handler {
	return onPath(func(ctx context.Context, c *Call, s *staged, path uint64) Reply {
		var flags uint32
		if flagsArg >= 0 {
			var err error
			if flags, err = netbsd.FaccessatFlagsFromLinux(uint32(c.arg(flagsArg))); err != nil {
				return Reply{Errno: unix.EINVAL}
			}
		}
		// The access bits R_OK, W_OK, X_OK and F_OK are the same.
		return c.rump(ctx, netbsd.SYS_FACCESSAT, c.dirfdOf(dirfdArg), path, sint(c.arg(modeArg)),
			uint64(flags))
	})
}

// pathIntHandler serves calls that take a path and one int, the mode of
// mkdir and chmod, through NetBSD's *at form nr.
func pathIntHandler(nr netbsd.Sysno, dirfdArg, intArg int) handler {
	return onPath(func(ctx context.Context, c *Call, s *staged, path uint64) Reply {
		// Permission bits are the same on both systems.
		args := []uint64{c.dirfdOf(dirfdArg), path, uint64(uint32(c.arg(intArg)) & 0o7777)}
		if nr == netbsd.SYS_FCHMODAT {
			args = append(args, 0)
		} else {
			c.syncUmask(ctx) // mkdir
		}
		return c.rump(ctx, nr, args...)
	})
}

func fchmodatHandler(ctx context.Context, c *Call, s *staged, path uint64) Reply {
	var flags uint32
	if c.N.Nr == unix.SYS_FCHMODAT2 {
		var err error
		if flags, err = netbsd.AtFlagsFromLinux(uint32(c.arg(3))); err != nil {
			return Reply{Errno: unix.EINVAL}
		}
	}
	return c.rump(ctx, netbsd.SYS_FCHMODAT, c.dirfd(0), path, uint64(uint32(c.arg(2))&0o7777),
		uint64(flags))
}

// unlinkHandler serves unlink, rmdir and unlinkat (whose directory and flags
// are arguments dirfdArg and flagsArg).
func unlinkHandler(dirfdArg, flagsArg int, rmdir bool) handler {
	return onPath(func(ctx context.Context, c *Call, s *staged, path uint64) Reply {
		var flags uint32
		if rmdir {
			flags = netbsd.AT_REMOVEDIR
		}
		if flagsArg >= 0 {
			var err error
			if flags, err = netbsd.AtFlagsFromLinux(uint32(c.arg(flagsArg))); err != nil {
				return Reply{Errno: unix.EINVAL}
			}
		}
		return c.rump(ctx, netbsd.SYS_UNLINKAT, c.dirfdOf(dirfdArg), path, uint64(flags))
	})
}

// renameHandler serves rename, renameat and renameat2, whose directories
// are arguments fromArg and toArg and flags argument flagsArg; NetBSD has no
// rename flags, so only 0 is served.
func renameHandler(fromArg, toArg, flagsArg int) handler {
	return func(ctx context.Context, c *Call) Reply {
		if flagsArg >= 0 && c.N.Args[flagsArg] != 0 {
			return Reply{Errno: unix.EINVAL}
		}
		var s staged
		defer s.release()
		from, r, ok := c.path(&s, 0)
		if !ok {
			return r
		}
		to, r, ok := c.path(&s, 1)
		if !ok {
			return r
		}
		return c.rump(ctx, netbsd.SYS_RENAMEAT, c.dirfdOf(fromArg), from, c.dirfdOf(toArg), to)
	}
}

// linkHandler serves link and linkat, whose directories are arguments
// fromArg and toArg and flags argument flagsArg.
func linkHandler(fromArg, toArg, flagsArg int) handler {
	return onPath(func(ctx context.Context, c *Call, s *staged, from uint64) Reply {
		var flags uint32
		if flagsArg >= 0 {
			var err error
			if flags, err = netbsd.AtFlagsFromLinux(uint32(c.arg(flagsArg))); err != nil {
				return Reply{Errno: unix.EINVAL}
			}
		}
		to, r, ok := c.path(s, 1)
		if !ok {
			return r
		}
		return c.rump(ctx, netbsd.SYS_LINKAT, c.dirfdOf(fromArg), from, c.dirfdOf(toArg), to,
			uint64(flags))
	})
}

// readlinkHandler serves readlink and readlinkat: the directory, the buffer
// and its size are arguments dirfdArg, bufArg and sizeArg.
func readlinkHandler(dirfdArg, bufArg, sizeArg int) handler {
	return onPath(func(ctx context.Context, c *Call, s *staged, path uint64) Reply {
		size := int64(c.N.Args[sizeArg])
		if int32(size) <= 0 {
			return Reply{Errno: unix.EINVAL}
		}
		size = min(size, unix.PathMax)
		buf := make([]byte, size)
		addr, err := c.stage(s, buf)
		if err != nil {
			return Reply{Errno: unix.ENOMEM}
		}
		r := c.rump(ctx, netbsd.SYS_READLINKAT, c.dirfdOf(dirfdArg), path, addr, uint64(size))
		if r.Errno != 0 {
			return r
		}
		n := min(r.Value, size)
		if err := c.copyOut(c.N.Args[bufArg], buf[:n]); err != nil {
			return Reply{Errno: unix.EFAULT}
		}
		return Reply{Value: n}
	})
}

// symlinkHandler serves symlink and symlinkat, whose directory is argument
// dirfdArg. The link's target, the first argument, is content rather than a
// name, so it is read from the target here and passed unchanged.
func symlinkHandler(dirfdArg int) handler {
	return func(ctx context.Context, c *Call) Reply {
		target, err := notify.ReadString(c.N.PID, c.N.Args[0], unix.PathMax-1)
		switch {
		case err == notify.ErrTooLong:
			return Reply{Errno: unix.ENAMETOOLONG}
		case err != nil:
			return Reply{Errno: unix.EFAULT}
		case c.Valid() != nil:
			return Reply{Errno: unix.EINTR}
		}
		var s staged
		defer s.release()
		tAddr, err := c.stageString(&s, target)
		if err != nil {
			return Reply{Errno: unix.ENOMEM}
		}
		link, r, ok := c.path(&s, 0)
		if !ok {
			return r
		}
		return c.rump(ctx, netbsd.SYS_SYMLINKAT, tAddr, c.dirfdOf(dirfdArg), link)
	}
}

func truncateHandler(ctx context.Context, c *Call, s *staged, path uint64) Reply {
	return c.rump(ctx, netbsd.SYS_TRUNCATE, path, c.N.Args[1])
}

// statfsHandler serves statfs with NetBSD's statvfs1.
func statfsHandler(ctx context.Context, c *Call, s *staged, path uint64) Reply {
	return c.statvfs(ctx, s, netbsd.SYS_STATVFS1, path)
}

// fstatfsHandler serves fstatfs with NetBSD's fstatvfs1.
func fstatfsHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	var s staged
	defer s.release()
	return c.statvfs(ctx, &s, netbsd.SYS_FSTATVFS1, fd)
}

// statvfs runs statvfs1 or fstatvfs1 on what and writes the answer to the
// target's struct statfs, the call's second argument.
func (c *Call) statvfs(ctx context.Context, s *staged, nr netbsd.Sysno, what uint64) Reply {
	buf := make([]byte, netbsd.StatvfsSize)
	addr, err := c.stage(s, buf)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	if r := c.rump(ctx, nr, what, addr, netbsd.ST_WAIT); r.Errno != 0 {
		return r
	}
	st, err := netbsd.DecodeStatvfs(buf)
	if err != nil {
		return Reply{Errno: unix.EIO}
	}
	lst := st.ToLinux()
	return c.result(c.N.Args[1], netbsd.EncodeLinuxStatfs(&lst))
}
