package rumpserver

// Socket addresses.
//
// Inet and inet6 addresses are translated with the netbsd package and go to
// the host as they are. AF_LOCAL addresses are paths, and a path must be
// resolved under the root like any other, never by the host from the name
// the client gave: a symlink in it, or "..", could otherwise reach a host
// socket such as a container runtime's.
//
//   - connect and sendto resolve the whole path with O_PATH within the root,
//     which follows symlinks the way connect does, and hand the host
//     /proc/self/fd/N, a magic link to exactly the socket found.
//   - bind creates a name, so it resolves the parent directory within the
//     root and binds /proc/self/fd/N/name, N being that directory: the host
//     creates the socket under it and follows no link on the way (bind never
//     follows a final symlink; an existing name is EADDRINUSE).
//
// The directory descriptor of a bound socket stays open as long as the
// socket, which keeps the host's name for it unique among live sockets, so
// that the kernel's table can map every host name back to the name its
// process gave: getsockname, getpeername, accept and recvfrom report names
// in the client's terms, and host names nobody bound here as unnamed.

import (
	"bytes"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// maxSockaddr is the longest socket address NetBSD takes: sa_len is a byte.
const maxSockaddr = 255

// maxSunPath is the longest path the host binds or connects to.
const maxSunPath = 107

// sockaddrArg copies in the NetBSD socket address of namelen bytes at addr
// the way the NetBSD kernel takes one: a length above 255 or too short for a
// family gives EINVAL; sa_len is set to namelen, and a zero family byte with
// a small length byte is read as an old-style address whose first byte is
// the family (so a Linux AF_INET address works, and a Linux AF_INET6 one
// becomes NetBSD family 10, which nothing supports).
func (cl *call) sockaddrArg(addr uint64, namelen uint32) ([]byte, netbsd.Errno) {
	if namelen > maxSockaddr || namelen < 2 {
		return nil, netbsd.EINVAL
	}
	sa, errno := cl.copyin(addr, int(namelen))
	if errno != 0 {
		return nil, errno
	}
	if sa[1] == 0 && sa[0] < netbsd.AF_MAX {
		sa[1] = sa[0]
	}
	sa[0] = byte(namelen)
	return sa, 0
}

// localPath returns the path of an AF_LOCAL address.
func localPath(sa []byte) (string, netbsd.Errno) {
	path := sa[2:]
	if i := bytes.IndexByte(path, 0); i >= 0 {
		path = path[:i]
	}
	if len(path) == 0 {
		return "", netbsd.ENOENT
	}
	return string(path), 0
}

// peerAddr is a socket address to connect or send to, ready for the host.
type peerAddr struct {
	sa   unix.Sockaddr
	name string // the AF_LOCAL path as the client gave it
	fd   int    // the O_PATH descriptor of an AF_LOCAL socket, or -1
}

func (p peerAddr) close() {
	if p.fd >= 0 {
		unix.Close(p.fd)
	}
}

// peerArg turns the NetBSD address sa into one the host connects or sends
// to. Families other than inet, inet6 and local give EAFNOSUPPORT.
func (cl *call) peerArg(sa []byte) (peerAddr, netbsd.Errno) {
	switch sa[1] {
	case netbsd.AF_LOCAL:
		path, errno := localPath(sa)
		if errno != 0 {
			return peerAddr{}, errno
		}
		fd, errno := cl.openPath(netbsd.AT_FDCWD, path, false)
		if errno != 0 {
			return peerAddr{}, errno
		}
		return peerAddr{sa: &unix.SockaddrUnix{Name: fdPath(fd)}, name: path, fd: fd}, 0
	case netbsd.AF_INET, netbsd.AF_INET6:
		hsa, err := netbsd.ParseSockaddr(sa)
		if err != nil {
			return peerAddr{}, netbsd.EINVAL
		}
		return peerAddr{sa: hsa, fd: -1}, 0
	}
	return peerAddr{}, netbsd.EAFNOSUPPORT
}

// bindLocal binds the AF_LOCAL socket f to path, under the root.
func (cl *call) bindLocal(f *file, path string) netbsd.Errno {
	pa, errno := cl.openParent(netbsd.AT_FDCWD, path)
	if errno != 0 {
		return errno
	}
	if pa.dot {
		pa.close()
		return netbsd.EADDRINUSE
	}
	hostName := fdPath(pa.fd) + "/" + pa.name
	if len(hostName) > maxSunPath {
		pa.close()
		return netbsd.ENAMETOOLONG
	}

	f.sock.mu.Lock()
	defer f.sock.mu.Unlock()
	if f.sock.hostName != "" {
		pa.close()
		return netbsd.EINVAL
	}
	if err := unix.Bind(f.fd, &unix.SockaddrUnix{Name: hostName}); err != nil {
		pa.close()
		return toErrno(err)
	}
	f.sock.name, f.sock.hostName, f.sock.dirFd = path, hostName, pa.fd
	cl.k.registerUnixName(hostName, path)
	return 0
}

// netbsdAddr encodes a host socket address for the client. AF_LOCAL names
// are told in the client's terms; an address the netbsd package cannot
// encode comes back as an empty address of the socket's family.
func (cl *call) netbsdAddr(sa unix.Sockaddr, family int) []byte {
	if un, ok := sa.(*unix.SockaddrUnix); ok {
		return localAddr(cl.k.unixName(un.Name))
	}
	if sa != nil {
		if b, err := netbsd.EncodeSockaddr(sa); err == nil {
			return b
		}
	}
	return []byte{2, byte(family)}
}

// localAddr is the NetBSD form of an AF_LOCAL name as the client gave it:
// the path, NUL-terminated, after sa_len and the family; an empty name is
// an unnamed socket's two-byte address.
func localAddr(name string) []byte {
	if name == "" || len(name) > maxSockaddr-3 {
		return []byte{2, netbsd.AF_LOCAL}
	}
	b := make([]byte, 2+len(name)+1)
	b[0], b[1] = byte(len(b)), netbsd.AF_LOCAL
	copy(b[2:], name)
	return b
}

// copyoutAddr writes address sa to asa and its length to the socklen_t at
// alenp, the way NetBSD's copyout_sockname does: *alenp bounds the copy, and
// the length written back is what was copied. A NULL asa copies nothing.
func (cl *call) copyoutAddr(asa, alenp uint64, sa []byte) netbsd.Errno {
	if asa == 0 {
		return 0
	}
	n, errno := cl.copyinInt(alenp)
	if errno != 0 {
		return errno
	}
	if n < 0 {
		return netbsd.EINVAL
	}
	sa = sa[:min(int(n), len(sa))]
	if errno := cl.copyout(asa, sa); errno != 0 {
		return errno
	}
	return cl.copyoutInt(alenp, int32(len(sa)))
}
