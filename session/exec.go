package session

import (
	"context"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/netbsd"
)

// exec: the host runs execve and tells hijackd nothing about its outcome,
// so a process whose execve was continued is checked at its next trapped
// call. A successful exec closed its close-on-exec shadows, the only way a
// shadow closes untrapped, or replaced its program file; a failed one
// changed nothing. After a success, the rump descriptors of the closed
// shadows are closed and the rump process takes the new program's name
// (HANDSHAKE_EXEC). Rump descriptors are never close-on-exec in the rump
// kernel itself: the shadows are, as the host says, and the rump side
// follows them here.

// execState is what a process was when it called execve.
type execState struct {
	exe unix.Stat_t // its program file
}

// noteExec records that p's execve is about to run on the host.
func (p *process) noteExec() {
	var st execState
	if unix.Stat(fmt.Sprintf("/proc/%d/exe", p.pid), &st.exe) != nil {
		return
	}
	p.mu.Lock()
	p.exec = &st
	p.mu.Unlock()
}

// settleExec finds out whether p's noted execve succeeded and, if it did,
// forgets the shadows it closed; their rump side is closed by flushExec,
// before p's next rump call.
func (p *process) settleExec() {
	p.mu.Lock()
	st := p.exec
	p.exec = nil
	p.mu.Unlock()
	if st == nil {
		return
	}
	var gone []int
	for fd := range p.shadow.Numbers() {
		if !fdinject.IsShadow(p.pid, fd) {
			gone = append(gone, fd)
		}
	}
	var now unix.Stat_t
	replaced := unix.Stat(fmt.Sprintf("/proc/%d/exe", p.pid), &now) == nil &&
		(now.Dev != st.exe.Dev || now.Ino != st.exe.Ino)
	if len(gone) == 0 && !replaced {
		return // it failed, or changed nothing the rump side knows of
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, fd := range gone {
		r, ok := p.shadow.Remove(fd)
		switch {
		case !ok || r == fdinject.Stale:
		case r == fdinject.Foreign:
			p.sysctl.Forget(fd) // a /proc/sys file: the exec closed it
		default:
			p.closeOnExec = append(p.closeOnExec, r)
			if p.execClosed == nil {
				p.execClosed = make(map[int]int32)
			}
			p.execClosed[fd] = r
		}
	}
	p.execed = true
}

// flushExec performs on p's rump process what its exec did on the host.
func (s *served) flushExec(ctx context.Context, p *process) {
	p.mu.Lock()
	conn, fds, execed := p.conn, p.closeOnExec, p.execed
	p.closeOnExec, p.execed = nil, false
	p.mu.Unlock()
	if conn == nil || !execed {
		return
	}
	// Children forked before the exec inherit what it closes.
	s.sess.procs.snapshot(p)
	for _, fd := range fds {
		conn.Syscall(ctx, netbsd.SYS_CLOSE, uint64(int64(fd)))
		p.sockets.Remove(fd)
	}
	p.mu.Lock()
	p.execClosed = nil
	p.mu.Unlock()
	name, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.pid))
	if err != nil {
		return
	}
	if err := conn.Exec(ctx, strings.TrimSpace(string(name))); err != nil {
		s.sess.log.Warn("exec handshake failed", "pid", p.pid, "error", err)
	}
}
