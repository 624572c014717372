// Package emulate turns a notification that classification sent to the rump
// kernel into rump system calls and a reply: one handler per Linux system
// call, translating arguments and results between the Linux x86-64 and the
// NetBSD ABI.
//
// Every buffer a handler passes to the rump kernel is staged: read from the
// target up front (paths are already read by classification) or allocated
// for results, and written back to the target only after the notification
// is checked to be still valid. The rump kernel's copy requests are
// therefore never served from target memory, which makes a handler correct
// whichever process of the session the call comes from.
package emulate

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/notify"
	"github.com/hijack-project/hijack/rumpconn"
)

// Reply is the answer to one notification.
type Reply struct {
	Errno unix.Errno // non-zero: the call fails with this errno
	Value int64      // otherwise the call returns this
	// Continue lets the host kernel run the call, as for the close of a
	// shadow once its rump descriptor is closed.
	Continue bool
	// Sent reports that the handler has answered the notification itself,
	// with the descriptor it injected.
	Sent bool
	// Park reports that a blocking call gave up its wait, having done
	// nothing, because hijackd is handing its sessions to a successor,
	// which is to serve the notification afresh. Errno is EINTR, the
	// answer for a caller that does not know of parking.
	Park bool
}

// Call is one rump decision to serve.
type Call struct {
	N       *notify.Notification
	Syscall *decision.Syscall
	Verdict decision.Verdict
	Conn    *rumpconn.Conn
	Staging *rumpconn.Staging
	// Valid reports whether the notification is still pending; a handler
	// calls it before writing results into the target.
	Valid func() error
	// HandingOff reports whether hijackd is handing its sessions over, at
	// which a blocking wait parks the call (Reply.Park). May be nil.
	HandingOff func() bool

	// PID is the target process, Shadows its shadow table and FDOff the
	// policy's lowest shadow number.
	PID     int
	Shadows *fdinject.Table
	FDOff   int
	// Inject installs a shadow at number fd in the target and answers the
	// notification with fd, in one step: a duplicate of host descriptor
	// src, or of the session's file shadow when src is -1.
	Inject func(src, fd int, cloexec bool) error
	// Sockets are the process's rump sockets, Sysctl its /proc/sys files.
	Sockets *Sockets
	Sysctl  *SysctlFiles

	// Replace puts a duplicate of host descriptor src, or of the session's
	// file shadow when src is -1, at number fd in the target, in place of
	// what is there, without answering the notification.
	Replace func(fd, src int, cloexec bool) error
	// Pump installs a pumped shadow of file at number newfd, below fdoff,
	// and answers the notification with newfd. On success the pump owns
	// file; on failure the caller still does.
	Pump func(newfd int, file fdinject.RumpFile, dir fdinject.Direction, cloexec bool) error

	// Umask is the umask the rump process was last given, -1 before the
	// first; nil leaves the rump process's umask alone.
	Umask *atomic.Int64

	// Policy is the session's policy; Prefix its path prefix, "" when it
	// has only blankets.
	Policy *decision.Policy
	Prefix string
	// SetCwd records that the working directory of the process is now in
	// the rump kernel.
	SetCwd func()
}

type handler func(ctx context.Context, c *Call) Reply

// Supported reports whether Linux system call nr has a handler. Rump
// decisions of other calls fail with ENOSYS.
func Supported(nr int) bool { return handlers[nr] != nil }

// Serve performs c in the rump kernel and returns the reply for the target.
func Serve(ctx context.Context, c *Call) Reply {
	c.flushSysctl(ctx)
	if c.Verdict.Sysctl {
		return serveSysctl(ctx, c)
	}
	if c.Verdict.Mounts {
		return serveMounts(ctx, c)
	}
	if c.foreignDirfd() {
		// A /proc/sys file or directory hijackd made on the host.
		return Reply{Continue: true}
	}
	if c.Verdict.ViaFD {
		v := c.Verdict
		v.ViaFD = false
		call := *c
		call.Verdict = v
		return serveViaFD(ctx, &call)
	}
	h := handlers[int(c.N.Nr)]
	if h == nil {
		return Reply{Errno: unix.ENOSYS}
	}
	return h(ctx, c)
}

// foreignDirfd reports whether the directory descriptor of a path call is
// a host file of fdinject.Foreign.
func (c *Call) foreignDirfd() bool {
	if c.Syscall == nil || c.Syscall.Class != decision.ClassPath {
		return false
	}
	for _, p := range c.Syscall.Paths {
		if p.Dirfd == decision.NoDirfd {
			continue
		}
		if r, ok := c.Shadows.Lookup(int(c.arg(p.Dirfd))); ok && r == fdinject.Foreign {
			return true
		}
	}
	return false
}

// staged is a set of staged buffers, released together.
type staged []*rumpconn.Region

func (s *staged) release() {
	for _, r := range *s {
		r.Release()
	}
	*s = nil
}

// stage places buf in the staging window for the duration of a call and
// returns its address there.
func (c *Call) stage(s *staged, buf []byte) (uint64, error) {
	r, err := c.Staging.Stage(buf)
	if err != nil {
		return 0, err
	}
	*s = append(*s, r)
	return r.Addr(), nil
}

// stageString stages str with its terminating NUL.
func (c *Call) stageString(s *staged, str string) (uint64, error) {
	return c.stage(s, append([]byte(str), 0))
}

// rump performs NetBSD call nr and turns its outcome into a reply: the
// call's return value, its errno translated to Linux, ENOTCONN when the
// connection is gone, EFAULT when the kernel could not copy.
func (c *Call) rump(ctx context.Context, nr netbsd.Sysno, args ...uint64) Reply {
	res, err := c.Conn.Syscall(ctx, nr, args...)
	switch {
	case err != nil:
		return transportReply(err)
	case res.Faulted:
		return Reply{Errno: unix.EFAULT}
	case res.Errno != 0:
		return Reply{Errno: netbsd.ErrnoToLinux(res.Errno)}
	}
	return Reply{Value: res.Retval[0]}
}

func transportReply(err error) Reply {
	if errors.Is(err, rumpconn.ErrInvalidCall) {
		return Reply{Errno: unix.EINVAL}
	}
	return Reply{Errno: unix.ENOTCONN}
}

// copyOut writes buf to addr in the target, once the notification is known
// to be still pending.
func (c *Call) copyOut(addr uint64, buf []byte) error {
	if err := c.Valid(); err != nil {
		return err
	}
	if err := notify.WriteMemory(c.N.PID, addr, buf); err != nil {
		return fmt.Errorf("write result to target: %w", err)
	}
	return nil
}

// arg returns argument i as the C int the kernel reads.
func (c *Call) arg(i int) int32 { return int32(c.N.Args[i]) }

// sint widens a signed 32-bit value to an argument slot.
func sint(v int32) uint64 { return uint64(int64(v)) }
