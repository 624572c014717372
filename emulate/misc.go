package emulate

import (
	"context"
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/notify"
)

// The remaining file calls: locks, status flags and descriptor ioctls,
// making nodes, the older calls that set file times, preallocation, the
// sync calls, openat2 and the old getdents.

func init() {
	for nr, h := range map[int]handler{
		unix.SYS_FLOCK:     flockHandler,
		unix.SYS_MKNOD:     mknodHandler(-1, 1, 2),
		unix.SYS_MKNODAT:   mknodHandler(0, 2, 3),
		unix.SYS_UTIME:     timesHandler(-1, 1, utimbuf),
		unix.SYS_UTIMES:    timesHandler(-1, 1, timevals),
		unix.SYS_FUTIMESAT: timesHandler(0, 2, timevals),
		unix.SYS_FALLOCATE: fallocateHandler,
		unix.SYS_OPENAT2:   onPath(openat2Handler),
		unix.SYS_GETDENTS:  getdentsHandler(netbsd.AppendLinuxDirent),

		unix.SYS_SYNC:            syncHandler,
		unix.SYS_SYNCFS:          syncfsHandler,
		unix.SYS_SYNC_FILE_RANGE: syncFileRangeHandler,
		// readahead is a hint about the page cache, as fadvise is.
		unix.SYS_READAHEAD: fadviseHandler,
	} {
		handlers[nr] = h
	}
}

// setfl serves F_SETFL. NetBSD's F_SETFL sets every status flag from its
// argument, so the flags Linux's F_SETFL leaves alone (O_SYNC, O_DSYNC) are
// read with F_GETFL first and carried over. The two calls are not atomic
// against another thread's F_SETFL on the same file, as on NetBSD itself.
func (c *Call) setfl(ctx context.Context, fd uint64) Reply {
	r := c.rump(ctx, netbsd.SYS_FCNTL, fd, netbsd.F_GETFL, 0)
	if r.Errno != 0 {
		return r
	}
	flags := netbsd.SetflFromLinux(uint32(c.N.Args[2]), uint32(r.Value))
	return c.rump(ctx, netbsd.SYS_FCNTL, fd, netbsd.F_SETFL, uint64(flags))
}

// recordLock serves F_GETLK, F_SETLK and F_SETLKW with the target's struct
// flock converted to NetBSD's and, for F_GETLK, the answer converted back.
//
// F_SETLKW waits in the rump kernel for as long as the lock is held, and a
// signal to the target does not interrupt it; waiting in slices while
// watching the target's pending signals would. The l_pid that F_GETLK
// reports is the holder's rump process id, which means nothing on the host
// (-1 for a flock lock, or from a server that cannot tell): translating it
// needs a map from rump to host process ids.
func (c *Call) recordLock(ctx context.Context, fd uint64) Reply {
	cmd, err := netbsd.FcntlCmdFromLinux(int(c.arg(1)))
	if err != nil {
		return Reply{Errno: unix.EINVAL}
	}
	raw := make([]byte, netbsd.LinuxFlockSize)
	if err := notify.ReadMemory(c.N.PID, c.N.Args[2], raw); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	if c.Valid() != nil {
		return Reply{Sent: true}
	}
	lk, err := netbsd.DecodeLinuxFlock(raw)
	if err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	nl, err := netbsd.FlockFromLinux(&lk)
	if err != nil {
		return Reply{Errno: unix.EINVAL}
	}

	var s staged
	defer s.release()
	buf := nl.Encode()
	addr, err := c.stage(&s, buf)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	r := c.rump(ctx, netbsd.SYS_FCNTL, fd, uint64(cmd), addr)
	if r.Errno != 0 || cmd != netbsd.F_GETLK {
		return r
	}

	got, err := netbsd.DecodeFlock(buf)
	if err != nil {
		return Reply{Errno: unix.EIO}
	}
	if lk, err = got.ToLinux(); err != nil {
		return Reply{Errno: unix.EIO}
	}
	return c.result(c.N.Args[2], netbsd.EncodeLinuxFlock(&lk))
}

