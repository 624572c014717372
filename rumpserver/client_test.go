package rumpserver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// callTimeout bounds how long a test waits for any one answer; it only turns
// a hang into a failure.
const callTimeout = 20 * time.Second

// memBase is where the test client's memory starts: an address that is not
// NULL, as a real client's never is.
const memBase = 0x10000

// testClient speaks the client side of sysproxy with the package's encoders,
// serving the server's copyin and copyout requests from a byte slice that
// stands for the client's memory. Calls may be made from several goroutines
// at once; a reader goroutine matches the answers.
type testClient struct {
	t      testing.TB
	nc     net.Conn
	banner sysproxy.Banner

	wmu sync.Mutex

	mu      sync.Mutex
	reqno   uint64                         // guarded by mu
	mem     []byte                         // guarded by mu
	pending map[uint64]chan sysproxy.Frame // guarded by mu
	raised  []uint32                       // guarded by mu
	done    chan struct{}                  // closed when the reader stops
}

// socketpair returns the two ends of a connected AF_UNIX stream socketpair as
// net.Conns.
func socketpair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatalf("socketpair conn: %v", err)
		}
		conns[i] = c
	}
	return conns[0], conns[1]
}

// dialRaw connects a new socketpair to the server and returns the client's
// end, banner not read.
func dialRaw(t testing.TB, s *Server) net.Conn {
	t.Helper()
	cl, sv := socketpair(t)
	go s.ServeConn(sv)
	t.Cleanup(func() { cl.Close() })
	return cl
}

// guest connects and does a GUEST handshake.
func guest(t testing.TB, s *Server, name string) *testClient {
	t.Helper()
	return handshake(t, s, sysproxy.GuestHandshake{Reqno: 1, Name: name})
}

// forkChild connects and does a FORK handshake with cookie.
func forkChild(t testing.TB, s *Server, cookie sysproxy.Cookie) *testClient {
	t.Helper()
	return handshake(t, s, sysproxy.ForkHandshake{Reqno: 1, Cookie: cookie})
}

func handshake(t testing.TB, s *Server, hs sysproxy.ClientMessage) *testClient {
	t.Helper()
	nc := dialRaw(t, s)
	nc.SetDeadline(time.Now().Add(callTimeout))
	b, err := sysproxy.Handshake(nc, hs)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	nc.SetDeadline(time.Time{})
	c := &testClient{t: t, nc: nc, banner: b, reqno: 1,
		pending: make(map[uint64]chan sysproxy.Frame), done: make(chan struct{})}
	go c.read()
	return c
}

// read serves the server's requests and hands answers to their callers.
func (c *testClient) read() {
	defer close(c.done)
	for {
		f, err := sysproxy.ReadFrame(c.nc, 1<<24)
		if err != nil {
			return
		}
		if f.Class == sysproxy.ClassReq {
			c.serveRequest(f)
			continue
		}
		c.mu.Lock()
		ch := c.pending[f.Reqno]
		delete(c.pending, f.Reqno)
		c.mu.Unlock()
		if ch != nil {
			ch <- f
		}
	}
}

func (c *testClient) serveRequest(f sysproxy.Frame) {
	m, err := sysproxy.DecodeServerMessage(f)
	if err != nil {
		c.t.Errorf("server sent a bad request: %v", err)
		return
	}
	switch m := m.(type) {
	case sysproxy.CopyinRequest:
		r, err := m.Reply(c.load(m.Addr, int(m.Len)))
		if err != nil {
			c.t.Errorf("copyin reply: %v", err)
			return
		}
		c.write(r.Frame())
	case sysproxy.CopyinstrRequest:
		c.write(m.Reply(c.load(m.Addr, int(m.Len))).Frame())
	case sysproxy.CopyoutRequest:
		c.store(m.Addr, m.Data)
	case sysproxy.RaiseRequest:
		c.mu.Lock()
		c.raised = append(c.raised, m.Signo)
		c.mu.Unlock()
	default:
		c.t.Errorf("unexpected server request %T", m)
	}
}

// load returns n bytes of memory at addr; bytes outside it read as zero.
func (c *testClient) load(addr uint64, n int) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]byte, n)
	if addr >= memBase && addr-memBase < uint64(len(c.mem)) {
		copy(out, c.mem[addr-memBase:])
	}
	return out
}

func (c *testClient) store(addr uint64, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if addr < memBase || addr-memBase+uint64(len(b)) > uint64(len(c.mem)) {
		c.t.Errorf("copyout of %d bytes to %#x outside client memory", len(b), addr)
		return
	}
	copy(c.mem[addr-memBase:], b)
}

// alloc returns the address of n fresh zero bytes, 8-aligned.
func (c *testClient) alloc(n int) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.mem)%8 != 0 {
		c.mem = append(c.mem, 0)
	}
	addr := memBase + uint64(len(c.mem))
	c.mem = append(c.mem, make([]byte, n)...)
	return addr
}

// put copies b into fresh memory and returns its address.
func (c *testClient) put(b []byte) uint64 {
	addr := c.alloc(len(b))
	c.store(addr, b)
	return addr
}

// str puts a NUL-terminated string in memory.
func (c *testClient) str(s string) uint64 { return c.put(append([]byte(s), 0)) }

// i32 and u64 read integers from memory.
func (c *testClient) i32(addr uint64) int32 {
	return int32(binary.LittleEndian.Uint32(c.load(addr, 4)))
}

