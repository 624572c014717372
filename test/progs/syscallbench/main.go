// Command syscallbench times system calls in a loop and prints the cost of
// one call in nanoseconds, for hijack's benchmarks:
//
//	syscallbench untrapped N  N getppid calls, which no filter traps
//	syscallbench fdcall N     N fstat calls on descriptor 200, which a
//	                          filter with fdoff 128 traps and hijackd
//	                          continues (the host then fails them, EBADF)
//	syscallbench openat N     N openat+close of /etc/hostname; hijackd
//	                          reads the path and continues the openat
//	syscallbench bare N       the fdcall loop under a filter of its own,
//	                          answered with CONTINUE by a supervisor
//	                          thread in this process: a bare round trip
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/internal/trapbpf"
	"github.com/hijack-project/hijack/notify"
)

const shadowNumber = 200

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: syscallbench untrapped|fdcall|openat|bare N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n <= 0 {
		fmt.Fprintln(os.Stderr, "syscallbench: N must be a positive number")
		os.Exit(2)
	}
	runtime.LockOSThread()

	var loop func()
	var st unix.Stat_t
	fstat := func() {
		unix.Syscall(unix.SYS_FSTAT, shadowNumber, uintptr(unsafe.Pointer(&st)), 0)
	}
	switch os.Args[1] {
	case "untrapped":
		loop = func() { unix.Syscall(unix.SYS_GETPPID, 0, 0, 0) }
	case "fdcall":
		loop = fstat
	case "openat":
		loop = func() {
			fd, err := unix.Open("/etc/hostname", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err == nil {
				unix.Close(fd)
			}
		}
	case "bare":
		if err := superviseSelf(unix.SYS_FSTAT); err != nil {
			fmt.Fprintln(os.Stderr, "syscallbench:", err)
			os.Exit(1)
		}
		loop = fstat
	default:
		fmt.Fprintf(os.Stderr, "syscallbench: unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}

	for range min(n, 1000) { // warm caches and the supervisor's thread
		loop()
	}
	start := time.Now()
	for range n {
		loop()
	}
	elapsed := time.Since(start)
	fmt.Printf("%s %d %.1f\n", os.Args[1], n, float64(elapsed.Nanoseconds())/float64(n))
}

// superviseSelf traps nr on this thread and answers every notification with
// CONTINUE from a thread of its own, the way hijackd's receiver does.
func superviseSelf(nr uint32) error {
	fd, err := notify.Install(trapbpf.Program(nr), notify.InstallFlags)
	if err != nil {
		return err
	}
	l, err := notify.NewListener(fd)
	if err != nil {
		return err
	}
	go func() {
		runtime.LockOSThread()
		var n notify.Notification
		for {
			ready, hup, err := l.Wait()
			if err != nil || hup {
				return
			}
			if ready && l.Receive(&n) == nil {
				l.Continue(n.ID)
			}
		}
	}()
	return nil
}
