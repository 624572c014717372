package rumpserver

import (
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/google/go-cmp/cmp"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// inet4 is a NetBSD sockaddr_in for 127.0.0.1:port.
func inet4(port uint16) []byte {
	sa := []byte{netbsd.SockaddrInSize, netbsd.AF_INET, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(sa[2:], port)
	return sa
}

// local is a NetBSD sockaddr_un for path.
func local(path string) []byte {
	return localAddr(path)
}

// listenTCP makes a listening inet socket on 127.0.0.1 and returns it and its
// port.
func listenTCP(t *testing.T, c *testClient) (int64, uint16) {
	t.Helper()
	s := c.ok(netbsd.SYS___SOCKET30, netbsd.AF_INET, netbsd.SOCK_STREAM, 0)
	sa := inet4(0)
	c.ok(netbsd.SYS_BIND, uint64(s), c.put(sa), uint64(len(sa)))
	c.ok(netbsd.SYS_LISTEN, uint64(s), 8)
	name, alen := c.alloc(netbsd.SockaddrStorageSize), c.put(intBytes(128))
	c.ok(netbsd.SYS_GETSOCKNAME, uint64(s), name, alen)
	got := c.load(name, int(c.i32(alen)))
	if len(got) != netbsd.SockaddrInSize || got[1] != netbsd.AF_INET {
		t.Fatalf("getsockname = %x", got)
	}
	return s, binary.BigEndian.Uint16(got[2:])
}

func TestTCPEchoBetweenRumpProcesses(t *testing.T) {
	s, _ := newServer(t)
	server := guest(t, s, "server")
	client := guest(t, s, "client")
	ls, port := listenTCP(t, server)

	name, alen := server.alloc(netbsd.SockaddrStorageSize), server.put(intBytes(128))
	accepted := server.start(netbsd.SYS_ACCEPT, uint64(ls), name, alen)

	cs := client.ok(netbsd.SYS___SOCKET30, netbsd.AF_INET, netbsd.SOCK_STREAM, 0)
	sa := inet4(port)
	client.ok(netbsd.SYS_CONNECT, uint64(cs), client.put(sa), uint64(len(sa)))
	r := <-accepted
	if r.Error != 0 {
		t.Fatalf("accept: %v", netbsd.Errno(r.Error))
	}
	conn := r.Retval[0]
	peer := server.load(name, int(server.i32(alen)))
	if len(peer) != 16 || peer[1] != netbsd.AF_INET || peer[4] != 127 {
		t.Errorf("accepted peer address = %x", peer)
	}

	msg := []byte("ping over rump TCP")
	client.ok(netbsd.SYS_SENDTO, uint64(cs), client.put(msg), uint64(len(msg)), 0, 0, 0)
	buf := server.alloc(64)
	n := server.ok(netbsd.SYS_RECVFROM, uint64(conn), buf, uint64(len(msg)),
		netbsd.MSG_WAITALL, 0, 0)
	server.ok(netbsd.SYS_WRITE, uint64(conn), buf, uint64(n))
	back := client.alloc(64)
	n = client.ok(netbsd.SYS_READ, uint64(cs), back, 64)
	if diff := cmp.Diff(msg, client.load(back, int(n))); diff != "" {
		t.Errorf("echo (-want +got):\n%s", diff)
	}

	t.Run("a write after the peer is gone raises SIGPIPE and fails EPIPE", func(t *testing.T) {
		server.ok(netbsd.SYS_CLOSE, uint64(conn))
		var e netbsd.Errno
		deadline := time.Now().Add(callTimeout)
		for e != netbsd.EPIPE && time.Now().Before(deadline) {
			e = client.fails(netbsd.SYS_WRITE, uint64(cs), client.put(msg), uint64(len(msg)))
		}
		if e != netbsd.EPIPE {
			t.Fatalf("write to a closed peer = %v, want EPIPE", e)
		}
		client.mu.Lock()
		raised := append([]uint32(nil), client.raised...)
		client.mu.Unlock()
		if len(raised) == 0 || raised[len(raised)-1] != uint32(netbsd.SIGPIPE) {
			t.Errorf("signals raised = %v, want SIGPIPE (13)", raised)
		}
	})
}

func TestBlockedAcceptDoesNotStopOtherCalls(t *testing.T) {
	s, _ := newServer(t)
	a := guest(t, s, "blocked")
	b := guest(t, s, "busy")
	ls, port := listenTCP(t, a)
	accepted := a.start(netbsd.SYS_ACCEPT, uint64(ls), 0, 0)
	waitBlocked(t, s, 1)

	t.Run("another process's calls proceed", func(t *testing.T) {
		for range 20 {
			b.ok(netbsd.SYS_GETPID)
		}
		fd := b.ok(netbsd.SYS_OPEN, b.str("/x"), oRDWR|oCREAT, 0o644)
		b.ok(netbsd.SYS_CLOSE, uint64(fd))
	})
	t.Run("the same process's other calls proceed", func(t *testing.T) {
		cs := a.ok(netbsd.SYS___SOCKET30, netbsd.AF_INET, netbsd.SOCK_STREAM, 0)
		sa := inet4(port)
		a.ok(netbsd.SYS_CONNECT, uint64(cs), a.put(sa), uint64(len(sa)))
		if r := <-accepted; r.Error != 0 {
			t.Errorf("accept = %v", netbsd.Errno(r.Error))
		}
	})
	t.Run("closing the listener wakes a blocked accept with EBADF", func(t *testing.T) {
		again := a.start(netbsd.SYS_ACCEPT, uint64(ls), 0, 0)
		waitBlocked(t, s, 1)
		a.ok(netbsd.SYS_CLOSE, uint64(ls))
		if r := <-again; netbsd.Errno(r.Error) != netbsd.EBADF {
			t.Errorf("accept after close = %v, want EBADF", netbsd.Errno(r.Error))
		}
	})
	t.Run("a hang-up ends a blocked call and frees the port", func(t *testing.T) {
		c := guest(t, s, "doomed")
		ls, port := listenTCP(t, c)
		c.write(sysproxy.SyscallRequest{Reqno: c.nextReqno(),
			Sysnum: uint32(netbsd.SYS_ACCEPT), Args: []uint64{uint64(ls), 0, 0}}.Frame())
		waitBlocked(t, s, 1)
		c.close()
		deadline := time.Now().Add(callTimeout)
		for s.blockedCalls() > 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		d := guest(t, s, "heir")
		ns := d.ok(netbsd.SYS___SOCKET30, netbsd.AF_INET, netbsd.SOCK_STREAM, 0)
		sa := inet4(port)
		for {
			e := d.fails(netbsd.SYS_BIND, uint64(ns), d.put(sa), uint64(len(sa)))
			if e == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("port %d still bound after the hang-up: %v", port, e)
			}
			time.Sleep(time.Millisecond)
		}
	})
}

func TestLocalSocketsStayInTheRoot(t *testing.T) {
	w := newEscapeWorld(t)
	hostSock := filepath.Join(w.outside, "host.sock")
	ln, err := net.Listen("unix", hostSock)
	must(t, err)
	t.Cleanup(func() { ln.Close() })
	must(t, os.Symlink(hostSock, filepath.Join(w.root, "to-host")))
	s, err := New(Config{Root: w.root})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	a := guest(t, s, "listener")
	b := guest(t, s, "dialer")

	ls := a.ok(netbsd.SYS___SOCKET30, netbsd.AF_LOCAL, netbsd.SOCK_STREAM, 0)
	a.ok(netbsd.SYS_CHDIR, a.str("/sub"))
	sa := local("svc.sock")
	a.ok(netbsd.SYS_BIND, uint64(ls), a.put(sa), uint64(len(sa)))
	a.ok(netbsd.SYS_LISTEN, uint64(ls), 4)
	if _, err := os.Stat(filepath.Join(w.root, "sub", "svc.sock")); err != nil {
		t.Errorf("bound socket not under the root: %v", err)
	}
	name, alen := a.alloc(128), a.put(intBytes(128))
	a.ok(netbsd.SYS_GETSOCKNAME, uint64(ls), name, alen)
	if diff := cmp.Diff(sa, a.load(name, int(a.i32(alen)))); diff != "" {
		t.Errorf("getsockname (-want +got):\n%s", diff)
	}

	tests := []struct {
		name string
		path string
		want netbsd.Errno
	}{
		{"a path through the root reaches the bound socket", "/sub/svc.sock", 0},
		{"dot-dot cannot climb to a host socket", "/../host.sock", netbsd.ENOENT},
		{"a symlink to a host socket does not reach it", "/to-host", netbsd.ENOENT},
		{"a magic link does not reach it", "/proc-cwd/host.sock", netbsd.ENOENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := b.ok(netbsd.SYS___SOCKET30, netbsd.AF_LOCAL, netbsd.SOCK_STREAM, 0)
			defer b.ok(netbsd.SYS_CLOSE, uint64(cs))
			sa := local(tt.path)
			e := b.fails(netbsd.SYS_CONNECT, uint64(cs), b.put(sa), uint64(len(sa)))
			if e != tt.want {
				t.Errorf("connect(%s) = %v, want %v", tt.path, e, tt.want)
			}
		})
	}

	t.Run("bind through a symlink to the outside stays inside", func(t *testing.T) {
		cs := b.ok(netbsd.SYS___SOCKET30, netbsd.AF_LOCAL, netbsd.SOCK_STREAM, 0)
		sa := local("/abs-outside/evil.sock")
		if e := b.fails(netbsd.SYS_BIND, uint64(cs), b.put(sa), uint64(len(sa))); e == 0 {
			t.Errorf("bind through an absolute symlink succeeded")
		}
		if _, err := os.Lstat(filepath.Join(w.outside, "evil.sock")); err == nil {
			t.Errorf("a socket appeared outside the root")
		}
	})
}

