package rumpserver

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

func TestPreforkSharesDescriptors(t *testing.T) {
	s, _ := newServer(t)
	parent := guest(t, s, "parent")
	shared := parent.ok(netbsd.SYS_OPEN, parent.str("/shared"), oRDWR|oCREAT, 0o644)
	cookie := parent.prefork()
	later := parent.ok(netbsd.SYS_OPEN, parent.str("/later"), oRDWR|oCREAT, 0o644)

	child := forkChild(t, s, cookie)
	ppid := parent.sys(netbsd.SYS_GETPID).Retval[0]
	ids := child.sys(netbsd.SYS_GETPID).Retval
	if ids[0] == ppid || ids[1] != ppid {
		t.Errorf("child getpid = %v, parent is %d", ids, ppid)
	}

	t.Run("the child has the descriptors opened before the prefork", func(t *testing.T) {
		data := child.put([]byte("from the child"))
		child.ok(netbsd.SYS_WRITE, uint64(shared), data, 14)
		// The file, and so its offset, is shared, as after fork(2).
		if off := parent.ok(netbsd.SYS_LSEEK, uint64(shared), 0, 1); off != 14 {
			t.Errorf("parent's offset after the child's write = %d, want 14", off)
		}
	})
	t.Run("the child lacks descriptors opened after the prefork", func(t *testing.T) {
		if e := child.fails(netbsd.SYS_CLOSE, uint64(later)); e != netbsd.EBADF {
			t.Errorf("close(%d) in the child = %v, want EBADF", later, e)
		}
	})
	t.Run("closing in the child leaves the parent's descriptor open", func(t *testing.T) {
		child.ok(netbsd.SYS_CLOSE, uint64(shared))
		parent.ok(netbsd.SYS_LSEEK, uint64(shared), 0, 0)
	})
	t.Run("a cookie is good once", func(t *testing.T) {
		nc := dialRaw(t, s)
		_, err := sysproxy.Handshake(nc, sysproxy.ForkHandshake{Reqno: 1, Cookie: cookie})
		if err == nil || !strings.Contains(err.Error(), "INVALID_PREFORK") {
			t.Errorf("second fork handshake: %v, want INVALID_PREFORK", err)
		}
	})
	t.Run("a cancelled fork handshake is hung up without an answer", func(t *testing.T) {
		c := parent.prefork()
		nc := dialRaw(t, s)
		nc.SetDeadline(time.Now().Add(callTimeout))
		hs := sysproxy.ForkHandshake{Reqno: 1, Cookie: c, Cancel: true}
		if _, err := sysproxy.Handshake(nc, hs); err != nil {
			t.Fatal(err)
		}
		expectEOF(t, nc)
		nc2 := dialRaw(t, s)
		hs.Cancel = false
		if _, err := sysproxy.Handshake(nc2, hs); err == nil {
			t.Error("a cancelled cookie was accepted")
		}
	})
	t.Run("a preforked process outlives its parent's connection", func(t *testing.T) {
		c := parent.prefork()
		parent.close()
		<-parent.done
		orphan := forkChild(t, s, c)
		orphan.ok(netbsd.SYS_LSEEK, uint64(shared), 0, 0)
	})
}

func TestExecClosesCloseOnExecDescriptors(t *testing.T) {
	s, _ := newServer(t)
	c := guest(t, s, "before")
	pid := c.ok(netbsd.SYS_GETPID)
	closing := c.ok(netbsd.SYS_OPEN, c.str("/a"), oRDWR|oCREAT|netbsd.O_CLOEXEC, 0o644)
	keeping := c.ok(netbsd.SYS_OPEN, c.str("/b"), oRDWR|oCREAT, 0o644)
	flagged := c.ok(netbsd.SYS_DUP, uint64(keeping))
	c.ok(netbsd.SYS_FCNTL, uint64(flagged), netbsd.F_SETFD, netbsd.FD_CLOEXEC)
	if v := c.ok(netbsd.SYS_FCNTL, uint64(flagged), netbsd.F_GETFD, 0); v != 1 {
		t.Errorf("F_GETFD = %d, want FD_CLOEXEC", v)
	}

	f := c.exec("after")
	if diff := cmp.Diff(sysproxy.HandshakeResponse{Reqno: f.Reqno}.Frame(), f); diff != "" {
		t.Fatalf("exec answer (-want +got):\n%s", diff)
	}
	tests := []struct {
		name string
		fd   int64
		want netbsd.Errno
	}{
		{"a descriptor opened with O_CLOEXEC is closed", closing, netbsd.EBADF},
		{"a descriptor marked with F_SETFD is closed", flagged, netbsd.EBADF},
		{"a descriptor without the flag stays", keeping, 0},
		{"the console stays", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if e := c.fails(netbsd.SYS_FCNTL, uint64(tt.fd), netbsd.F_GETFD, 0); e != tt.want {
				t.Errorf("F_GETFD(%d) = %v, want %v", tt.fd, e, tt.want)
			}
		})
	}
	if got := c.ok(netbsd.SYS_GETPID); got != pid {
		t.Errorf("pid after exec = %d, want %d", got, pid)
	}
}

