package session

import (
	"bufio"
	"context"
	"fmt"
	"os"
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
	// execClosed are the shadows the exec closed, with their rump
	// descriptors, until the rump side follows: children forked before
	// the exec still hold them. guarded by mu.
	execClosed map[int]int32
	execed     bool // guarded by mu
	// forked is the rump process its parent's Prefork made for it, not
	// yet claimed, and inherited the rump descriptors its parent had then:
	// those its own table does not name are closed in it once claimed.
	forked    *rumpconn.Cookie
	inherited []int32
	// parent is the process its rump process is to be forked from at its
	// first rump call: it was seen before its parent changed anything it
	// inherits. kids are such children of this process, which get their
	// fork before it changes anything (see snapshot).
	parent *process
	kids   map[*process]bool
	// forking counts children whose fork of this process's rump process
	// is under way outside kids; a snapshot waits for them (forkDone) so
	// that what the process changes next reaches the rump kernel after
	// their PREFORK. guarded by mu.
	forking  int
	forkDone *sync.Cond
	// snapshots are forks taken for children not seen yet, by pid, and
	// rumpCwdKids those children born while the working directory was in
	// the rump kernel, which it has since left.
	snapshots   map[int]fork
	rumpCwdKids map[int]bool
	// pumped are the rump descriptors its pumps hold, which no shadow
	// names; guarded by mu.
	pumped map[int32]bool
}

// fork is what a fork child inherits: the rump process Prefork made, the
// shadows and sockets as they were then, and where the working directory
// was.
type fork struct {
	cookie  rumpconn.Cookie
	entries map[int]int32
	private []int32
	sockets *emulate.Sockets
	cwd     bool
}

// inherited returns the rump descriptors a fork's rump process has: those
// of entries, and private, hijackd's own, which no shadow names.
func inherited(entries map[int]int32, private []int32) []int32 {
	out := make([]int32, 0, len(entries)+len(private))
	for _, r := range entries {
		out = append(out, r)
	}
	return append(out, private...)
}

// hasRumpState reports whether the process has anything a fork child would
// inherit: a rump process, or one to claim or fork from its parent.
func (p *process) hasRumpState() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conn != nil || p.forked != nil || p.parent != nil
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
	// claim it; prefork forks the rump process of a process for a child.
	release func(rumpconn.Cookie)
	prefork func(*process) (rumpconn.Cookie, error)
	claim   func(*process) // gives a process its rump process now

	forks *forkEvents // the server's, or nil

	mu      sync.Mutex
	byTID   map[int]*process // guarded by mu
	byPID   map[int]*process // guarded by mu
	watches []*os.File       // pidfds of the processes; guarded by mu
	// orphans are the snapshots of exited processes for children not seen
	// yet, whose parent they no longer name; guarded by mu.
	orphans map[int]fork
	closed  bool // guarded by mu
	// exiting are the processes whose exit is being handled, until their
	// snapshots are orphans' forks: a child first seen meanwhile waits
	// for it. guarded by mu.
	exiting map[int]chan struct{}
	// pending counts the snapshots and orphans' forks not claimed yet:
	// while there are some, a process without shadows may have
	// inherited rump state.
	pending atomic.Int64
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

// addChild records thread tid of process pid, whose parent is ppid. Forks
// are not trapped, so a process is first seen at its first trapped call. A
// new process whose parent has rump state inherits it: from a snapshot the
// parent took for it, if the parent changed anything since (see snapshot),
// else from the parent as it is now, forking the parent's rump process at
// the child's first rump call. Of the parent's shadows it keeps those it
// holds.
func (ps *processes) addChild(tid, pid, ppid int) (*process, error) {
	return ps.addChildOf(tid, pid, ppid, nil)
}

