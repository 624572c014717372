package main

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// timeForks times n rounds of a fork whose child exits at once or, with a
// prog, executes it, and of the wait for the child, and prints the cost of
// one round.
func timeForks(mode string, n int, prog string) error {
	// The child of a raw fork has only the thread that forked: it must
	// not run Go code beyond the system calls that follow the fork, so
	// everything it needs is made here, before.
	var path *byte
	argv := []*byte{nil, nil}
	envv := []*byte{nil}
	if prog != "" {
		var err error
		if path, err = unix.BytePtrFromString(prog); err != nil {
			return err
		}
		argv[0] = path
	}
	runtime.LockOSThread()

	for range min(n, 10) { // warm hijackd's and the kernel's caches
		if err := forkOnce(path, argv, envv); err != nil {
			return err
		}
	}
	start := time.Now()
	for range n {
		if err := forkOnce(path, argv, envv); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	runtime.KeepAlive(path)
	runtime.KeepAlive(argv)
	runtime.KeepAlive(envv)
	fmt.Printf("%s %d %.1f\n", mode, n, float64(elapsed.Nanoseconds())/float64(n))
	return nil
}

// forkOnce forks a child that executes path with argv and envv, or exits
// when path is nil, and waits for it to exit with status 0.
func forkOnce(path *byte, argv, envv []*byte) error {
	pid, _, errno := unix.RawSyscall(unix.SYS_FORK, 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("fork: %w", errno)
	}
	if pid == 0 {
		if path != nil {
			unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(path)),
				uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
			unix.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
		}
		unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}

	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(int(pid), &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for %d: %w", pid, err)
		}
		break
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return fmt.Errorf("child %d ended with status %#x", pid, ws)
	}
	return nil
}
