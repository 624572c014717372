package rumpconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// dialFake opens a Conn to fs named "prog" and closes it with the test.
func dialFake(t *testing.T, fs *fakeServer, opts Options) *Conn {
	t.Helper()
	c, err := Dial(testCtx(t), fs.srv, "prog", opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestDialMakesAGuestProcess(t *testing.T) {
	checkGoroutines(t)
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{})

	res, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID)
	if err != nil {
		t.Fatalf("getpid: %v", err)
	}
	if diff := cmp.Diff(Result{Retval: [2]int64{2, 1}, Generation: 1}, res); diff != "" {
		t.Errorf("getpid (-want +got):\n%s", diff)
	}
	_, handshakes, _ := fs.stats()
	if diff := cmp.Diff([]string{"guest prog"}, handshakes); diff != "" {
		t.Errorf("handshakes (-want +got):\n%s", diff)
	}
	c.Close()
}

func TestDialOverTCP(t *testing.T) {
	checkGoroutines(t)
	fs := newFakeServerOn(t, "tcp")
	srv, err := ParseServer("tcp://"+fs.srv.address+"/", "/")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(testCtx(t), srv, "prog", Options{})
	if err != nil {
		t.Fatalf("Dial %v: %v", srv, err)
	}
	defer c.Close()
	if res, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID); err != nil || res.Retval[0] != 2 {
		t.Errorf("getpid over tcp = %+v, %v", res, err)
	}
}

func TestDialFailures(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(fs *fakeServer)
		target error
	}{
		{"a server that is not listening is refused or missing", func(fs *fakeServer) {
			fs.kill()
		}, syscall.ENOENT},
		{"a server without a sysproxy banner is not a rump server", func(fs *fakeServer) {
			fs.setConfig(func(c *fakeConfig) { c.banner = []byte("SSH-2.0-OpenSSH\n") })
		}, sysproxy.ErrBanner},
		{"a banner of another major version is refused", func(fs *fakeServer) {
			fs.setConfig(func(c *fakeConfig) { c.banner = []byte("RUMPSP-1.0-NetBSD-10.0/amd64\n") })
		}, sysproxy.ErrVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			fs := newFakeServer(t)
			tt.setup(fs)
			c, err := Dial(testCtx(t), fs.srv, "prog", Options{})
			if c != nil {
				c.Close()
			}
			wantErr(t, err, tt.target)
		})
	}
}

func TestSyscallRefusesCallsItMustNotSend(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{})
	tests := []struct {
		name string
		nr   netbsd.Sysno
		args []uint64
	}{
		{"an unknown number", 511, nil},
		{"a number beyond the table", 600, nil},
		{"a call no rump kernel implements", netbsd.SYS_EXIT, []uint64{0}},
		{"too few arguments", netbsd.SYS_WRITE, []uint64{1, 2}},
		{"too many arguments", netbsd.SYS_GETPID, []uint64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Syscall(testCtx(t), tt.nr, tt.args...)
			wantErr(t, err, ErrInvalidCall)
		})
	}
	if _, _, calls := fs.stats(); len(calls) != 0 {
		t.Errorf("the server saw calls: %v", calls)
	}
}