func (c *testClient) u64(addr uint64) uint64 {
	return binary.LittleEndian.Uint64(c.load(addr, 8))
}

func (c *testClient) write(f sysproxy.Frame) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := sysproxy.WriteFrame(c.nc, f); err != nil && !errors.Is(err, net.ErrClosed) {
		c.t.Logf("client write: %v", err)
	}
}

// request sends m and waits for the frame that answers it. It reports false
// when the connection ends first or nothing comes within callTimeout; it
// never fails the test itself, so that any goroutine may use it.
func (c *testClient) request(reqno uint64, m sysproxy.ClientMessage) (sysproxy.Frame, bool) {
	ch := make(chan sysproxy.Frame, 1)
	c.mu.Lock()
	c.pending[reqno] = ch
	c.mu.Unlock()
	c.write(m.Frame())
	select {
	case f := <-ch:
		return f, true
	case <-c.done:
		return sysproxy.Frame{}, false
	case <-time.After(callTimeout):
		c.t.Errorf("no answer to %v within %v", m.Frame(), callTimeout)
		return sysproxy.Frame{}, false
	}
}

func (c *testClient) nextReqno() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqno++
	return c.reqno
}

// sys performs system call nr with the declared arguments of netbsd's table
// (PAD slots are added) and returns the result. A connection lost first
// fails the test.
func (c *testClient) sys(nr netbsd.Sysno, args ...uint64) sysproxy.SyscallResult {
	c.t.Helper()
	r, err := c.trySys(nr, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// start performs a call on a goroutine of its own and delivers its result,
// for calls that block. A failure is reported as EIO after a test error.
func (c *testClient) start(nr netbsd.Sysno, args ...uint64) <-chan sysproxy.SyscallResult {
	ch := make(chan sysproxy.SyscallResult, 1)
	go func() {
		r, err := c.trySys(nr, args...)
		if err != nil {
			c.t.Error(err)
			r = sysproxy.SyscallResult{Error: int32(netbsd.EIO)}
		}
		ch <- r
	}()
	return ch
}

func (c *testClient) trySys(nr netbsd.Sysno, args ...uint64) (sysproxy.SyscallResult, error) {
	block, err := netbsd.ArgBlock(nr, args...)
	if err != nil {
		return sysproxy.SyscallResult{}, fmt.Errorf("arguments of %v: %w", nr, err)
	}
	slots := make([]uint64, len(block)/8)
	for i := range slots {
		slots[i] = binary.LittleEndian.Uint64(block[8*i:])
	}
	reqno := c.nextReqno()
	f, ok := c.request(reqno, sysproxy.SyscallRequest{Reqno: reqno, Sysnum: uint32(nr),
		Args: slots})
	if !ok {
		return sysproxy.SyscallResult{}, fmt.Errorf("%v: connection lost", nr)
	}
	m, err := sysproxy.DecodeServerMessage(f)
	if err != nil {
		return sysproxy.SyscallResult{}, fmt.Errorf("%v: %w", nr, err)
	}
	r, ok := m.(sysproxy.SyscallResponse)
	if !ok {
		return sysproxy.SyscallResult{}, fmt.Errorf("%v: answered with %v", nr, f)
	}
	return r.Result, nil
}

// ok performs a call that must succeed and returns retval[0].
func (c *testClient) ok(nr netbsd.Sysno, args ...uint64) int64 {
	c.t.Helper()
	r := c.sys(nr, args...)
	if r.Error != 0 {
		c.t.Fatalf("%v: %v", nr, netbsd.Errno(r.Error))
	}
	return r.Retval[0]
}

// fails performs a call and returns its errno, 0 if it succeeded.
func (c *testClient) fails(nr netbsd.Sysno, args ...uint64) netbsd.Errno {
	c.t.Helper()
	return netbsd.Errno(c.sys(nr, args...).Error)
}

// prefork asks for a fork cookie.
func (c *testClient) prefork() sysproxy.Cookie {
	c.t.Helper()
	reqno := c.nextReqno()
	f, ok := c.request(reqno, sysproxy.PreforkRequest{Reqno: reqno})
	if !ok {
		c.t.Fatal("prefork: connection lost")
	}
	m, err := sysproxy.DecodeServerMessage(f)
	r, isResp := m.(sysproxy.PreforkResponse)
	if err != nil || !isResp {
		c.t.Fatalf("prefork answered with %v (%v)", f, err)
	}
	return r.Cookie
}

// exec does an EXEC handshake and waits for its answer.
func (c *testClient) exec(name string) sysproxy.Frame {
	c.t.Helper()
	reqno := c.nextReqno()
	f, ok := c.request(reqno, sysproxy.ExecHandshake{Reqno: reqno, Name: name})
	if !ok {
		c.t.Fatal("exec: connection lost")
	}
	return f
}

// close hangs up.
func (c *testClient) close() { c.nc.Close() }

// lockedBuffer is a console that tests can read while the server writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newServer returns a server on a fresh root and that root.
func newServer(t testing.TB) (*Server, string) {
	t.Helper()
	return newServerConsole(t, io.Discard)
}

func newServerConsole(t testing.TB, console io.Writer) (*Server, string) {
	t.Helper()
	root := t.TempDir()
	s, err := New(Config{Root: root, Console: console})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, root
}

// discardLogger drops every record.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