// flockHandler serves flock; LOCK_SH, LOCK_EX, LOCK_NB and LOCK_UN have the
// same values on both systems. A blocking lock waits in the rump kernel, and
// is not interrupted by a signal, as F_SETLKW. NetBSD keeps flock and record
// locks in one list, so on a NetBSD server the two kinds conflict, which
// they do not on Linux; a file that is no vnode (a socket, a pipe) is
// EOPNOTSUPP there, where Linux would lock it.
func flockHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	how := c.arg(1)
	switch how &^ unix.LOCK_NB {
	case unix.LOCK_SH, unix.LOCK_EX, unix.LOCK_UN:
	default:
		return Reply{Errno: unix.EINVAL}
	}
	return c.rump(ctx, netbsd.SYS_FLOCK, fd, sint(how))
}

// ioctl serves the ioctls every file takes: FIONREAD and SIOCATMARK, whose
// int result is written to the target; FIONBIO and FIOASYNC, which set the
// file's flag in the rump kernel from the target's int; and FIOCLEX and
// FIONCLEX, which change close-on-exec, a property of the shadow that the
// host kernel keeps. Every other command, TCGETS and the other terminal
// ioctls included, fails with ENOTTY, what Linux answers for a command that
// a regular file does not know: rump descriptors are files, sockets and the
// console, never terminals, and other commands take structures that would
// need translating.
func (c *Call) ioctl(ctx context.Context, fd uint64) Reply {
	linux := c.N.Args[1] & 0xffffffff // Linux reads an unsigned int
	switch linux {
	case netbsd.LinuxFIOCLEX, netbsd.LinuxFIONCLEX:
		return Reply{Continue: true}
	case netbsd.LinuxFIONREAD, unix.SIOCATMARK, netbsd.LinuxFIONBIO, netbsd.LinuxFIOASYNC:
	default:
		return Reply{Errno: unix.ENOTTY}
	}
	cmd, err := netbsd.IoctlFromLinux(linux)
	if err != nil {
		return Reply{Errno: unix.ENOTTY}
	}

	arg := make([]byte, 4)
	in := netbsd.IoctlDir(cmd) == netbsd.IOC_IN
	if in {
		if err := notify.ReadMemory(c.N.PID, c.N.Args[2], arg); err != nil {
			return Reply{Errno: unix.EFAULT}
		}
		if c.Valid() != nil {
			return Reply{Sent: true}
		}
	}
	var s staged
	defer s.release()
	addr, err := c.stage(&s, arg)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	r := c.rump(ctx, netbsd.SYS_IOCTL, fd, uint64(cmd), addr)
	if r.Errno != 0 || in {
		return r
	}
	return c.result(c.N.Args[2], arg)
}

// mknodHandler serves mknod and mknodat: directory argument dirfdArg (-1
// for none), mode argument modeArg, device argument devArg. NetBSD's mknod
// makes regular files and device nodes only: a FIFO is made with mkfifoat,
// and a socket node is passed on for the rump kernel to refuse, as NetBSD
// refuses it (EINVAL), since only bind makes sockets there. Linux takes
// file type 0 for a regular file, NetBSD does not.
func mknodHandler(dirfdArg, modeArg, devArg int) handler {
	return onPath(func(ctx context.Context, c *Call, s *staged, path uint64) Reply {
		mode := uint32(c.arg(modeArg))
		typ, perm := mode&unix.S_IFMT, uint64(mode&0o7777)
		dirfd := c.dirfdOf(dirfdArg)
		c.syncUmask(ctx)
		switch typ {
		case 0, unix.S_IFREG:
			return c.rump(ctx, netbsd.SYS_MKNODAT, dirfd, path, netbsd.S_IFREG|perm, 0)
		case unix.S_IFIFO:
			return c.rump(ctx, netbsd.SYS_MKFIFOAT, dirfd, path, perm)
		case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFSOCK:
			// The file type bits have the same values on both systems.
			dev := netbsd.DevFromLinux(uint32(c.N.Args[devArg]))
			return c.rump(ctx, netbsd.SYS_MKNODAT, dirfd, path, uint64(typ)|perm, dev)
		case unix.S_IFDIR:
			return Reply{Errno: unix.EPERM} // Linux's answer: mkdir makes directories
		}
		return Reply{Errno: unix.EINVAL}
	})
}

