package emulate

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/notify"
)

// The socket calls. A socket of a family the policy selects is made in the
// rump kernel; its shadow mirrors its readiness (sockstate.go). A call that
// would block in the rump kernel is first tried without blocking; when the
// socket is a blocking one it then waits for readiness in slices, between
// which the calling thread's signals are checked, so that a handled signal
// ends the wait with EINTR as it would on the host: the sysproxy protocol
// cannot cancel a call the rump kernel is blocked in.

func init() {
	for nr, h := range map[int]handler{
		unix.SYS_SOCKET:      socketHandler,
		unix.SYS_SOCKETPAIR:  socketpairHandler,
		unix.SYS_BIND:        addrCall(netbsd.SYS_BIND),
		unix.SYS_CONNECT:     connectHandler,
		unix.SYS_LISTEN:      fdCall(netbsd.SYS_LISTEN, 1),
		unix.SYS_ACCEPT:      acceptHandler,
		unix.SYS_ACCEPT4:     acceptHandler,
		unix.SYS_GETSOCKNAME: nameHandler(netbsd.SYS_GETSOCKNAME),
		unix.SYS_GETPEERNAME: nameHandler(netbsd.SYS_GETPEERNAME),
		unix.SYS_SETSOCKOPT:  setsockoptHandler,
		unix.SYS_GETSOCKOPT:  getsockoptHandler,
		unix.SYS_SHUTDOWN:    shutdownHandler,
		unix.SYS_SENDTO:      sendtoHandler,
		unix.SYS_RECVFROM:    recvfromHandler,
	} {
		handlers[nr] = h
	}
}

// maxSockaddr is room for any socket address the rump kernel returns.
const maxSockaddr = 128

// waitSlice is how long a blocking call waits in the rump kernel between
// looks at the calling thread's signals.
const waitSlice = 50 * time.Millisecond

// socket returns the socket behind rump descriptor fd, or nil.
func (c *Call) socket(fd uint64) *Socket { return c.Sockets.Lookup(int32(fd)) }

// newSocket gives new rump socket fd, made as like describes, a shadow and
// answers with its number.
func (c *Call) newSocket(ctx context.Context, fd int32, cloexec bool, like sockKind) Reply {
	shadow, err := fdinject.NewReadyShadow()
	if err != nil {
		c.rump(ctx, netbsd.SYS_CLOSE, sint(fd))
		return Reply{Errno: unix.ENFILE}
	}
	c.Sockets.add(fd, &Socket{shadow: shadow, kind: like})
	r := c.shadowFor(ctx, fd, cloexec)
	if !r.Sent || r.Errno != 0 {
		c.Sockets.Remove(fd)
		return r
	}
	// Its readiness is the watcher's to find.
	c.Sockets.changed(ctx, c.Conn, c.Staging)
	return r
}

// socketArgs translates the family and type of socket and socketpair.
// Close-on-exec is the shadows' alone.
func (c *Call) socketArgs() (family, typ uint64, r Reply, ok bool) {
	f, err := netbsd.FamilyFromLinux(int(c.arg(0)))
	if err != nil {
		return 0, 0, Reply{Errno: unix.EAFNOSUPPORT}, false
	}
	t, err := netbsd.SocketTypeFromLinux(int(c.arg(1)) &^ unix.SOCK_CLOEXEC)
	if err != nil {
		return 0, 0, Reply{Errno: unix.EINVAL}, false
	}
	return uint64(f), uint64(t), Reply{}, true
}

func socketHandler(ctx context.Context, c *Call) Reply {
	family, typ, r, ok := c.socketArgs()
	if !ok {
		return r
	}
	r = c.rump(ctx, netbsd.SYS___SOCKET30, family, typ, sint(c.arg(2)))
	if r.Errno != 0 {
		return r
	}
	return c.newSocket(ctx, int32(r.Value), c.arg(1)&unix.SOCK_CLOEXEC != 0,
		sockKind{c.arg(0), c.arg(1) & 0xf, defaultProto(c.arg(0), c.arg(1)&0xf, c.arg(2))})
}

