package rumpserver

import (
	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// Control messages: descriptor passing between rump processes over AF_LOCAL
// sockets. A descriptor sent is the host descriptor of the sender's file;
// one received is a new host descriptor, wrapped in a new file. Received
// files therefore do not share the sender's NetBSD-only flags (O_NONBLOCK
// as the kernel keeps it, O_NOSIGPIPE), which on NetBSD travel with the
// file.

// controlArg copies in the control data of a message to send and returns it
// in the host's form, with the files whose descriptors it carries; the
// caller releases them once the message is sent.
func (cl *call) controlArg(m netbsd.Msghdr) ([]byte, []*file, netbsd.Errno) {
	if m.Control == 0 || m.Controllen == 0 {
		return nil, nil, 0
	}
	if m.Controllen > maxControl {
		return nil, nil, netbsd.EINVAL
	}
	b, errno := cl.copyin(m.Control, int(m.Controllen))
	if errno != 0 {
		return nil, nil, errno
	}
	msgs, err := netbsd.ParseControl(b)
	if err != nil {
		return nil, nil, netbsd.EINVAL
	}

	var held []*file
	var out []netbsd.Cmsg
	for _, c := range msgs {
		if c.Level != netbsd.SOL_SOCKET || c.Type != netbsd.SCM_RIGHTS {
			return nil, held, netbsd.EINVAL
		}
		var hostFds []int32
		for _, fd := range netbsd.ParseRights(c.Data) {
			_, f, errno := cl.p.getFile(fd)
			if errno != 0 {
				return nil, held, errno
			}
			held = append(held, f)
			if f.fd < 0 {
				// The console has no host descriptor to pass.
				return nil, held, netbsd.EOPNOTSUPP
			}
			hostFds = append(hostFds, int32(f.fd))
		}
		out = append(out, netbsd.Cmsg{Level: unix.SOL_SOCKET, Type: unix.SCM_RIGHTS,
			Data: netbsd.EncodeRights(hostFds)})
	}
	return netbsd.EncodeLinuxControl(out), held, 0
}

// controlToNetBSD rewrites received host control data for the client,
// within room bytes, and reports whether anything was left out.
func (cl *call) controlToNetBSD(oob []byte, room int, cloexec bool) ([]byte, bool) {
	if len(oob) == 0 {
		return nil, false
	}
	msgs, err := netbsd.ParseLinuxControl(oob)
	if err != nil {
		return nil, true
	}
	var out []byte
	truncated := false
	for _, c := range msgs {
		nc, ok := cl.cmsgToNetBSD(c, cloexec)
		if !ok {
			truncated = true
			continue
		}
		enc := netbsd.EncodeControl([]netbsd.Cmsg{nc})
		if len(out)+len(enc) > room {
			truncated = true
			cl.closeRights(nc)
			continue
		}
		out = append(out, enc...)
	}
	return out, truncated
}

// cmsgToNetBSD translates one received control message. Descriptors are
// installed in the process; those that do not fit its table are closed, and
// the message then reports false.
func (cl *call) cmsgToNetBSD(c netbsd.Cmsg, cloexec bool) (netbsd.Cmsg, bool) {
	if c.Level != unix.SOL_SOCKET || c.Type != unix.SCM_RIGHTS {
		nc, err := netbsd.CmsgFromLinux(c)
		return nc, err == nil
	}
	var fds []int32
	ok := true
	for _, hfd := range netbsd.ParseRights(c.Data) {
		fd, errno := cl.installHost(int(hfd), cloexec)
		if errno != 0 {
			ok = false
			continue
		}
		fds = append(fds, fd)
	}
	return netbsd.Cmsg{Level: netbsd.SOL_SOCKET, Type: netbsd.SCM_RIGHTS,
		Data: netbsd.EncodeRights(fds)}, ok
}

// installHost wraps a received host descriptor and installs it; on failure
// the descriptor is closed.
func (cl *call) installHost(hfd int, cloexec bool) (int32, netbsd.Errno) {
	if err := unix.SetNonblock(hfd, true); err != nil {
		unix.Close(hfd)
		return -1, toErrno(err)
	}
	var f *file
	if kind := hostFileKind(hfd); kind == kindSocket {
		family, typ := netbsd.AF_LOCAL, netbsd.SOCK_STREAM
		if d, err := unix.GetsockoptInt(hfd, unix.SOL_SOCKET, unix.SO_DOMAIN); err == nil {
			if nd, err := netbsd.FamilyFromLinux(d); err == nil {
				family = nd
			}
		}
		if t, err := unix.GetsockoptInt(hfd, unix.SOL_SOCKET, unix.SO_TYPE); err == nil {
			typ = t
		}
		f = newSocketFile(cl.k, hfd, family, typ)
	} else {
		f = newFile(cl.k, hfd, kind)
	}
	defer f.release()
	return cl.p.install(f, cloexec, 0)
}

// closeRights closes the descriptors a translated SCM_RIGHTS message
// installed, when the message cannot be delivered.
func (cl *call) closeRights(c netbsd.Cmsg) {
	if c.Level != netbsd.SOL_SOCKET || c.Type != netbsd.SCM_RIGHTS {
		return
	}
	for _, fd := range netbsd.ParseRights(c.Data) {
		cl.p.closeFd(fd)
	}
}
