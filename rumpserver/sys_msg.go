package rumpserver

import (
	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// maxControl bounds the control data of one message, as NetBSD bounds it by
// MCLBYTES.
const maxControl = 2048

// msgFlags translates the NetBSD flags of a send or receive call into the
// host's, less the ones this kernel applies itself: MSG_DONTWAIT and
// MSG_NBIO (the host descriptor never blocks; nbio says whether the call
// may wait), MSG_WAITALL (waitall), and MSG_NOSIGNAL (nosignal; the host
// never raises SIGPIPE, the kernel raises it for the client). The output
// bits MSG_TRUNC and MSG_CTRUNC mean nothing on input and are dropped.
func msgFlags(flags int32) (host int, nbio, waitall, nosignal bool) {
	linux, dropped := netbsd.MsgFlagsToLinux(int(flags))
	nbio = linux&unix.MSG_DONTWAIT != 0 || dropped&netbsd.MSG_NBIO != 0
	waitall = linux&unix.MSG_WAITALL != 0
	nosignal = linux&unix.MSG_NOSIGNAL != 0
	host = linux &^ (unix.MSG_DONTWAIT | unix.MSG_WAITALL | unix.MSG_NOSIGNAL |
		unix.MSG_TRUNC | unix.MSG_CTRUNC | unix.MSG_CMSG_CLOEXEC)
	return host, nbio, waitall, nosignal
}

// sendData sends data, and oob with its first part, to the socket of f. A
// blocking send on a stream socket goes on until all of data is sent, as
// the kernel's sosend does; other sockets send one record.
func (cl *call) sendData(e *fdEntry, f *file, data, oob []byte, to unix.Sockaddr,
	flags int, nbio, nosignal bool) (int, netbsd.Errno) {
	stream := f.sock.typ == netbsd.SOCK_STREAM
	return cl.writeAll(e, f, data, nbio, nosignal, stream,
		func(rest []byte, _ int) (int, error) {
			n, err := unix.SendmsgN(f.fd, rest, oob, to, flags|unix.MSG_NOSIGNAL)
			if err == nil {
				oob = nil
			}
			return n, err
		})
}

// recvData receives into buf from the socket of f. With waitall a stream
// socket is read until buf is full, the peer shuts down, or an error comes
// after some data, which is then reported as data.
func (cl *call) recvData(e *fdEntry, f *file, buf, oob []byte, flags int, nbio,
	waitall bool) (n, oobn, rflags int, from unix.Sockaddr, errno netbsd.Errno) {
	for {
		var m int
		errno = cl.retry(e, f, unix.POLLIN, nbio, func() (err error) {
			m, oobn, rflags, from, err = unix.Recvmsg(f.fd, buf[n:], oob,
				flags|unix.MSG_CMSG_CLOEXEC)
			return err
		})
		if errno != 0 {
			if n > 0 {
				return n, 0, 0, from, 0
			}
			return 0, 0, 0, nil, errno
		}
		n += m
		oob = nil
		if !waitall || m == 0 || n >= len(buf) || f.sock.typ != netbsd.SOCK_STREAM {
			return n, oobn, rflags, from, 0
		}
	}
}

// destArg copies in the NetBSD address of namelen bytes at addr that a send
// call names and readies it for the host. The caller closes it.
func (cl *call) destArg(addr uint64, namelen uint32) (peerAddr, netbsd.Errno) {
	sa, errno := cl.sockaddrArg(addr, namelen)
	if errno != 0 {
		return peerAddr{}, errno
	}
	return cl.peerArg(sa)
}

// sendto(s, buf, len, flags, to, tolen).
func (cl *call) sysSendto() (int64, netbsd.Errno) {
	e, f, errno := cl.sockArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	length := cl.args[2]
	if length > maxIO && f.sock.typ != netbsd.SOCK_STREAM {
		return 0, netbsd.EMSGSIZE
	}
	data, errno := cl.copyin(cl.ptr(1), int(min(length, maxIO)))
	if errno != 0 {
		return 0, errno
	}
	var to unix.Sockaddr
	if cl.ptr(4) != 0 {
		peer, errno := cl.destArg(cl.ptr(4), cl.uint(5))
		if errno != 0 {
			return 0, errno
		}
		defer peer.close()
		to = peer.sa
	}
	flags, nbio, _, nosignal := msgFlags(cl.int(3))
	n, errno := cl.sendData(e, f, data, nil, to, flags, nbio, nosignal)
	return int64(n), errno
}

// recvfrom(s, buf, len, flags, from, fromlenaddr).
func (cl *call) sysRecvfrom() (int64, netbsd.Errno) {
	e, f, errno := cl.sockArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	flags, nbio, waitall, _ := msgFlags(cl.int(3))
	buf := make([]byte, min(cl.args[2], maxIO))
	n, _, _, from, errno := cl.recvData(e, f, buf, nil, flags, nbio, waitall)
	if errno != 0 {
		return 0, errno
	}
	if errno := cl.copyout(cl.ptr(1), buf[:n]); errno != 0 {
		return 0, errno
	}
	if cl.ptr(4) != 0 {
		if errno := cl.copyoutAddr(cl.ptr(4), cl.ptr(5), cl.fromAddr(from, f)); errno != 0 {
			return 0, errno
		}
	}
	return int64(n), 0
}

// fromAddr is the NetBSD form of a sender's address; a connected stream
// has none, and NetBSD reports a zero length then.
func (cl *call) fromAddr(from unix.Sockaddr, f *file) []byte {
	if from == nil {
		return nil
	}
	return cl.netbsdAddr(from, f.sock.family)
}

// msghdrArg copies in a NetBSD struct msghdr and its iovecs. More than
// IOV_MAX iovecs give EMSGSIZE, as NetBSD's sendmsg and recvmsg say.
func (cl *call) msghdrArg(addr uint64) (netbsd.Msghdr, []netbsd.Iovec, int, netbsd.Errno) {
	b, errno := cl.copyin(addr, netbsd.MsghdrSize)
	if errno != 0 {
		return netbsd.Msghdr{}, nil, 0, errno
	}
	m, err := netbsd.DecodeMsghdr(b)
	if err != nil {
		return netbsd.Msghdr{}, nil, 0, netbsd.EINVAL
	}
	if m.Iovlen > maxIovecs {
		return netbsd.Msghdr{}, nil, 0, netbsd.EMSGSIZE
	}
	iov, total, errno := cl.iovecs(m.Iov, m.Iovlen)
	return m, iov, total, errno
}

// sendmsg(s, msg, flags). Control data may carry SCM_RIGHTS, whose
// descriptors are the sender's rump descriptors; anything else, credentials
// among it, gives EINVAL, as NetBSD refuses credentials from a sender.
func (cl *call) sysSendmsg() (int64, netbsd.Errno) {
	e, f, errno := cl.sockArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	m, iov, total, errno := cl.msghdrArg(cl.ptr(1))
	if errno != 0 {
		return 0, errno
	}
	if total >= maxIO && f.sock.typ != netbsd.SOCK_STREAM {
		return 0, netbsd.EMSGSIZE
	}
	data, errno := cl.gather(iov)
	if errno != 0 {
		return 0, errno
	}

	var to unix.Sockaddr
	if m.Name != 0 && m.Namelen != 0 {
		peer, errno := cl.destArg(m.Name, m.Namelen)
		if errno != 0 {
			return 0, errno
		}
		defer peer.close()
		to = peer.sa
	}
	oob, held, errno := cl.controlArg(m)
	defer func() {
		for _, h := range held {
			h.release()
		}
	}()
	if errno != 0 {
		return 0, errno
	}
	flags, nbio, _, nosignal := msgFlags(cl.int(2))
	n, errno := cl.sendData(e, f, data, oob, to, flags, nbio, nosignal)
	return int64(n), errno
}

// recvmsg(s, msg, flags). Descriptors received are installed in the
// process, close-on-exec with MSG_CMSG_CLOEXEC; control messages that do not
// fit msg_controllen are dropped, their descriptors closed, and MSG_CTRUNC
// set. The header is written back with the lengths and flags.
func (cl *call) sysRecvmsg() (int64, netbsd.Errno) {
	e, f, errno := cl.sockArg(0)
	if errno != 0 {
		return 0, errno
	}
	defer f.release()
	m, iov, total, errno := cl.msghdrArg(cl.ptr(1))
	if errno != 0 {
		return 0, errno
	}
	flags, nbio, waitall, _ := msgFlags(cl.int(2))
	var oob []byte
	if m.Control != 0 && m.Controllen > 0 {
		oob = make([]byte, min(m.Controllen, maxControl)+64)
	}
	buf := make([]byte, total)
	n, oobn, rflags, from, errno := cl.recvData(e, f, buf, oob, flags, nbio,
		waitall && oob == nil)
	if errno != 0 {
		return 0, errno
	}
	if errno := cl.scatter(iov, buf[:n]); errno != 0 {
		return 0, errno
	}

	if m.Name != 0 {
		sa := cl.fromAddr(from, f)
		sa = sa[:min(len(sa), int(m.Namelen))]
		if errno := cl.copyout(m.Name, sa); errno != 0 {
			return 0, errno
		}
		m.Namelen = uint32(len(sa))
	}
	nflags, _ := netbsd.MsgFlagsFromLinux(rflags)
	ctl, truncated := cl.controlToNetBSD(oob[:oobn], int(m.Controllen),
		cl.int(2)&netbsd.MSG_CMSG_CLOEXEC != 0)
	if truncated {
		nflags |= netbsd.MSG_CTRUNC
	}
	if errno := cl.copyout(m.Control, ctl); errno != 0 {
		return 0, errno
	}
	m.Controllen = uint32(len(ctl))
	m.Flags = int32(nflags)
	return int64(n), cl.copyout(cl.ptr(1), m.Encode())
}
