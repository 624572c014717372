package emulate

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/notify"
)

// sendmsg and recvmsg. The target's message is read up front and rebuilt
// in NetBSD form in staging: its data gathered into one buffer, its address
// and control messages translated. Descriptors passed with SCM_RIGHTS must
// be rump descriptors and travel as such; a host descriptor cannot enter the
// rump kernel (EOPNOTSUPP). Descriptors received get shadows, as open and
// accept give them: a socket shadow for a socket, a file shadow for
// anything else, installed before the call is answered; the control data
// the target gets names the shadows.

func init() {
	handlers[unix.SYS_SENDMSG] = sendmsgHandler
	handlers[unix.SYS_RECVMSG] = recvmsgHandler
	handlers[unix.SYS_SENDMMSG] = sendmmsgHandler
	handlers[unix.SYS_RECVMMSG] = recvmmsgHandler
}

// maxBatch bounds the messages of one sendmmsg or recvmmsg, as Linux
// bounds them by UIO_MAXIOV.
const maxBatch = 1024

// sendmmsgHandler serves sendmmsg as a sendmsg per message, each message's
// length written into its mmsghdr. The first message waits as the socket
// does; the others are sent only if they can be without waiting. An error
// after the first message ends the batch with the count so far, as on
// Linux.
func sendmmsgHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	vec, n, flags := c.N.Args[1], min(uint64(uint32(c.N.Args[2])), maxBatch), int(c.arg(3))
	done := int64(0)
	for i := range n {
		addr := vec + i*netbsd.LinuxMmsghdrSize
		f := flags
		if i > 0 {
			f |= unix.MSG_DONTWAIT
		}
		r := c.sendmsg(ctx, fd, addr, f)
		if r.Sent {
			return r
		}
		if r.Errno != 0 {
			if done > 0 {
				break
			}
			return r
		}
		if err := c.putMsgLen(addr, r.Value); err != nil {
			return Reply{Errno: unix.EFAULT}
		}
		done++
	}
	return Reply{Value: done}
}

// recvmmsgHandler serves recvmmsg as Linux does, as a recvmsg per message:
// each waits as the socket does, but with MSG_WAITFORONE only the first. A
// timeout is checked after each message received, and ends the batch once
// it has expired; as on Linux, it does not end a wait for a message, which
// can outlast it. An error after the first message ends the batch with the
// count so far, and the time left is written back when a message came.
func recvmmsgHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	vec, n, flags := c.N.Args[1], min(uint64(uint32(c.N.Args[2])), maxBatch), int(c.arg(3))
	timeout := c.N.Args[4]
	var deadline time.Time
	if timeout != 0 {
		d, r, ok := c.timeoutArg(timeout)
		if !ok {
			return r
		}
		deadline = time.Now().Add(d)
	}
	var left time.Duration
	done := int64(0)
	for i := range n {
		addr := vec + i*netbsd.LinuxMmsghdrSize
		r := c.recvmsg(ctx, fd, addr, flags)
		if r.Sent {
			return r
		}
		if r.Errno != 0 {
			if done > 0 {
				break
			}
			return r
		}
		if err := c.putMsgLen(addr, r.Value); err != nil {
			return Reply{Errno: unix.EFAULT}
		}
		done++
		if flags&unix.MSG_WAITFORONE != 0 {
			flags |= unix.MSG_DONTWAIT
		}
		if timeout != 0 {
			if left = time.Until(deadline); left <= 0 {
				left = 0
				break
			}
		}
	}
	if timeout != 0 && done > 0 {
		ts := netbsd.EncodeTimespec(unix.NsecToTimespec(left.Nanoseconds()))
		if err := c.copyOut(timeout, ts); err != nil {
			return Reply{Errno: unix.EFAULT}
		}
	}
	return Reply{Value: done}
}

// timeoutArg reads the struct timespec at addr in the target as a duration,
// refusing one that is negative or whose nanoseconds are out of range
// (EINVAL), as Linux does.
func (c *Call) timeoutArg(addr uint64) (time.Duration, Reply, bool) {
	buf := make([]byte, netbsd.TimespecSize)
	if err := notify.ReadMemory(c.N.PID, addr, buf); err != nil {
		return 0, Reply{Errno: unix.EFAULT}, false
	}
	ts, _ := netbsd.DecodeTimespec(buf)
	if ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= int64(time.Second) {
		return 0, Reply{Errno: unix.EINVAL}, false
	}
	// A timeout beyond a century is for ever.
	const longest = 100 * 366 * 24 * time.Hour
	if ts.Sec >= int64(longest/time.Second) {
		return longest, Reply{}, true
	}
	return time.Duration(ts.Sec)*time.Second + time.Duration(ts.Nsec), Reply{}, true
}

