package filter

import (
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/notify"
)

// probe is one raw system call made under a compiled filter.
type probe struct {
	name    string
	nr      uintptr
	args    [6]uintptr
	trapped bool
}

// observe installs prog on a fresh thread, makes each probe's call there,
// and returns the names of the probes that reached the listener. Every
// notification is answered with CONTINUE.
func observe(t *testing.T, prog []byte, probes []probe) []string {
	t.Helper()
	fdc := make(chan int, 1)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the thread ends with the goroutine
		fd, err := notify.Install(prog, notify.InstallFlags)
		if err != nil {
			errc <- err
			return
		}
		fdc <- fd
		for _, p := range probes {
			unix.Syscall6(p.nr, p.args[0], p.args[1], p.args[2], p.args[3], p.args[4],
				p.args[5])
		}
	}()
	var l *notify.Listener
	select {
	case err := <-errc:
		t.Skipf("seccomp user notification unavailable: %v", err)
	case fd := <-fdc:
		var err error
		if l, err = notify.NewListener(fd); err != nil {
			t.Fatal(err)
		}
	}
	defer l.Close()

	var seen []string
	for {
		ready, hup, err := l.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if hup {
			return seen
		}
		if !ready {
			continue
		}
		var n notify.Notification
		if err := l.Receive(&n); err != nil {
			continue
		}
		for _, p := range probes {
			if uintptr(n.Nr) == p.nr && n.Args[0] == uint64(p.args[0]) &&
				n.Args[4] == uint64(p.args[4]) {
				seen = append(seen, p.name)
			}
		}
		l.Continue(n.ID)
	}
}

func TestFilterTrapsWhatThePolicyCanRedirect(t *testing.T) {
	path := []byte("/nonexistent\x00")
	pathArg := uintptr(unsafe.Pointer(&path[0]))
	fdcwd := int64(unix.AT_FDCWD)
	minusOne := int64(-1)
	mapFile := uintptr(unix.MAP_PRIVATE)
	mapAnon := uintptr(unix.MAP_PRIVATE | unix.MAP_ANONYMOUS)

	probes := func(paths bool, inet, local bool, fdoff uintptr) []probe {
		rumpFDs := paths || inet || local
		return []probe{
			{"getppid", unix.SYS_GETPPID, [6]uintptr{}, false},
			{"openat", unix.SYS_OPENAT, [6]uintptr{uintptr(fdcwd), pathArg}, paths},
			{"getcwd", unix.SYS_GETCWD, [6]uintptr{}, paths},
			{"socket inet", unix.SYS_SOCKET, [6]uintptr{unix.AF_INET, unix.SOCK_STREAM}, inet},
			{"socket unix", unix.SYS_SOCKET, [6]uintptr{unix.AF_UNIX, unix.SOCK_STREAM}, local},
			{"socket packet", unix.SYS_SOCKET, [6]uintptr{unix.AF_PACKET, unix.SOCK_RAW}, false},
			{"read below fdoff", unix.SYS_READ, [6]uintptr{fdoff - 1}, false},
			{"read at fdoff", unix.SYS_READ, [6]uintptr{fdoff}, rumpFDs},
			{"dup2 onto fdoff", unix.SYS_DUP2, [6]uintptr{1, fdoff + 1}, rumpFDs},
			{"sync", unix.SYS_SYNC, [6]uintptr{}, rumpFDs},
			{"mmap of fd 3", unix.SYS_MMAP, [6]uintptr{0, 4096, 1, mapFile, 3}, false},
			{"mmap of fdoff", unix.SYS_MMAP, [6]uintptr{0, 4096, 1, mapFile, fdoff}, rumpFDs},
			{"anonymous mmap", unix.SYS_MMAP,
				[6]uintptr{0, 4096, 1, mapAnon, uintptr(minusOne)}, false},
		}
	}
	tests := []struct {
		name    string
		policy  string
		probes  []probe
		uringOK bool
	}{
		{"the default policy traps paths, inet sockets and high descriptors",
			decision.DefaultPolicy, probes(true, true, false, 128), false},
		{"an empty policy traps nothing",
			"", probes(false, false, false, 128), true},
		{"a socket-only policy leaves paths alone",
			"socket=inet", probes(false, true, false, 128), false},
		{"local sockets are trapped when selected",
			"socket=local", probes(false, false, true, 128), false},
		{"fdoff moves the descriptor threshold",
			"path=/rump,fdoff=300", probes(true, false, false, 300), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol, err := decision.ParsePolicy(tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := Compile(pol)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			seen := observe(t, prog, tt.probes)
			for _, p := range tt.probes {
				if got := slices.Contains(seen, p.name); got != p.trapped {
					t.Errorf("%s: trapped = %v, want %v", p.name, got, p.trapped)
				}
			}
		})
	}
	runtime.KeepAlive(path)
}

func TestFilterRefusesIOURing(t *testing.T) {
	pol, _ := decision.ParsePolicy(decision.DefaultPolicy)
	prog, err := Compile(pol)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan unix.Errno, 1)
	fdc := make(chan int, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := notify.Install(prog, notify.InstallFlags)
		if err != nil {
			fdc <- -1
			return
		}
		fdc <- fd
		var params [120]byte
		_, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params)), 0)
		errc <- e
	}()
	fd := <-fdc
	if fd < 0 {
		t.Skip("seccomp user notification unavailable")
	}
	defer unix.Close(fd)
	if e := <-errc; e != unix.ENOSYS {
		t.Errorf("io_uring_setup under the filter: errno %v, want ENOSYS", e)
	}
}
