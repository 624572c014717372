package rumpserver

import (
	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// Calls that create, remove or rename names: each acts with an *at call on
// the last component of the path, under its parent opened within the root.

// parentArg copies in the path in slot i and opens its parent relative to
// dirfd. The caller closes it.
func (cl *call) parentArg(dirfd int32, i int) (parent, netbsd.Errno) {
	path, errno := cl.copyinPath(cl.ptr(i))
	if errno != 0 {
		return parent{}, errno
	}
	return cl.openParent(dirfd, path)
}

// nameArg is parentArg for a call that acts on the last component itself,
// which "." and ".." cannot be: they fail with errno dot. The caller closes
// the parent.
func (cl *call) nameArg(dirfd int32, i int, dot netbsd.Errno) (parent, netbsd.Errno) {
	pa, errno := cl.parentArg(dirfd, i)
	if errno != 0 {
		return parent{}, errno
	}
	if pa.dot {
		pa.close()
		return parent{}, dot
	}
	return pa, 0
}

// mkdir(path, mode) and mkdirat(fd, path, mode). "." and ".." exist.
func (cl *call) doMkdir(dirfd int32, i int) (int64, netbsd.Errno) {
	pa, errno := cl.nameArg(dirfd, i, netbsd.EEXIST)
	if errno != 0 {
		return 0, errno
	}
	defer pa.close()
	mode := cl.uint(i+1) & 0o7777 &^ cl.p.getUmask()
	return 0, toErrno(unix.Mkdirat(pa.fd, pa.name, mode))
}

func (cl *call) sysMkdir() (int64, netbsd.Errno)   { return cl.doMkdir(netbsd.AT_FDCWD, 0) }
func (cl *call) sysMkdirat() (int64, netbsd.Errno) { return cl.doMkdir(cl.int(0), 1) }

// __mknod50(path, mode, dev) and mknodat(fd, path, mode, PAD, dev) make
// regular files and device nodes only, as NetBSD's do: every other file
// type, FIFOs, sockets and type 0 included, is EINVAL (mkfifo makes FIFOs).
// Device nodes are refused with EPERM: one made under the root would open a
// host device, which is what the root exists to prevent.
func (cl *call) doMknod(dirfd int32, i int, mode uint32) (int64, netbsd.Errno) {
	var refuse netbsd.Errno
	switch mode & netbsd.S_IFMT {
	case netbsd.S_IFREG:
	case netbsd.S_IFCHR, netbsd.S_IFBLK:
		refuse = netbsd.EPERM
	default:
		refuse = netbsd.EINVAL
	}
	return cl.makeNode(dirfd, i, mode, refuse)
}

func (cl *call) sysMknod() (int64, netbsd.Errno) {
	return cl.doMknod(netbsd.AT_FDCWD, 0, cl.uint(1))
}

func (cl *call) sysMknodat() (int64, netbsd.Errno) {
	return cl.doMknod(cl.int(0), 1, cl.uint(2))
}

// mkfifo(path, mode) and mkfifoat(fd, path, mode).
func (cl *call) sysMkfifo() (int64, netbsd.Errno) {
	return cl.makeNode(netbsd.AT_FDCWD, 0, cl.uint(1)&0o7777|netbsd.S_IFIFO, 0)
}

func (cl *call) sysMkfifoat() (int64, netbsd.Errno) {
	return cl.makeNode(cl.int(0), 1, cl.uint(2)&0o7777|netbsd.S_IFIFO, 0)
}

// makeNode makes a node of mode, a file type and permissions, at the path
// in slot i. When refuse is set it fails with refuse instead, but only once
// the name is known to be free: NetBSD looks the name up before it looks at
// the file type, so a name in use is EEXIST whatever the type.
func (cl *call) makeNode(dirfd int32, i int, mode uint32, refuse netbsd.Errno) (int64,
	netbsd.Errno) {
	pa, errno := cl.nameArg(dirfd, i, netbsd.EEXIST)
	if errno != 0 {
		return 0, errno
	}
	defer pa.close()
	if refuse != 0 {
		var st unix.Stat_t
		if unix.Fstatat(pa.fd, pa.name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			return 0, netbsd.EEXIST
		}
		return 0, refuse
	}
	mode = mode&netbsd.S_IFMT | mode&0o7777&^cl.p.getUmask()
	return 0, toErrno(unix.Mknodat(pa.fd, pa.name, mode, 0))
}

// unlink(path), rmdir(path) and unlinkat(fd, path, flag). NetBSD refuses to
// unlink a directory with EPERM where Linux says EISDIR, and to remove "."
// or ".." with EINVAL.
func (cl *call) doUnlink(dirfd int32, i int, rmdir bool) (int64, netbsd.Errno) {
	dot := netbsd.EPERM
	if rmdir {
		dot = netbsd.EINVAL
	}
	pa, errno := cl.nameArg(dirfd, i, dot)
	if errno != 0 {
		return 0, errno
	}
	defer pa.close()
	if rmdir {
		return 0, toErrno(unix.Unlinkat(pa.fd, pa.name, unix.AT_REMOVEDIR))
	}
	if errno := pa.mustBeDir(); errno != 0 {
		return 0, errno
	}
	err := unix.Unlinkat(pa.fd, pa.name, 0)
	if err == unix.EISDIR {
		return 0, netbsd.EPERM
	}
	return 0, toErrno(err)
}

func (cl *call) sysUnlink() (int64, netbsd.Errno) { return cl.doUnlink(netbsd.AT_FDCWD, 0, false) }
func (cl *call) sysRmdir() (int64, netbsd.Errno)  { return cl.doUnlink(netbsd.AT_FDCWD, 0, true) }

func (cl *call) sysUnlinkat() (int64, netbsd.Errno) {
	flag := cl.uint(2)
	if flag&^netbsd.AT_REMOVEDIR != 0 {
		return 0, netbsd.EINVAL
	}
	return cl.doUnlink(cl.int(0), 1, flag&netbsd.AT_REMOVEDIR != 0)
}

// rename(from, to), __posix_rename(from, to) and renameat(fromfd, from, tofd,
// to). Neither side may be "." or "..".
func (cl *call) doRename(fromfd int32, fi int, tofd int32, ti int) (int64, netbsd.Errno) {
	from, errno := cl.parentArg(fromfd, fi)
	if errno != 0 {
		return 0, errno
	}
	defer from.close()
	to, errno := cl.parentArg(tofd, ti)
	if errno != 0 {
		return 0, errno
	}
	defer to.close()
	if from.dot || to.dot {
		return 0, netbsd.EINVAL
	}
	if errno := from.mustBeDir(); errno != 0 {
		return 0, errno
	}
	return 0, toErrno(unix.Renameat(from.fd, from.name, to.fd, to.name))
}

func (cl *call) sysRename() (int64, netbsd.Errno) {
	return cl.doRename(netbsd.AT_FDCWD, 0, netbsd.AT_FDCWD, 1)
}

func (cl *call) sysRenameat() (int64, netbsd.Errno) {
	return cl.doRename(cl.int(0), 1, cl.int(2), 3)
}

// link(path, link) and linkat(fd1, name1, fd2, name2, flags). Without
// AT_SYMLINK_FOLLOW the link is made to a symlink itself, as NetBSD's link
// does; with it, to the file the path resolves to within the root, through
// the /proc link of that file.
func (cl *call) doLink(fd1 int32, i1 int, fd2 int32, i2 int, follow bool) (int64,
	netbsd.Errno) {
	to, errno := cl.nameArg(fd2, i2, netbsd.EEXIST)
	if errno != 0 {
		return 0, errno
	}
	defer to.close()

	if follow {
		fd, errno := cl.pathArg(fd1, i1, false)
		if errno != 0 {
			return 0, errno
		}
		defer unix.Close(fd)
		err := unix.Linkat(unix.AT_FDCWD, fdPath(fd), to.fd, to.name, unix.AT_SYMLINK_FOLLOW)
		return 0, toErrno(err)
	}
	from, errno := cl.nameArg(fd1, i1, netbsd.EPERM)
	if errno != 0 {
		return 0, errno
	}
	defer from.close()
	return 0, toErrno(unix.Linkat(from.fd, from.name, to.fd, to.name, 0))
}

func (cl *call) sysLink() (int64, netbsd.Errno) {
	return cl.doLink(netbsd.AT_FDCWD, 0, netbsd.AT_FDCWD, 1, false)
}

func (cl *call) sysLinkat() (int64, netbsd.Errno) {
	flags := cl.uint(4)
	if flags&^netbsd.AT_SYMLINK_FOLLOW != 0 {
		return 0, netbsd.EINVAL
	}
	return cl.doLink(cl.int(0), 1, cl.int(2), 3, flags != 0)
}

// symlink(path, link) and symlinkat(path1, fd, path2). The target is stored
// as given: it is data until a lookup meets it, and every lookup stays under
// the root.
func (cl *call) doSymlink(dirfd int32, ti, li int) (int64, netbsd.Errno) {
	target, errno := cl.copyinPath(cl.ptr(ti))
	if errno != 0 {
		return 0, errno
	}
	pa, errno := cl.nameArg(dirfd, li, netbsd.EEXIST)
	if errno != 0 {
		return 0, errno
	}
	defer pa.close()
	return 0, toErrno(unix.Symlinkat(target, pa.fd, pa.name))
}

func (cl *call) sysSymlink() (int64, netbsd.Errno) {
	return cl.doSymlink(netbsd.AT_FDCWD, 0, 1)
}

func (cl *call) sysSymlinkat() (int64, netbsd.Errno) {
	return cl.doSymlink(cl.int(1), 0, 2)
}