// defaultProto is the protocol Linux reports for a socket made with proto.
func defaultProto(family, typ, proto int32) int32 {
	if proto != 0 || family != unix.AF_INET && family != unix.AF_INET6 {
		return proto
	}
	switch typ {
	case unix.SOCK_STREAM:
		return unix.IPPROTO_TCP
	case unix.SOCK_DGRAM:
		return unix.IPPROTO_UDP
	}
	return proto
}

// socketpairHandler makes the pair in the rump kernel. Its two shadows are
// installed with ADDFD alone, and their numbers written to the target
// before the call is answered.
func socketpairHandler(ctx context.Context, c *Call) Reply {
	family, typ, r, ok := c.socketArgs()
	if !ok {
		return r
	}
	var s staged
	defer s.release()
	buf := make([]byte, 8)
	addr, err := c.stage(&s, buf)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	r = c.rump(ctx, netbsd.SYS_SOCKETPAIR, family, typ, sint(c.arg(2)), addr)
	if r.Errno != 0 {
		return r
	}
	fds := [2]int32{int32(binary.LittleEndian.Uint32(buf)), int32(binary.LittleEndian.Uint32(buf[4:]))}
	cloexec := c.arg(1)&unix.SOCK_CLOEXEC != 0
	var nums [2]int
	for i, fd := range fds {
		shadow, err := fdinject.NewReadyShadow()
		if err == nil {
			nums[i], err = c.Shadows.Reserve(c.PID, c.FDOff, fd)
			if err != nil {
				shadow.Close()
			}
		}
		if err == nil {
			c.Sockets.add(fd, &Socket{shadow: shadow,
				kind: sockKind{c.arg(0), c.arg(1) & 0xf, c.arg(2)}})
			err = c.Replace(nums[i], shadow.FD(), cloexec)
			if err != nil {
				c.Shadows.Remove(nums[i])
				c.Sockets.Remove(fd)
			}
		}
		if err != nil {
			for j := range i {
				c.Shadows.Remove(nums[j])
				c.Sockets.Remove(fds[j])
			}
			c.rump(ctx, netbsd.SYS_CLOSE, sint(fds[0]))
			c.rump(ctx, netbsd.SYS_CLOSE, sint(fds[1]))
			return Reply{Errno: unix.EMFILE}
		}
	}
	c.Sockets.changed(ctx, c.Conn, c.Staging)
	out := make([]byte, 8)
	binary.LittleEndian.PutUint32(out, uint32(nums[0]))
	binary.LittleEndian.PutUint32(out[4:], uint32(nums[1]))
	if err := c.copyOut(c.N.Args[3], out); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	return Reply{}
}

// sized is a buffer the rump kernel fills, staged beside the socklen_t that
// gives its size on the way in and the length it filled on the way out.
type sized struct {
	buf, size      []byte
	addr, sizeAddr uint64
}

// stageSized stages an n-byte result buffer and its size.
func (c *Call) stageSized(s *staged, n int) (sized, error) {
	z := sized{buf: make([]byte, n), size: binary.LittleEndian.AppendUint32(nil, uint32(n))}
	var err error
	if z.addr, err = c.stage(s, z.buf); err == nil {
		z.sizeAddr, err = c.stage(s, z.size)
	}
	return z, err
}

// filled returns what the kernel wrote, bounded by the buffer.
func (z sized) filled() []byte {
	return z.buf[:min(int(binary.LittleEndian.Uint32(z.size)), len(z.buf))]
}

