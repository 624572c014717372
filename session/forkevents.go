package session

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Fork events. Forks are not trapped (see fork.go), and /proc names a
// process's children only while it lives: once it has exited they are
// another's, and a child not seen by then could not inherit its rump state.
// The kernel's process event connector reports every fork, with the parent
// and the child, as it happens. hijackd follows the forks of its targets'
// processes through it, so that a process's exit forks its rump process for
// every child it had that has not got one yet. It needs CAP_NET_ADMIN;
// without it, only /proc is asked, as before.

// Linux's connector and process event ABI (linux/connector.h, cn_proc.h).
const (
	cnIdxProc         = 1
	cnValProc         = 1
	procCnMcastListen = 1
	procEventFork     = 0x00000001
	procEventExit     = 0x80000000
	nlmsgHdrLen       = 16
	cnMsgLen          = 20
)

// forkRecordTTL is how long the forks of an exited process are kept for its
// exit to be handled.
const forkRecordTTL = time.Minute

// forkEvents records the forks of the processes it watches, and of their
// descendants.
type forkEvents struct {
	fd  int
	log *slog.Logger

	drainMu  sync.Mutex
	drainBuf []byte // guarded by drainMu

	mu       sync.Mutex
	watched  map[int]bool      // processes whose forks are recorded; guarded by mu
	children map[int][]int     // by parent; guarded by mu
	parents  map[int]int       // by child; guarded by mu
	exited   map[int]time.Time // watched processes that exited, and when; guarded by mu
}

// newForkEvents subscribes to the kernel's process events. It returns nil,
// and the reason, when it cannot.
func newForkEvents(log *slog.Logger) (*forkEvents, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC,
		unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("process event connector: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK,
		Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("process event connector: %w", err)
	}
	// A large buffer: every fork on the host arrives here.
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
	msg := make([]byte, nlmsgHdrLen+cnMsgLen+4)
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], unix.NLMSG_DONE)
	binary.NativeEndian.PutUint32(msg[nlmsgHdrLen:], cnIdxProc)
	binary.NativeEndian.PutUint32(msg[nlmsgHdrLen+4:], cnValProc)
	binary.NativeEndian.PutUint16(msg[nlmsgHdrLen+16:], 4)
	binary.NativeEndian.PutUint32(msg[nlmsgHdrLen+cnMsgLen:], procCnMcastListen)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("process event connector: subscribe: %w", err)
	}
	fe := &forkEvents{fd: fd, log: log, watched: make(map[int]bool),
		children: make(map[int][]int), parents: make(map[int]int),
		exited: make(map[int]time.Time)}
	go fe.read()
	return fe, nil
}

// read takes events as they come, for as long as hijackd runs.
func (fe *forkEvents) read() {
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(fe.fd, buf, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ENOBUFS:
			fe.log.Warn("process events lost (too many forks at once); children of " +
				"processes that exit now may miss their rump state")
			continue
		case err != nil:
			fe.log.Warn("process events stopped", "error", err)
			return
		}
		fe.parse(buf[:n])
	}
}

// drain takes the events already queued, so that a fork made before now
// is known.
func (fe *forkEvents) drain() {
	if fe == nil {
		return
	}
	fe.drainMu.Lock()
	defer fe.drainMu.Unlock()
	if fe.drainBuf == nil {
		fe.drainBuf = make([]byte, 64<<10)
	}
	buf := fe.drainBuf
	for {
		n, _, err := unix.Recvfrom(fe.fd, buf, unix.MSG_DONTWAIT)
		if err == unix.EINTR || err == unix.ENOBUFS {
			continue
		}
		if err != nil {
			return
		}
		fe.parse(buf[:n])
	}
}

// parse records the forks and exits one datagram reports.
func (fe *forkEvents) parse(b []byte) {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	for len(b) >= nlmsgHdrLen {
		l := int(binary.NativeEndian.Uint32(b))
		if l < nlmsgHdrLen || l > len(b) {
			return
		}
		fe.eventLocked(b[nlmsgHdrLen:l])
		b = b[min(len(b), (l+3)&^3):]
	}
}

// eventLocked records one connector message.
func (fe *forkEvents) eventLocked(m []byte) {
	if len(m) < cnMsgLen+32 || binary.NativeEndian.Uint32(m) != cnIdxProc {
		return
	}
	ev := m[cnMsgLen:]
	u32 := func(off int) int { return int(binary.NativeEndian.Uint32(ev[off:])) }
	switch uint32(u32(0)) {
	case procEventFork:
		parent, childPID, child := u32(20), u32(24), u32(28)
		if childPID != child || !fe.watched[parent] {
			return // a thread, or not a target's fork
		}
		fe.children[parent] = append(fe.children[parent], child)
		fe.parents[child] = parent
		fe.watched[child] = true
	case procEventExit:
		if pid, tgid := u32(16), u32(20); pid == tgid && fe.watched[pid] {
			fe.exited[pid] = time.Now()
			fe.sweepLocked()
		}
	}
}

// sweepLocked forgets the processes that exited longer than forkRecordTTL
// ago.
func (fe *forkEvents) sweepLocked() {
	now := time.Now()
	for pid, at := range fe.exited {
		if now.Sub(at) > forkRecordTTL {
			delete(fe.exited, pid)
			delete(fe.watched, pid)
			delete(fe.children, pid)
			delete(fe.parents, pid)
		}
	}
}

// watch records the forks of process pid from now on.
func (fe *forkEvents) watch(pid int) {
	if fe == nil {
		return
	}
	fe.mu.Lock()
	fe.watched[pid] = true
	fe.mu.Unlock()
}

// childrenOf returns the children pid forked since it was watched,
// including those other processes have adopted since pid exited.
func (fe *forkEvents) childrenOf(pid int) []int {
	if fe == nil {
		return nil
	}
	fe.drain()
	fe.mu.Lock()
	defer fe.mu.Unlock()
	return append([]int(nil), fe.children[pid]...)
}

// parentOf returns the process that forked pid, if it was watched then.
func (fe *forkEvents) parentOf(pid int) (int, bool) {
	if fe == nil {
		return 0, false
	}
	fe.drain()
	fe.mu.Lock()
	defer fe.mu.Unlock()
	pp, ok := fe.parents[pid]
	return pp, ok
}

// forget drops what is recorded of process pid, whose exit is handled.
func (fe *forkEvents) forget(pid int) {
	if fe == nil {
		return
	}
	fe.mu.Lock()
	defer fe.mu.Unlock()
	delete(fe.children, pid)
}
