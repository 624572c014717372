package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The checks of socket options, addresses and errors, several of them with
// raw system calls where the net package would hide the result. Addresses
// are read with package syscall: golang.org/x/sys/unix's Getsockname also
// asks for SO_PROTOCOL, which socketIdentity checks on its own.

// nonblockingConnect connects a nonblocking socket to a listening port and
// to a closed one: connect answers EINPROGRESS or its result at once, poll
// finds the socket writable when the connection is made or refused, and
// SO_ERROR holds the result. Connected, the socket names its peer.
func nonblockingConnect() error {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	closed, err := closedPort()
	if err != nil {
		return err
	}
	for _, tc := range []struct {
		addr string
		want syscall.Errno
	}{{l.Addr().String(), 0}, {closed, unix.ECONNREFUSED}} {
		if err := connectOnce(tc.addr, tc.want); err != nil {
			return fmt.Errorf("%s: %w", tc.addr, err)
		}
	}
	return nil
}

func connectOnce(addr string, want syscall.Errno) error {
	sa, err := sockaddr(addr)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)

	err = unix.Connect(fd, sa)
	if err != unix.EINPROGRESS {
		if (err == nil && want == 0) || err == want {
			return nil // done at once, which POSIX allows
		}
		return fmt.Errorf("nonblocking connect: %v; want EINPROGRESS or %v", err, want)
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := unix.Poll(fds, int(ioTimeout.Milliseconds()))
	if err != nil || n != 1 {
		return fmt.Errorf("poll for the connection: %d, %v", n, err)
	}
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return fmt.Errorf("getsockopt SO_ERROR: %w", err)
	}
	if syscall.Errno(soerr) != want {
		return fmt.Errorf("SO_ERROR %v (%d), want %v", syscall.Errno(soerr), soerr, want)
	}
	if want != 0 {
		return nil
	}
	if fds[0].Revents&unix.POLLOUT == 0 {
		return fmt.Errorf("connected, but poll gave revents %#x without POLLOUT", fds[0].Revents)
	}
	peer, err := syscall.Getpeername(fd)
	in4, ok := peer.(*syscall.SockaddrInet4)
	if err != nil || !ok || in4.Port != sa.Port || in4.Addr != sa.Addr {
		return fmt.Errorf("getpeername after the connection: %#v, %v", peer, err)
	}
	return nil
}

// sockaddr parses an IPv4 "host:port".
func sockaddr(addr string) (*unix.SockaddrInet4, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, err := strconv.Atoi(port)
	ip := net.ParseIP(host).To4()
	if err != nil || ip == nil {
		return nil, fmt.Errorf("%q is not an IPv4 address and port", addr)
	}
	return &unix.SockaddrInet4{Port: p, Addr: [4]byte(ip)}, nil
}

// addresses checks that getsockname and getpeername on both ends of a
// connection name each other and the listener, and what an unconnected
// socket answers.
func addresses() error {
	ln, c, s, err := pair()
	if err != nil {
		return err
	}
	defer ln.Close()
	defer c.Close()
	defer s.Close()
	same := []struct {
		what string
		a, b net.Addr
	}{
		{"client's peer and listener", c.RemoteAddr(), ln.Addr()},
		{"server's local address and listener", s.LocalAddr(), ln.Addr()},
		{"client's local address and server's peer", c.LocalAddr(), s.RemoteAddr()},
	}
	for _, p := range same {
		if p.a.String() != p.b.String() {
			return fmt.Errorf("%s differ: %v, %v", p.what, p.a, p.b)
		}
	}
	if a := c.LocalAddr().(*net.TCPAddr); !a.IP.Equal(net.IPv4(127, 0, 0, 1)) || a.Port == 0 {
		return fmt.Errorf("client's local address %v, want 127.0.0.1 and a port", a)
	}

	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fmt.Errorf("bind to port 0: %w", err)
	}
	sa, err := syscall.Getsockname(fd)
	if in4, ok := sa.(*syscall.SockaddrInet4); err != nil || !ok || in4.Port == 0 ||
		in4.Addr != [4]byte{127, 0, 0, 1} {
		return fmt.Errorf("getsockname after bind to port 0: %#v, %v", sa, err)
	}
	if sa, err := syscall.Getpeername(fd); err != unix.ENOTCONN {
		return fmt.Errorf("getpeername unconnected: %#v, %v; want ENOTCONN", sa, err)
	}
	return nil
}

