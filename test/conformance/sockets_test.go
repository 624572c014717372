package conformance

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/rumpconn"
)

var loopbackAddr = [4]byte{127, 0, 0, 1}

// sockaddrs compares x/sys/unix addresses by their exported fields; the
// unexported ones are encoding scratch space.
var sockaddrs = cmpopts.IgnoreUnexported(unix.SockaddrInet4{}, unix.SockaddrInet6{},
	unix.SockaddrUnix{})

// inet4 encodes 127.0.0.1:port as a NetBSD sockaddr_in, sin_len included.
func inet4(tb testing.TB, port int) []byte {
	tb.Helper()
	sa, err := netbsd.EncodeSockaddr(&unix.SockaddrInet4{Port: port, Addr: loopbackAddr})
	if err != nil {
		tb.Fatalf("encode 127.0.0.1:%d: %v", port, err)
	}
	return sa
}

// tcpSocket makes an AF_INET stream socket. A server without IPv4 (a
// rump_server started without rumpnet_netinet) skips the test.
func (p *proc) tcpSocket(tb testing.TB) int64 {
	tb.Helper()
	r := p.call(tb, netbsd.SYS___SOCKET30, netbsd.AF_INET, netbsd.SOCK_STREAM, 0)
	switch r.Errno {
	case 0:
		return r.Retval[0]
	case netbsd.ENOSYS, netbsd.EAFNOSUPPORT:
		tb.Skipf("the server has no IPv4 (__socket30 gives %v): "+
			"start rump_server with -lrumpnet -lrumpnet_net -lrumpnet_netinet", r.Errno)
	}
	tb.Fatalf("__socket30(AF_INET, SOCK_STREAM) failed with %v", r.Errno)
	return -1
}

// bindLoopback binds fd to 127.0.0.1 on a port picked at random and returns
// the port. A port in use, by an earlier run on a real server or by the
// host of the embedded one, is replaced by another.
func (p *proc) bindLoopback(tb testing.TB, fd int64) int {
	tb.Helper()
	for range 32 {
		port := 20000 + rand.IntN(20000)
		r := p.call(tb, netbsd.SYS_BIND, uint64(fd), p.stage(tb, inet4(tb, port)),
			netbsd.SockaddrInSize)
		switch r.Errno {
		case 0:
			return port
		case netbsd.EADDRINUSE:
			continue
		}
		tb.Fatalf("bind to 127.0.0.1:%d failed with %v", port, r.Errno)
	}
	tb.Fatalf("no free port on 127.0.0.1 after 32 tries")
	return 0
}

// sockname makes a call of the getsockname form, (fd, addr, &len), and
// returns the raw NetBSD address it gave and its decoded form.
func (p *proc) sockname(tb testing.TB, nr netbsd.Sysno, fd int64) ([]byte, unix.Sockaddr) {
	tb.Helper()
	buf := make([]byte, netbsd.SockaddrStorageSize)
	size := binary.LittleEndian.AppendUint32(nil, uint32(len(buf)))
	p.ok(tb, nr, uint64(fd), p.stage(tb, buf), p.stage(tb, size))
	return decodeAddr(tb, callName(nr), buf, size)
}

// decodeAddr decodes the address a call left in buf, whose length it left in
// size.
func decodeAddr(tb testing.TB, op string, buf, size []byte) ([]byte, unix.Sockaddr) {
	tb.Helper()
	n := binary.LittleEndian.Uint32(size)
	if n > uint32(len(buf)) {
		tb.Fatalf("%s gave an address of %d bytes in a buffer of %d", op, n, len(buf))
	}
	sa, err := netbsd.ParseSockaddr(buf[:n])
	if err != nil {
		tb.Fatalf("%s gave an address % x that does not decode: %v", op, buf[:n], err)
	}
	return buf[:n], sa
}

// acceptCall makes one of the accept calls with a buffer for the peer's
// address and returns the new descriptor and the address.
type acceptCall func(tb testing.TB, p *proc, fd int64) (int64, unix.Sockaddr)

func acceptWith(nr netbsd.Sysno) acceptCall {
	return func(tb testing.TB, p *proc, fd int64) (int64, unix.Sockaddr) {
		tb.Helper()
		buf := make([]byte, netbsd.SockaddrStorageSize)
		size := binary.LittleEndian.AppendUint32(nil, uint32(len(buf)))
		args := []uint64{uint64(fd), p.stage(tb, buf), p.stage(tb, size)}
		if nr == netbsd.SYS_PACCEPT {
			args = append(args, 0, 0) // no signal mask, no flags
		}
		nfd := p.ok(tb, nr, args...)
		_, sa := decodeAddr(tb, callName(nr), buf, size)
		return nfd, sa
	}
}

