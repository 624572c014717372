package rumpconn

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// fakeMemory is a target address space of a few mapped ranges.
type fakeMemory struct {
	mu     sync.Mutex
	ranges map[uint64][]byte // start → bytes
}

func newFakeMemory() *fakeMemory { return &fakeMemory{ranges: make(map[uint64][]byte)} }

// mapAt maps b at addr; the memory aliases b.
func (m *fakeMemory) mapAt(addr uint64, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ranges[addr] = b
}

func (m *fakeMemory) find(addr uint64, n int) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for start, b := range m.ranges {
		if addr >= start && addr-start <= uint64(len(b)) && uint64(n) <= uint64(len(b))-(addr-start) {
			return b[addr-start : addr-start+uint64(n)], true
		}
	}
	return nil, n == 0
}

func (m *fakeMemory) ReadAt(p []byte, addr uint64) error {
	b, ok := m.find(addr, len(p))
	if !ok {
		return ErrFault
	}
	copy(p, b)
	return nil
}

func (m *fakeMemory) WriteAt(p []byte, addr uint64) error {
	b, ok := m.find(addr, len(p))
	if !ok {
		return ErrFault
	}
	copy(b, p)
	return nil
}

// fakeClock is a Clock whose Sleep returns at once and moves Now on. It
// records the sleeps and calls onSleep with the number of each, from 0.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	sleeps  []time.Duration
	onSleep func(k int)
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	k := len(c.sleeps) - 1
	hook := c.onSleep
	c.mu.Unlock()
	if hook != nil {
		hook(k)
	}
	return nil
}

func (c *fakeClock) recorded() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// checkGoroutines fails the test if, once it ends, more goroutines run than
// when checkGoroutines was called. It waits a while for goroutines that are
// on their way out.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf)
		}
	})
}

// eventually waits until cond holds, failing the test after a generous
// while. It waits for background work to happen, and asserts nothing about
// how long that takes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testCtx returns a context that ends with the test, or after a minute, so
// that a hung call fails the test instead of the whole run.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// errText returns err's message, or "" for nil, for table comparisons.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// wantErr fails unless err matches every target with errors.Is.
func wantErr(t *testing.T, err error, targets ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one matching %v", targets)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Errorf("error %q does not match %v", err, target)
		}
	}
}
