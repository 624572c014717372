package emulate

import (
	"context"
	"encoding/binary"
	"errors"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/notify"
)

// sendmsg and recvmsg. The target's message is read up front and rebuilt
// in NetBSD form in staging: its data gathered into one buffer, its address
// and control messages translated. Descriptors passed with SCM_RIGHTS must
// be rump descriptors and travel as such; a host descriptor cannot enter the
// rump kernel (EOPNOTSUPP). Descriptors received are not given shadows yet:
// they are closed and the message reports MSG_CTRUNC.

func init() {
	handlers[unix.SYS_SENDMSG] = sendmsgHandler
	handlers[unix.SYS_RECVMSG] = recvmsgHandler
	handlers[unix.SYS_SENDMMSG] = mmsgHandler(true)
	handlers[unix.SYS_RECVMMSG] = mmsgHandler(false)
}

// mmsgHandler serves sendmmsg and recvmmsg as a sendmsg or recvmsg per
// message, each message's length written into its mmsghdr. The first
// message waits as the socket does; the others are taken only if they can
// be without waiting (recvmmsg's MSG_WAITFORONE, which is how it is used;
// its timeout is not served). An error after the first message ends the
// batch with the count so far, as on Linux.
func mmsgHandler(send bool) handler {
	return func(ctx context.Context, c *Call) Reply {
		fd, ok := c.rumpFD(0)
		if !ok {
			return Reply{Continue: true}
		}
		vec, n, flags := c.N.Args[1], min(uint64(uint32(c.N.Args[2])), 1024), int(c.arg(3))
		done := int64(0)
		for i := range n {
			addr := vec + i*netbsd.LinuxMmsghdrSize
			f := flags
			if i > 0 {
				f |= unix.MSG_DONTWAIT
			}
			var r Reply
			if send {
				r = c.sendmsg(ctx, fd, addr, f)
			} else {
				r = c.recvmsg(ctx, fd, addr, f)
			}
			if r.Sent {
				return r
			}
			if r.Errno != 0 {
				if done > 0 {
					break
				}
				return r
			}
			var msgLen [4]byte
			binary.LittleEndian.PutUint32(msgLen[:], uint32(r.Value))
			if err := c.copyOut(addr+netbsd.LinuxMsghdrSize, msgLen[:]); err != nil {
				return Reply{Errno: unix.EFAULT}
			}
			done++
		}
		return Reply{Value: done}
	}
}

// maxControl bounds the control buffer of one message.
const maxControl = 64 << 10

// readMsghdr reads the target's struct msghdr at addr and its iovecs.
func (c *Call) readMsghdr(addr uint64) (netbsd.LinuxMsghdr, []iovec, uint64, unix.Errno) {
	raw := make([]byte, netbsd.LinuxMsghdrSize)
	if err := notify.ReadMemory(c.N.PID, addr, raw); err != nil {
		return netbsd.LinuxMsghdr{}, nil, 0, unix.EFAULT
	}
	m, err := netbsd.DecodeLinuxMsghdr(raw)
	if err != nil {
		return m, nil, 0, unix.EINVAL
	}
	if m.Iovlen > 1024 || m.Controllen > maxControl {
		return m, nil, 0, unix.EMSGSIZE
	}
	iov, errno := c.iovecs(m.Iov, int(m.Iovlen))
	if errno != 0 {
		return m, nil, 0, errno
	}
	var total uint64
	for _, v := range iov {
		total = min(total+min(v.len, maxIO), maxIO) // a sum that cannot wrap
	}
	return m, iov, total, 0
}

func sendmsgHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	return c.sendmsg(ctx, fd, c.N.Args[1], int(c.arg(2)))
}