// sockaddrIn reads the Linux socket address of length alen at addr and
// stages it in NetBSD form.
func (c *Call) sockaddrIn(s *staged, addr, alen uint64) (uint64, uint64, Reply, bool) {
	if alen > 128 {
		return 0, 0, Reply{Errno: unix.EINVAL}, false
	}
	buf := make([]byte, alen)
	if err := notify.ReadMemory(c.N.PID, addr, buf); err != nil {
		return 0, 0, Reply{Errno: unix.EFAULT}, false
	}
	sa, err := netbsd.SockaddrFromLinux(buf)
	if err != nil {
		if strings.Contains(err.Error(), "equivalent") {
			return 0, 0, Reply{Errno: unix.EOPNOTSUPP}, false
		}
		return 0, 0, Reply{Errno: unix.EINVAL}, false
	}
	a, err := c.stage(s, sa)
	if err != nil {
		return 0, 0, Reply{Errno: unix.ENOMEM}, false
	}
	return a, uint64(len(sa)), Reply{}, true
}

// addrCall serves bind: a descriptor and a socket address.
func addrCall(nr netbsd.Sysno) handler {
	return func(ctx context.Context, c *Call) Reply {
		fd, ok := c.rumpFD(0)
		if !ok {
			return Reply{Continue: true}
		}
		var s staged
		defer s.release()
		a, alen, r, ok := c.sockaddrIn(&s, c.N.Args[1], c.N.Args[2])
		if !ok {
			return r
		}
		return c.rump(ctx, nr, fd, a, alen)
	}
}

// connectHandler serves connect. A nonblocking connect answers
// EINPROGRESS and leaves the shadow unwritable until it completes; a
// blocking one waits as connect describes.
func connectHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	var s staged
	defer s.release()
	a, alen, r, ok := c.sockaddrIn(&s, c.N.Args[1], c.N.Args[2])
	if !ok {
		return r
	}
	r = c.connect(ctx, fd, a, alen)
	if sock := c.socket(fd); sock != nil {
		if r.Errno == unix.EINPROGRESS || r.Errno == unix.EALREADY {
			c.lost(ctx, sock, false, true)
		} else {
			c.lost(ctx, sock, true, true) // connected or failed: look again
		}
	}
	return r
}

// connect connects rump socket fd to the staged address a. A blocking
// socket is made nonblocking for the call, so that the wait for the
// connection can end with EINTR when the thread gets a signal it handles,
// as the host's connect would; the connection then goes on, as on the host.
func (c *Call) connect(ctx context.Context, fd, a, alen uint64) Reply {
	fl := c.rump(ctx, netbsd.SYS_FCNTL, fd, netbsd.F_GETFL, 0)
	if fl.Errno != 0 || fl.Value&netbsd.O_NONBLOCK != 0 {
		return c.rump(ctx, netbsd.SYS_CONNECT, fd, a, alen)
	}
	setfl := func(v int64) { c.rump(ctx, netbsd.SYS_FCNTL, fd, netbsd.F_SETFL, uint64(v)) }
	setfl(fl.Value | netbsd.O_NONBLOCK)
	defer setfl(fl.Value)
	r := c.rump(ctx, netbsd.SYS_CONNECT, fd, a, alen)
	if r.Errno != unix.EINPROGRESS {
		return r
	}
	if w := c.wait(ctx, fd, unix.POLLOUT); w.Errno != 0 || w.Sent {
		// The connect goes on in the rump kernel: done again, it
		// would fail with EALREADY. Interrupted, the program
		// expects as much.
		w.Park = false
		return w
	}
	var s staged
	defer s.release()
	val, err := c.stageSized(&s, 4)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	if r := c.rump(ctx, netbsd.SYS_GETSOCKOPT, fd, netbsd.SOL_SOCKET, netbsd.SO_ERROR,
		val.addr, val.sizeAddr); r.Errno != 0 {
		return r
	}
	if e := netbsd.Errno(binary.LittleEndian.Uint32(val.buf)); e != 0 {
		return Reply{Errno: netbsd.ErrnoToLinux(e)}
	}
	return Reply{}
}

// lost is told that sock may have lost readiness for reading or writing:
// the shadow shows it no longer and the watcher polls for it.
func (c *Call) lost(ctx context.Context, sock *Socket, read, write bool) {
	r, w := sock.shadow.State()
	if (!read || !r) && (!write || !w) {
		return
	}
	sock.shadow.Set(r && !read, w && !write)
	c.Sockets.changed(ctx, c.Conn, c.Staging)
}

