package rumpserver

// Path resolution under the root.
//
// Every lookup is one openat2 call on the root descriptor with
// RESOLVE_IN_ROOT, which makes the kernel treat the root as "/" for
// absolute paths, for ".." and for every symbolic link it meets, and with
// RESOLVE_NO_MAGICLINKS, which refuses /proc/<pid>/fd-style links (a /proc
// mounted inside the root would otherwise lead anywhere). The path is made
// root-relative first: an absolute path is used as it is; a relative one is
// appended to the root-relative path of its directory (the working
// directory, or the *at call's descriptor), which the host tells through
// /proc/self/fd. Resolving from the root, not from the directory, is what
// keeps "cd /a/b; cat ../x" and a relative symlink climbing out of /a/b
// meaning what they mean on NetBSD: RESOLVE_IN_ROOT on the directory itself
// would stop them at /a/b. A directory renamed between the two steps makes
// the lookup start from its old place, which is still under the root.
//
// Calls that return a descriptor (open) resolve the whole path. Calls that do
// not fall in two groups:
//
//   - Calls that follow a final symlink (stat, chmod, chown, truncate,
//     utimes, statvfs, access) open the whole path with O_PATH, which
//     follows it within the root, and act on that descriptor: fstat,
//     fchownat(AT_EMPTY_PATH), faccessat2(AT_EMPTY_PATH), fstatfs, or the
//     path /proc/self/fd/N for the calls that take no descriptor (chmod,
//     truncate, utimensat). That path is a magic link to exactly the file
//     already resolved, so the host never resolves a name the client chose.
//     Calls that do not follow (lstat, lchown, readlink) open the path with
//     O_PATH|O_NOFOLLOW, which names the link itself.
//   - Calls that create, remove or rename a name (mkdir, mknod, symlink,
//     link, unlink, rmdir, rename, bind) open the parent directory with O_PATH
//     and act with the *at call on the last component, which is never "." or
//     ".." (those answer as NetBSD's namei answers them, without reaching the
//     host) and never contains a slash; no *at call used this way follows a
//     final symlink, so the last component cannot lead out either.

import (
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// resolveFlags is the resolution every lookup uses.
const resolveFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// openAt2Retries bounds retries of a lookup the host reports as raced with a
// rename (EAGAIN), which RESOLVE_IN_ROOT does to stay safe.
const openAt2Retries = 16

// openInRoot opens a root-relative path. flags are host open flags;
// O_CLOEXEC is always added.
func (k *kernel) openInRoot(path string, flags int, mode uint32) (int, netbsd.Errno) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolveFlags}
	if flags&(unix.O_CREAT|unix.O_TMPFILE) != 0 {
		how.Mode = uint64(mode & 0o7777)
	}
	for range openAt2Retries {
		fd, err := unix.Openat2(k.rootFd, path, &how)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, toErrno(err)
		}
		return fd, 0
	}
	return -1, netbsd.EAGAIN
}

// hostPath returns the host's name for what descriptor fd refers to.
func hostPath(fd int) (string, netbsd.Errno) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlink(fdPath(fd), buf)
	if err != nil {
		return "", toErrno(err)
	}
	return string(buf[:n]), 0
}

// rootRelative returns the path of directory fd relative to the root, "" for
// the root itself. A directory that was removed, or moved out from under the
// root by the host, names nothing any more (ENOENT).
func (k *kernel) rootRelative(fd int) (string, netbsd.Errno) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", toErrno(err)
	}
	if st.Dev == k.rootDev && st.Ino == k.rootIno {
		return "", 0
	}
	if st.Nlink == 0 {
		return "", netbsd.ENOENT
	}
	root, e := hostPath(k.rootFd)
	if e != 0 {
		return "", e
	}
	dir, e := hostPath(fd)
	if e != 0 {
		return "", e
	}
	if root == "/" {
		return strings.TrimPrefix(dir, "/"), 0
	}
	rel, ok := strings.CutPrefix(dir, root+"/")
	if !ok {
		return "", netbsd.ENOENT
	}
	return rel, 0
}

// rootPath makes path root-relative, taking a relative path from directory
// dirfd (AT_FDCWD for the working directory). A dirfd that is not a
// directory gives ENOTDIR, an unknown one EBADF; an absolute path ignores
// dirfd, as POSIX says.
func (cl *call) rootPath(dirfd int32, path string) (string, netbsd.Errno) {
	if strings.HasPrefix(path, "/") {
		return path, 0
	}
	var dir *file
	if dirfd == netbsd.AT_FDCWD {
		dir = cl.p.getCwd()
		if dir == nil {
			return "", netbsd.EBADF
		}
	} else {
		var e netbsd.Errno
		if _, dir, e = cl.p.getFile(dirfd); e != 0 {
			return "", e
		}
	}
	defer dir.release()

	if dir.kind != kindVnode {
		return "", netbsd.ENOTDIR
	}
	typ, e := fileType(dir.fd)
	if e != 0 {
		return "", e
	}
	if typ != unix.S_IFDIR {
		return "", netbsd.ENOTDIR
	}
	rel, e := cl.k.rootRelative(dir.fd)
	if e != 0 {
		return "", e
	}
	if rel == "" {
		return path, 0
	}
	return rel + "/" + path, 0
}

// openPath resolves the whole path with O_PATH, following a final symlink
// unless nofollow, and returns a host descriptor the caller closes.
func (cl *call) openPath(dirfd int32, path string, nofollow bool) (int, netbsd.Errno) {
	full, e := cl.rootPath(dirfd, path)
	if e != 0 {
		return -1, e
	}
	flags := unix.O_PATH
	if nofollow {
		flags |= unix.O_NOFOLLOW
	}
	return cl.k.openInRoot(full, flags, 0)
}

// parent is the directory and last component of a path that a call creates,
// removes or renames.
type parent struct {
	fd   int    // O_PATH descriptor of the directory; the caller closes it
	name string // the last component: no slash, never empty
	// dot is set when the last component is "." or "..": no host call may
	// see it, since ".." of the root is outside it.
	dot bool
	// dir is set when the path ended in a slash, which only a directory
	// may have.
	dir bool
}

// openParent resolves all but the last component of path.
func (cl *call) openParent(dirfd int32, path string) (parent, netbsd.Errno) {
	full, e := cl.rootPath(dirfd, path)
	if e != 0 {
		return parent{}, e
	}
	trimmed := strings.TrimRight(full, "/")
	pa := parent{dir: len(trimmed) < len(full)}
	if trimmed == "" {
		// The path is "/" or a run of slashes: the root itself.
		trimmed, pa.dir = "/.", true
	}
	dirPath, name := ".", trimmed
	if i := strings.LastIndexByte(trimmed, '/'); i >= 0 {
		dirPath, name = trimmed[:i], trimmed[i+1:]
		if dirPath == "" {
			dirPath = "/"
		}
	}
	pa.name = name
	pa.dot = name == "." || name == ".."
	fd, e := cl.k.openInRoot(dirPath, unix.O_PATH|unix.O_DIRECTORY, 0)
	if e != 0 {
		return parent{}, e
	}
	pa.fd = fd
	return pa, 0
}

// close releases the parent directory.
func (pa parent) close() { unix.Close(pa.fd) }

// mustBeDir checks a trailing slash: the named file must be a directory
// (ENOTDIR otherwise). It is called once the name is known to exist.
func (pa parent) mustBeDir() netbsd.Errno {
	if !pa.dir {
		return 0
	}
	var st unix.Stat_t
	if err := unix.Fstatat(pa.fd, pa.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return toErrno(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return netbsd.ENOTDIR
	}
	return 0
}