// timesFormat is the layout of the times argument of the older calls that
// set file times.
type timesFormat int

const (
	utimbuf  timesFormat = iota // struct utimbuf: two time_t, in seconds
	timevals                    // two struct timeval
)

// timesHandler serves utime, utimes and futimesat (directory argument
// dirfdArg, -1 for none; times argument timesArg) with NetBSD's utimensat,
// the times converted to timespecs. NULL times set both to now, on both
// systems. futimesat with a NULL path sets the times of the directory
// descriptor itself, as utimensat does.
func timesHandler(dirfdArg, timesArg int, format timesFormat) handler {
	return onPath(func(ctx context.Context, c *Call, s *staged, path uint64) Reply {
		times := uint64(0)
		if c.N.Args[timesArg] != 0 {
			raw := make([]byte, 16)
			if format == timevals {
				raw = make([]byte, 2*netbsd.TimevalSize)
			}
			if err := notify.ReadMemory(c.N.PID, c.N.Args[timesArg], raw); err != nil {
				return Reply{Errno: unix.EFAULT}
			}
			ts, errno := timespecsFromLinux(raw, format)
			if errno != 0 {
				return Reply{Errno: errno}
			}
			addr, err := c.stage(s, ts)
			if err != nil {
				return Reply{Errno: unix.ENOMEM}
			}
			times = addr
		}
		if dirfdArg >= 0 && c.N.Args[1] == 0 {
			fd, ok := c.rumpFD(dirfdArg)
			if !ok {
				return Reply{Errno: unix.EBADF}
			}
			return c.rump(ctx, netbsd.SYS_FUTIMENS, fd, times)
		}
		return c.rump(ctx, netbsd.SYS_UTIMENSAT, c.dirfdOf(dirfdArg), path, times, 0)
	})
}

// timespecsFromLinux returns the two struct timespec, in the layout both
// systems share, for a Linux utimbuf or pair of timevals. A tv_usec outside
// [0, 1000000) is EINVAL, as Linux's utimes has it; NetBSD's __utimes50
// would take it.
func timespecsFromLinux(raw []byte, format timesFormat) ([]byte, unix.Errno) {
	var out []byte
	for i := range 2 {
		var ts unix.Timespec
		if format == utimbuf {
			ts.Sec = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		} else {
			tv, err := netbsd.DecodeLinuxTimeval(raw[netbsd.TimevalSize*i:])
			if err != nil || tv.Usec < 0 || tv.Usec >= 1e6 {
				return nil, unix.EINVAL
			}
			ts = unix.Timespec{Sec: tv.Sec, Nsec: tv.Usec * 1000}
		}
		out = append(out, netbsd.EncodeTimespec(ts)...)
	}
	return out, 0
}

// fallocateHandler serves fallocate with mode 0 through NetBSD's
// posix_fallocate, which reports its failure in its return value. The other
// modes (FALLOC_FL_KEEP_SIZE, hole punching, zeroing) have no NetBSD
// counterpart and fail with EOPNOTSUPP, as on a Linux file system without
// them. NetBSD's tmpfs and rumpfs answer EOPNOTSUPP to posix_fallocate as
// well, which makes glibc's posix_fallocate fall back to writing.
func fallocateHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	mode, off, length := c.arg(1), int64(c.N.Args[2]), int64(c.N.Args[3])
	switch {
	case off < 0 || length <= 0:
		return Reply{Errno: unix.EINVAL}
	case mode != 0:
		return Reply{Errno: unix.EOPNOTSUPP}
	case off+length < 0:
		return Reply{Errno: unix.EFBIG}
	}
	r := c.rump(ctx, netbsd.SYS_POSIX_FALLOCATE, fd, uint64(off), uint64(length))
	switch {
	case r.Errno != 0:
		return r
	case r.Value == int64(netbsd.EINVAL):
		// The arguments are valid, so the descriptor is no vnode: Linux
		// refuses a socket, or any file that is neither regular nor a
		// block device, with ENODEV.
		return Reply{Errno: unix.ENODEV}
	case r.Value != 0:
		return Reply{Errno: netbsd.ErrnoToLinux(netbsd.Errno(r.Value))}
	}
	return Reply{}
}