func TestDescriptorPassing(t *testing.T) {
	s, _ := newServer(t)
	c := guest(t, s, "passer")
	pair := c.alloc(8)
	c.ok(netbsd.SYS_SOCKETPAIR, netbsd.AF_LOCAL, netbsd.SOCK_STREAM, 0, pair)
	a, b := c.i32(pair), c.i32(pair+4)
	file := c.ok(netbsd.SYS_OPEN, c.str("/passed"), oRDWR|oCREAT, 0o644)
	c.ok(netbsd.SYS_WRITE, uint64(file), c.put([]byte("contents")), 8)

	ctl := netbsd.EncodeControl([]netbsd.Cmsg{{Level: netbsd.SOL_SOCKET,
		Type: netbsd.SCM_RIGHTS, Data: netbsd.EncodeRights([]int32{int32(file)})}})
	iov := netbsd.EncodeIovecs([]netbsd.Iovec{{Base: c.put([]byte("x")), Len: 1}})
	msg := netbsd.Msghdr{Iov: c.put(iov), Iovlen: 1, Control: c.put(ctl),
		Controllen: uint32(len(ctl))}
	c.ok(netbsd.SYS_SENDMSG, uint64(a), c.put(msg.Encode()), 0)

	rbuf := c.alloc(8)
	riov := netbsd.EncodeIovecs([]netbsd.Iovec{{Base: rbuf, Len: 8}})
	rctl := c.alloc(64)
	rmsg := netbsd.Msghdr{Iov: c.put(riov), Iovlen: 1, Control: rctl, Controllen: 64}
	maddr := c.put(rmsg.Encode())
	c.ok(netbsd.SYS_RECVMSG, uint64(b), maddr, 0)
	got, _ := netbsd.DecodeMsghdr(c.load(maddr, netbsd.MsghdrSize))
	msgs, err := netbsd.ParseControl(c.load(rctl, int(got.Controllen)))
	if err != nil || len(msgs) != 1 || msgs[0].Type != netbsd.SCM_RIGHTS {
		t.Fatalf("received control %v (%v)", msgs, err)
	}
	passed := netbsd.ParseRights(msgs[0].Data)[0]
	if passed == int32(file) {
		t.Errorf("received descriptor %d is the sent one's number", passed)
	}
	out := c.alloc(8)
	n := c.ok(netbsd.SYS_PREAD, uint64(passed), out, 8, 0)
	if string(c.load(out, int(n))) != "contents" {
		t.Errorf("read through the passed descriptor = %q", c.load(out, int(n)))
	}
}

