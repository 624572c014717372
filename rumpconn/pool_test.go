package rumpconn

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hijack-project/hijack/netbsd"
)

func TestPoolKeepsConnectionsReady(t *testing.T) {
	checkGoroutines(t)
	fs := newFakeServer(t)
	p := NewPool(fs.srv, PoolOptions{Size: 3})
	defer p.Close()
	ctx := testCtx(t)

	eventually(t, "the pool is full", func() bool { return p.Ready() == 3 })
	if accepted, _, _ := fs.stats(); accepted != 3 {
		t.Errorf("the server accepted %d connections, want 3", accepted)
	}

	c, err := p.Dial(ctx, "a", Options{})
	if err != nil {
		t.Fatalf("dial through the pool: %v", err)
	}
	defer c.Close()
	cookie, err := c.Prefork(ctx)
	if err != nil {
		t.Fatal(err)
	}
	child, err := p.DialFork(ctx, cookie, "a", Options{})
	if err != nil {
		t.Fatalf("fork through the pool: %v", err)
	}
	defer child.Close()
	for _, conn := range []*Conn{c, child} {
		if _, err := conn.Syscall(ctx, netbsd.SYS_GETPID); err != nil {
			t.Errorf("getpid: %v", err)
		}
	}

	eventually(t, "the pool refills", func() bool {
		accepted, _, _ := fs.stats()
		return p.Ready() == 3 && accepted == 5
	})
	_, handshakes, _ := fs.stats()
	if diff := cmp.Diff([]string{"guest a", "fork"}, handshakes); diff != "" {
		t.Errorf("handshakes (-want +got):\n%s", diff)
	}
}

func TestPoolReplacesStaleConnections(t *testing.T) {
	checkGoroutines(t)
	fs := newFakeServer(t)
	p := NewPool(fs.srv, PoolOptions{Size: 2})
	defer p.Close()
	eventually(t, "the pool is full", func() bool { return p.Ready() == 2 })

	// The pooled connections now lead to a server that is gone.
	fs.kill()
	fs.start()
	c, err := p.Dial(testCtx(t), "a", Options{})
	if err != nil {
		t.Fatalf("dial with stale pooled connections: %v", err)
	}
	defer c.Close()
	if _, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID); err != nil {
		t.Errorf("getpid: %v", err)
	}
}

// stuckClock is a Clock whose sleeps last until their context ends.
type stuckClock struct{}

func (stuckClock) Now() time.Time { return time.Now() }

func (stuckClock) Sleep(ctx context.Context, d time.Duration) error {
	<-ctx.Done()
	return context.Cause(ctx)
}

func TestPoolCloseLeaksNothing(t *testing.T) {
	tests := []struct {
		name   string
		down   bool
		useIt  bool
		config PoolOptions
	}{
		{"a full pool", false, false, PoolOptions{}},
		{"a pool a connection was taken from", false, true, PoolOptions{Size: 4}},
		{"a pool whose server is down and whose filler waits", true, false,
			PoolOptions{Clock: stuckClock{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			fs := newFakeServer(t)
			if tt.down {
				fs.kill()
			}
			p := NewPool(fs.srv, tt.config)
			if !tt.down {
				size := max(tt.config.Size, DefaultPoolSize)
				eventually(t, "the pool is full", func() bool { return p.Ready() == size })
			}
			if tt.useIt {
				c, err := p.Dial(testCtx(t), "a", Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			p.Close()
			p.Close()
			if n := p.Ready(); n != 0 {
				t.Errorf("%d connections left in a closed pool", n)
			}
		})
	}
}