func TestExecInterruptsBlockingCalls(t *testing.T) {
	s, _ := newServer(t)
	c := guest(t, s, "exec")
	r := c.ok(netbsd.SYS_PIPE)
	buf := c.alloc(8)
	blocked := c.start(netbsd.SYS_READ, uint64(r), buf, 8)
	waitBlocked(t, s, 1)

	c.exec("after")
	res := <-blocked
	if netbsd.Errno(res.Error) != netbsd.EINTR {
		t.Errorf("read blocked across exec = %v, want EINTR", netbsd.Errno(res.Error))
	}
}

// waitBlocked waits until n calls of the server are blocked in poll.
func waitBlocked(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(callTimeout)
	for time.Now().Before(deadline) {
		if s.blockedCalls() >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d calls did not block within %v", n, callTimeout)
}

func TestConsole(t *testing.T) {
	var console lockedBuffer
	s, _ := newServerConsole(t, &console)
	c := guest(t, s, "console")

	c.ok(netbsd.SYS_WRITE, 1, c.put([]byte("to stdout\n")), 10)
	c.ok(netbsd.SYS_WRITE, 2, c.put([]byte("to stderr\n")), 10)
	if diff := cmp.Diff("to stdout\nto stderr\n", console.String()); diff != "" {
		t.Errorf("console (-want +got):\n%s", diff)
	}

	sb := c.alloc(netbsd.StatSize)
	c.ok(netbsd.SYS___FSTAT50, 0, sb)
	st, _ := netbsd.DecodeStat(c.load(sb, netbsd.StatSize))
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"fstat of the console is a character device, mode 0600", st.Mode, uint32(0o020600)},
		{"the console is open for writing only",
			c.fails(netbsd.SYS_READ, 0, c.alloc(1), 1), netbsd.EBADF},
		{"the console cannot seek", c.fails(netbsd.SYS_LSEEK, 1, 0, 0), netbsd.ESPIPE},
		{"F_GETFL says O_WRONLY", c.ok(netbsd.SYS_FCNTL, 2, netbsd.F_GETFL, 0),
			int64(netbsd.O_WRONLY)},
		{"TIOCGETA succeeds, as on a terminal",
			c.fails(netbsd.SYS_IOCTL, 0, netbsd.TIOCGETA, c.alloc(netbsd.TermiosSize)),
			netbsd.Errno(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestBrokenPipeRaisesSIGPIPE(t *testing.T) {
	s, _ := newServer(t)
	c := guest(t, s, "pipe")
	tests := []struct {
		name   string
		flags  uint64
		raised []uint32
	}{
		{"a plain pipe raises SIGPIPE", 0, []uint32{uint32(netbsd.SIGPIPE)}},
		{"an O_NOSIGPIPE pipe does not", netbsd.O_NOSIGPIPE, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fds := c.alloc(8)
			c.ok(netbsd.SYS_PIPE2, fds, tt.flags)
			c.ok(netbsd.SYS_CLOSE, uint64(c.i32(fds)))
			c.mu.Lock()
			c.raised = nil
			c.mu.Unlock()
			e := c.fails(netbsd.SYS_WRITE, uint64(c.i32(fds+4)), c.put([]byte("x")), 1)
			c.mu.Lock()
			raised := c.raised
			c.mu.Unlock()
			if e != netbsd.EPIPE {
				t.Errorf("write = %v, want EPIPE", e)
			}
			if diff := cmp.Diff(tt.raised, raised); diff != "" {
				t.Errorf("raised (-want +got):\n%s", diff)
			}
		})
	}
}
