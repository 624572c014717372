package conformance

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/rumpconn"
)

// callTimeout bounds every call, dial and handshake of a test; it only turns
// a hang into a failure.
const callTimeout = 30 * time.Second

// The test memory: memSize bytes at memBase, an address that is not NULL, as
// a target's never is, and far below the staging window.
const (
	memBase = 0x10000
	memSize = 1 << 20
)

// memory stands for a target's address space: one mapping of memSize bytes
// at memBase and nothing else. Buffers the tests treat as the target's own,
// the kind emulate passes through without staging, live here.
type memory struct {
	mu   sync.Mutex
	b    []byte // guarded by mu
	used int    // guarded by mu: the bytes put has handed out
}

func newMemory() *memory { return &memory{b: make([]byte, memSize)} }

// spanLocked returns the n bytes at addr, or ErrFault when any of them lies
// outside the mapping.
//
// Preconditions: m.mu is held.
func (m *memory) spanLocked(addr uint64, n int) ([]byte, error) {
	if addr < memBase || addr-memBase > uint64(len(m.b)) ||
		uint64(n) > uint64(len(m.b))-(addr-memBase) {
		return nil, rumpconn.ErrFault
	}
	off := addr - memBase
	return m.b[off : off+uint64(n)], nil
}

// ReadAt is rumpconn.Memory's read.
func (m *memory) ReadAt(p []byte, addr uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := m.spanLocked(addr, len(p))
	if err != nil {
		return err
	}
	copy(p, b)
	return nil
}

// WriteAt is rumpconn.Memory's write.
func (m *memory) WriteAt(p []byte, addr uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := m.spanLocked(addr, len(p))
	if err != nil {
		return err
	}
	copy(b, p)
	return nil
}

// put copies b into fresh memory, 8-aligned, and returns its address.
func (m *memory) put(tb testing.TB, b []byte) uint64 {
	tb.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	start := (m.used + 7) &^ 7
	if start+len(b) > len(m.b) {
		tb.Fatalf("test memory exhausted by %d bytes", len(b))
	}
	copy(m.b[start:], b)
	m.used = start + len(b)
	return memBase + uint64(start)
}

// proc is one rump process as a test drives it: its Conn, the memory of the
// target it stands for, and the Staging over that memory through which the
// test passes paths and structures, as emulate does.
type proc struct {
	conn *rumpconn.Conn
	mem  *memory
	stg  *rumpconn.Staging
}

func newProc() *proc {
	mem := newMemory()
	return &proc{mem: mem, stg: rumpconn.NewStaging(mem)}
}

// dial opens a new rump process named name on srv. The Conn serves its copy
// requests from the process's Staging, whatever opts.Memory says, and is
// closed when the test ends.
func dial(tb testing.TB, srv rumpconn.Server, name string, opts rumpconn.Options) *proc {
	tb.Helper()
	p := newProc()
	opts.Memory = p.stg
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	c, err := rumpconn.Dial(ctx, srv, name, opts)
	if err != nil {
		tb.Fatalf("dial %s: %v", srv, err)
	}
	tb.Cleanup(func() { c.Close() })
	p.conn = c
	return p
}

// dialFork claims the process a Prefork made with cookie, as a fork child
// does. Its Conn has memory of its own and is closed when the test ends.
func dialFork(tb testing.TB, srv rumpconn.Server, cookie rumpconn.Cookie,
	name string) (*proc, error) {
	tb.Helper()
	p := newProc()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	c, err := rumpconn.DialFork(ctx, srv, cookie, name, rumpconn.Options{Memory: p.stg})
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() { c.Close() })
	p.conn = c
	return p, nil
}

// stage makes b readable and writable by the kernel until the test ends and
// returns its address. The kernel writes into b directly, so the test reads
// b only after the calls that use it have returned.
func (p *proc) stage(tb testing.TB, b []byte) uint64 {
	tb.Helper()
	r, err := p.stg.Stage(b)
	if err != nil {
		tb.Fatalf("stage %d bytes: %v", len(b), err)
	}
	tb.Cleanup(r.Release)
	return r.Addr()
}

// cstr stages s as a NUL-terminated string.
func (p *proc) cstr(tb testing.TB, s string) uint64 {
	tb.Helper()
	return p.stage(tb, append([]byte(s), 0))
}

// sys performs one call and returns what Syscall did.
func (p *proc) sys(nr netbsd.Sysno, args ...uint64) (rumpconn.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return p.conn.Syscall(ctx, nr, args...)
}

