package conformance

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/rumpconn"
)

// TestReconnect takes the server away from a Conn under each retry policy.
// It needs a server it can stop and start again on the same socket, so it
// runs against the embedded server only.
func TestReconnect(t *testing.T) {
	t.Run("once: a call after a server restart runs in a new process", testRetryOnce)
	t.Run("none: calls after a server restart fail with ENOTCONN", testRetryNone)
	t.Run("die: a lost server calls OnDie once", testRetryDie)
	t.Run("N seconds: gives up when no server comes back in time", testRetrySecondsGiveUp)
	t.Run("N seconds: reconnects to a server back in time", testRetrySecondsBack)
}

// newRestartable starts an embedded server the test can restart.
func newRestartable(t *testing.T) *embeddedServer {
	t.Helper()
	return startEmbedded(t, t.TempDir(), socketPath(t))
}

// openRoot opens the root directory and returns the descriptor, which a new
// process after a reconnect does not have.
func openRoot(t *testing.T, p *proc) int64 {
	t.Helper()
	return p.open(t, "/", netbsd.O_RDONLY, 0)
}

func testRetryOnce(t *testing.T) {
	e := newRestartable(t)
	// A new server numbers its processes afresh, so the Conn is made a
	// later process than the first: its pid then differs from the pid of
	// the first process of the restarted server, which the reconnect makes.
	dial(t, e.url, "placeholder", rumpconn.Options{})
	var (
		mu          sync.Mutex
		generations []uint64
	)
	p := dial(t, e.url, "survivor", rumpconn.Options{
		Retry: decision.RetryOnce,
		OnReconnect: func(gen uint64) {
			mu.Lock()
			defer mu.Unlock()
			generations = append(generations, gen)
		},
	})
	old := p.getpid(t)
	fd := openRoot(t, p)

	e.restart(t)

	r := p.call(t, netbsd.SYS_GETPID)
	if r.Retval[0] == old {
		t.Errorf("getpid after the restart = %d, the pid of the lost process", old)
	}
	if r.Generation != 2 {
		t.Errorf("getpid after the restart ran in generation %d, want 2", r.Generation)
	}
	mu.Lock()
	if len(generations) != 1 || generations[0] != 2 {
		t.Errorf("OnReconnect was called with %v, want [2]", generations)
	}
	mu.Unlock()
	p.fails(t, netbsd.EBADF, netbsd.SYS___FSTAT50, uint64(fd),
		p.stage(t, make([]byte, netbsd.StatSize)))
	if again := p.getpid(t); again != r.Retval[0] {
		t.Errorf("getpid changed from %d to %d after the reconnect", r.Retval[0], again)
	}
}

// wantNotConnected checks that a call failed because the connection is lost
// for good.
func wantNotConnected(t *testing.T, p *proc, what string) {
	t.Helper()
	r, err := p.sys(netbsd.SYS_GETPID)
	if !errors.Is(err, rumpconn.ErrNotConnected) || !errors.Is(err, syscall.ENOTCONN) {
		t.Errorf("getpid %s = (%+v, %v), want ErrNotConnected matching ENOTCONN",
			what, r, err)
	}
}

func testRetryNone(t *testing.T) {
	e := newRestartable(t)
	p := dial(t, e.url, "no-retry", rumpconn.Options{Retry: decision.RetryNone})
	p.getpid(t)

	e.restart(t)

	wantNotConnected(t, p, "after the restart")
	wantNotConnected(t, p, "a second time")
}

func testRetryDie(t *testing.T) {
	e := newRestartable(t)
	var (
		mu   sync.Mutex
		died int
	)
	p := dial(t, e.url, "die", rumpconn.Options{
		Retry: decision.RetryDie,
		OnDie: func() {
			mu.Lock()
			defer mu.Unlock()
			died++
		},
	})
	p.getpid(t)

	e.restart(t)

	wantNotConnected(t, p, "after the restart")
	wantNotConnected(t, p, "a second time")
	mu.Lock()
	defer mu.Unlock()
	if died != 1 {
		t.Errorf("OnDie was called %d times, want once", died)
	}
}

// fakeClock is a reconnect clock whose time moves only when the policy
// sleeps, so that a policy of N seconds runs without waiting them out.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time   // guarded by mu
	sleeps  int         // guarded by mu
	onSleep func(n int) // called after sleep n, from 1; set before use
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// Now is rumpconn.Clock's Now.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep is rumpconn.Clock's Sleep: it moves the time on by d at once.
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.sleeps++
	n := c.sleeps
	c.mu.Unlock()
	if c.onSleep != nil {
		c.onSleep(n)
	}
	return nil
}

func testRetrySecondsGiveUp(t *testing.T) {
	const seconds = 1
	e := newRestartable(t)
	clock := newFakeClock()
	p := dial(t, e.url, "seconds", rumpconn.Options{Retry: seconds, Clock: clock})
	p.getpid(t)

	e.stop(t)
	start := clock.Now()

	wantNotConnected(t, p, "with no server to reconnect to")
	if waited := clock.Now().Sub(start); waited < seconds*time.Second {
		t.Errorf("the policy gave up after %v of backoff, want at least %d s",
			waited, seconds)
	}
	wantNotConnected(t, p, "after the policy gave up")
}

func testRetrySecondsBack(t *testing.T) {
	const seconds = 2
	e := newRestartable(t)
	clock := newFakeClock()
	p := dial(t, e.url, "seconds", rumpconn.Options{Retry: seconds, Clock: clock})
	p.getpid(t)
	fd := openRoot(t, p)

	e.stop(t)
	// The server comes back after the fourth backoff, 0.6 s into the
	// policy's 2 s; the attempts before it find no socket. The clock calls
	// this on the goroutine of the call that reconnects, the test's.
	clock.onSleep = func(n int) {
		if n == 4 {
			startEmbedded(t, e.root, e.sock)
		}
	}

	r := p.call(t, netbsd.SYS_GETPID)
	if r.Generation != 2 {
		t.Errorf("getpid after the server came back ran in generation %d, want 2",
			r.Generation)
	}
	p.fails(t, netbsd.EBADF, netbsd.SYS___FSTAT50, uint64(fd),
		p.stage(t, make([]byte, netbsd.StatSize)))
}
