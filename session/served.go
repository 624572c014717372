package session

import (
	"context"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/emulate"
	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/notify"
	"github.com/hijack-project/hijack/rumpconn"
)

// served performs a session's rump decisions in its rump kernel through
// package emulate.
type served struct {
	sess    *Session
	conn    *rumpconn.Conn
	staging *rumpconn.Staging
	shadow  *fdinject.Shadow

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
	return emulate.Serve(context.Background(), &emulate.Call{
		N: n, Syscall: sc, Verdict: v, Conn: s.conn, Staging: s.staging,
		Valid: func() error { return s.sess.listener.Valid(n.ID) },
		PID:   p.pid, Shadows: p.shadow, FDOff: s.sess.policy.FDOff,
		Inject: func(fd int, cloexec bool) error {
			_, err := s.sess.listener.AddFD(n.ID, s.shadow.FD(), fd, cloexec, true)
			return err
		},
	})
}
