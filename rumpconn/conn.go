package rumpconn

// Design of a Conn.
//
// A Conn is one target process's rumpclient. At any time it has at most one
// link: a socket to the server, the process the server made for it, and the
// reader goroutine that reads every frame of that socket. Each link installed
// is a new generation (1 for the first); the rump process, and all its
// descriptors, belong to that generation alone.
//
// Calls. A call registers an attempt on the current link under a fresh
// reqno (one counter per Conn, from 1, never reused across links), writes
// its request under the link's write lock, and waits for its attempt to be
// answered. The reader matches responses and ERROR frames to attempts by
// reqno and serves the server's own requests inline, in arrival order, so
// every COPYOUT of a call is done before its response is delivered.
//
// Memory. Copy requests carry an address and nothing that names the call.
// All calls of a Conn are made for threads of one target process, which
// share one address space, so one Memory per Conn is exact: any copy
// request, whichever call it serves, is served from it. Translated
// structures are staged on that Memory (Staging) at addresses no target
// pointer can have, for the duration of a call; the kernel sees them as
// ordinary pointers. A fault cannot be reported to the server; the reply
// is made safe for it and the call is marked (see blameLocked) and answered
// EFAULT.
//
// Loss and reconnect. A link dies when its socket fails, when the server
// breaks the protocol, or on Close. Every attempt on it is told at once.
// What happens next is the retry policy, applied when a call next needs
// the link (the call in flight, or a later one), as rumpclient applies it
// on its send path:
//
//	RetryNone   the Conn is broken: this and every later call fail with
//	            ErrNotConnected
//	RetryDie    OnDie is called once, then as RetryNone
//	otherwise   one caller reconnects, the others wait for it: the backoff
//	            schedule, a new socket and a GUEST handshake; the new link
//	            is a new generation, OnReconnect is told before any call
//	            runs on it, and every call that was in flight is sent again
//	            (replayed) on the new process
//
// If the retry policy gives up, the Conn is broken as for RetryNone. A
// replayed call runs against a process that has none of the old one's
// descriptors, as with rumpclient; its staged buffers are still there, since
// its caller is still waiting. A call whose context ended is abandoned, not
// replayed: its copy requests are still served and its answer is dropped.

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// Options configure a Conn. The zero value is valid.
type Options struct {
	// Memory serves the server's copy requests: the target's address space,
	// normally through a Staging. Default: NoMemory.
	Memory Memory

	// OnRaise receives the NetBSD signal of each RAISE the kernel sends,
	// for delivery to the target. It runs on the reader goroutine and must
	// not block or call the Conn. Default: signals are dropped.
	OnRaise func(netbsd.Signal)

	// Retry is the reconnect policy, RUMPHIJACK_RETRYCONNECT. Default:
	// decision.RetryNone.
	Retry decision.Retry

	// OnDie is called once when the connection is found lost under
	// decision.RetryDie, so that the caller kills the target's process
	// tree. As with rumpclient, the loss is found by a call: one in flight,
	// or the next one. It runs on that call's goroutine.
	OnDie func()

	// OnReconnect is called with the new generation after a reconnect,
	// before any call runs on the new rump process, so the caller can drop
	// the state of the old one (its descriptor table). It runs on the
	// goroutine that reconnected, while other calls wait; it must not call
	// the Conn.
	OnReconnect func(generation uint64)

	// Clock times the reconnect backoff. Default: the system clock.
	Clock Clock

	// Metrics receives the Conn's metrics. Default: none.
	Metrics *Metrics

	// Logger receives lifecycle events at Info and copy faults at Debug.
	// Default: discarded.
	Logger *slog.Logger

	// MaxCopy bounds one copy between the kernel and Memory, and so the
	// frames the Conn accepts. A server asking for more breaks the
	// connection. Default: sysproxy.DefaultMaxPayload, 16 MiB.
	MaxCopy int
}

// Conn is a connection to a rump kernel on behalf of one target process,
// and so one process in the rump kernel. Its methods are safe for
// concurrent use; calls from many goroutines run concurrently in the
// kernel, as threads do.
type Conn struct {
	srv    Server
	opts   Options
	memory Memory
	clock  Clock
	log    *slog.Logger
	// dial opens a socket with its banner read; pooled tells that it came
	// from a pool and may have gone stale.
	dial func(context.Context) (pc *preconn, pooled bool, err error)
	// slots, when not nil, bounds the calls in flight on the server.
	slots chan struct{}

	reqno atomic.Uint64

	// closing is cancelled by Close, ending reconnects and dials.
	closing context.Context
	stop    context.CancelFunc
	readers sync.WaitGroup
	dieOnce sync.Once

	mu sync.Mutex
	// link is the live link, nil while lost. Guarded by mu.
	link *link
	// gen is the generation of the last link installed. Guarded by mu.
	gen uint64
	// progname is the name of the next GUEST handshake. Guarded by mu.
	progname string
	// lost is why the last link died. Guarded by mu.
	lost error
	// attempts counts reconnect attempts since the loss; lostAt is when
	// the first began. Guarded by mu.
	attempts int
	lostAt   time.Time
	// broken, once set, fails every call. Guarded by mu.
	broken error
	// reconnecting is closed when the reconnect under way ends; nil when
	// none is. Guarded by mu.
	reconnecting chan struct{}
	// closed is set by Close. Guarded by mu.
	closed bool
}

