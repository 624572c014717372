package notify

import (
	"errors"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/internal/trapbpf"
)

// startTarget runs body on a fresh OS thread under a filter trapping nrs and
// returns the listener. The thread exits when body returns, which drops the
// filter's last user.
func startTarget(t *testing.T, body func(), nrs ...uint32) *Listener {
	t.Helper()
	fdc := make(chan int)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with its filter
		fd, err := Install(trapbpf.Program(nrs...), InstallFlags)
		if err != nil {
			errc <- err
			return
		}
		fdc <- fd
		body()
	}()
	select {
	case err := <-errc:
		t.Skipf("seccomp user notification unavailable: %v", err)
		return nil
	case fd := <-fdc:
		l, err := NewListener(fd)
		if err != nil {
			t.Fatalf("NewListener: %v", err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
}

func next(t *testing.T, l *Listener) Notification {
	t.Helper()
	ready, hup, err := l.Wait()
	if err != nil || !ready || hup {
		t.Fatalf("Wait = ready %v, hup %v, %v; want a pending notification", ready, hup, err)
	}
	var n Notification
	if err := l.Receive(&n); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return n
}

func TestRepliesReachTheTarget(t *testing.T) {
	type result struct {
		r     uintptr
		errno unix.Errno
	}
	results := make(chan result, 3)
	l := startTarget(t, func() {
		for range 3 {
			r, _, e := unix.Syscall(unix.SYS_GETPPID, 0, 0, 0)
			results <- result{r, e}
		}
	}, unix.SYS_GETPPID)

	n := next(t, l)
	if n.Nr != unix.SYS_GETPPID || n.Arch != unix.AUDIT_ARCH_X86_64 {
		t.Fatalf("notification nr %d arch %#x, want getppid on x86-64", n.Nr, n.Arch)
	}
	if err := l.Continue(n.ID); err != nil {
		t.Fatalf("Continue: %v", err)
	}
	if got := <-results; got.errno != 0 || int(got.r) != os.Getppid() {
		t.Errorf("continued getppid = %d, %v; want %d", got.r, got.errno, os.Getppid())
	}

	n = next(t, l)
	if err := l.Fail(n.ID, unix.ENOTCONN); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	if got := <-results; got.errno != unix.ENOTCONN {
		t.Errorf("failed getppid errno = %v, want ENOTCONN", got.errno)
	}

	n = next(t, l)
	if err := l.Return(n.ID, 4242); err != nil {
		t.Fatalf("Return: %v", err)
	}
	if got := <-results; got.errno != 0 || got.r != 4242 {
		t.Errorf("answered getppid = %d, %v; want 4242", got.r, got.errno)
	}
	if err := l.Valid(n.ID); !errors.Is(err, ErrGone) {
		t.Errorf("Valid after the reply = %v, want ErrGone", err)
	}
	if err := l.Return(n.ID, 1); !errors.Is(err, ErrGone) {
		t.Errorf("second reply = %v, want ErrGone", err)
	}
}

func TestWaitReportsHangUpWhenTheTargetExits(t *testing.T) {
	l := startTarget(t, func() {}, unix.SYS_GETPPID)
	for {
		ready, hup, err := l.Wait()
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if hup {
			return
		}
		if ready {
			t.Fatal("Wait reported a notification although the target made no call")
		}
	}
}

func TestStopEndsWait(t *testing.T) {
	block := make(chan struct{})
	l := startTarget(t, func() { <-block }, unix.SYS_GETPPID)
	defer close(block)
	l.Stop()
	if _, _, err := l.Wait(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait after Stop = %v, want ErrClosed", err)
	}
}

func TestReadStringFromTarget(t *testing.T) {
	paths := []string{"/etc/hostname"}
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'a'
	}
	bufs := [][]byte{append([]byte(paths[0]), 0), append(long, 0)}
	l := startTarget(t, func() {
		for _, b := range bufs {
			unix.Syscall6(unix.SYS_OPENAT, atFDCWD,
				uintptr(unsafe.Pointer(&b[0])), 0, 0, 0, 0)
		}
		// An address that is never mapped.
		unix.Syscall6(unix.SYS_OPENAT, atFDCWD, 8, 0, 0, 0, 0)
		runtime.KeepAlive(bufs)
	}, unix.SYS_OPENAT)

	n := next(t, l)
	got, err := ReadString(n.PID, n.Args[1], unix.PathMax)
	if err != nil || got != paths[0] {
		t.Errorf("ReadString = %q, %v; want %q", got, err, paths[0])
	}
	l.Continue(n.ID)

	n = next(t, l)
	if _, err := ReadString(n.PID, n.Args[1], unix.PathMax); !errors.Is(err, ErrTooLong) {
		t.Errorf("ReadString of 5000 bytes with limit %d: %v, want ErrTooLong", unix.PathMax, err)
	}
	if got, err := ReadString(n.PID, n.Args[1], len(long)); err != nil || got != string(long) {
		t.Errorf("ReadString with a large enough limit: %d bytes, %v", len(got), err)
	}
	l.Continue(n.ID)

	n = next(t, l)
	if _, err := ReadString(n.PID, n.Args[1], unix.PathMax); !errors.Is(err, ErrFault) {
		t.Errorf("ReadString at an unmapped address: %v, want ErrFault", err)
	}
	l.Continue(n.ID)
}

func TestAddFDAnswersWithTheInjectedDescriptor(t *testing.T) {
	const want = 200
	got := make(chan uintptr, 1)
	l := startTarget(t, func() {
		r, _, _ := unix.Syscall(unix.SYS_GETPPID, 0, 0, 0)
		got <- r
	}, unix.SYS_GETPPID)

	f, err := os.CreateTemp(t.TempDir(), "addfd")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := next(t, l)
	fd, err := l.AddFD(n.ID, int(f.Fd()), want, true, true)
	if err != nil {
		t.Fatalf("AddFD: %v", err)
	}
	if fd != want || <-got != want {
		t.Fatalf("AddFD placed the descriptor at %d, want %d", fd, want)
	}
	// Target and supervisor are one process here, so the injected
	// descriptor can be checked directly.
	defer unix.Close(want)
	var a, b unix.Stat_t
	unix.Fstat(int(f.Fd()), &a)
	if err := unix.Fstat(want, &b); err != nil || a.Ino != b.Ino {
		t.Errorf("descriptor %d is not the injected file (%v)", want, err)
	}
	flags, _ := unix.FcntlInt(uintptr(want), unix.F_GETFD, 0)
	if flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("injected descriptor lacks close-on-exec")
	}
}

var fdcwd = int64(unix.AT_FDCWD)

var atFDCWD = uintptr(fdcwd)