// intOption reads an int socket option of c, after setting it to set when
// set is not nil.
func intOption(c syscall.Conn, level, name int, set *int) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var v int
	var oerr error
	err = rc.Control(func(fd uintptr) {
		if set != nil {
			if oerr = unix.SetsockoptInt(int(fd), level, name, *set); oerr != nil {
				oerr = fmt.Errorf("setsockopt %d: %w", *set, oerr)
				return
			}
		}
		if v, oerr = unix.GetsockoptInt(int(fd), level, name); oerr != nil {
			oerr = fmt.Errorf("getsockopt: %w", oerr)
		}
	})
	if err == nil {
		err = oerr
	}
	return v, err
}

// roundTrips sets a boolean option to each value in turn and reads back
// what Linux answers: 1 or 0.
func roundTrips(c syscall.Conn, level, name int, initial int) error {
	got, err := intOption(c, level, name, nil)
	if err != nil || got != initial {
		return fmt.Errorf("initially %d, %v; want %d", got, err, initial)
	}
	for _, v := range []int{1 - initial, initial} {
		if got, err := intOption(c, level, name, &v); err != nil || got != v {
			return fmt.Errorf("set to %d, read back %d, %v", v, got, err)
		}
	}
	return nil
}

// reuseAddr checks SO_REUSEADDR as an option, as the net package sets it
// on listeners, and for what it is for: listening again on the port of a
// connection that is closing or in TIME_WAIT.
func reuseAddr() error {
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	if err := roundTrips(l, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		l.Close()
		return fmt.Errorf("listener: %w", err)
	}
	addr := l.Addr().String()
	c, err := net.DialTimeout("tcp4", addr, ioTimeout)
	if err != nil {
		l.Close()
		return fmt.Errorf("dial: %w", err)
	}
	s, err := l.Accept()
	if err != nil {
		l.Close()
		c.Close()
		return fmt.Errorf("accept: %w", err)
	}
	// The server closes first, so its end is the one left in TIME_WAIT.
	s.Close()
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		return fmt.Errorf("read after the server closed: %d bytes, %v; want end of file", n, err)
	}
	c.Close()
	l.Close()

	again, err := net.Listen("tcp4", addr)
	if err != nil {
		return fmt.Errorf("listen again on %s: %w", addr, err)
	}
	again.Close()
	return nil
}

// noDelay checks TCP_NODELAY, which the net package sets on every TCP
// connection.
func noDelay() error {
	ln, c, s, err := pair()
	if err != nil {
		return err
	}
	defer ln.Close()
	defer c.Close()
	defer s.Close()
	if err := roundTrips(c, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return err
	}
	c.SetNoDelay(false)
	if got, err := intOption(c, unix.IPPROTO_TCP, unix.TCP_NODELAY, nil); err != nil || got != 0 {
		return fmt.Errorf("after SetNoDelay(false): %d, %v; want 0", got, err)
	}
	return nil
}