// blocking reports whether rump descriptor fd blocks.
func (c *Call) blocking(ctx context.Context, fd uint64) bool {
	r := c.rump(ctx, netbsd.SYS_FCNTL, fd, netbsd.F_GETFL, 0)
	return r.Errno == 0 && r.Value&netbsd.O_NONBLOCK == 0
}

// wait waits until rump descriptor fd is ready for events, or a signal the
// thread handles is pending (EINTR), or the call is withdrawn.
func (c *Call) wait(ctx context.Context, fd uint64, events int16) Reply {
	var s staged
	defer s.release()
	buf := netbsd.EncodePollFds([]unix.PollFd{{Fd: int32(fd), Events: events}})
	addr, err := c.stage(&s, buf)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	for {
		r := c.rump(ctx, netbsd.SYS_POLL, addr, 1, uint64(waitSlice.Milliseconds()))
		if r.Errno != 0 || r.Value > 0 {
			return r
		}
		if c.Valid() != nil {
			return Reply{Sent: true}
		}
		if interrupted(c.N.PID) {
			return Reply{Errno: unix.EINTR}
		}
		if c.HandingOff != nil && c.HandingOff() {
			return Reply{Errno: unix.EINTR, Park: true}
		}
	}
}

// interrupted reports whether thread tid has a signal pending that it
// neither blocks nor ignores and handles: one the host would interrupt a
// blocking call for. A fatal one needs no check: it kills the thread, and
// the notification is withdrawn.
func interrupted(tid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", tid))
	if err != nil {
		return false
	}
	var pnd, shd, blk, cgt uint64
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":\t")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			continue
		}
		switch k {
		case "SigPnd":
			pnd = n
		case "ShdPnd":
			shd = n
		case "SigBlk":
			blk = n
		case "SigCgt":
			cgt = n
		}
	}
	return (pnd|shd)&^blk&cgt != 0
}

// acceptHandler serves accept and accept4 with NetBSD's paccept.
func acceptHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	var linuxFlags int
	if c.N.Nr == unix.SYS_ACCEPT4 {
		linuxFlags = int(c.arg(3))
		if linuxFlags&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 {
			return Reply{Errno: unix.EINVAL}
		}
	}
	flags, _ := netbsd.SocketFlagsFromLinux(linuxFlags &^ unix.SOCK_CLOEXEC)
	var s staged
	defer s.release()
	name, err := c.stageSized(&s, maxSockaddr)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	sock := c.socket(fd)
	var r Reply
	for {
		// The listener is polled first, so paccept does not block
		// unless another thread takes the connection in between.
		r = c.rump(ctx, netbsd.SYS_POLL, c.pollArg(&s, fd, unix.POLLIN), 1, 0)
		if r.Errno == 0 && r.Value > 0 {
			r = c.rump(ctx, netbsd.SYS_PACCEPT, fd, name.addr, name.sizeAddr, 0, uint64(flags))
			break
		}
		if r.Errno != 0 {
			return r
		}
		if !c.blocking(ctx, fd) {
			r = Reply{Errno: unix.EAGAIN}
			break
		}
		if w := c.wait(ctx, fd, unix.POLLIN); w.Errno != 0 || w.Sent {
			return w
		}
	}
	if sock != nil {
		c.lost(ctx, sock, true, false)
	}
	if r.Errno != 0 {
		return r
	}
	newfd := int32(r.Value)
	if c.N.Args[1] != 0 {
		if res := c.nameOut(name, c.N.Args[1], c.N.Args[2]); res.Errno != 0 {
			c.rump(ctx, netbsd.SYS_CLOSE, sint(newfd))
			return res
		}
	}
	var like sockKind
	if sock != nil {
		like = sock.kind
	}
	return c.newSocket(ctx, newfd, linuxFlags&unix.SOCK_CLOEXEC != 0, like)
}

