package rumpserver

import (
	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// Calls that look a path up and act on what it names without creating or
// removing a name; see resolve.go for how they stay under the root.

// pathArg copies in the path in slot i and opens it with O_PATH relative to
// dirfd, following a final symlink unless nofollow. The caller closes the
// descriptor.
func (cl *call) pathArg(dirfd int32, i int, nofollow bool) (int, netbsd.Errno) {
	path, errno := cl.copyinPath(cl.ptr(i))
	if errno != 0 {
		return -1, errno
	}
	return cl.openPath(dirfd, path, nofollow)
}

// nofollow reports whether NetBSD *at flags ask not to follow a final
// symlink; bits other than allowed give EINVAL.
func nofollow(flags, allowed uint32) (bool, netbsd.Errno) {
	if flags&^allowed != 0 {
		return false, netbsd.EINVAL
	}
	return flags&netbsd.AT_SYMLINK_NOFOLLOW != 0, 0
}

// stat copies out the NetBSD stat of host descriptor fd.
func (cl *call) stat(fd int, addr uint64) netbsd.Errno {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return toErrno(err)
	}
	nst := netbsd.StatFromLinux(&st)
	return cl.copyout(addr, nst.Encode())
}

// fileType returns the file type bits (S_IFMT) of host descriptor fd.
func fileType(fd int) (uint32, netbsd.Errno) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, toErrno(err)
	}
	return st.Mode & unix.S_IFMT, 0
}

// __stat50(path, ub) and __lstat50(path, ub).
func (cl *call) doStat(nofollow bool) (int64, netbsd.Errno) {
	fd, errno := cl.pathArg(netbsd.AT_FDCWD, 0, nofollow)
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(fd)
	return 0, cl.stat(fd, cl.ptr(1))
}

func (cl *call) sysStat() (int64, netbsd.Errno)  { return cl.doStat(false) }
func (cl *call) sysLstat() (int64, netbsd.Errno) { return cl.doStat(true) }

// fstatat(fd, path, buf, flag).
func (cl *call) sysFstatat() (int64, netbsd.Errno) {
	nf, errno := nofollow(cl.uint(3), netbsd.AT_SYMLINK_NOFOLLOW)
	if errno != 0 {
		return 0, errno
	}
	fd, errno := cl.pathArg(cl.int(0), 1, nf)
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(fd)
	return 0, cl.stat(fd, cl.ptr(2))
}

// access(path, flags) and faccessat(fd, path, amode, flag). The answer is the
// host's for the server's credentials.
func (cl *call) doAccess(dirfd int32, i int, mode, flags uint32) (int64, netbsd.Errno) {
	if mode&^(unix.R_OK|unix.W_OK|unix.X_OK) != 0 {
		return 0, netbsd.EINVAL
	}
	nf, errno := nofollow(flags, netbsd.AT_SYMLINK_NOFOLLOW|netbsd.AT_EACCESS)
	if errno != 0 {
		return 0, errno
	}
	fd, errno := cl.pathArg(dirfd, i, nf)
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(fd)
	hostFlags := unix.AT_EMPTY_PATH
	if flags&netbsd.AT_EACCESS != 0 {
		hostFlags |= unix.AT_EACCESS
	}
	return 0, toErrno(unix.Faccessat2(fd, "", mode, hostFlags))
}

func (cl *call) sysAccess() (int64, netbsd.Errno) {
	return cl.doAccess(netbsd.AT_FDCWD, 0, cl.uint(1), 0)
}

func (cl *call) sysFaccessat() (int64, netbsd.Errno) {
	return cl.doAccess(cl.int(0), 1, cl.uint(2), cl.uint(3))
}

// readlink(path, buf, count) and readlinkat(fd, path, buf, bufsize). The
// link's text is not NUL-terminated and is cut to the buffer, as POSIX says.
func (cl *call) doReadlink(dirfd int32, i int) (int64, netbsd.Errno) {
	fd, errno := cl.pathArg(dirfd, i, true)
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(fd)
	typ, errno := fileType(fd)
	if errno != 0 {
		return 0, errno
	}
	if typ != unix.S_IFLNK {
		return 0, netbsd.EINVAL
	}
	size := cl.args[i+2]
	buf := make([]byte, min(size, maxPath))
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return 0, toErrno(err)
	}
	return int64(n), cl.copyout(cl.ptr(i+1), buf[:n])
}

func (cl *call) sysReadlink() (int64, netbsd.Errno)   { return cl.doReadlink(netbsd.AT_FDCWD, 0) }
func (cl *call) sysReadlinkat() (int64, netbsd.Errno) { return cl.doReadlink(cl.int(0), 1) }

