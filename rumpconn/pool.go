package rumpconn

import (
	"context"
	"log/slog"
	"sync"

	"github.com/hijack-project/hijack/sysproxy"
)

// DefaultPoolSize is the number of ready connections a Pool keeps when
// PoolOptions.Size is 0.
const DefaultPoolSize = 2

// PoolOptions configure a Pool. The zero value is valid.
type PoolOptions struct {
	// Size is how many ready connections to keep. Default: DefaultPoolSize.
	Size int
	// Clock spaces the dials while the server is unreachable. Default: the
	// system clock.
	Clock Clock
	// Metrics receives the pooled connection gauge. Default: none.
	Metrics *Metrics
	// Logger receives dial failures at Debug. Default: discarded.
	Logger *slog.Logger
}

// Pool keeps a few connections to one server dialled, with their banners
// read and no handshake yet, so that a new target or a fork child gets its
// Conn without waiting for a dial; it refills in the background. Conns
// opened through a Pool also reconnect through it, and share a bound of
// sysproxy.MaxWorkers calls in flight, so that calls beyond what the server
// can run wait in hijackd, where a cancelled context ends the wait, rather
// than in the server's queue.
//
// A connection that waited in the pool while its server went away fails its
// handshake; the Conn then dials afresh, once.
type Pool struct {
	srv     Server
	size    int
	clock   Clock
	metrics *Metrics
	log     *slog.Logger
	slots   chan struct{}

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wake   chan struct{} // a connection was taken
	done   chan struct{} // closed when the filler exits

	mu sync.Mutex
	// ready holds the dialled connections, newest last. Guarded by mu.
	ready []*preconn
	// closed is set by Close. Guarded by mu.
	closed bool
}

// NewPool returns a Pool for srv and starts filling it in the background.
func NewPool(srv Server, opts PoolOptions) *Pool {
	p := &Pool{
		srv:     srv,
		size:    opts.Size,
		clock:   opts.Clock,
		metrics: opts.Metrics,
		log:     opts.Logger,
		slots:   make(chan struct{}, sysproxy.MaxWorkers),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	if p.size <= 0 {
		p.size = DefaultPoolSize
	}
	if p.clock == nil {
		p.clock = SystemClock{}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	go p.fill()
	return p
}

// Server returns the pool's server.
func (p *Pool) Server() Server { return p.srv }

// Dial is the package's Dial through the pool: it takes a ready connection,
// or dials one if none is ready, and makes a new rump process on it.
func (p *Pool) Dial(ctx context.Context, progname string, opts Options) (*Conn, error) {
	c := p.newConn(progname, opts)
	if err := c.open(ctx, guestHandshake(progname)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// DialFork is the package's DialFork through the pool.
func (p *Pool) DialFork(ctx context.Context, cookie Cookie, progname string,
	opts Options) (*Conn, error) {
	c := p.newConn(progname, opts)
	if err := c.open(ctx, forkHandshake(cookie)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (p *Pool) newConn(progname string, opts Options) *Conn {
	c := newConn(p.srv, progname, opts)
	c.dial = p.take
	c.slots = p.slots
	return c
}

// take returns a ready connection, or dials one. After Close it only dials.
func (p *Pool) take(ctx context.Context) (*preconn, bool, error) {
	p.mu.Lock()
	if n := len(p.ready); n > 0 {
		pc := p.ready[n-1]
		p.ready = p.ready[:n-1]
		p.metrics.connectionAdd(p.srv, statePooled, -1)
		p.mu.Unlock()
		select {
		case p.wake <- struct{}{}:
		default:
		}
		return pc, true, nil
	}
	p.mu.Unlock()

	pc, err := dialDirect(ctx, p.srv)
	return pc, false, err
}

// fill is the filler goroutine: it dials until the pool is full, then waits
// for a connection to be taken, until Close.
func (p *Pool) fill() {
	defer close(p.done)
	failures := 0
	for {
		p.mu.Lock()
		full := len(p.ready) >= p.size
		p.mu.Unlock()
		if full {
			select {
			case <-p.wake:
				continue
			case <-p.ctx.Done():
				return
			}
		}

		pc, err := dialDirect(p.ctx, p.srv)
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			failures++
			p.log.Debug("pool dial failed", "server", p.srv.String(), "err", err)
			if p.clock.Sleep(p.ctx, Backoff(min(failures, 19))) != nil {
				return
			}
			continue
		}
		failures = 0

		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			pc.nc.Close()
			return
		}
		p.ready = append(p.ready, pc)
		p.metrics.connectionAdd(p.srv, statePooled, 1)
		p.mu.Unlock()
	}
}

// Ready returns how many connections are waiting in the pool.
func (p *Pool) Ready() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ready)
}

// Close stops the filler, waits for it to exit and closes the connections
// waiting in the pool. Conns opened through the pool stay open and dial
// directly from then on. It is idempotent and returns nil.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	ready := p.ready
	p.ready = nil
	p.metrics.connectionAdd(p.srv, statePooled, -float64(len(ready)))
	p.mu.Unlock()

	p.cancel()
	<-p.done
	for _, pc := range ready {
		pc.nc.Close()
	}
	return nil
}