// sendmsg sends the message at msgAddr in the target on rump socket fd with
// Linux flags linuxFlags.
func (c *Call) sendmsg(ctx context.Context, fd, msgAddr uint64, linuxFlags int) Reply {
	flags, err := msgFlags(linuxFlags)
	if err != nil {
		return Reply{Errno: unix.EOPNOTSUPP}
	}
	m, iov, total, errno := c.readMsghdr(msgAddr)
	if errno != 0 {
		return Reply{Errno: errno}
	}
	data := make([]byte, total)
	if err := gather(c.N.PID, iov, data); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	var s staged
	defer s.release()
	var nm netbsd.Msghdr
	if m.Name != 0 && m.Namelen > 0 {
		a, alen, r, ok := c.sockaddrIn(&s, m.Name, uint64(m.Namelen))
		if !ok {
			return r
		}
		nm.Name, nm.Namelen = a, uint32(alen)
	}
	if m.Controllen > 0 {
		ctl, r := c.controlIn(m.Control, m.Controllen)
		if r.Errno != 0 {
			return r
		}
		if len(ctl) > 0 {
			a, err := c.stage(&s, ctl)
			if err != nil {
				return Reply{Errno: unix.ENOMEM}
			}
			nm.Control, nm.Controllen = a, uint32(len(ctl))
		}
	}
	da, err := c.stage(&s, data)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	iovBuf := make([]byte, netbsd.IovecSize)
	binary.LittleEndian.PutUint64(iovBuf, da)
	binary.LittleEndian.PutUint64(iovBuf[8:], uint64(len(data)))
	ia, err := c.stage(&s, iovBuf)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	nm.Iov, nm.Iovlen = ia, 1
	ma, err := c.stage(&s, nm.Encode())
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	return c.sending(ctx, fd, len(data), flags, linuxFlags&unix.MSG_NOSIGNAL != 0,
		func(try uint64) Reply { return c.rump(ctx, netbsd.SYS_SENDMSG, fd, ma, try) })
}

// controlIn reads and translates the target's control messages. Rights
// must name rump descriptors, which are replaced by their numbers in the
// rump kernel.
func (c *Call) controlIn(addr, n uint64) ([]byte, Reply) {
	raw := make([]byte, n)
	if err := notify.ReadMemory(c.N.PID, addr, raw); err != nil {
		return nil, Reply{Errno: unix.EFAULT}
	}
	msgs, err := netbsd.ParseLinuxControl(raw)
	if err != nil {
		return nil, Reply{Errno: unix.EINVAL}
	}
	var out []netbsd.Cmsg
	for _, m := range msgs {
		if m.Level == unix.SOL_SOCKET && m.Type == unix.SCM_RIGHTS {
			fds := netbsd.ParseRights(m.Data)
			for i, fd := range fds {
				r, ok := c.Shadows.Lookup(int(fd))
				if !ok {
					return nil, Reply{Errno: unix.EOPNOTSUPP} // a host descriptor
				}
				fds[i] = r
			}
			m.Data = netbsd.EncodeRights(fds)
		}
		nb, err := netbsd.CmsgFromLinux(m)
		if errors.Is(err, netbsd.ErrNoEquivalent) {
			return nil, Reply{Errno: unix.EOPNOTSUPP}
		}
		if err != nil {
			return nil, Reply{Errno: unix.EINVAL}
		}
		out = append(out, nb)
	}
	return netbsd.EncodeControl(out), Reply{}
}

func recvmsgHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	return c.recvmsg(ctx, fd, c.N.Args[1], int(c.arg(2)))
}

