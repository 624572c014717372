package session

import (
	"log/slog"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/notify"
	"github.com/hijack-project/hijack/rumpconn"
)

// unreachable answers rump decisions the way rumpclient answers when its
// server cannot be reached and reconnecting is off: the call fails with
// ENOTCONN. It says so in the log once per session, naming the server.
type unreachable struct {
	log    *slog.Logger
	server string
	reason string
	once   sync.Once
}

// Prefork fails: without a server there is no rump process to fork.
func (u *unreachable) Prefork(*process) (rumpconn.Cookie, error) {
	return rumpconn.Cookie{}, rumpconn.ErrNotConnected
}

func (u *unreachable) Serve(n *notify.Notification, sc *decision.Syscall,
	_ decision.Verdict, _ *process) Reply {
	u.once.Do(func() {
		u.log.Warn("rump server unavailable; rump calls fail with ENOTCONN",
			"server", u.server, "reason", u.reason, "pid", n.PID, "syscall", sc.Name)
	})
	return Reply{Errno: unix.ENOTCONN}
}