// putMsgLen writes a message's length into the msg_len of its mmsghdr at
// addr in the target.
func (c *Call) putMsgLen(addr uint64, n int64) error {
	var msgLen [4]byte
	binary.LittleEndian.PutUint32(msgLen[:], uint32(n))
	return c.copyOut(addr+netbsd.LinuxMsghdrSize, msgLen[:])
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

// rightsRoom is the control buffer a receive on a local socket gets in the
// rump kernel, whatever the target's is: NetBSD bounds the control data of
// one message by MCLBYTES. Every descriptor a message brings therefore
// reaches hijackd, which delivers those the target's buffer holds and
// closes the others, with MSG_CTRUNC, as Linux does; NetBSD would close all
// of a message's descriptors when not all fit, and would report nothing to
// a target with no control buffer.
const rightsRoom = 2048

// recvmsg receives into the message at msgAddr in the target from rump
// socket fd with Linux flags linuxFlags.
func (c *Call) recvmsg(ctx context.Context, fd, msgAddr uint64, linuxFlags int) Reply {
	// Close-on-exec is the shadows' alone, as for open.
	cloexec := linuxFlags&unix.MSG_CMSG_CLOEXEC != 0
	flags, err := msgFlags(linuxFlags &^ (unix.MSG_WAITFORONE | unix.MSG_CMSG_CLOEXEC))
	if err != nil {
		return Reply{Errno: unix.EOPNOTSUPP}
	}
	m, iov, total, errno := c.readMsghdr(msgAddr)
	if errno != 0 {
		return Reply{Errno: errno}
	}
	withName := m.Name != 0 && m.Namelen > 0
	controlSize := int(m.Controllen)
	if sock := c.socket(fd); sock == nil || sock.kind.family == unix.AF_UNIX {
		controlSize = max(controlSize, rightsRoom)
	}
	got, r := c.receive(ctx, fd, total, flags, withName,
		func(s *staged, data, name uint64, got *received) (uint64, Reply) {
			var nm netbsd.Msghdr
			if withName {
				nm.Name, nm.Namelen = name, uint32(len(got.name.buf))
			}
			if controlSize > 0 {
				got.control = make([]byte, controlSize)
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
	var name []byte
	if withName {
		name = linuxName(got.name.buf, out.Namelen)
	}
	control := got.control[:min(int(out.Controllen), len(got.control))]
	if r := c.deliver(m, iov, got.data, name); r.Errno != 0 || r.Sent {
		// The descriptors the message brought have nowhere to go.
		c.closeRights(ctx, control)
		return r
	}
	lm := m
	// Only these report on the message received.
	outFlags, _ := netbsd.MsgFlagsToLinux(int(out.Flags))
	outFlags &= unix.MSG_TRUNC | unix.MSG_CTRUNC | unix.MSG_EOR | unix.MSG_OOB
	lm.Namelen = uint32(len(name))
	lm.Controllen = 0
	if len(control) > 0 {
		ctl, truncated := c.controlOut(ctx, control, int(m.Controllen), cloexec)
		if truncated {
			outFlags |= unix.MSG_CTRUNC
		}
		if len(ctl) > 0 {
			if err := c.copyOut(m.Control, ctl); err != nil {
				return Reply{Errno: unix.EFAULT}
			}
		}
		lm.Controllen = uint64(len(ctl))
	}
	lm.Flags = int32(outFlags)
	if err := c.copyOut(msgAddr, lm.Encode()); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	return Reply{Value: got.n}
}

// deliver writes the data and the sender's Linux address name of a message
// received into the target's buffers of message m, before any descriptor
// the message brought is installed, which is Linux's order: a message the
// target cannot take brings it none.
func (c *Call) deliver(m netbsd.LinuxMsghdr, iov []iovec, data, name []byte) Reply {
	if err := c.Valid(); err != nil {
		return Reply{Sent: true}
	}
	if err := scatter(c.N.PID, iov, data); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	if m.Name != 0 && m.Namelen > 0 {
		if err := c.copyOut(m.Name, name[:min(len(name), int(m.Namelen))]); err != nil {
			return Reply{Errno: unix.EFAULT}
		}
	}
	return Reply{}
}

// linuxName returns the Linux form of the first n bytes of NetBSD address
// buf, nil when there is none or Linux cannot express it.
func linuxName(buf []byte, n uint32) []byte {
	n = min(n, uint32(len(buf)))
	sa, err := netbsd.SockaddrToLinux(buf[:n])
	if err != nil || n == 0 {
		return nil
	}
	return sa
}

// controlOut translates control messages the rump kernel delivered into
// Linux ones, laid out in at most room bytes as Linux lays them out, and
// reports whether anything was left out. Descriptors received get shadows,
// close-on-exec with cloexec; those that do not fit are closed.
func (c *Call) controlOut(ctx context.Context, raw []byte, room int, cloexec bool) ([]byte, bool) {
	msgs, err := netbsd.ParseControl(raw)
	if err != nil {
		return nil, true
	}
	var out []byte
	truncated := false
	for _, m := range msgs {
		if m.Level == netbsd.SOL_SOCKET && m.Type == netbsd.SCM_RIGHTS {
			fds := netbsd.ParseRights(m.Data)
			nums := c.shadowRights(ctx, fds, netbsd.LinuxRightsFit(room-len(out)), cloexec)
			if len(nums) < len(fds) {
				truncated = true
			}
			if len(nums) > 0 {
				out, _ = netbsd.AppendLinuxCmsg(out, room, netbsd.Cmsg{Level: unix.SOL_SOCKET,
					Type: unix.SCM_RIGHTS, Data: netbsd.EncodeRights(nums)})
			}
			continue
		}
		lm, err := netbsd.CmsgToLinux(m)
		if err != nil {
			truncated = true
			continue
		}
		var cut bool
		out, cut = netbsd.AppendLinuxCmsg(out, room, lm)
		truncated = truncated || cut
	}
	return out, truncated
}

// closeRights closes the rump descriptors that control data raw, as the
// rump kernel delivered it, brings.
func (c *Call) closeRights(ctx context.Context, raw []byte) {
	msgs, _ := netbsd.ParseControl(raw)
	for _, m := range msgs {
		if m.Level != netbsd.SOL_SOCKET || m.Type != netbsd.SCM_RIGHTS {
			continue
		}
		for _, fd := range netbsd.ParseRights(m.Data) {
			c.rump(ctx, netbsd.SYS_CLOSE, sint(fd))
		}
	}
}

// shadowRights gives the first limit of rump descriptors fds, received in
// one message, shadows in the target without answering the call, and
// returns their numbers. The descriptors beyond limit are closed in the
// rump kernel, and so, as Linux stops at the first descriptor it cannot
// install, are all from the first that gets no shadow.
func (c *Call) shadowRights(ctx context.Context, fds []int32, limit int, cloexec bool) []int32 {
	var nums []int32
	watch := false
	for i, fd := range fds {
		if i < limit && len(nums) == i {
			num, socket, err := c.shadowRight(ctx, fd, cloexec)
			if err == nil {
				nums = append(nums, int32(num))
				watch = watch || socket
				continue
			}
		}
		c.rump(ctx, netbsd.SYS_CLOSE, sint(fd))
	}
	if watch {
		// The new sockets' readiness is the watcher's to find.
		c.Sockets.changed(ctx, c.Conn, c.Staging)
	}
	return nums
}

// shadowRight installs a shadow of received rump descriptor fd at a free
// number at or above fdoff, without answering the call, and returns the
// number and whether fd is a socket: a socket gets a socket shadow, which
// mirrors its readiness, anything else a file shadow. On failure fd is
// the caller's to close.
func (c *Call) shadowRight(ctx context.Context, fd int32, cloexec bool) (int, bool, error) {
	kind, socket := c.receivedKind(ctx, fd)
	num, err := c.Shadows.Reserve(c.PID, c.FDOff, fd)
	if err != nil {
		return -1, false, err
	}
	src := -1 // the session's file shadow
	if socket {
		shadow, err := fdinject.NewReadyShadow()
		if err != nil {
			c.Shadows.Remove(num)
			return -1, false, err
		}
		c.Sockets.add(fd, &Socket{shadow: shadow, kind: kind})
		src = shadow.FD()
	}
	if err := c.Replace(num, src, cloexec); err != nil {
		c.Shadows.Remove(num)
		c.Sockets.Remove(fd)
		return -1, false, err
	}
	return num, socket, nil
}

// receivedKind reports whether received rump descriptor fd is a socket, by
// its file type, and what kind: its type from SO_TYPE and its family from
// its name, since NetBSD has no SO_DOMAIN. What cannot be found out is
// taken to be a local stream socket's, the kind descriptors travel over.
func (c *Call) receivedKind(ctx context.Context, fd int32) (sockKind, bool) {
	var s staged
	defer s.release()
	st, _, ok := c.fstat(ctx, &s, sint(fd))
	if !ok || st.Mode&netbsd.S_IFMT != netbsd.S_IFSOCK {
		return sockKind{}, false
	}
	kind := sockKind{family: unix.AF_UNIX, typ: unix.SOCK_STREAM}
	val, err := c.stageSized(&s, 4)
	if err == nil && c.rump(ctx, netbsd.SYS_GETSOCKOPT, sint(fd), netbsd.SOL_SOCKET,
		netbsd.SO_TYPE, val.addr, val.sizeAddr).Errno == 0 && len(val.filled()) == 4 {
		typ, _ := netbsd.SocketTypeToLinux(int(binary.LittleEndian.Uint32(val.buf)))
		kind.typ = int32(typ)
	}
	name, err := c.stageSized(&s, maxSockaddr)
	if err == nil && c.rump(ctx, netbsd.SYS_GETSOCKNAME, sint(fd), name.addr,
		name.sizeAddr).Errno == 0 && len(name.filled()) >= 2 {
		if family, err := netbsd.FamilyToLinux(int(name.buf[1])); err == nil {
			kind.family = int32(family)
		}
	}
	kind.proto = defaultProto(kind.family, kind.typ, 0)
	return kind, true
}