// syncHandler serves sync for a process that has a rump process: the rump
// kernel's file systems are synced, and then the host kernel runs the call
// for its own. sync reports nothing, and neither does a failure here.
func syncHandler(ctx context.Context, c *Call) Reply {
	c.rump(ctx, netbsd.SYS_SYNC)
	return Reply{Continue: true}
}

// syncfsHandler serves syncfs on a rump descriptor. NetBSD has no call for
// one file system: sync starts writing back every rump file system, which
// includes the descriptor's, and fsync waits for the descriptor's own file.
// A descriptor that is no vnode (a socket, a pipe) has nothing to wait for,
// and syncfs succeeds on those.
func syncfsHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	c.rump(ctx, netbsd.SYS_SYNC)
	if r := c.rump(ctx, netbsd.SYS_FSYNC, fd); r.Errno != unix.EINVAL {
		return r
	}
	return Reply{}
}

// syncFileRangeHandler serves sync_file_range with NetBSD's fsync of the
// whole file, which writes and waits for more than any combination of the
// flags asks for. Not fdatasync or fsync_range: NetBSD refuses those on a
// descriptor not open for writing, which sync_file_range accepts.
func syncFileRangeHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	if errno := checkSyncRange(int64(c.N.Args[1]), int64(c.N.Args[2]),
		uint32(c.N.Args[3])); errno != 0 {
		return Reply{Errno: errno}
	}
	r := c.rump(ctx, netbsd.SYS_FSYNC, fd)
	if r.Errno == unix.EINVAL {
		// NetBSD's fsync takes vnodes only; Linux refuses pipes and
		// sockets with ESPIPE.
		return Reply{Errno: unix.ESPIPE}
	}
	return r
}

// checkSyncRange checks the arguments of sync_file_range as Linux does.
func checkSyncRange(off, n int64, flags uint32) unix.Errno {
	const valid = unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WRITE |
		unix.SYNC_FILE_RANGE_WAIT_AFTER
	end := off + n
	if flags&^valid != 0 || off < 0 || end < 0 || end < off {
		return unix.EINVAL
	}
	return 0
}

// openat2Handler serves openat2: struct open_how is read and checked as
// Linux checks it, and then its flags and mode are served as openat's.
func openat2Handler(ctx context.Context, c *Call, s *staged, path uint64) Reply {
	size := c.N.Args[3]
	switch {
	case size < unix.SizeofOpenHow:
		return Reply{Errno: unix.EINVAL}
	case size > maxOpenHow:
		return Reply{Errno: unix.E2BIG}
	}
	raw := make([]byte, size)
	if err := notify.ReadMemory(c.N.PID, c.N.Args[2], raw); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	if c.Valid() != nil {
		return Reply{Sent: true}
	}
	how, errno := parseOpenHow(raw)
	if errno != 0 {
		return Reply{Errno: errno}
	}
	return c.open(ctx, c.dirfd(0), path, uint32(how.Flags), uint32(how.Mode))
}

// maxOpenHow is the largest struct open_how Linux takes: a page.
const maxOpenHow = 4096

// resolveCached is RESOLVE_CACHED, which x/sys/unix does not name.
const resolveCached = 0x20

// linuxOpenFlags are the flags openat2 accepts; others are EINVAL, where
// openat ignores them.
const linuxOpenFlags = unix.O_ACCMODE | unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY |
	unix.O_TRUNC | unix.O_APPEND | unix.O_NONBLOCK | unix.O_SYNC | unix.O_DSYNC |
	unix.O_ASYNC | unix.O_DIRECT | netbsd.LinuxO_LARGEFILE | unix.O_DIRECTORY |
	unix.O_NOFOLLOW | unix.O_NOATIME | unix.O_CLOEXEC | unix.O_PATH | unix.O_TMPFILE

