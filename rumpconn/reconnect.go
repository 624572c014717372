package rumpconn

import (
	"context"
	"fmt"
	"time"

	"github.com/hijack-project/hijack/decision"
)

// Clock is the time source of the reconnect policy, injectable so that
// tests need not wait out the backoff.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep blocks for d, or until ctx ends, when it returns ctx's cause.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the Clock of the time package.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits for d or for ctx.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Backoff is rumpclient's wait before reconnect attempt k (from 0): 100 ms
// times k for the first ten, 0 to 0.9 s, then k-9 seconds up to 10.
func Backoff(k int) time.Duration {
	if k < 10 {
		return time.Duration(k) * 100 * time.Millisecond
	}
	return time.Duration(min(10, k-9)) * time.Second
}

// currentLink returns the live link, applying the retry policy when there
// is none: it fails for good (RetryNone, RetryDie after OnDie, a policy that
// gave up), waits for the reconnect another caller runs, or runs it.
func (c *Conn) currentLink(ctx context.Context) (*link, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		switch {
		case c.closed:
			return nil, ErrClosed
		case c.broken != nil:
			return nil, c.broken
		case c.reconnecting != nil:
			done := c.reconnecting
			c.mu.Unlock()
			select {
			case <-done:
			case <-ctx.Done():
			}
			c.mu.Lock()
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			continue
		case c.link != nil:
			return c.link, nil
		}

		switch r := c.opts.Retry; {
		case r == decision.RetryDie:
			c.broken = fmt.Errorf("%w: %w", ErrNotConnected, c.lost)
			c.mu.Unlock()
			c.die()
			c.mu.Lock()
		case r > 0 || r == decision.RetryInfTime || r == decision.RetryOnce:
			if err := c.reconnectLocked(ctx); err != nil {
				return nil, err
			}
		default:
			c.broken = fmt.Errorf("%w: %w", ErrNotConnected, c.lost)
		}
	}
}

// die calls OnDie, once.
func (c *Conn) die() {
	c.dieOnce.Do(func() {
		c.log.Info("rump server lost, ending the target as RUMPHIJACK_RETRYCONNECT=die asks",
			"server", c.srv.String())
		if c.opts.OnDie != nil {
			c.opts.OnDie()
		}
	})
}

// reconnectLocked runs a reconnect, with c.mu released meanwhile and
// c.reconnecting set so that other callers wait for it. It returns an error
// only when ctx ended; when the policy gives up, the Conn is broken.
//
// Preconditions: c.mu is held, there is no link and no reconnect under way.
func (c *Conn) reconnectLocked(ctx context.Context) error {
	done := make(chan struct{})
	c.reconnecting = done
	c.mu.Unlock()

	l, err := c.reconnect(ctx)
	if l != nil && c.install(l) {
		gen := l.gen
		c.log.Info("rump server reconnected", "server", c.srv.String(),
			"banner", l.banner.String(), "generation", gen)
		if c.opts.OnReconnect != nil {
			c.opts.OnReconnect(gen)
		}
	} else if l != nil {
		l.fail(ErrClosed)
	}

	c.mu.Lock()
	c.reconnecting = nil
	close(done)
	if err != nil && ctx.Err() == nil && !c.closed {
		c.broken = err
		c.log.Info("rump server reconnect gave up", "server", c.srv.String(), "err", err)
		return nil
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// reconnect makes reconnect attempts by the policy until one succeeds, the
// policy gives up (ErrNotConnected), or ctx or the Conn ends. The count of
// attempts and the start of the episode live in the Conn, so a caller that
// takes over from one whose ctx ended continues the same schedule.
func (c *Conn) reconnect(ctx context.Context) (*link, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(c.closing, func() { cancel(ErrClosed) })
	defer stop()

	retry := c.opts.Retry
	c.mu.Lock()
	last := c.lost
	c.mu.Unlock()
	for {
		c.mu.Lock()
		k := c.attempts
		if k == 0 {
			c.lostAt = c.clock.Now()
		}
		lostAt, progname := c.lostAt, c.progname
		c.mu.Unlock()

		if k >= 1 && retry == decision.RetryOnce {
			return nil, fmt.Errorf("%w: the one reconnect attempt failed: %w",
				ErrNotConnected, last)
		}
		if limit := time.Duration(retry) * time.Second; retry > 0 &&
			c.clock.Now().Sub(lostAt) >= limit {
			return nil, fmt.Errorf("%w: reconnect failed, %d second timeout: %w",
				ErrNotConnected, int(retry), last)
		}
		if err := c.clock.Sleep(ctx, Backoff(k)); err != nil {
			return nil, err
		}

		c.mu.Lock()
		c.attempts++
		c.mu.Unlock()
		l, err := c.connect(ctx, guestHandshake(progname))
		if err == nil {
			c.opts.Metrics.reconnect(c.srv, true)
			return l, nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		c.opts.Metrics.reconnect(c.srv, false)
		if k == 0 {
			c.log.Info("rump server connection lost, trying to reconnect",
				"server", c.srv.String(), "err", err)
		}
		last = err
	}
}