func TestPollWaitsForReadiness(t *testing.T) {
	s, _ := newServer(t)
	c := guest(t, s, "poller")
	pipe := c.sys(netbsd.SYS_PIPE).Retval
	fds := []unix.PollFd{{Fd: int32(pipe[0]), Events: netbsd.POLLIN}, {Fd: 1,
		Events: netbsd.POLLOUT}, {Fd: 77, Events: netbsd.POLLIN}}
	addr := c.put(netbsd.EncodePollFds(fds))

	if n := c.ok(netbsd.SYS_POLL, addr, 3, 0); n != 2 {
		t.Errorf("poll of an empty pipe, the console and a bad fd = %d, want 2", n)
	}
	got, _ := netbsd.DecodePollFds(c.load(addr, 24), 3)
	want := []int16{0, netbsd.POLLOUT, netbsd.POLLNVAL}
	if diff := cmp.Diff(want, []int16{got[0].Revents, got[1].Revents, got[2].Revents}); diff != "" {
		t.Errorf("revents (-want +got):\n%s", diff)
	}

	one := c.put(netbsd.EncodePollFds(fds[:1]))
	waiting := c.start(netbsd.SYS_POLL, one, 1, 1<<32-1)
	waitBlocked(t, s, 1)
	c.ok(netbsd.SYS_WRITE, uint64(pipe[1]), c.put([]byte("!")), 1)
	if r := <-waiting; r.Error != 0 || r.Retval[0] != 1 {
		t.Errorf("poll woken by a write = %v", r)
	}
	got, _ = netbsd.DecodePollFds(c.load(one, 8), 1)
	if got[0].Revents != netbsd.POLLIN {
		t.Errorf("revents = %#x, want POLLIN", got[0].Revents)
	}
}

