package rumpserver

import (
	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// minDirentBuf is the host buffer a directory read uses at least, so that a
// host record, longer than its NetBSD form, always fits.
const minDirentBuf = 4096

// __getdents30(fd, buf, count).
//
// The host's records are read with getdents64 and rewritten as NetBSD
// records, which are never longer. Records that do not fit count are given
// back by seeking the directory to the offset the last record that fit
// carries, so that the next call starts with them; the directory offsets are
// the host's, which is also what lseek and NetBSD's telldir see. The ".." of
// the root reports the root itself, not the host directory above it.
func (cl *call) sysGetdents() (int64, netbsd.Errno) {
	f, errno := cl.vnodeArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	count := int(min(cl.args[2], maxIO))

	f.dirMu.Lock()
	defer f.dirMu.Unlock()
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return 0, toErrno(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		// NetBSD's vn_readdir refuses other vnodes with EINVAL.
		return 0, netbsd.EINVAL
	}
	isRoot := st.Dev == cl.k.rootDev && st.Ino == cl.k.rootIno

	pos, err := unix.Seek(f.fd, 0, unix.SEEK_CUR)
	if err != nil {
		return 0, toErrno(err)
	}
	buf := make([]byte, max(count, minDirentBuf))
	n, err := unix.Getdents(f.fd, buf)
	if err != nil {
		return 0, toErrno(err)
	}
	host, err := netbsd.ParseLinuxDirents64(buf[:n])
	if err != nil {
		return 0, netbsd.EIO
	}

	var out []byte
	for i, d := range host {
		if isRoot && d.Name == ".." {
			d.Ino = cl.k.rootIno
		}
		if len(out)+netbsd.DirentSize(len(d.Name)) > count {
			if i == 0 {
				// Not even one record fits: NetBSD says EINVAL.
				unix.Seek(f.fd, pos, unix.SEEK_SET)
				return 0, netbsd.EINVAL
			}
			if _, err := unix.Seek(f.fd, host[i-1].Off, unix.SEEK_SET); err != nil {
				return 0, toErrno(err)
			}
			break
		}
		if out, err = netbsd.AppendDirent(out, d); err != nil {
			return 0, netbsd.EIO
		}
	}
	return int64(len(out)), cl.copyout(cl.ptr(1), out)
}

// chdir(path).
func (cl *call) sysChdir() (int64, netbsd.Errno) {
	path, errno := cl.copyinPath(cl.ptr(0))
	if errno != 0 {
		return 0, errno
	}
	full, errno := cl.rootPath(netbsd.AT_FDCWD, path)
	if errno != 0 {
		return 0, errno
	}
	fd, errno := cl.k.openInRoot(full, unix.O_PATH|unix.O_DIRECTORY, 0)
	if errno != 0 {
		return 0, errno
	}
	cl.p.setCwd(newFile(cl.k, fd, kindVnode))
	return 0, 0
}

// __getcwd(bufp, length): the working directory as the process sees it,
// NUL-terminated; the result is its length with the NUL. A buffer too small
// for it, or for the shortest answer "/", gives ERANGE.
func (cl *call) sysGetcwd() (int64, netbsd.Errno) {
	length := cl.args[1]
	if length < 2 {
		return 0, netbsd.ERANGE
	}
	cwd := cl.p.getCwd()
	if cwd == nil {
		return 0, netbsd.ENOENT
	}
	defer cwd.release()
	rel, errno := cl.k.rootRelative(cwd.fd)
	if errno != 0 {
		return 0, errno
	}
	path := append([]byte("/"+rel), 0)
	if uint64(len(path)) > length {
		return 0, netbsd.ERANGE
	}
	return int64(len(path)), cl.copyout(cl.ptr(0), path)
}