// pollArg stages one struct pollfd.
func (c *Call) pollArg(s *staged, fd uint64, events int16) uint64 {
	a, err := c.stage(s, netbsd.EncodePollFds([]unix.PollFd{{Fd: int32(fd), Events: events}}))
	if err != nil {
		return 0
	}
	return a
}

// nameOut writes the NetBSD address in name, of the length in lenBuf, to
// the target's buffer at addr, of the length at lenAddr, as Linux does:
// truncated to the buffer, with the full length written back.
func (c *Call) nameOut(name sized, addr, lenAddr uint64) Reply {
	sa, err := netbsd.SockaddrToLinux(name.filled())
	if err != nil {
		sa = nil // an address Linux cannot express: none
	}
	var ulen [4]byte
	if err := notify.ReadMemory(c.N.PID, lenAddr, ulen[:]); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	room := int(int32(binary.LittleEndian.Uint32(ulen[:])))
	if room < 0 {
		return Reply{Errno: unix.EINVAL}
	}
	if err := c.copyOut(addr, sa[:min(room, len(sa))]); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	binary.LittleEndian.PutUint32(ulen[:], uint32(len(sa)))
	if err := c.copyOut(lenAddr, ulen[:]); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	return Reply{}
}

// nameHandler serves getsockname and getpeername.
func nameHandler(nr netbsd.Sysno) handler {
	return func(ctx context.Context, c *Call) Reply {
		fd, ok := c.rumpFD(0)
		if !ok {
			return Reply{Continue: true}
		}
		var s staged
		defer s.release()
		name, err := c.stageSized(&s, maxSockaddr)
		if err != nil {
			return Reply{Errno: unix.ENOMEM}
		}
		if r := c.rump(ctx, nr, fd, name.addr, name.sizeAddr); r.Errno != 0 {
			return r
		}
		return c.nameOut(name, c.N.Args[1], c.N.Args[2])
	}
}

func setsockoptHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	level, name := int(c.arg(1)), int(c.arg(2))
	nlevel, nname, err := netbsd.SockoptFromLinux(level, name)
	if err != nil {
		return Reply{Errno: unix.ENOPROTOOPT}
	}
	vlen := c.N.Args[4]
	if vlen > 4096 {
		return Reply{Errno: unix.EINVAL}
	}
	val := make([]byte, vlen)
	if err := notify.ReadMemory(c.N.PID, c.N.Args[3], val); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	nval, err := netbsd.SockoptValueFromLinux(level, name, val)
	if err != nil {
		return Reply{Errno: unix.EINVAL}
	}
	var s staged
	defer s.release()
	a, err := c.stage(&s, nval)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	return c.rump(ctx, netbsd.SYS_SETSOCKOPT, fd, uint64(nlevel), uint64(nname), a,
		uint64(len(nval)))
}

func getsockoptHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	level, name := int(c.arg(1)), int(c.arg(2))
	if sock := c.socket(fd); sock != nil && level == unix.SOL_SOCKET &&
		(name == unix.SO_DOMAIN || name == unix.SO_PROTOCOL) {
		// NetBSD has neither; the program said what it made.
		v := sock.kind.family
		if name == unix.SO_PROTOCOL {
			v = sock.kind.proto
		}
		return c.intOption(v)
	}
	nlevel, nname, err := netbsd.SockoptFromLinux(level, name)
	if err != nil {
		return Reply{Errno: unix.ENOPROTOOPT}
	}
	var ulen [4]byte
	if err := notify.ReadMemory(c.N.PID, c.N.Args[4], ulen[:]); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	room := int(int32(binary.LittleEndian.Uint32(ulen[:])))
	if room < 0 {
		return Reply{Errno: unix.EINVAL}
	}
	var s staged
	defer s.release()
	val, err := c.stageSized(&s, 256)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	if r := c.rump(ctx, netbsd.SYS_GETSOCKOPT, fd, uint64(nlevel), uint64(nname),
		val.addr, val.sizeAddr); r.Errno != 0 {
		return r
	}
	lval, err := netbsd.SockoptValueToLinux(level, name, val.filled())
	if err != nil {
		return Reply{Errno: unix.EINVAL}
	}
	out := lval[:min(room, len(lval))]
	if err := c.copyOut(c.N.Args[3], out); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	binary.LittleEndian.PutUint32(ulen[:], uint32(len(out)))
	if err := c.copyOut(c.N.Args[4], ulen[:]); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	return Reply{}
}