// TestConcurrentCalls runs calls from 16 goroutines at once, each with its
// own buffers, while the server interleaves the copy requests of all of
// them: every copy must be served from the right buffer and every result
// reach its own caller.
func TestConcurrentCalls(t *testing.T) {
	checkGoroutines(t)
	const workers, rounds = 16, 20
	fs := newFakeServer(t)

	// The first round of every worker waits until all are in the server,
	// so that their copy requests are in flight together.
	var arrived sync.WaitGroup
	arrived.Add(workers)
	allIn := make(chan struct{})
	go func() { arrived.Wait(); close(allIn) }()
	var once [workers]sync.Once
	fs.setHandler(func(s *fakeSession, req sysproxy.SyscallRequest) (sysproxy.SyscallResult, bool) {
		if id := req.Args[0]; id < workers && netbsd.Sysno(req.Sysnum) == netbsd.SYS_WRITE {
			once[id].Do(func() { arrived.Done(); <-allIn })
		}
		return defaultHandler(s, req)
	})

	mem := newFakeMemory()
	staging := NewStaging(mem)
	c := dialFake(t, fs, Options{Memory: staging})

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for id := range uint64(workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- worker(testCtx(t), c, mem, staging, id, rounds)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// worker writes from target memory, reads into a staged buffer and opens a
// path, checking each answer against what only its own buffers hold.
func worker(ctx context.Context, c *Conn, mem *fakeMemory, st *Staging, id uint64,
	rounds int) error {
	addr := 0x10000 + id*0x10000
	out := pattern(id+100, 300+int(id))
	mem.mapAt(addr, out)
	in := make([]byte, 200+int(id))
	region, err := st.Stage(in)
	if err != nil {
		return err
	}
	defer region.Release()
	path := []byte(fmt.Sprintf("/rump/worker/%d\x00", id))
	mem.mapAt(addr+0x8000, path)

	for round := range rounds {
		res, err := c.Syscall(ctx, netbsd.SYS_WRITE, id, addr, uint64(len(out)))
		if err != nil {
			return fmt.Errorf("worker %d round %d: write: %w", id, round, err)
		}
		if want := (Result{Retval: [2]int64{int64(len(out)), sum(out)}, Generation: 1}); res != want {
			return fmt.Errorf("worker %d round %d: write = %+v, want %+v", id, round, res, want)
		}

		clear(in)
		res, err = c.Syscall(ctx, netbsd.SYS_READ, id, region.Addr(), uint64(len(in)))
		if err != nil {
			return fmt.Errorf("worker %d round %d: read: %w", id, round, err)
		}
		if res.Errno != 0 || !bytes.Equal(in, pattern(id, len(in))) {
			return fmt.Errorf("worker %d round %d: read %+v did not fill its own buffer",
				id, round, res)
		}

		res, err = c.Syscall(ctx, netbsd.SYS_OPEN, addr+0x8000, 0, 0)
		if err != nil {
			return fmt.Errorf("worker %d round %d: open: %w", id, round, err)
		}
		if res.Retval[1] != sum(path) {
			return fmt.Errorf("worker %d round %d: open saw another path", id, round)
		}
	}
	return nil
}

func TestTryAgainResendsTheCall(t *testing.T) {
	fs := newFakeServer(t)
	var mu sync.Mutex
	refusals := 0
	fs.setHandler(func(s *fakeSession, req sysproxy.SyscallRequest) (sysproxy.SyscallResult, bool) {
		mu.Lock()
		defer mu.Unlock()
		if refusals < 3 {
			refusals++
			// Answer with the refusal a server without a free worker sends;
			// the result below then goes to a reqno nobody waits for.
			s.send(sysproxy.ErrorResponse{Reqno: req.Reqno, Code: sysproxy.CodeTryAgain})
		}
		return defaultHandler(s, req)
	})
	c := dialFake(t, fs, Options{Clock: newFakeClock()})
	res, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID)
	if err != nil || res.Retval[0] != 2 {
		t.Fatalf("getpid: %+v, %v", res, err)
	}
	if _, _, calls := fs.stats(); calls[netbsd.SYS_GETPID] != 4 {
		t.Errorf("the server saw %d getpid requests, want 4", calls[netbsd.SYS_GETPID])
	}
}

func TestCloseEndsCallsInFlight(t *testing.T) {
	checkGoroutines(t)
	fs := newFakeServer(t)
	entered := make(chan struct{})
	fs.setHandler(func(s *fakeSession, req sysproxy.SyscallRequest) (sysproxy.SyscallResult, bool) {
		close(entered)
		s.waitEnd()
		return sysproxy.SyscallResult{}, false
	})
	c, err := Dial(testCtx(t), fs.srv, "prog", Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := c.Syscall(testCtx(t), netbsd.SYS_WRITE, 1, 0x1000, 8)
		done <- err
	}()
	<-entered
	c.Close()
	c.Close()
	wantErr(t, <-done, ErrClosed, syscall.ENOTCONN)
	_, err = c.Syscall(testCtx(t), netbsd.SYS_GETPID)
	wantErr(t, err, ErrClosed)
}

func TestContextEndsTheWait(t *testing.T) {
	fs := newFakeServer(t)
	release := make(chan struct{})
	fs.setHandler(func(s *fakeSession, req sysproxy.SyscallRequest) (sysproxy.SyscallResult, bool) {
		if netbsd.Sysno(req.Sysnum) == netbsd.SYS_ACCEPT {
			<-release
		}
		return defaultHandler(s, req)
	})
	c := dialFake(t, fs, Options{})
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error)
	go func() {
		_, err := c.Syscall(ctx, netbsd.SYS_ACCEPT, 3, 0, 0)
		done <- err
	}()
	eventually(t, "the server has the call", func() bool {
		_, _, calls := fs.stats()
		return calls[netbsd.SYS_ACCEPT] == 1
	})
	cancel()
	wantErr(t, <-done, context.Canceled)

	// The abandoned call's late answer is dropped, and the Conn goes on.
	close(release)
	res, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID)
	if err != nil || res.Retval[0] != 2 {
		t.Errorf("getpid after an abandoned call: %+v, %v", res, err)
	}
	if errors.Is(err, ErrNotConnected) {
		t.Error("the abandoned call broke the connection")
	}
}
