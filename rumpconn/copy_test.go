package rumpconn

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

func TestCopiesFromStagingAndTarget(t *testing.T) {
	fs := newFakeServer(t)
	mem := newFakeMemory()
	st := NewStaging(mem)
	c := dialFake(t, fs, Options{Memory: st})
	ctx := testCtx(t)

	// A string that ends just before an unmapped page.
	tail := []byte("/rump/x\x00")
	mem.mapAt(0x20000-uint64(len(tail)), tail)
	staged := []byte("/rump/staged\x00and garbage after the NUL")
	region, err := st.Stage(staged)
	if err != nil {
		t.Fatal(err)
	}
	defer region.Release()
	data := pattern(7, 64)
	dataRegion, _ := st.Stage(data)
	defer dataRegion.Release()

	tests := []struct {
		name string
		nr   netbsd.Sysno
		args []uint64
		want Result
	}{
		{"a path ending at the end of mapped memory is read whole",
			netbsd.SYS_OPEN, []uint64{0x20000 - uint64(len(tail)), 0, 0},
			Result{Retval: [2]int64{3, sum(tail)}, Generation: 1}},
		{"a staged path is read up to its NUL",
			netbsd.SYS_OPEN, []uint64{region.Addr(), 0, 0},
			Result{Retval: [2]int64{3, sum([]byte("/rump/staged\x00"))}, Generation: 1}},
		{"a staged buffer is copied in whole",
			netbsd.SYS_WRITE, []uint64{1, dataRegion.Addr(), 64},
			Result{Retval: [2]int64{64, sum(data)}, Generation: 1}},
		{"a copyin within a staged buffer starts at its offset",
			netbsd.SYS_WRITE, []uint64{1, dataRegion.Addr() + 10, 54},
			Result{Retval: [2]int64{54, sum(data[10:])}, Generation: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Syscall(ctx, tt.nr, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTargetFaults(t *testing.T) {
	fs := newFakeServer(t)
	var got [][]byte
	var mu sync.Mutex
	fs.setHandler(func(s *fakeSession, req sysproxy.SyscallRequest) (sysproxy.SyscallResult, bool) {
		if netbsd.Sysno(req.Sysnum) == netbsd.SYS_WRITE {
			data := s.copyin(req.Args[1], req.Args[2])
			mu.Lock()
			got = append(got, data)
			mu.Unlock()
			return sysproxy.SyscallResult{Retval: [2]int64{int64(len(data))}}, true
		}
		return defaultHandler(s, req)
	})
	mem := newFakeMemory()
	mem.mapAt(0x1000, make([]byte, 16))
	st := NewStaging(mem)
	c := dialFake(t, fs, Options{Memory: st})
	ctx := testCtx(t)
	released, _ := st.Stage(make([]byte, 8))
	released.Release()

	tests := []struct {
		name string
		nr   netbsd.Sysno
		args []uint64
	}{
		{"an unmapped write buffer", netbsd.SYS_WRITE, []uint64{1, 0x9000, 32}},
		{"a write buffer running past mapped memory", netbsd.SYS_WRITE, []uint64{1, 0x1008, 16}},
		{"a released staged buffer", netbsd.SYS_WRITE, []uint64{1, released.Addr(), 8}},
		{"an unmapped path", netbsd.SYS_OPEN, []uint64{0x9000, 0, 0}},
		{"an unmapped read buffer", netbsd.SYS_READ, []uint64{1, 0x9000, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is answered EFAULT", func(t *testing.T) {
			res, err := c.Syscall(ctx, tt.nr, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			want := Result{Errno: netbsd.EFAULT, Retval: res.Retval, Faulted: true, Generation: 1}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}

	// The server got exactly the bytes it asked for, zeros, every time: an
	// empty or short reply would have crashed a real one.
	want := [][]byte{make([]byte, 32), make([]byte, 16), make([]byte, 8)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("copyin replies (-want +got):\n%s", diff)
	}
	res, err := c.Syscall(ctx, netbsd.SYS_GETPID)
	if err != nil || res.Errno != 0 {
		t.Errorf("the connection is not usable after the faults: %+v, %v", res, err)
	}
}

func TestRaiseAndAnonmmap(t *testing.T) {
	fs := newFakeServer(t)
	var mapped []byte
	fs.setHandler(func(s *fakeSession, req sysproxy.SyscallRequest) (sysproxy.SyscallResult, bool) {
		mapped = s.anonmmap(4096)
		s.send(sysproxy.RaiseRequest{Signo: uint32(netbsd.SIGPIPE)})
		return sysproxy.SyscallResult{Error: int32(netbsd.EPIPE)}, true
	})
	raised := make(chan netbsd.Signal, 1)
	c := dialFake(t, fs, Options{OnRaise: func(s netbsd.Signal) { raised <- s }})

	res, err := c.Syscall(testCtx(t), netbsd.SYS_WRITE, 1, 0x1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errno != netbsd.EPIPE {
		t.Errorf("write: errno %v, want EPIPE", res.Errno)
	}
	if sig := <-raised; sig != netbsd.SIGPIPE {
		t.Errorf("raised %v, want SIGPIPE", sig)
	}
	if diff := cmp.Diff(le64(0), mapped); diff != "" {
		t.Errorf("anonmmap reply (-want +got):\n%s", diff)
	}
}