// addChildOf is addChild for a child of from, when from is not nil: from's
// snapshot adds the children it forks for, also while from exits, and must
// not wait for exits being handled.
func (ps *processes) addChildOf(tid, pid, ppid int, from *process) (*process, error) {
	ps.mu.Lock()
	_, known := ps.byPID[pid]
	lost := !known && ps.byPID[ppid] == nil && from == nil
	ps.mu.Unlock()
	// The process that forked it, which has exited if it is not ppid: its
	// exit, not handled yet, will fork for it if it is still known.
	var forker int
	var forked bool
	if lost {
		forker, forked = ps.forks.parentOf(pid)
	}
	ps.mu.Lock()
	p, known := ps.byPID[pid]
	parent := ps.byPID[ppid]
	if parent == nil && forked {
		parent = ps.byPID[forker]
	}
	if from != nil {
		parent = from
	}
	if !known && parent == nil {
		// Its parent, or an ancestor between, may be exiting, about to
		// leave it (or that ancestor) a snapshot.
		ps.exitHandledLocked(0)
		p, known = ps.byPID[pid]
	}
	orphan, orphaned := ps.orphans[pid]
	delete(ps.orphans, pid)
	ps.mu.Unlock()
	if orphaned {
		ps.pending.Add(-1)
	}
	if known {
		return ps.add(tid, pid, nil, nil)
	}
	if parent == nil && !orphaned && ps.descends(ppid) {
		// Its parent was forked from a process of the session and has
		// made no trapped call yet (a subshell that only forks and
		// waits): the parent inherits first, then this child from it.
		if pp, err := ps.lookup(ppid); err == nil {
			parent = pp
		}
	}
	var f fork
	snap := orphaned
	child := &process{pid: pid, shadow: fdinject.NewTable(ps.shadows), cwds: ps.cwds}
	if snap {
		f = orphan
	} else if parent != nil {
		// One critical section: a snapshot the parent takes from now on
		// counts this child among its kids.
		parent.mu.Lock()
		if from == nil {
			// A parent whose exit is being handled has taken its last
			// kids already: wait for its snapshots to be orphans'.
			ps.mu.Lock()
			gone := ps.byPID[parent.pid] != parent
			ps.mu.Unlock()
			if gone {
				parent.mu.Unlock()
				ps.mu.Lock()
				ps.exitHandledLocked(parent.pid)
				ps.mu.Unlock()
				return ps.addChildOf(tid, pid, ppid, nil)
			}
		}
		f, snap = parent.snapshots[pid]
		delete(parent.snapshots, pid)
		if snap {
			ps.pending.Add(-1)
		}
		rumpCwd := parent.rumpCwdKids[pid]
		delete(parent.rumpCwdKids, pid)
		rumpState := parent.conn != nil || parent.forked != nil || parent.parent != nil
		if !snap && rumpState {
			f = fork{entries: parent.forkEntriesLocked(), private: parent.privateLocked(),
				sockets: parent.sockets.Clone(), cwd: parent.cwd.Load() || rumpCwd}
			child.parent = parent // before a snapshot can find it
			if parent.kids == nil {
				parent.kids = make(map[*process]bool)
			}
			parent.kids[child] = true
		}
		parent.mu.Unlock()
		if !snap && !rumpState {
			return ps.add(tid, pid, nil, nil)
		}
	} else {
		return ps.add(tid, pid, nil, nil)
	}
	// A snapshot of the parent's may have forked for it already.
	child.mu.Lock()
	child.sockets = f.sockets
	if child.forked == nil {
		child.inherited = inherited(f.entries, f.private)
	}
	child.mu.Unlock()
	for n, r := range f.entries {
		if fdinject.IsShadow(pid, n) {
			child.shadow.Add(n, r)
		}
	}
	if snap {
		child.forked = &f.cookie
	}
	p, err := ps.addProcess(tid, pid, child)
	if err != nil || p != child {
		// Another thread of the child was first after all, or the
		// session is closing.
		for n := range child.shadow.Numbers() {
			child.shadow.Remove(n)
		}
		if snap {
			ps.discard(f)
		} else {
			parent.mu.Lock()
			delete(parent.kids, child)
			parent.mu.Unlock()
			f.sockets.Close()
		}
		return p, err
	}
	p.setCwd(f.cwd)
	return p, nil
}

