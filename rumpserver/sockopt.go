package rumpserver

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// maxSockopt bounds an option value, as NetBSD bounds it by MCLBYTES.
const maxSockopt = 2048

// hostSockopt translates a NetBSD level and option name. Options the host
// does not have, and the NetBSD-only ones this kernel does not keep itself,
// give ENOPROTOOPT, as a kernel without the option answers.
func hostSockopt(level, name int) (int, int, netbsd.Errno) {
	llevel, lname, err := netbsd.SockoptToLinux(level, name)
	if err != nil {
		return 0, 0, netbsd.ENOPROTOOPT
	}
	return llevel, lname, 0
}

// setsockopt(s, level, name, val, valsize). SO_NOSIGPIPE, which Linux lacks,
// is kept by the socket.
func (cl *call) sysSetsockopt() (int64, netbsd.Errno) {
	_, f, errno := cl.sockArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	level, name, valsize := int(cl.int(1)), int(cl.int(2)), cl.uint(4)
	if valsize > maxSockopt {
		return 0, netbsd.EINVAL
	}
	val, errno := cl.copyin(cl.ptr(3), int(valsize))
	if errno != 0 {
		return 0, errno
	}

	if level == netbsd.SOL_SOCKET && name == netbsd.SO_NOSIGPIPE {
		if len(val) < 4 {
			return 0, netbsd.EINVAL
		}
		f.sock.mu.Lock()
		f.sock.noSigpipe = binary.LittleEndian.Uint32(val) != 0
		f.sock.mu.Unlock()
		return 0, 0
	}
	llevel, lname, errno := hostSockopt(level, name)
	if errno != 0 {
		return 0, errno
	}
	hval, err := netbsd.SockoptValueToLinux(llevel, lname, val)
	if err != nil {
		return 0, netbsd.EINVAL
	}
	return 0, toErrno(unix.SetsockoptString(f.fd, llevel, lname, string(hval)))
}

// getsockopt(s, level, name, val, avalsize). The value is cut to *avalsize,
// and the length written back is what was copied, as NetBSD does.
func (cl *call) sysGetsockopt() (int64, netbsd.Errno) {
	_, f, errno := cl.sockArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	level, name, valp, alenp := int(cl.int(1)), int(cl.int(2)), cl.ptr(3), cl.ptr(4)
	var alen int32
	if valp != 0 {
		if alen, errno = cl.copyinInt(alenp); errno != 0 {
			return 0, errno
		}
		if alen < 0 {
			return 0, netbsd.EINVAL
		}
	}

	var val []byte
	if level == netbsd.SOL_SOCKET && name == netbsd.SO_NOSIGPIPE {
		f.sock.mu.Lock()
		on := f.sock.noSigpipe
		f.sock.mu.Unlock()
		val = intBytes(0)
		if on {
			val = intBytes(1)
		}
	} else {
		llevel, lname, errno := hostSockopt(level, name)
		if errno != 0 {
			return 0, errno
		}
		hval, errno := getsockopt(f.fd, llevel, lname)
		if errno != 0 {
			return 0, errno
		}
		v, err := netbsd.SockoptValueFromLinux(llevel, lname, hval)
		if err != nil {
			return 0, netbsd.EINVAL
		}
		val = v
	}
	if valp == 0 {
		return 0, 0
	}
	val = val[:min(len(val), int(alen))]
	if errno := cl.copyout(valp, val); errno != 0 {
		return 0, errno
	}
	return 0, cl.copyoutInt(alenp, int32(len(val)))
}

// getsockopt reads a host option value of any type, which x/sys/unix only
// offers per type.
func getsockopt(fd, level, name int) ([]byte, netbsd.Errno) {
	buf := make([]byte, 256)
	n := uint32(len(buf))
	_, _, en := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
	if en != 0 {
		return nil, netbsd.ErrnoFromLinux(en)
	}
	return buf[:min(int(n), len(buf))], 0
}