// call performs one call that must reach the kernel and return: a transport
// error or a faulted copy, which no buffer of these tests should cause,
// fails the test.
func (p *proc) call(tb testing.TB, nr netbsd.Sysno, args ...uint64) rumpconn.Result {
	tb.Helper()
	r, err := p.sys(nr, args...)
	if err != nil {
		tb.Fatalf("%s: %v", callName(nr), err)
	}
	if r.Faulted {
		tb.Fatalf("%s: a copy between the kernel and the test memory faulted", callName(nr))
	}
	return r
}

// ok performs a call that must succeed and returns its first value.
func (p *proc) ok(tb testing.TB, nr netbsd.Sysno, args ...uint64) int64 {
	tb.Helper()
	r := p.call(tb, nr, args...)
	if r.Errno != 0 {
		tb.Fatalf("%s failed with %v, want success", callName(nr), r.Errno)
	}
	return r.Retval[0]
}

// fails performs a call that must fail with want.
func (p *proc) fails(tb testing.TB, want netbsd.Errno, nr netbsd.Sysno, args ...uint64) {
	tb.Helper()
	r := p.call(tb, nr, args...)
	if r.Errno == 0 {
		tb.Errorf("%s succeeded with %d, want %v", callName(nr), r.Retval[0], want)
	} else if r.Errno != want {
		tb.Errorf("%s failed with %v, want %v", callName(nr), r.Errno, want)
	}
}

func callName(nr netbsd.Sysno) string {
	if c, ok := netbsd.Lookup(nr); ok {
		return c.Name
	}
	return fmt.Sprintf("syscall %d", nr)
}

// getpid returns the process's rump pid. getpid cannot fail: its outcome is
// in the first value whatever the error field says.
func (p *proc) getpid(tb testing.TB) int64 {
	tb.Helper()
	return p.call(tb, netbsd.SYS_GETPID).Retval[0]
}

// knownIssue is a wrong answer the embedded server is known to give: the
// errno it gives where NetBSD gives another, and what is wrong.
type knownIssue struct {
	errno netbsd.Errno
	what  string
}

// pathArg is a call argument that is a path, staged as a C string.
type pathArg string

// bufArg is a call argument that is an output buffer of so many bytes,
// staged.
type bufArg int

// bytesArg is a call argument that is an input buffer, staged.
type bytesArg []byte

// lenArg is a call argument that is the address of a socklen_t holding the
// value, staged, as getsockname takes its buffer's size.
type lenArg uint32

// errnoCase is a call that must fail with want.
type errnoCase struct {
	name string
	want netbsd.Errno
	nr   netbsd.Sysno
	args []any // pathArg, bufArg, bytesArg, lenArg or an integer
	// issue, when set, is skipped rather than failed when it is what comes
	// back, so that the suite stays green until the embedded server is
	// fixed and asserts NetBSD's answer from then on.
	issue *knownIssue
}

// errCase returns the case of call nr with args that must fail with want.
func errCase(name string, want netbsd.Errno, nr netbsd.Sysno, args ...any) errnoCase {
	return errnoCase{name: name, want: want, nr: nr, args: args}
}

// knownIssue marks c as one the embedded server answers with errno, wrongly.
func (c errnoCase) knownIssue(errno netbsd.Errno, what string) errnoCase {
	c.issue = &knownIssue{errno: errno, what: what}
	return c
}

// stageArgs turns a case's arguments into argument slots.
func (p *proc) stageArgs(t *testing.T, args []any) []uint64 {
	t.Helper()
	out := make([]uint64, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case pathArg:
			out[i] = p.cstr(t, string(a))
		case bufArg:
			out[i] = p.stage(t, make([]byte, a))
		case bytesArg:
			out[i] = p.stage(t, a)
		case lenArg:
			out[i] = p.stage(t, binary.LittleEndian.AppendUint32(nil, uint32(a)))
		case int:
			out[i] = uint64(a)
		case int64:
			out[i] = uint64(a)
		case uint64:
			out[i] = a
		default:
			t.Fatalf("argument %d of type %T", i, a)
		}
	}
	return out
}

// runErrnoCases runs each case as a subtest in p.
func runErrnoCases(t *testing.T, p *proc, cases []errnoCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := p.call(t, c.nr, p.stageArgs(t, c.args)...)
			if c.issue != nil && r.Errno == c.issue.errno && r.Errno != c.want {
				t.Skipf("known issue: %s gives %v, NetBSD gives %v: %s", callName(c.nr),
					r.Errno, c.want, c.issue.what)
			}
			switch {
			case r.Errno == 0:
				t.Errorf("%s succeeded with %d, want %v", callName(c.nr), r.Retval[0], c.want)
			case r.Errno != c.want:
				t.Errorf("%s failed with %v, want %v", callName(c.nr), r.Errno, c.want)
			}
		})
	}
}