// testLoopbackTCP has two rump processes talk TCP over 127.0.0.1 in the rump
// kernel: one listens, the other connects, and data goes both ways, once
// for each of accept and paccept.
func testLoopbackTCP(t *testing.T, srv rumpconn.Server) {
	server := dial(t, srv, "tcp-server", rumpconn.Options{})
	client := dial(t, srv, "tcp-client", rumpconn.Options{})

	ls := server.tcpSocket(t)
	port := server.bindLoopback(t, ls)
	server.ok(t, netbsd.SYS_LISTEN, uint64(ls), 8)
	raw, sa := server.sockname(t, netbsd.SYS_GETSOCKNAME, ls)
	listening := &unix.SockaddrInet4{Port: port, Addr: loopbackAddr}
	if diff := cmp.Diff(unix.Sockaddr(listening), sa, sockaddrs); diff != "" {
		t.Errorf("getsockname of the listener (-want +got):\n%s", diff)
	}
	if len(raw) != netbsd.SockaddrInSize || raw[0] != netbsd.SockaddrInSize ||
		raw[1] != netbsd.AF_INET {
		t.Errorf("getsockname gave % x, want a sockaddr_in of sin_len 16, family %d",
			raw, netbsd.AF_INET)
	}

	accepts := []struct {
		name   string
		accept acceptCall
	}{
		{"a connection accepted with accept carries data both ways",
			acceptWith(netbsd.SYS_ACCEPT)},
		{"a connection accepted with paccept carries data both ways",
			acceptWith(netbsd.SYS_PACCEPT)},
	}
	for _, a := range accepts {
		t.Run(a.name, func(t *testing.T) {
			cs := client.tcpSocket(t)
			client.ok(t, netbsd.SYS_CONNECT, uint64(cs), client.stage(t, inet4(t, port)),
				netbsd.SockaddrInSize)
			_, local := client.sockname(t, netbsd.SYS_GETSOCKNAME, cs)
			_, remote := client.sockname(t, netbsd.SYS_GETPEERNAME, cs)
			if diff := cmp.Diff(unix.Sockaddr(listening), remote, sockaddrs); diff != "" {
				t.Errorf("getpeername of the connected socket (-want +got):\n%s", diff)
			}

			as, peer := a.accept(t, server, ls)
			if diff := cmp.Diff(local, peer, sockaddrs); diff != "" {
				t.Errorf("the accepted peer is not the connecting socket (-want +got):\n%s",
					diff)
			}

			ping, pong := []byte("ping from the client"), []byte("pong from the server")
			client.write(t, cs, ping)
			got := server.readFull(t, as, len(ping))
			if diff := cmp.Diff(string(ping), string(got)); diff != "" {
				t.Errorf("the server read (-want +got):\n%s", diff)
			}
			server.write(t, as, pong)
			got = client.readFull(t, cs, len(pong))
			if diff := cmp.Diff(string(pong), string(got)); diff != "" {
				t.Errorf("the client read (-want +got):\n%s", diff)
			}

			client.close(t, cs)
			if got := server.read(t, as, 16); len(got) != 0 {
				t.Errorf("read after the peer closed returned %q, want the end of file", got)
			}
			server.close(t, as)
		})
	}
	server.close(t, ls)
}

// testSocketErrors checks the errno of socket calls that must fail.
func testSocketErrors(t *testing.T, srv rumpconn.Server) {
	p := dial(t, srv, "socket-errors", rumpconn.Options{})
	dir := scratch(t, p)
	p.create(t, dir+"/file", nil)
	file := p.open(t, dir+"/file", netbsd.O_RDONLY, 0)

	fresh := p.tcpSocket(t)
	bound := p.tcpSocket(t)
	boundPort := p.bindLoopback(t, bound)
	listening := p.tcpSocket(t)
	listenPort := p.bindLoopback(t, listening)
	p.ok(t, netbsd.SYS_LISTEN, uint64(listening), 1)
	other := p.tcpSocket(t)

	// A port whose listener has closed refuses connections.
	gone := p.tcpSocket(t)
	gonePort := p.bindLoopback(t, gone)
	p.ok(t, netbsd.SYS_LISTEN, uint64(gone), 1)
	p.close(t, gone)
	refused := p.tcpSocket(t)

	addr := func(port int) bytesArg { return bytesArg(inet4(t, port)) }
	const sinLen = netbsd.SockaddrInSize
	const storage = netbsd.SockaddrStorageSize
	cases := []errnoCase{
		errCase("connect to a port whose listener closed gives ECONNREFUSED",
			netbsd.ECONNREFUSED, netbsd.SYS_CONNECT, refused, addr(gonePort), sinLen),
		errCase("getsockname of a regular file gives ENOTSOCK", netbsd.ENOTSOCK,
			netbsd.SYS_GETSOCKNAME, file, bufArg(storage), lenArg(storage)),
		errCase("getpeername of an unconnected socket gives ENOTCONN", netbsd.ENOTCONN,
			netbsd.SYS_GETPEERNAME, fresh, bufArg(storage), lenArg(storage)),
		errCase("a second bind of a bound socket gives EINVAL", netbsd.EINVAL,
			netbsd.SYS_BIND, bound, addr(boundPort+1), sinLen),
		errCase("bind to a port in use gives EADDRINUSE", netbsd.EADDRINUSE,
			netbsd.SYS_BIND, other, addr(listenPort), sinLen),
		errCase("accept on a socket that is not listening gives EINVAL", netbsd.EINVAL,
			netbsd.SYS_ACCEPT, bound, 0, 0),
		errCase("read from an unconnected stream socket gives ENOTCONN", netbsd.ENOTCONN,
			netbsd.SYS_READ, fresh, bufArg(1), 1),
		errCase("write to an unconnected stream socket gives ENOTCONN", netbsd.ENOTCONN,
			netbsd.SYS_WRITE, fresh, bytesArg("x"), 1).
			knownIssue(netbsd.EPIPE, "the host's EPIPE is passed on, with a RAISE "+
				"of SIGPIPE; NetBSD's sosend gives ENOTCONN, and no signal"),
		errCase("connect on a listening socket gives EOPNOTSUPP", netbsd.EOPNOTSUPP,
			netbsd.SYS_CONNECT, listening, addr(listenPort), sinLen).
			knownIssue(netbsd.EISCONN, "the host's EISCONN is passed on; NetBSD's "+
				"soconnect refuses a socket with SO_ACCEPTCONN"),
	}
	runErrnoCases(t, p, cases)
}
