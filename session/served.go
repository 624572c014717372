package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/emulate"
	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/notify"
	"github.com/hijack-project/hijack/rumpconn"
)

var errProcessExited = errors.New("process exited")

// served performs a session's rump decisions in its rump kernel through
// package emulate.
type served struct {
	sess   *Session
	srv    rumpconn.Server
	shadow *fdinject.Shadow

	mu          sync.Mutex
	unsupported map[string]bool // calls already logged as not served; guarded by mu
}

func (s *served) Serve(n *notify.Notification, sc *decision.Syscall, v decision.Verdict,
	p *process) Reply {
	if !emulate.Supported(int(n.Nr)) {
		s.mu.Lock()
		first := !s.unsupported[sc.Name]
		if s.unsupported == nil {
			s.unsupported = make(map[string]bool)
		}
		s.unsupported[sc.Name] = true
		s.mu.Unlock()
		if first {
			s.sess.log.Warn("rump call not served yet; it fails with ENOSYS",
				"syscall", sc.Name, "pid", n.PID)
		}
		return Reply{Errno: unix.ENOSYS}
	}
	conn, staging, err := s.connFor(p)
	if err != nil {
		s.sess.log.Warn("rump process not created; the call fails with ENOTCONN",
			"pid", p.pid, "syscall", sc.Name, "error", err)
		return Reply{Errno: unix.ENOTCONN}
	}
	// What programs wrote to pumped shadows so far, and the exec this
	// process made, come before this call; so do the forks of its
	// children that have none yet, before it changes what they inherit.
	s.sess.owner.drainPumps(s.sess.ctx)
	s.flushExec(s.sess.ctx, p)
	switch n.Nr {
	case unix.SYS_CLOSE, unix.SYS_CLOSE_RANGE, unix.SYS_DUP2, unix.SYS_DUP3,
		unix.SYS_CHDIR, unix.SYS_FCHDIR:
		s.sess.procs.snapshot(p)
	}
	return emulate.Serve(s.sess.ctx, &emulate.Call{
		N: n, Syscall: sc, Verdict: v, Conn: conn, Staging: staging,
		Valid:      func() error { return s.sess.listener.Valid(n.ID) },
		HandingOff: s.sess.handingOff.Load,
		PID:        p.pid, Shadows: p.shadow, FDOff: s.sess.policy.FDOff,
		Inject: func(src, fd int, cloexec bool) error {
			if src < 0 {
				src = s.shadow.FD()
			}
			_, err := s.sess.listener.AddFD(n.ID, src, fd, cloexec, true)
			return err
		},
		Sockets: p.sockets,
		Sysctl:  p.sysctl,
		Replace: func(fd, src int, cloexec bool) error {
			if src < 0 {
				src = s.shadow.FD()
			}
			_, err := s.sess.listener.AddFD(n.ID, src, fd, cloexec, false)
			return err
		},
		Pump: func(newfd int, file fdinject.RumpFile, dir fdinject.Direction, cloexec bool) error {
			return s.pump(n.ID, p, newfd, file, dir, cloexec)
		},
		Umask:  &p.umask,
		Policy: s.sess.policy,
		Prefix: s.sess.policy.Path,
		SetCwd: func() { p.setCwd(true) },
	})
}

// connFor returns the rump process of target process p, creating it on its
// first rump call: every process has a rump process of its own, as every
// rumpclient process has.
func (s *served) connFor(p *process) (*rumpconn.Conn, *rumpconn.Staging, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		return p.conn, p.staging, nil
	}
	if p.exited {
		return nil, nil, errProcessExited
	}
	name, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.pid))
	if err != nil {
		return nil, nil, err
	}
	if p.forked == nil && p.parent != nil {
		// Its parent has changed nothing it inherits since the fork:
		// fork the parent's rump process now.
		parent := p.parent
		p.parent = nil
		// Out of the parent's kids first: the parent's Prefork takes
		// snapshots for its kids, which would wait for this one.
		parent.mu.Lock()
		delete(parent.kids, p)
		parent.forking++
		parent.mu.Unlock()
		entries, private := parent.forkState()
		// No exec flush first: the child was forked before any exec
		// the parent has not followed yet, and inherits what it closed.
		cookie, err := s.Prefork(parent)
		parent.forked1()
		if err == nil {
			p.forked, p.inherited = &cookie, inherited(entries, private)
		} else {
			s.sess.log.Warn("fork of the parent's rump process failed; the child's starts empty",
				"pid", p.pid, "parent", parent.pid, "error", err)
			p.inherited = nil
			for n := range p.shadow.Numbers() {
				p.shadow.Remove(n)
			}
		}
	}
	staging := rumpconn.NewStaging(targetMemory{pid: p.pid})
	pid := p.pid
	opts := s.sess.owner.connOptions(pid, staging, s.sess.retry, p.lost)
	var conn *rumpconn.Conn
	if p.forked != nil {
		// The rump process its parent's prefork made, descriptors and
		// all, as rumpclient_fork_init claims it.
		cookie := *p.forked
		p.forked = nil
		conn, err = s.sess.owner.pool(s.srv).DialFork(s.sess.ctx, cookie,
			strings.TrimSpace(string(name)), opts)
		if err != nil {
			// Its shadows named the fork's descriptors, which it will
			// never have: they fail with EBADF, and the next call
			// makes a rump process of its own.
			s.sess.log.Warn("claiming the fork of the parent's rump process failed",
				"pid", p.pid, "error", err)
			p.shadow.Invalidate()
			p.inherited = nil
			s.release(cookie)
		}
	} else {
		conn, err = s.sess.owner.connect(s.sess.ctx, s.srv,
			strings.TrimSpace(string(name)), pid, staging, s.sess.retry, p.lost)
	}
	if err != nil {
		return nil, nil, err
	}
	// What the parent held that this process does not, it closed, or the
	// parent opened after the fork.
	keep := make(map[int32]bool)
	for _, r := range p.shadow.Entries() {
		keep[r] = true
	}
	for _, r := range p.inherited {
		if !keep[r] && r >= 0 {
			conn.Syscall(s.sess.ctx, netbsd.SYS_CLOSE, uint64(r))
			p.sockets.Remove(r)
		}
	}
	p.inherited = nil
	p.conn, p.staging = conn, staging
	p.sockets.Attach(s.sess.ctx, conn, staging)
	return conn, staging, nil
}

// claim gives p its rump process now, for a fork child that must watch the
// sockets it inherited.
func (s *served) claim(p *process) {
	if _, _, err := s.connFor(p); err != nil {
		s.sess.log.Warn("claiming a child's fork failed", "pid", p.pid, "error", err)
	}
}

// Prefork forks p's rump process as it is, for a child of p. An exec p
// made that its rump process has not followed yet is not flushed first:
// children forked before the exec inherit what it closed, and one forked
// after it closes what it does not hold when it claims the fork.
func (s *served) Prefork(p *process) (rumpconn.Cookie, error) {
	conn, _, err := s.connFor(p)
	if err != nil {
		return rumpconn.Cookie{}, err
	}
	return conn.Prefork(s.sess.ctx)
}

// release claims and closes the rump process of a fork that no child will
// claim, which would otherwise live as long as the server.
func (s *served) release(cookie rumpconn.Cookie) {
	go func() {
		conn, err := s.sess.owner.pool(s.srv).DialFork(context.Background(), cookie,
			"unclaimed", rumpconn.Options{Metrics: s.sess.owner.rumpMetrics})
		if err == nil {
			conn.Close()
		}
	}()
}
