package session

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/emulate"
	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/rumpconn"
)

// process is what a session knows of one target process (thread group).
type process struct {
	pid     int
	shadow  *fdinject.Table
	sockets *emulate.Sockets
	sysctl  *emulate.SysctlFiles
	// cwd is set while the working directory is in the rump kernel; cwds
	// is the session's count of such processes.
	cwd  atomic.Bool
	cwds *atomic.Int64
	// umask is the umask its rump process was last given, -1 before the
	// first.
	umask atomic.Int64

	mu      sync.Mutex
	conn    *rumpconn.Conn    // its rump process, once it has one; guarded by mu
	staging *rumpconn.Staging // guarded by mu
	exited  bool              // guarded by mu
	holds   int               // pumps using conn, which keep it open; guarded by mu
	// exec is set while an execve the host runs has an unknown outcome;
	// after one that succeeded, closeOnExec are the rump descriptors to
	// close and execed is set until the rump process has followed.
	exec        *execState // guarded by mu
	closeOnExec []int32    // guarded by mu
	execed      bool       // guarded by mu
	// forked is the rump process its parent's Prefork made for it, not
	// yet claimed; guarded by mu.
	forked *rumpconn.Cookie
	// forks are the preforks of forks this process made whose children
	// have not been seen yet, oldest first; guarded by mu.
	forks []fork
}

// maxForks bounds the forks a process keeps for children not seen yet: a
// child that exits before its first trapped call never claims its fork.
const maxForks = 64

// pushFork records fork f for a child to come, dropping the oldest beyond
// maxForks with discard.
func (p *process) pushFork(f fork, discard func(fork)) {
	p.mu.Lock()
	p.forks = append(p.forks, f)
	var old []fork
	if len(p.forks) > maxForks {
		old = slices.Clone(p.forks[:len(p.forks)-maxForks])
		p.forks = slices.Delete(p.forks, 0, len(p.forks)-maxForks)
	}
	p.mu.Unlock()
	for _, f := range old {
		discard(f)
	}
}

// fork is what a fork child inherits: the rump process Prefork made, the
// shadows as they were at the fork, and where the working directory was.
type fork struct {
	cookie  rumpconn.Cookie
	shadows *fdinject.Table
	sockets *emulate.Sockets
	cwd     bool
}

// hasRumpState reports whether the process has anything a fork child would
// inherit: a rump process, or one waiting for it to claim.
func (p *process) hasRumpState() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conn != nil || p.forked != nil
}

// holdConn keeps the rump process of p open for a pump until dropConn,
// even past p's exit. It reports false when p has no rump process.
func (p *process) holdConn() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil || p.exited {
		return false
	}
	p.holds++
	return true
}