// exitHandledLocked waits until the exit of process pid, if it is being
// handled, is done, or those of every process whose exit is being handled
// when pid is 0. ps.mu is held, and released while it waits.
func (ps *processes) exitHandledLocked(pid int) {
	var wait []chan struct{}
	for epid, done := range ps.exiting {
		if pid == 0 || epid == pid {
			wait = append(wait, done)
		}
	}
	if len(wait) == 0 {
		return
	}
	ps.mu.Unlock()
	for _, done := range wait {
		<-done
	}
	ps.mu.Lock()
}

// maxAncestors bounds the walk up the process tree that descends makes.
const maxAncestors = 16

// descends reports whether process pid is, or descends from, a process of
// the session or one whose snapshot an exited process left, within
// maxAncestors generations.
func (ps *processes) descends(pid int) bool {
	for range maxAncestors {
		if pid <= 1 {
			return false
		}
		ps.mu.Lock()
		_, seen := ps.byPID[pid]
		_, orphaned := ps.orphans[pid]
		ps.mu.Unlock()
		if seen || orphaned {
			return true
		}
		_, ppid, err := threadGroup(pid)
		if err != nil {
			return false
		}
		pid = ppid
	}
	return false
}

// forkEntriesLocked returns what a child forked from p now holds: p's
// shadows, and those an exec of p closed whose rump side is still open.
func (p *process) forkEntriesLocked() map[int]int32 {
	entries := p.shadow.Entries()
	for n, r := range p.execClosed {
		if _, ok := entries[n]; !ok {
			entries[n] = r
		}
	}
	return entries
}

// privateLocked returns the rump descriptors of p that no shadow names:
// its watcher's pipe and its pumps' duplicates.
func (p *process) privateLocked() []int32 {
	out := p.sockets.Private()
	for r := range p.pumped {
		out = append(out, r)
	}
	return out
}

// forkState returns what a child forked from p now holds: the shadows
// (forkEntriesLocked) and the rump descriptors no shadow names.
func (p *process) forkState() (map[int]int32, []int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.forkEntriesLocked(), p.privateLocked()
}

// discard frees what an unclaimed fork holds.
func (ps *processes) discard(f fork) {
	if ps.release != nil {
		ps.release(f.cookie)
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
		ps.forks.watch(pid)
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
	// From here on a child first seen waits for this exit to be handled
	// rather than join p (exitHandledLocked).
	done := make(chan struct{})
	defer close(done)
	ps.mu.Lock()
	if ps.exiting == nil {
		ps.exiting = make(map[int]chan struct{})
	}
	ps.exiting[p.pid] = done
	defer func() {
		ps.mu.Lock()
		delete(ps.exiting, p.pid)
		ps.mu.Unlock()
	}()
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
	// Children it forked that have no rump process yet get theirs now,
	// from its rump process as it was at its exit: those seen, and those
	// the fork events name.
	ps.snapshot(p)
	ps.forks.forget(p.pid)

	p.mu.Lock()
	p.exited = true
	conn, flushConn := p.conn, p.conn
	if p.holds > 0 {
		conn = nil // the last pump closes it
	} else {
		p.conn = nil
	}
	parent := p.parent
	var unclaimed []fork
	if p.forked != nil {
		unclaimed = append(unclaimed, fork{cookie: *p.forked})
		p.forked = nil
	}
	snapshots := p.snapshots
	p.snapshots = nil
	p.parent = nil
	staging := p.staging
	p.mu.Unlock()
	if parent != nil {
		parent.mu.Lock()
		delete(parent.kids, p)
		parent.mu.Unlock()
	}
	ps.adopt(snapshots, unclaimed)
	if flushConn != nil {
		// What it wrote to /proc/sys through a shell's redirection.
		p.sysctl.Flush(context.Background(), flushConn, staging)
	}
	if conn != nil {
		conn.Close() // the rump process ends with the host process
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
	orphans := ps.orphans
	ps.orphans = nil
	ps.mu.Unlock()
	ps.pending.Add(-int64(len(orphans)))
	for _, f := range orphans {
		ps.discard(f) // no child of the session will claim them now
	}
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
		p.lost()
	}
}

// lost is told that p's rump process was replaced by a new one after the
// connection was lost: its rump descriptors are gone with the old one.
func (p *process) lost() {
	p.shadow.Invalidate()
	p.sockets.Lost()
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
