package rumpconn

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

func TestBackoffIsRumpclients(t *testing.T) {
	var got []time.Duration
	for k := range 22 {
		got = append(got, Backoff(k))
	}
	ms := time.Millisecond
	want := []time.Duration{0, 100 * ms, 200 * ms, 300 * ms, 400 * ms, 500 * ms, 600 * ms,
		700 * ms, 800 * ms, 900 * ms}
	for s := 1; s <= 12; s++ {
		want = append(want, time.Duration(min(s, 10))*time.Second)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
}

// schedule returns the first n waits of the backoff.
func schedule(n int) []time.Duration {
	var s []time.Duration
	for k := range n {
		s = append(s, Backoff(k))
	}
	return s
}

// recorder collects the generations OnReconnect reports.
type recorder struct {
	mu   sync.Mutex
	gens []uint64
	dies int
}

func (r *recorder) reconnected(gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gens = append(r.gens, gen)
}

func (r *recorder) died() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dies++
}

func (r *recorder) get() ([]uint64, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint64(nil), r.gens...), r.dies
}

func TestRetryPolicies(t *testing.T) {
	tests := []struct {
		name  string
		retry decision.Retry
		// upAt restarts the server before the reconnect attempt of that
		// number; -1 restarts it before the call, -2 never.
		upAt       int
		wantSleeps []time.Duration
		wantGens   []uint64
		wantDies   int
		wantLost   bool
	}{
		{"no retry fails the call with ENOTCONN although the server is back",
			decision.RetryNone, -1, nil, nil, 0, true},
		{"die calls OnDie and fails the call",
			decision.RetryDie, -1, nil, nil, 1, true},
		{"once reconnects at once when the server is back",
			decision.RetryOnce, -1, schedule(1), []uint64{2}, 0, false},
		{"once gives up after its one attempt",
			decision.RetryOnce, -2, schedule(1), nil, 0, true},
		{"inftime keeps to the backoff until the server is back",
			decision.RetryInfTime, 13, schedule(14), []uint64{2}, 0, false},
		{"a number of seconds gives up once that much time has passed",
			3, -2, schedule(9), nil, 0, true},
		{"a number of seconds reconnects within its time",
			30, 5, schedule(6), []uint64{2}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			fs := newFakeServer(t)
			clock := newFakeClock()
			var rec recorder
			c := dialFake(t, fs, Options{Retry: tt.retry, Clock: clock,
				OnReconnect: rec.reconnected, OnDie: rec.died})

			fs.kill()
			eventually(t, "the client sees the loss", func() bool {
				return c.Generation() == 1 && c.lostLink()
			})
			if tt.upAt == -1 {
				fs.start()
			}
			clock.onSleep = func(k int) {
				if k == tt.upAt {
					fs.start()
				}
			}

			res, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID)
			if tt.wantLost {
				wantErr(t, err, ErrNotConnected)
				_, err = c.Syscall(testCtx(t), netbsd.SYS_GETPID)
				wantErr(t, err, ErrNotConnected)
			} else if err != nil || res.Generation != 2 || res.Retval[0] != 3 {
				t.Errorf("getpid = %+v, %v; want a new process, pid 3 of generation 2",
					res, err)
			}

			if diff := cmp.Diff(tt.wantSleeps, clock.recorded()); diff != "" {
				t.Errorf("backoff waits (-want +got):\n%s", diff)
			}
			gens, dies := rec.get()
			if diff := cmp.Diff(tt.wantGens, gens); diff != "" {
				t.Errorf("OnReconnect generations (-want +got):\n%s", diff)
			}
			if dies != tt.wantDies {
				t.Errorf("OnDie called %d times, want %d", dies, tt.wantDies)
			}
		})
	}
}

// lostLink reports whether the Conn has no live link.
func (c *Conn) lostLink() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.link == nil
}