// intOption answers getsockopt with int v, as much of it as the caller's
// buffer holds.
func (c *Call) intOption(v int32) Reply {
	var ulen [4]byte
	if err := notify.ReadMemory(c.N.PID, c.N.Args[4], ulen[:]); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	room := int(int32(binary.LittleEndian.Uint32(ulen[:])))
	if room < 0 {
		return Reply{Errno: unix.EINVAL}
	}
	out := binary.LittleEndian.AppendUint32(nil, uint32(v))[:min(room, 4)]
	if err := c.copyOut(c.N.Args[3], out); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	binary.LittleEndian.PutUint32(ulen[:], uint32(len(out)))
	if err := c.copyOut(c.N.Args[4], ulen[:]); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	return Reply{}
}

func shutdownHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	// SHUT_RD, SHUT_WR and SHUT_RDWR are 0, 1 and 2 on both systems.
	r := c.rump(ctx, netbsd.SYS_SHUTDOWN, fd, sint(c.arg(1)))
	if sock := c.socket(fd); sock != nil {
		c.lost(ctx, sock, false, false)
		c.Sockets.changed(ctx, c.Conn, c.Staging)
	}
	return r
}

// msgFlags translates send and receive flags; the hints NetBSD lacks
// (MSG_MORE, MSG_CONFIRM) are dropped.
func msgFlags(linux int) (int, error) {
	hints := unix.MSG_MORE | unix.MSG_CONFIRM
	return netbsd.MsgFlagsFromLinux(linux &^ hints)
}

func sendtoHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	flags, err := msgFlags(int(c.arg(3)))
	if err != nil {
		return Reply{Errno: unix.EOPNOTSUPP}
	}
	buf := make([]byte, min(c.N.Args[2], maxIO))
	if err := notify.ReadMemory(c.N.PID, c.N.Args[1], buf); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	var s staged
	defer s.release()
	to, tolen := uint64(0), uint64(0)
	if c.N.Args[4] != 0 {
		var r Reply
		if to, tolen, r, ok = c.sockaddrIn(&s, c.N.Args[4], c.N.Args[5]); !ok {
			return r
		}
	}
	return c.send(ctx, fd, buf, flags, c.arg(3)&unix.MSG_NOSIGNAL != 0, to, tolen)
}

// send sends buf on rump socket fd, to the staged address to when given,
// blocking as the socket does.
func (c *Call) send(ctx context.Context, fd uint64, buf []byte, flags int, nosignal bool,
	to, tolen uint64) Reply {
	var s staged
	defer s.release()
	addr, err := c.stage(&s, buf)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	return c.sending(ctx, fd, len(buf), flags, nosignal, func(try uint64) Reply {
		return c.rump(ctx, netbsd.SYS_SENDTO, fd, addr, uint64(len(buf)), try, to, tolen)
	})
}

// sending runs a send of n bytes on rump socket fd with flags, calling op
// with the flags to try it with, until it does not block or the socket is a
// nonblocking one.
func (c *Call) sending(ctx context.Context, fd uint64, n int, flags int, nosignal bool,
	op func(try uint64) Reply) Reply {
	sock := c.socket(fd)
	try := uint64(flags | netbsd.MSG_DONTWAIT | netbsd.MSG_NOSIGNAL)
	var r Reply
	for {
		r = op(try)
		if r.Errno != unix.EAGAIN || flags&netbsd.MSG_DONTWAIT != 0 || !c.blocking(ctx, fd) {
			break
		}
		if w := c.wait(ctx, fd, unix.POLLOUT); w.Errno != 0 || w.Sent {
			return w
		}
	}
	if sock != nil && (r.Errno == unix.EAGAIN || r.Errno == 0 && r.Value < int64(n)) {
		c.lost(ctx, sock, false, true)
	}
	if r.Errno == unix.EPIPE && !nosignal {
		// The host would raise SIGPIPE in the sending thread.
		unix.Tgkill(c.PID, c.N.PID, unix.SIGPIPE)
	}
	return r
}

func recvfromHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	flags, err := msgFlags(int(c.arg(3)))
	if err != nil {
		return Reply{Errno: unix.EOPNOTSUPP}
	}
	return c.recv(ctx, fd, c.N.Args[1], c.N.Args[2], flags, c.N.Args[4], c.N.Args[5])
}

// recv receives into the target's buffer at buf of size n from rump socket
// fd, with the sender's address to from and fromLen when from is not 0,
// blocking as the socket does.
func (c *Call) recv(ctx context.Context, fd, buf, n uint64, flags int, from, fromLen uint64) Reply {
	got, r := c.receive(ctx, fd, min(n, maxIO), flags, from != 0 && fromLen != 0, nil)
	if r.Errno != 0 || r.Sent {
		return r
	}
	if err := c.copyOut(buf, got.data); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	if from != 0 && fromLen != 0 {
		if res := c.nameOut(got.name, from, fromLen); res.Errno != 0 {
			return res
		}
	}
	return Reply{Value: got.n}
}

// received is what one receive got.
type received struct {
	n       int64  // the call's value: bytes received (more than data holds with MSG_TRUNC)
	data    []byte // what was received
	name    sized  // the sender's NetBSD address, when asked for
	msg     []byte // the NetBSD msghdr, for recvmsg
	control []byte // its control buffer
}

// receive receives up to n bytes from rump socket fd, blocking as the socket
// does, with the sender's address when withName. With msg set it receives
// with recvmsg instead: msg is then called with the staged data and name
// buffers and returns the staged NetBSD msghdr to pass.
func (c *Call) receive(ctx context.Context, fd, n uint64, flags int, withName bool,
	msg func(s *staged, data, name uint64, got *received) (uint64, Reply)) (received, Reply) {
	var s staged
	defer s.release()
	got := received{data: make([]byte, n)}
	a, err := c.stage(&s, got.data)
	if err != nil {
		return got, Reply{Errno: unix.ENOMEM}
	}
	if withName {
		if got.name, err = c.stageSized(&s, maxSockaddr); err != nil {
			return got, Reply{Errno: unix.ENOMEM}
		}
	}
	var msgAddr uint64
	if msg != nil {
		var r Reply
		if msgAddr, r = msg(&s, a, got.name.addr, &got); r.Errno != 0 {
			return got, r
		}
	}
	sock := c.socket(fd)
	try := uint64(flags | netbsd.MSG_DONTWAIT)
	var r Reply
	for {
		if msg != nil {
			r = c.rump(ctx, netbsd.SYS_RECVMSG, fd, msgAddr, try)
		} else {
			r = c.rump(ctx, netbsd.SYS_RECVFROM, fd, a, n, try, got.name.addr, got.name.sizeAddr)
		}
		if r.Errno != unix.EAGAIN || flags&netbsd.MSG_DONTWAIT != 0 || !c.blocking(ctx, fd) {
			break
		}
		if w := c.wait(ctx, fd, unix.POLLIN); w.Errno != 0 || w.Sent {
			return got, w
		}
	}
	// A short receive most likely emptied the socket; if it did not, the
	// watcher finds it readable again at once. End of file stays readable.
	if sock != nil && flags&netbsd.MSG_PEEK == 0 &&
		(r.Errno == unix.EAGAIN || r.Errno == 0 && r.Value > 0 && uint64(r.Value) < n) {
		c.lost(ctx, sock, true, false)
	}
	if r.Errno != 0 {
		return got, r
	}
	got.n = r.Value
	got.data = got.data[:min(uint64(max(r.Value, 0)), n)]
	return got, Reply{}
}
