package rumpconn

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

func TestAHandedOverConnectionKeepsItsRumpProcess(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{})
	before, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID)
	if err != nil {
		t.Fatal(err)
	}
	f, h, err := c.File(0)
	if err != nil {
		t.Fatalf("File: %v", err)
	}
	// The predecessor goes; its duplicate of the socket keeps the
	// connection open.
	c.Close()

	r, err := Resume(fs.srv, f, h, Options{})
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	defer r.Close()
	after, err := r.Syscall(testCtx(t), netbsd.SYS_GETPID)
	if err != nil {
		t.Fatalf("getpid after the handover: %v", err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("getpid before and after the handover (-before +after):\n%s", diff)
	}
	if got := r.Generation(); got != 1 {
		t.Errorf("generation after the handover: %d, want 1", got)
	}
	accepted, handshakes, _ := fs.stats()
	if accepted != 1 || !cmp.Equal(handshakes, []string{"guest prog"}) {
		t.Errorf("the server saw %d connections and handshakes %q, want one guest", accepted,
			handshakes)
	}
}

func TestAConnectionIsNotHandedOverMidCall(t *testing.T) {
	fs := newFakeServer(t)
	release := make(chan struct{})
	fs.setHandler(func(s *fakeSession, req sysproxy.SyscallRequest) (sysproxy.SyscallResult, bool) {
		<-release
		return defaultHandler(s, req)
	})
	c := dialFake(t, fs, Options{})
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID)
		done <- err
	}()
	eventually(t, "the call in flight", func() bool {
		_, _, calls := fs.stats()
		return calls[netbsd.SYS_GETPID] > 0
	})
	if _, _, err := c.File(0); !errors.Is(err, ErrBusy) {
		t.Errorf("File during a call: %v, want ErrBusy", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f, _, err := c.File(0)
	if err != nil {
		t.Fatalf("File after the call: %v", err)
	}
	f.Close()
}