// TestReplayOfCallsInFlight kills the server while four calls are inside
// it: each is sent again on the new process, and its copyout lands in the
// caller's staged buffer.
func TestReplayOfCallsInFlight(t *testing.T) {
	checkGoroutines(t)
	const calls = 4
	fs := newFakeServer(t)
	var mu sync.Mutex
	block := true
	var inside sync.WaitGroup
	inside.Add(calls)
	fs.setHandler(func(s *fakeSession, req sysproxy.SyscallRequest) (sysproxy.SyscallResult,
		bool) {
		mu.Lock()
		b := block
		mu.Unlock()
		if b && netbsd.Sysno(req.Sysnum) == netbsd.SYS_READ {
			inside.Done()
			s.waitEnd()
			return sysproxy.SyscallResult{}, false
		}
		return defaultHandler(s, req)
	})
	st := NewStaging(nil)
	var rec recorder
	c := dialFake(t, fs, Options{Memory: st, Retry: decision.RetryInfTime,
		Clock: newFakeClock(), OnReconnect: rec.reconnected})

	var wg sync.WaitGroup
	results := make([]Result, calls)
	bufs := make([][]byte, calls)
	for i := range calls {
		bufs[i] = make([]byte, 16)
		region, err := st.Stage(bufs[i])
		if err != nil {
			t.Fatal(err)
		}
		defer region.Release()
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			results[i], err = c.Syscall(testCtx(t), netbsd.SYS_READ, uint64(i), region.Addr(), 16)
			if err != nil {
				t.Errorf("read %d: %v", i, err)
			}
		}()
	}
	inside.Wait()
	mu.Lock()
	block = false
	mu.Unlock()
	fs.kill()
	fs.start()
	wg.Wait()

	for i, res := range results {
		want := Result{Retval: [2]int64{16}, Generation: 2}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("read %d (-want +got):\n%s", i, diff)
		}
		if !bytes.Equal(bufs[i], pattern(uint64(i), 16)) {
			t.Errorf("read %d: the replay's copyout did not land in its buffer", i)
		}
	}
	gens, _ := rec.get()
	if diff := cmp.Diff([]uint64{2}, gens); diff != "" {
		t.Errorf("OnReconnect generations (-want +got):\n%s", diff)
	}
	_, handshakes, served := fs.stats()
	if diff := cmp.Diff([]string{"guest prog", "guest prog"}, handshakes); diff != "" {
		t.Errorf("handshakes (-want +got):\n%s", diff)
	}
	if served[netbsd.SYS_READ] != 2*calls {
		t.Errorf("the server saw %d reads, want %d", served[netbsd.SYS_READ], 2*calls)
	}
}

func TestDieWhileACallIsInFlight(t *testing.T) {
	fs := newFakeServer(t)
	fs.setHandler(func(s *fakeSession, req sysproxy.SyscallRequest) (sysproxy.SyscallResult,
		bool) {
		return sysproxy.SyscallResult{}, false // the server crashes in the call
	})
	var rec recorder
	c := dialFake(t, fs, Options{Retry: decision.RetryDie, OnDie: rec.died})
	_, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID)
	wantErr(t, err, ErrNotConnected)
	_, err = c.Syscall(testCtx(t), netbsd.SYS_GETPID)
	wantErr(t, err, ErrNotConnected)
	if _, dies := rec.get(); dies != 1 {
		t.Errorf("OnDie called %d times, want 1", dies)
	}
}

func TestCloseStopsAReconnect(t *testing.T) {
	checkGoroutines(t)
	fs := newFakeServer(t)
	clock := newFakeClock()
	sleeping := make(chan struct{})
	var once sync.Once
	clock.onSleep = func(k int) {
		if k == 3 {
			once.Do(func() { close(sleeping) })
		}
	}
	c, err := Dial(testCtx(t), fs.srv, "prog", Options{Retry: decision.RetryInfTime,
		Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	fs.kill()
	done := make(chan error)
	go func() {
		_, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID)
		done <- err
	}()
	<-sleeping
	c.Close()
	wantErr(t, <-done, ErrClosed)
}
