package session

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hijack-project/hijack/fdinject"
)

// process is what a session knows of one target process (thread group).
type process struct {
	pid    int
	shadow *fdinject.Table
}

// IsRumpFD reports whether fd is a shadow of the process.
func (p *process) IsRumpFD(fd int) bool {
	_, ok := p.shadow.Lookup(fd)
	return ok
}

// CwdInRump reports whether the working directory is in the rump kernel.
// chdir is not served in the rump kernel yet, so it never is.
func (p *process) CwdInRump() bool { return false }

// processes maps the thread ids of notifications to target processes.
type processes struct {
	shadows *atomic.Int64 // the session's count of shadows

	mu    sync.Mutex
	byTID map[int]*process // guarded by mu
	byPID map[int]*process // guarded by mu
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

	pid, err := threadGroup(tid)
	if err != nil {
		return nil, err
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.byTID == nil {
		ps.byTID = make(map[int]*process)
		ps.byPID = make(map[int]*process)
	}
	p, ok := ps.byPID[pid]
	if !ok {
		p = &process{pid: pid, shadow: fdinject.NewTable(ps.shadows)}
		ps.byPID[pid] = p
	}
	ps.byTID[tid] = p
	return p, nil
}

// invalidate marks every shadow of every process stale.
func (ps *processes) invalidate() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range ps.byPID {
		p.shadow.Invalidate()
	}
}

// threadGroup returns the process id of thread tid.
func threadGroup(tid int) (int, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Tgid:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("no Tgid in /proc/%d/status", tid)
}