// parseOpenHow decodes a struct open_how of len(raw) bytes and checks it as
// Linux's openat2 does: nonzero bytes past the fields this kernel knows are
// E2BIG; unknown flags or resolve bits, a mode without O_CREAT or
// O_TMPFILE, and a mode beyond the permission bits are EINVAL.
//
// Of the resolve flags, RESOLVE_NO_MAGICLINKS is honoured as it is: magic
// links (Linux's /proc/<pid>/fd entries, which open a file without a path
// lookup) do not exist in NetBSD's file systems, so no rump lookup crosses
// one. RESOLVE_CACHED is honoured by always failing with EAGAIN, which it
// allows when a lookup cannot be served from the cache: every rump lookup
// is a round trip, and callers retry without the flag. The others
// (RESOLVE_NO_XDEV, RESOLVE_NO_SYMLINKS, RESOLVE_BENEATH, RESOLVE_IN_ROOT)
// restrict every step of a lookup, which NetBSD's namei cannot be asked
// to do (O_NOFOLLOW covers the last component only); they fail with EINVAL,
// what a kernel without them answers, so that callers fall back.
func parseOpenHow(raw []byte) (unix.OpenHow, unix.Errno) {
	for _, b := range raw[unix.SizeofOpenHow:] {
		if b != 0 {
			return unix.OpenHow{}, unix.E2BIG
		}
	}
	le := binary.LittleEndian
	how := unix.OpenHow{Flags: le.Uint64(raw), Mode: le.Uint64(raw[8:]),
		Resolve: le.Uint64(raw[16:])}

	const knownResolve = unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS |
		unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH | unix.RESOLVE_IN_ROOT | resolveCached
	creates := how.Flags&(unix.O_CREAT|netbsd.Linux__O_TMPFILE) != 0
	switch {
	case how.Flags&^linuxOpenFlags != 0, how.Resolve&^knownResolve != 0:
		return how, unix.EINVAL
	case how.Resolve&unix.RESOLVE_BENEATH != 0 && how.Resolve&unix.RESOLVE_IN_ROOT != 0:
		return how, unix.EINVAL
	case creates && how.Mode&^0o7777 != 0, !creates && how.Mode != 0:
		return how, unix.EINVAL
	case how.Resolve&^(unix.RESOLVE_NO_MAGICLINKS|resolveCached) != 0:
		return how, unix.EINVAL
	case how.Resolve&resolveCached != 0:
		return how, unix.EAGAIN
	}
	return how, 0
}

// closeRangeHandler serves close_range: the rump descriptors behind the
// shadows in the range are closed, and the host closes every descriptor
// of it, shadows included. With CLOSE_RANGE_CLOEXEC nothing closes now: the
// host marks the range close-on-exec, and an exec closes the rump side.
func closeRangeHandler(ctx context.Context, c *Call) Reply {
	first, last, flags := uint32(c.N.Args[0]), uint32(c.N.Args[1]), uint32(c.N.Args[2])
	if first > last || flags&^(unix.CLOSE_RANGE_UNSHARE|unix.CLOSE_RANGE_CLOEXEC) != 0 {
		return Reply{Errno: unix.EINVAL}
	}
	if flags&unix.CLOSE_RANGE_CLOEXEC != 0 {
		return Reply{Continue: true}
	}
	for fd := range c.Shadows.Numbers() {
		if uint32(fd) < first || uint32(fd) > last {
			continue
		}
		r, ok := c.Shadows.Remove(fd)
		switch {
		case !ok:
		case r == fdinject.Foreign:
			c.closeSysctl(ctx, fd)
		default:
			c.Sockets.Remove(r)
			c.rump(ctx, netbsd.SYS_CLOSE, sint(r))
		}
	}
	return Reply{Continue: true}
}

func init() { handlers[unix.SYS_CLOSE_RANGE] = closeRangeHandler }
