package session

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Forks. fork, vfork and clone are not trapped: a trapped call waits in the
// kernel's queue until hijackd takes it, and a signal that arrives meanwhile
// fails it with EINTR where the program's handler lacks SA_RESTART, which
// busybox sh's SIGCHLD handler does, so its pipelines failed. A child is
// instead first seen at its first trapped call, and its rump process is
// forked from its parent's then (addChild, connFor). That is the parent's
// state at the fork as long as the parent has changed nothing the child
// inherits since; before it does (closes or replaces a rump descriptor,
// changes its rump working directory, exits), the parent forks its rump
// process for every child that has not got its own yet: snapshot.

// maxSnapshots bounds the snapshots a process keeps for children not seen
// yet, which exited or exec'd without a trapped call if they never claim
// them.
const maxSnapshots = 64

// snapshot forks p's rump process for each child of p that has no rump
// process of its own yet, seen or not, so that what p is about to change
// stays as it was for them.
func (ps *processes) snapshot(p *process) {
	p.mu.Lock()
	// A child that has left kids to fork p's rump process itself must
	// have its PREFORK in before whatever p does next.
	for p.forking > 0 {
		p.forkCond().Wait()
	}
	var kids []*process
	for k := range p.kids {
		kids = append(kids, k)
	}
	p.kids = nil
	hasState := p.conn != nil || p.forked != nil || p.parent != nil
	p.mu.Unlock()
	if !hasState || ps.prefork == nil {
		return
	}
	// Children given a fork that hold sockets claim it at once, to watch
	// the sockets p may stop watching.
	var claim []*process
	var unseen []int
	for _, pid := range ps.childrenOf(p.pid) {
		ps.mu.Lock()
		_, seen := ps.byPID[pid]
		ps.mu.Unlock()
		p.mu.Lock()
		_, taken := p.snapshots[pid]
		p.mu.Unlock()
		if !seen && !taken {
			unseen = append(unseen, pid)
		}
	}
	for _, k := range kids {
		k.mu.Lock()
		lazy := k.parent == p && k.forked == nil && k.conn == nil
		k.mu.Unlock()
		if !lazy {
			continue
		}
		entries, private := p.forkState()
		cookie, err := ps.prefork(p)
		if err != nil {
			continue // the child starts with a rump process of its own
		}
		k.mu.Lock()
		if k.parent == p && k.conn == nil {
			k.parent, k.forked, k.inherited = nil, &cookie, inherited(entries, private)
			k.mu.Unlock()
			claim = append(claim, k)
		} else {
			k.mu.Unlock()
			ps.discard(fork{cookie: cookie})
		}
	}
	for _, pid := range unseen {
		entries, private := p.forkState()
		f := fork{entries: entries, private: private, sockets: p.sockets.Clone(),
			cwd: p.CwdInRump()}
		cookie, err := ps.prefork(p)
		if err != nil {
			f.sockets.Close()
			continue
		}
		f.cookie = cookie
		p.mu.Lock()
		if p.snapshots == nil {
			p.snapshots = make(map[int]fork)
		}
		var old []fork
		if len(p.snapshots) >= maxSnapshots {
			for pid, o := range p.snapshots {
				old = append(old, o)
				delete(p.snapshots, pid)
				break
			}
		}
		p.snapshots[pid] = f
		p.mu.Unlock()
		ps.pending.Add(1 - int64(len(old)))
		for _, o := range old {
			ps.discard(o)
		}
		if f.sockets.Len() > 0 {
			// It may wait on them untrapped (a daemon's child after
			// its parent exits): it must have a watcher of its own.
			if k, err := ps.addChildOf(pid, pid, p.pid, p); err == nil {
				claim = append(claim, k)
			}
		}
	}
	for _, k := range claim {
		if k.sockets.Len() > 0 && ps.claim != nil {
			ps.claim(k)
		}
	}
}

// forkCond returns the condition a snapshot of p waits on for the forks
// its children make themselves. p.mu must be held.
func (p *process) forkCond() *sync.Cond {
	if p.forkDone == nil {
		p.forkDone = sync.NewCond(&p.mu)
	}
	return p.forkDone
}

// forked1 ends one fork a child of p made of p's rump process.
func (p *process) forked1() {
	p.mu.Lock()
	p.forking--
	if p.forking == 0 {
		p.forkCond().Broadcast()
	}
	p.mu.Unlock()
}

// adopt keeps the snapshots of an exited process for its children to claim,
// who no longer name it as their parent, and frees the forks no one will.
func (ps *processes) adopt(snapshots map[int]fork, unclaimed []fork) {
	for _, f := range unclaimed {
		ps.discard(f)
	}
	ps.mu.Lock()
	var old []fork
	for pid, f := range snapshots {
		if ps.closed || len(ps.orphans) >= maxSnapshots {
			old = append(old, f)
			continue
		}
		if ps.orphans == nil {
			ps.orphans = make(map[int]fork)
		}
		ps.orphans[pid] = f
	}
	ps.mu.Unlock()
	ps.pending.Add(-int64(len(old)))
	for _, f := range old {
		ps.discard(f)
	}
}

// noteRumpCwdKids records, before p's working directory leaves the rump
// kernel, the children p has not been seen with, which were born with it
// there.
func (ps *processes) noteRumpCwdKids(p *process) {
	for _, pid := range ps.childrenOf(p.pid) {
		ps.mu.Lock()
		_, seen := ps.byPID[pid]
		ps.mu.Unlock()
		if seen {
			continue
		}
		p.mu.Lock()
		if p.rumpCwdKids == nil {
			p.rumpCwdKids = make(map[int]bool)
		}
		if len(p.rumpCwdKids) < maxSnapshots {
			p.rumpCwdKids[pid] = true
		}
		p.mu.Unlock()
	}
}

// childrenOf lists the living child processes of process pid, and those it
// forked that others adopted when it exited: from /proc, and from the fork
// events.
func (ps *processes) childrenOf(pid int) []int {
	kids := childrenOf(pid)
	for _, k := range ps.forks.childrenOf(pid) {
		if !slices.Contains(kids, k) && alive(k) {
			kids = append(kids, k)
		}
	}
	return kids
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(data), ')')
	return i >= 0 && i+2 < len(data) && data[i+2] != 'Z'
}

// childrenOf lists the child processes of process pid, from every thread.
func childrenOf(pid int) []int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(field); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}