func TestSocketABI(t *testing.T) {
	s, _ := newServer(t)
	c := guest(t, s, "abi")
	sock := func(family, typ uint64) uint64 {
		return uint64(c.ok(netbsd.SYS___SOCKET30, family, typ, 0))
	}
	val, vlen := c.alloc(16), c.alloc(4)
	getsockopt := func(s uint64, level, name uint64) netbsd.Errno {
		c.store(vlen, intBytes(16))
		return c.fails(netbsd.SYS_GETSOCKOPT, s, level, name, val, vlen)
	}
	linux6 := make([]byte, 28)
	linux6[0], linux6[1] = 10, 0
	linux4 := []byte{2, 0, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}
	six := []byte{28, netbsd.AF_INET6, 0, 0, 0, 0, 0, 0}
	six = append(six, make([]byte, 15)...)
	six = append(six, 1, 0, 0, 0, 0)

	tests := []struct {
		name string
		got  func() netbsd.Errno
		want netbsd.Errno
	}{
		{"socket of Linux's AF_INET6 number is EAFNOSUPPORT", func() netbsd.Errno {
			return c.fails(netbsd.SYS___SOCKET30, 10, netbsd.SOCK_STREAM, 0)
		}, netbsd.EAFNOSUPPORT},
		{"a routing socket is EAFNOSUPPORT", func() netbsd.Errno {
			return c.fails(netbsd.SYS___SOCKET30, netbsd.AF_ROUTE, netbsd.SOCK_RAW, 0)
		}, netbsd.EAFNOSUPPORT},
		{"a Linux-format inet address binds", func() netbsd.Errno {
			return c.fails(netbsd.SYS_BIND, sock(netbsd.AF_INET, netbsd.SOCK_DGRAM),
				c.put(linux4), 16)
		}, 0},
		{"a Linux-format inet6 address is EAFNOSUPPORT", func() netbsd.Errno {
			return c.fails(netbsd.SYS_BIND, sock(netbsd.AF_INET6, netbsd.SOCK_DGRAM),
				c.put(linux6), 28)
		}, netbsd.EAFNOSUPPORT},
		{"a NetBSD-format [::1] binds", func() netbsd.Errno {
			return c.fails(netbsd.SYS_BIND, sock(netbsd.AF_INET6, netbsd.SOCK_DGRAM),
				c.put(six), 28)
		}, 0},
		{"getsockopt at Linux's SOL_SOCKET number is ENOPROTOOPT", func() netbsd.Errno {
			return getsockopt(sock(netbsd.AF_INET, netbsd.SOCK_STREAM), 1, 3)
		}, netbsd.ENOPROTOOPT},
		{"getsockopt SO_TYPE answers SOCK_STREAM", func() netbsd.Errno {
			if e := getsockopt(sock(netbsd.AF_INET, netbsd.SOCK_STREAM), netbsd.SOL_SOCKET,
				netbsd.SO_TYPE); e != 0 {
				return e
			}
			if c.i32(val) != netbsd.SOCK_STREAM || c.i32(vlen) != 4 {
				t.Errorf("SO_TYPE = %d, length %d", c.i32(val), c.i32(vlen))
			}
			return 0
		}, 0},
		{"inet6 sockets start v6-only, as on NetBSD", func() netbsd.Errno {
			if e := getsockopt(sock(netbsd.AF_INET6, netbsd.SOCK_STREAM), netbsd.IPPROTO_IPV6,
				netbsd.IPV6_V6ONLY); e != 0 {
				return e
			}
			if c.i32(val) != 1 {
				t.Errorf("IPV6_V6ONLY = %d", c.i32(val))
			}
			return 0
		}, 0},
		{"SO_NOSIGPIPE is kept by the socket", func() netbsd.Errno {
			s := sock(netbsd.AF_INET, netbsd.SOCK_STREAM)
			c.ok(netbsd.SYS_SETSOCKOPT, s, netbsd.SOL_SOCKET, netbsd.SO_NOSIGPIPE,
				c.put(intBytes(1)), 4)
			if e := getsockopt(s, netbsd.SOL_SOCKET, netbsd.SO_NOSIGPIPE); e != 0 {
				return e
			}
			if c.i32(val) != 1 {
				t.Errorf("SO_NOSIGPIPE = %d", c.i32(val))
			}
			return 0
		}, 0},
		{"a socket call on a file is ENOTSOCK", func() netbsd.Errno {
			return c.fails(netbsd.SYS_LISTEN, 1, 1)
		}, netbsd.ENOTSOCK},
		{"accept on a non-blocking listener with nothing pending is EAGAIN",
			func() netbsd.Errno {
				ls, _ := listenTCP(t, c)
				c.ok(netbsd.SYS_FCNTL, uint64(ls), netbsd.F_SETFL, netbsd.O_NONBLOCK)
				return c.fails(netbsd.SYS_ACCEPT, uint64(ls), 0, 0)
			}, netbsd.EAGAIN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.got(); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