// newConn returns a Conn with defaults applied and no link.
func newConn(srv Server, progname string, opts Options) *Conn {
	c := &Conn{srv: srv, opts: opts, progname: progname, memory: opts.Memory,
		clock: opts.Clock, log: opts.Logger}
	if c.memory == nil {
		c.memory = NoMemory{}
	}
	if c.clock == nil {
		c.clock = SystemClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.dial = func(ctx context.Context) (*preconn, bool, error) {
		pc, err := dialDirect(ctx, srv)
		return pc, false, err
	}
	c.closing, c.stop = context.WithCancel(context.Background())
	return c
}

// Dial connects to srv, reads its banner and makes a new rump process
// named progname with a GUEST handshake. It blocks until the handshake is
// answered or ctx ends; a failure is not retried, whatever opts.Retry says,
// so that a target never starts without its rump kernel.
func Dial(ctx context.Context, srv Server, progname string, opts Options) (*Conn, error) {
	c := newConn(srv, progname, opts)
	if err := c.open(ctx, guestHandshake(progname)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// open makes and installs the Conn's first link.
func (c *Conn) open(ctx context.Context, hs handshake) error {
	l, err := c.connect(ctx, hs)
	if err != nil {
		return err
	}
	if !c.install(l) {
		l.fail(ErrClosed)
		return fmt.Errorf("%s: %w", hs.op, ErrClosed)
	}
	c.log.Info("rump server connected", "server", c.srv.String(),
		"banner", l.banner.String(), "generation", l.gen)
	return nil
}

// handshake is the request that opens a link.
type handshake struct {
	op    string
	build func(reqno uint64) sysproxy.ClientMessage
}

func guestHandshake(progname string) handshake {
	return handshake{op: "guest handshake", build: func(reqno uint64) sysproxy.ClientMessage {
		return sysproxy.GuestHandshake{Reqno: reqno, Name: progname}
	}}
}

// connect dials and hands shakes. A pooled socket that fails for want of a
// server (it may have waited in the pool while the server restarted) is
// replaced by a direct dial, once.
func (c *Conn) connect(ctx context.Context, hs handshake) (*link, error) {
	pc, pooled, err := c.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", hs.op, err)
	}
	l, err := c.startLink(ctx, pc, hs.op, hs.build)
	if err == nil || !pooled || ctx.Err() != nil {
		return l, err
	}
	if pc, err = dialDirect(ctx, c.srv); err != nil {
		return nil, fmt.Errorf("%s: %w", hs.op, err)
	}
	return c.startLink(ctx, pc, hs.op, hs.build)
}

// install makes l the live link, a new generation. It fails if the Conn is
// closed or l already died; the caller then kills l.
func (c *Conn) install(l *link) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || l.isDead() {
		return false
	}
	c.gen++
	l.gen = c.gen
	c.link = l
	c.lost = nil
	c.attempts = 0
	c.opts.Metrics.connectionAdd(c.srv, stateActive, 1)
	return true
}

// linkDown forgets l if it is the live link.
func (c *Conn) linkDown(l *link, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link != l {
		return
	}
	c.link = nil
	c.lost = err
	c.opts.Metrics.connectionAdd(c.srv, stateActive, -1)
	if !c.closed {
		c.log.Info("rump server connection lost", "server", c.srv.String(),
			"generation", l.gen, "err", err)
	}
}

// Server returns the server the Conn connects to.
func (c *Conn) Server() Server { return c.srv }

// Generation returns the generation of the current rump process: 1 for the
// first, one more after each reconnect. State of one generation (rump
// descriptors) means nothing in another.
func (c *Conn) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Close ends the connection, and with it the rump process, and waits for
// the Conn's reader goroutines to exit. Calls in flight, and all later
// ones, fail with ErrClosed; a reconnect under way stops. It is idempotent
// and always returns nil.
func (c *Conn) Close() error {
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	l := c.link
	c.mu.Unlock()

	if first {
		c.stop()
		if l != nil {
			l.fail(ErrClosed)
		}
	}
	c.readers.Wait()
	return nil
}

func (c *Conn) maxCopy() int {
	if c.opts.MaxCopy > 0 {
		return c.opts.MaxCopy
	}
	return sysproxy.DefaultMaxPayload
}

// maxPayload bounds incoming frames: a COPYOUT carries a descriptor and up
// to maxCopy bytes; nothing else is larger.
func (c *Conn) maxPayload() int { return c.maxCopy() + 16 }
