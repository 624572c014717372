package notify

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// InstallFlags are the filter flags every hijacked program is started with: a
// listener is created, and a target waiting for its answer can only be
// interrupted by a fatal signal. Without the second flag a Go program's
// preemption signals withdraw and restart a slow notification, and a
// restarted call could run twice in the rump kernel.
const InstallFlags = unix.SECCOMP_FILTER_FLAG_NEW_LISTENER |
	unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV

// bpfInsnSize is the size of one classic BPF instruction (struct sock_filter).
const bpfInsnSize = 8

type sockFprog struct {
	len    uint16
	filter unsafe.Pointer
}

// Install sets no_new_privs and installs the classic BPF program prog (raw
// struct sock_filter array, as libseccomp exports it) on the calling thread
// with flags, and returns the listener descriptor (close-on-exec). The filter
// binds the calling OS thread only; the caller must hold runtime.LockOSThread
// and keep it until it execs, so that the program it runs inherits the filter.
//
// Install fails with a message naming the kernel feature when the kernel
// refuses the flags, and with EBUSY when the thread already has a listener
// (hijack-exec cannot run inside a hijacked program).
func Install(prog []byte, flags uint) (int, error) {
	if len(prog) == 0 || len(prog)%bpfInsnSize != 0 || len(prog)/bpfInsnSize > 4096 {
		return -1, fmt.Errorf("install filter: program of %d bytes is not 1 to 4096 instructions",
			len(prog))
	}
	// The instructions are copied so that the slice the kernel reads is
	// aligned whatever the caller's buffer is.
	insns := make([]uint64, len(prog)/bpfInsnSize)
	for i := range insns {
		insns[i] = binary.NativeEndian.Uint64(prog[i*bpfInsnSize:])
	}
	fprog := sockFprog{len: uint16(len(insns)), filter: unsafe.Pointer(&insns[0])}

	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, fmt.Errorf("set no_new_privs: %w", err)
	}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags),
		uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(insns)
	switch {
	case errno == 0:
		return int(r), nil
	case errno == unix.EBUSY:
		return -1, errors.New("install filter: this process already has a seccomp listener " +
			"(hijack-exec cannot run inside a program it hijacks)")
	case errno == unix.EINVAL && flags&unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV != 0:
		return -1, fmt.Errorf("install filter: %w (the kernel lacks "+
			"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, which needs Linux 5.19 or later)", errno)
	default:
		return -1, fmt.Errorf("install filter: %w", errno)
	}
}