// dropConn ends a hold; the last one of an exited process closes its rump
// process.
func (p *process) dropConn() {
	p.mu.Lock()
	p.holds--
	var conn *rumpconn.Conn
	if p.holds == 0 && p.exited {
		conn, p.conn = p.conn, nil
	}
	p.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

// HasRumpProcess reports whether p has a rump process, or one to claim.
func (p *process) HasRumpProcess() bool { return p.hasRumpState() }

// IsRumpFD reports whether fd is a shadow of the process.
func (p *process) IsRumpFD(fd int) bool {
	_, ok := p.shadow.Lookup(fd)
	return ok
}

// CwdInRump reports whether the working directory is in the rump kernel.
func (p *process) CwdInRump() bool { return p.cwd.Load() }

// setCwd records whether the working directory is in the rump kernel.
func (p *process) setCwd(inRump bool) {
	if p.cwd.Swap(inRump) != inRump {
		if inRump {
			p.cwds.Add(1)
		} else {
			p.cwds.Add(-1)
		}
	}
}

// processes maps the thread ids of notifications to target processes and
// forgets each process when it exits.
type processes struct {
	shadows *atomic.Int64  // the session's count of shadows
	cwds    *atomic.Int64  // the session's count of working directories in rump
	onAdd   func(*process) // called for each new process
	onExit  func(*process) // called for each process that exited
	// release frees the rump process of a fork whose child will never
	// claim it.
	release func(rumpconn.Cookie)

	mu      sync.Mutex
	byTID   map[int]*process // guarded by mu
	byPID   map[int]*process // guarded by mu
	watches []*os.File       // pidfds of the processes; guarded by mu
	closed  bool             // guarded by mu
}

// lookup returns the process of thread tid. The thread's process is read
// from /proc once and cached: a thread id is reused only after the kernel's
// pid space wraps, which the cache does not guard against.
func (ps *processes) lookup(tid int) (*process, error) {
	ps.mu.Lock()
	if p, ok := ps.byTID[tid]; ok {
		ps.mu.Unlock()
		return p, nil
	}
	ps.mu.Unlock()

	pid, ppid, err := threadGroup(tid)
	if err != nil {
		return nil, err
	}
	return ps.addChild(tid, pid, ppid)
}

// addChild records thread tid of process pid, whose parent is ppid. A new
// process whose parent forked it under hijackd inherits what the parent's
// newest unclaimed fork holds. Newest first, because the older ones are
// mostly of children that exited, or exec'd into programs, before making a
// trapped call and will never claim theirs; a parent that forks twice and
// whose first child is seen first gives each the other's copy, which
// differs only by what the parent did between the forks.
func (ps *processes) addChild(tid, pid, ppid int) (*process, error) {
	ps.mu.Lock()
	p, known := ps.byPID[pid]
	parent := ps.byPID[ppid]
	ps.mu.Unlock()
	if known || parent == nil || ppid <= 0 {
		return ps.add(tid, pid, nil, nil)
	}
	parent.mu.Lock()
	var f *fork
	if n := len(parent.forks); n > 0 {
		last := parent.forks[n-1]
		f = &last
		parent.forks = parent.forks[:n-1]
	}
	parent.mu.Unlock()
	if f == nil {
		return ps.add(tid, pid, nil, nil)
	}
	child := &process{pid: pid, shadow: f.shadows, sockets: f.sockets, cwds: ps.cwds,
		forked: &f.cookie}
	p, err := ps.addProcess(tid, pid, child)
	if err == nil && p == child {
		p.setCwd(f.cwd)
	}
	if err != nil || p.shadow != f.shadows {
		// Another thread of the child was first after all, or the
		// session is closing: the fork's copy is nobody's.
		ps.discard(*f)
	}
	return p, err
}

// discard frees what an unclaimed fork holds.
func (ps *processes) discard(f fork) {
	if ps.release != nil {
		ps.release(f.cookie)
	}
	if f.shadows != nil {
		for fd := range f.shadows.Numbers() {
			f.shadows.Remove(fd)
		}
	}
	f.sockets.Close()
}

// add records thread tid of process pid, creating the process, with conn as
// its rump process if given, when it is new.
func (ps *processes) add(tid, pid int, conn *rumpconn.Conn,
	staging *rumpconn.Staging) (*process, error) {
	return ps.addProcess(tid, pid, &process{pid: pid, shadow: fdinject.NewTable(ps.shadows),
		cwds: ps.cwds, conn: conn, staging: staging})
}

// addProcess records thread tid of process pid, with fresh as the process
// when pid is new; it returns the process pid is.
func (ps *processes) addProcess(tid, pid int, fresh *process) (*process, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed {
		return nil, fmt.Errorf("session closed")
	}
	if ps.byTID == nil {
		ps.byTID = make(map[int]*process)
		ps.byPID = make(map[int]*process)
	}
	p, ok := ps.byPID[pid]
	if !ok {
		p = fresh
		p.umask.Store(-1)
		if p.sockets == nil {
			p.sockets = emulate.NewSockets()
		}
		p.sysctl = emulate.NewSysctlFiles()
		if err := ps.watchLocked(p); err != nil {
			return nil, err
		}
		ps.byPID[pid] = p
		if ps.onAdd != nil {
			ps.onAdd(p)
		}
	}
	ps.byTID[tid] = p
	return p, nil
}

// watchLocked starts waiting for p to exit, through a pidfd in Go's poller.
func (ps *processes) watchLocked(p *process) error {
	fd, err := unix.PidfdOpen(p.pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("watch process %d: %w", p.pid, err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return fmt.Errorf("watch process %d: %w", p.pid, err)
	}
	ps.watches = append(ps.watches, f)
	go func() {
		// A pidfd becomes readable when its process exits; Read returns
		// early only when the session closes the descriptor.
		rc.Read(func(fd uintptr) bool {
			n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
			return n > 0
		})
		ps.exit(p, f)
	}()
	return nil
}

// exit forgets process p and its threads.
func (ps *processes) exit(p *process, watch *os.File) {
	ps.mu.Lock()
	if ps.byPID[p.pid] == p {
		delete(ps.byPID, p.pid)
	}
	for tid, q := range ps.byTID {
		if q == p {
			delete(ps.byTID, tid)
		}
	}
	for i, f := range ps.watches {
		if f == watch {
			ps.watches = append(ps.watches[:i], ps.watches[i+1:]...)
			break
		}
	}
	ps.mu.Unlock()
	watch.Close()

	p.mu.Lock()
	p.exited = true
	conn := p.conn
	if p.holds > 0 {
		conn = nil // the last pump closes it
	} else {
		p.conn = nil
	}
	unclaimed := p.forks
	p.forks = nil
	if p.forked != nil {
		unclaimed = append(unclaimed, fork{cookie: *p.forked})
		p.forked = nil
	}
	staging := p.staging
	p.mu.Unlock()
	if conn != nil {
		// What it wrote to /proc/sys through a shell's redirection.
		p.sysctl.Flush(context.Background(), conn, staging)
		conn.Close() // the rump process ends with the host process
	}
	for _, f := range unclaimed {
		ps.discard(f)
	}
	for fd := range p.shadow.Numbers() {
		p.shadow.Remove(fd)
	}
	p.setCwd(false)
	p.sockets.Close()
	p.sysctl.Close()
	if ps.onExit != nil {
		ps.onExit(p)
	}
}

// close stops watching every process and ends their rump processes.
func (ps *processes) close() {
	ps.mu.Lock()
	ps.closed = true
	watches := ps.watches
	ps.watches = nil
	ps.mu.Unlock()
	// Closing a pidfd ends its watcher, which then forgets its process.
	for _, f := range watches {
		f.Close()
	}
}

// invalidate marks every shadow of process pid stale.
func (ps *processes) invalidate(pid int) {
	ps.mu.Lock()
	p := ps.byPID[pid]
	ps.mu.Unlock()
	if p != nil {
		p.shadow.Invalidate()
	}
}

// count returns the number of live processes.
func (ps *processes) count() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.byPID)
}

// threadGroup returns the process id of thread tid and of its parent.
func threadGroup(tid int) (pid, ppid int, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	pid, ppid = -1, -1
	for sc.Scan() && (pid < 0 || ppid < 0) {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			pid, err = strconv.Atoi(strings.TrimSpace(v))
		} else if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			ppid, err = strconv.Atoi(strings.TrimSpace(v))
		}
		if err != nil {
			return 0, 0, err
		}
	}
	if pid < 0 {
		return 0, 0, fmt.Errorf("no Tgid in /proc/%d/status", tid)
	}
	return pid, ppid, nil
}