// bufferSizes sets SO_RCVBUF and SO_SNDBUF and reads them back. Linux
// answers twice the size set, to count its bookkeeping; NetBSD answers
// the size itself: either is what was set.
func bufferSizes() error {
	ln, c, s, err := pair()
	if err != nil {
		return err
	}
	defer ln.Close()
	defer c.Close()
	defer s.Close()
	for _, o := range []struct {
		name   string
		option int
	}{{"SO_RCVBUF", unix.SO_RCVBUF}, {"SO_SNDBUF", unix.SO_SNDBUF}} {
		for _, size := range []int{16384, 65536} {
			got, err := intOption(c, unix.SOL_SOCKET, o.option, &size)
			if err != nil {
				return fmt.Errorf("%s: %w", o.name, err)
			}
			if got != size && got != 2*size {
				return fmt.Errorf("%s set to %d, read back %d", o.name, size, got)
			}
		}
	}
	return nil
}

// resetPeer returns a connection whose peer has reset it, after the reset
// has arrived: its first read failed with ECONNRESET.
func resetPeer() (*net.TCPConn, error) {
	ln, c, s, err := pair()
	if err != nil {
		return nil, err
	}
	ln.Close()
	s.SetLinger(0) // close with a reset
	s.Close()
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	if n, err := c.Read(make([]byte, 1)); !errors.Is(err, unix.ECONNRESET) {
		c.Close()
		return nil, fmt.Errorf("read after the peer's reset: %d bytes, %v; want ECONNRESET", n,
			err)
	}
	return c, nil
}

// writeUntilEPIPE writes to c, whose peer has reset it, until a write
// fails with something other than ECONNRESET, which Linux may answer
// first; it returns that error.
func writeUntilEPIPE(c *net.TCPConn) error {
	c.SetWriteDeadline(time.Now().Add(ioTimeout))
	var err error
	for range 10 {
		if _, err = c.Write([]byte("x")); err != nil && !errors.Is(err, unix.ECONNRESET) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("10 writes to a reset peer, the last %v", err)
}

// epipe checks that a write to a reset peer fails with EPIPE and raises
// SIGPIPE, which the runtime passes on once asked to.
func epipe() error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGPIPE)
	defer signal.Stop(sig)
	c, err := resetPeer()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := writeUntilEPIPE(c); !errors.Is(err, unix.EPIPE) {
		return fmt.Errorf("write to a reset peer: %v; want EPIPE", err)
	}
	select {
	case <-sig:
		return nil
	case <-time.After(ioTimeout):
		return errors.New("EPIPE without SIGPIPE")
	}
}

// socketIdentity checks what a socket says it is: SO_TYPE, SO_DOMAIN and
// SO_PROTOCOL, and x/sys/unix's Getsockname, which needs SO_PROTOCOL to
// tell an inet socket from an L2TP one.
func socketIdentity() error {
	for _, s := range []struct {
		what                  string
		domain, typ, protocol int
		addr                  unix.Sockaddr
	}{
		{"tcp4", unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP,
			&unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}},
		{"udp4", unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_UDP,
			&unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}},
		{"tcp6", unix.AF_INET6, unix.SOCK_STREAM, unix.IPPROTO_TCP,
			&unix.SockaddrInet6{Addr: [16]byte{15: 1}}},
	} {
		if err := identity(s.domain, s.typ, s.protocol, s.addr); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}

func identity(domain, typ, protocol int, addr unix.Sockaddr) error {
	fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	var wrong []string
	for _, o := range []struct {
		name   string
		option int
		want   int
	}{
		{"SO_TYPE", unix.SO_TYPE, typ},
		{"SO_DOMAIN", unix.SO_DOMAIN, domain},
		{"SO_PROTOCOL", unix.SO_PROTOCOL, protocol},
	} {
		got, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, o.option)
		if err != nil || got != o.want {
			wrong = append(wrong, fmt.Sprintf("getsockopt %s: %d, %v; want %d", o.name, got,
				err, o.want))
		}
	}
	if err := unix.Bind(fd, addr); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if _, err := unix.Getsockname(fd); err != nil {
		wrong = append(wrong, fmt.Sprintf("x/sys/unix Getsockname: %v", err))
	}
	if wrong != nil {
		return errors.New(strings.Join(wrong, "; "))
	}
	return nil
}
