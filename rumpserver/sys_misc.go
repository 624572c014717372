package rumpserver

import (
	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// getpid(): the rump pid in retval[0], the parent's in retval[1].
func (cl *call) sysGetpid() (int64, netbsd.Errno) {
	cl.rv1 = int64(cl.p.ppid)
	return int64(cl.p.pid), 0
}

func (cl *call) sysGetppid() (int64, netbsd.Errno) { return int64(cl.p.ppid), 0 }

// Every remote process has root credentials: getuid and getgid answer 0 in
// both registers (real and effective), the others 0.
func (cl *call) sysGetuid() (int64, netbsd.Errno) { return 0, 0 }

// issetugid(): never, as no rump process changes credentials on exec.
func (cl *call) sysIssetugid() (int64, netbsd.Errno) { return 0, 0 }

// umask(newmask) returns the old mask.
func (cl *call) sysUmask() (int64, netbsd.Errno) {
	return int64(cl.p.setUmask(cl.uint(0))), 0
}

// sync() flushes the file system of the root; its outcome is not reported.
func (cl *call) sysSync() (int64, netbsd.Errno) {
	cl.takeLong()
	fd, errno := cl.k.openInRoot(".", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if errno == 0 {
		unix.Syncfs(fd)
		unix.Close(fd)
	}
	return 0, 0
}

// pipe(): the read end in retval[0], the write end in retval[1].
func (cl *call) sysPipe() (int64, netbsd.Errno) {
	r, w, errno := cl.makePipe(0)
	if errno != 0 {
		return 0, errno
	}
	cl.rv1 = int64(w)
	return int64(r), 0
}

// pipe2(fildes, flags): both ends copied out; flags O_CLOEXEC, O_NONBLOCK
// and O_NOSIGPIPE.
func (cl *call) sysPipe2() (int64, netbsd.Errno) {
	flags := cl.uint(1)
	if flags&^(netbsd.O_CLOEXEC|netbsd.O_NONBLOCK|netbsd.O_NOSIGPIPE) != 0 {
		return 0, netbsd.EINVAL
	}
	r, w, errno := cl.makePipe(flags)
	if errno != 0 {
		return 0, errno
	}
	b := make([]byte, 0, 8)
	b = append(b, intBytes(r)...)
	b = append(b, intBytes(w)...)
	if errno := cl.copyout(cl.ptr(0), b); errno != 0 {
		cl.p.closeFd(r)
		cl.p.closeFd(w)
		return 0, errno
	}
	return 0, 0
}

// makePipe creates a host pipe and installs both ends.
func (cl *call) makePipe(flags uint32) (int32, int32, netbsd.Errno) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return 0, 0, toErrno(err)
	}
	cloexec := flags&netbsd.O_CLOEXEC != 0
	var nfds [2]int32
	for i, hfd := range fds {
		f := newFile(cl.k, hfd, kindPipe)
		f.nbio.Store(flags&netbsd.O_NONBLOCK != 0)
		f.nosigpipe.Store(flags&netbsd.O_NOSIGPIPE != 0)
		nfd, errno := cl.p.install(f, cloexec, 0)
		f.release()
		if errno != 0 {
			if i == 1 {
				cl.p.closeFd(nfds[0])
			} else {
				unix.Close(fds[1])
			}
			return 0, 0, errno
		}
		nfds[i] = nfd
	}
	return nfds[0], nfds[1], 0
}

// intBytes is the little-endian form of an int.
func intBytes(v int32) []byte {
	return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
}