// recvmsg receives into the message at msgAddr in the target from rump
// socket fd with Linux flags linuxFlags.
func (c *Call) recvmsg(ctx context.Context, fd, msgAddr uint64, linuxFlags int) Reply {
	flags, err := msgFlags(linuxFlags &^ unix.MSG_WAITFORONE)
	if err != nil {
		return Reply{Errno: unix.EOPNOTSUPP}
	}
	m, iov, total, errno := c.readMsghdr(msgAddr)
	if errno != 0 {
		return Reply{Errno: errno}
	}
	withName := m.Name != 0 && m.Namelen > 0
	got, r := c.receive(ctx, fd, total, flags, withName,
		func(s *staged, data, name uint64, got *received) (uint64, Reply) {
			var nm netbsd.Msghdr
			if withName {
				nm.Name, nm.Namelen = name, uint32(len(got.name.buf))
			}
			if m.Controllen > 0 {
				got.control = make([]byte, m.Controllen)
				a, err := c.stage(s, got.control)
				if err != nil {
					return 0, Reply{Errno: unix.ENOMEM}
				}
				nm.Control, nm.Controllen = a, uint32(len(got.control))
			}
			iovBuf := make([]byte, netbsd.IovecSize)
			binary.LittleEndian.PutUint64(iovBuf, data)
			binary.LittleEndian.PutUint64(iovBuf[8:], total)
			ia, err := c.stage(s, iovBuf)
			if err != nil {
				return 0, Reply{Errno: unix.ENOMEM}
			}
			nm.Iov, nm.Iovlen = ia, 1
			got.msg = nm.Encode()
			ma, err := c.stage(s, got.msg)
			if err != nil {
				return 0, Reply{Errno: unix.ENOMEM}
			}
			return ma, Reply{}
		})
	if r.Errno != 0 || r.Sent {
		return r
	}
	out, err := netbsd.DecodeMsghdr(got.msg)
	if err != nil {
		return Reply{Errno: unix.EIO}
	}
	if err := c.Valid(); err != nil {
		return Reply{Sent: true}
	}
	if err := scatter(c.N.PID, iov, got.data); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	lm := m
	// Only these report on the message received.
	outFlags, _ := netbsd.MsgFlagsToLinux(int(out.Flags))
	outFlags &= unix.MSG_TRUNC | unix.MSG_CTRUNC | unix.MSG_EOR | unix.MSG_OOB
	if withName {
		n := min(int(out.Namelen), len(got.name.buf))
		sa, err := netbsd.SockaddrToLinux(got.name.buf[:n])
		if err != nil || n == 0 {
			sa = nil
		}
		if err := c.copyOut(m.Name, sa[:min(len(sa), int(m.Namelen))]); err != nil {
			return Reply{Errno: unix.EFAULT}
		}
		lm.Namelen = uint32(len(sa))
	} else {
		lm.Namelen = 0
	}
	lm.Controllen = 0
	if m.Controllen > 0 && out.Controllen > 0 {
		ctl, truncated := c.controlOut(ctx, got.control[:min(int(out.Controllen), len(got.control))],
			int(m.Controllen))
		if truncated {
			outFlags |= unix.MSG_CTRUNC
		}
		if err := c.copyOut(m.Control, ctl); err != nil {
			return Reply{Errno: unix.EFAULT}
		}
		lm.Controllen = uint64(len(ctl))
	}
	lm.Flags = int32(outFlags)
	if err := c.copyOut(msgAddr, lm.Encode()); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	return Reply{Value: got.n}
}

// controlOut translates control messages the rump kernel delivered into at
// most room bytes of Linux ones. Received descriptors are closed: they
// would need shadows. It reports whether anything was left out.
func (c *Call) controlOut(ctx context.Context, raw []byte, room int) ([]byte, bool) {
	msgs, err := netbsd.ParseControl(raw)
	if err != nil {
		return nil, true
	}
	var out []netbsd.Cmsg
	truncated := false
	for _, m := range msgs {
		if m.Level == netbsd.SOL_SOCKET && m.Type == netbsd.SCM_RIGHTS {
			for _, fd := range netbsd.ParseRights(m.Data) {
				c.rump(ctx, netbsd.SYS_CLOSE, sint(fd))
			}
			truncated = true
			continue
		}
		lm, err := netbsd.CmsgToLinux(m)
		if err != nil {
			truncated = true
			continue
		}
		if len(netbsd.EncodeLinuxControl(append(out, lm))) > room {
			truncated = true
			break
		}
		out = append(out, lm)
	}
	return netbsd.EncodeLinuxControl(out), truncated
}