// chmod(path, mode), lchmod(path, mode) and fchmodat(fd, path, mode, flag).
// Linux cannot change the mode of a symlink, so lchmod of one fails with
// EOPNOTSUPP.
func (cl *call) doChmod(dirfd int32, i int, mode uint32, nf bool) (int64, netbsd.Errno) {
	fd, errno := cl.pathArg(dirfd, i, nf)
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(fd)
	if nf {
		typ, errno := fileType(fd)
		if errno != 0 {
			return 0, errno
		}
		if typ == unix.S_IFLNK {
			return 0, netbsd.EOPNOTSUPP
		}
	}
	return 0, toErrno(unix.Fchmodat(unix.AT_FDCWD, fdPath(fd), mode&0o7777, 0))
}

func (cl *call) sysChmod() (int64, netbsd.Errno) {
	return cl.doChmod(netbsd.AT_FDCWD, 0, cl.uint(1), false)
}

func (cl *call) sysLchmod() (int64, netbsd.Errno) {
	return cl.doChmod(netbsd.AT_FDCWD, 0, cl.uint(1), true)
}

func (cl *call) sysFchmodat() (int64, netbsd.Errno) {
	nf, errno := nofollow(cl.uint(3), netbsd.AT_SYMLINK_NOFOLLOW)
	if errno != 0 {
		return 0, errno
	}
	return cl.doChmod(cl.int(0), 1, cl.uint(2), nf)
}

// chown, lchown and their __posix_ forms (path, uid, gid), and fchownat(fd,
// path, owner, group, flag). An id of -1 leaves it unchanged, on both
// systems.
func (cl *call) doChown(dirfd int32, i int, nf bool) (int64, netbsd.Errno) {
	fd, errno := cl.pathArg(dirfd, i, nf)
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(fd)
	uid, gid := int(cl.int(i+1)), int(cl.int(i+2))
	return 0, toErrno(unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH))
}

func (cl *call) sysChown() (int64, netbsd.Errno)  { return cl.doChown(netbsd.AT_FDCWD, 0, false) }
func (cl *call) sysLchown() (int64, netbsd.Errno) { return cl.doChown(netbsd.AT_FDCWD, 0, true) }

func (cl *call) sysFchownat() (int64, netbsd.Errno) {
	nf, errno := nofollow(cl.uint(4), netbsd.AT_SYMLINK_NOFOLLOW)
	if errno != 0 {
		return 0, errno
	}
	return cl.doChown(cl.int(0), 1, nf)
}

// truncate(path, PAD, length).
func (cl *call) sysTruncate() (int64, netbsd.Errno) {
	if cl.long(2) < 0 {
		return 0, netbsd.EINVAL
	}
	fd, errno := cl.pathArg(netbsd.AT_FDCWD, 0, false)
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(fd)
	typ, errno := fileType(fd)
	if errno != 0 {
		return 0, errno
	}
	if typ == unix.S_IFDIR {
		return 0, netbsd.EISDIR
	}
	return 0, toErrno(unix.Truncate(fdPath(fd), cl.long(2)))
}

// statvfs1(path, buf, flags).
func (cl *call) sysStatvfs1() (int64, netbsd.Errno) {
	fd, errno := cl.pathArg(netbsd.AT_FDCWD, 0, false)
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(fd)
	return 0, cl.statvfs(fd, cl.ptr(1))
}

// fstatvfs1(fd, buf, flags).
func (cl *call) sysFstatvfs1() (int64, netbsd.Errno) {
	f, errno := cl.vnodeArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	return 0, cl.statvfs(f.fd, cl.ptr(1))
}

// getvfsstat(buf, bufsize, flags): the one file system there is, mounted
// on "/"; with buf NULL only their number.
func (cl *call) sysGetvfsstat() (int64, netbsd.Errno) {
	if cl.ptr(0) == 0 {
		return 1, 0
	}
	if cl.args[1] < netbsd.StatvfsSize {
		return 0, 0
	}
	return 1, cl.statvfs(cl.k.rootFd, cl.ptr(0))
}

// statvfs copies out the NetBSD statvfs of the file system holding host
// descriptor fd. The server presents one file system, mounted on "/"; its
// type is the host's where the netbsd package knows a NetBSD name for it.
func (cl *call) statvfs(fd int, addr uint64) netbsd.Errno {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return toErrno(err)
	}
	vfs := netbsd.StatvfsFromLinux(&st)
	vfs.Flag |= netbsd.MNT_LOCAL
	if vfs.Fstypename == "" {
		vfs.Fstypename = "hostfs"
	}
	vfs.Mntonname = "/"
	vfs.Mntfromname = "hostfs"
	return cl.copyout(addr, vfs.Encode())
}
