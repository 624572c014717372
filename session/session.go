// Package session runs hijackd's sessions: it accepts registrations on the
// control socket, compiles each session's filter, receives its listener, and
// answers every notification of the session's targets.
//
// A session is one listener: the process tree started by one hijack-exec,
// sharing one policy. It ends when the listener reports that no process uses
// the filter any more.
package session

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/control"
	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/emulate"
	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/metrics"
	"github.com/hijack-project/hijack/notify"
	"github.com/hijack-project/hijack/rumpconn"
)

// Session is one registered listener and what is known of its targets.
type Session struct {
	id       uint64
	listener *notify.Listener
	policy   *decision.Policy
	retry    decision.Retry
	server   string // RUMP_SERVER as given, or "" for the embedded kernel
	program  string
	argv     []string
	pid      int // the registering hijack-exec, which became the program
	uid      uint32
	started  time.Time

	log     *slog.Logger
	metrics *metrics.Metrics
	rump    Rump
	shadow  *fdinject.Shadow // the file shadows duplicate; nil without a server
	owner   *Server          // the Server that opened the session

	// ctx ends when the session does, which ends every rump call and dial
	// still in flight on its behalf.
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}  // closed when the receiver has returned
	inflight sync.WaitGroup // rump calls being served

	procs   processes
	pumps   pumps
	shadows atomic.Int64 // live shadows in all processes of the session
	cwds    atomic.Int64 // processes of the session whose working directory is in rump

	// handingOff is set when hijackd hands its sessions to a successor:
	// the receiver stops, blocking calls park.
	handingOff atomic.Bool

	mu        sync.Mutex
	withdrawn int // notifications whose target went away first; guarded by mu
	served    int // notifications answered; guarded by mu
	// calls are the notifications being served off the receiver, by id,
	// and parked those a handoff left for the successor to serve; resumed
	// are those a predecessor left, which the receiver serves first.
	// guarded by mu.
	calls   map[uint64]notify.Notification
	parked  []notify.Notification
	resumed []notify.Notification
}

// Rump performs a session's rump decisions.
type Rump interface {
	// Serve answers notification n, a call of sc that classification sent
	// to the rump kernel with verdict v, and returns the reply to send.
	// p is the calling process.
	Serve(n *notify.Notification, sc *decision.Syscall, v decision.Verdict, p *process) Reply
	// Prefork forks the rump process of p ahead of a host fork and returns
	// the cookie with which the child claims the copy.
	Prefork(p *process) (rumpconn.Cookie, error)
}

// Reply is the answer to one notification.
type Reply = emulate.Reply

// serve is the receiver: it runs on a thread of its own, takes notifications
// in order until the listener hangs up or is stopped, and then closes the
// listener. Host decisions are answered inline, which is what keeps a
// continued call at a few microseconds; rump calls are served on goroutines
// of their own, so that one that blocks holds up no other thread.
func (s *Session) serve() {
	runtime.LockOSThread()
	// The thread is given back to the runtime with its raised priority
	// only to be thrown away: a locked thread that exits locked ends.
	defer close(s.done)
	// A call waits in the kernel's queue until the receiver takes it, and
	// a signal that arrives meanwhile makes it fail with EINTR where the
	// program's handler lacks SA_RESTART: a receiver that is scheduled
	// first keeps that window short.
	raisePriority()

	s.mu.Lock()
	resumed := s.resumed
	s.resumed = nil
	s.mu.Unlock()
	for i := range resumed {
		n := resumed[i]
		if s.listener.Valid(n.ID) != nil {
			s.withdraw("resumed") // interrupted or killed meanwhile
			continue
		}
		s.handle(&n)
	}

	var n notify.Notification
	for {
		ready, hup, err := s.listener.Wait()
		if hup || err != nil {
			if err != nil && err != notify.ErrClosed {
				s.log.Error("listener failed", "error", err)
			}
			break
		}
		if !ready {
			continue
		}
		switch err := s.listener.Receive(&n); err {
		case nil:
			s.handle(&n)
		case notify.ErrGone:
			s.withdraw("unknown")
		default:
			s.log.Error("receive failed", "error", err)
		}
	}
	if s.handingOff.Load() {
		s.settle()
		return
	}
	// Rump calls still in flight end once their rump processes do.
	// Every process is gone: what is left in pumped shadows is final.
	s.pumps.drain(s.ctx)
	s.cancel()
	s.procs.close()
	s.inflight.Wait()
	s.pumps.close()
	s.listener.Close()
}

// receiverNice is the nice value of receiver threads, where hijackd may set
// it.
const receiverNice = -10

// raisePriority gives the calling thread receiverNice, if it may.
func raisePriority() {
	unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), receiverNice)
}

// handle decides and answers one notification.
func (s *Session) handle(n *notify.Notification) {
	start := time.Now()
	sc := decision.Lookup(int(n.Nr))
	if sc == nil || n.Arch != unix.AUDIT_ARCH_X86_64 {
		// The filter traps nothing else; a kernel or filter that does
		// is answered as if it had not trapped the call.
		s.reply(n, "unknown", decision.Host, Reply{}, start)
		return
	}

	var paths []decision.Path
	if sc.Class == decision.ClassPath {
		paths = make([]decision.Path, len(sc.Paths))
		for i, arg := range sc.Paths {
			name, err := notify.ReadString(n.PID, n.Args[arg.Path], unix.PathMax-1)
			switch err {
			case nil:
				paths[i] = decision.Path{Name: name, OK: true}
			case notify.ErrFault, notify.ErrTooLong:
				// Decided by the directory alone; the kernel that
				// owns it reports the bad path.
			default:
				// Without the path there is no decision; refusing
				// is the only answer that cannot send a rump path
				// to the host.
				s.log.Warn("cannot read target memory", "pid", n.PID,
					"syscall", sc.Name, "error", err)
				s.reply(n, sc.Name, decision.Refused, Reply{Errno: unix.EPERM}, start)
				return
			}
		}
		// The reads are only known to come from the target if the
		// notification is still pending now.
		if s.listener.Valid(n.ID) != nil {
			s.withdraw(sc.Name)
			return
		}
	}

	// Only a process with shadows or a working directory in the rump
	// kernel can have calls that belong there by descriptor or relative
	// path; until the session has one, no process need be looked up.
	var target decision.Target = noRumpState{}
	var proc *process
	lookup := func() bool {
		var err error
		if proc == nil {
			if proc, err = s.procs.lookup(n.PID); err != nil {
				s.withdraw(sc.Name) // the thread is gone
				return false
			}
		}
		target = proc
		proc.settleExec()
		return true
	}
	if (s.rumpState() || sc.Class == decision.ClassSync) && !lookup() {
		return
	}
	v := s.policy.Classify(sc, n.Args, paths, target)
	if v.Decision == decision.Rump && !lookup() {
		return
	}
	if v.Decision == decision.Host && sc.Nr == unix.SYS_CLOSE_RANGE && proc != nil &&
		proc.shadow.Len() > 0 {
		// Its range, not its descriptor, says whether it closes shadows.
		v = decision.Verdict{Decision: decision.Rump}
	}
	if v.Decision == decision.Host && proc != nil &&
		(sc.Nr == unix.SYS_EXECVE || sc.Nr == unix.SYS_EXECVEAT) {
		proc.noteExec()
	}
	if v.Decision == decision.Host && proc != nil && proc.CwdInRump() &&
		(sc.Nr == unix.SYS_CHDIR || sc.Nr == unix.SYS_FCHDIR) {
		if leaveRumpCwd(n, proc, paths) {
			s.procs.noteRumpCwdKids(proc)
		}
	}
	if v.Decision == decision.Host && sc.Class == decision.ClassFD && s.shadows.Load() > 0 &&
		s.foreignShadow(n, sc) {
		// A shadow this process inherited names a rump descriptor
		// only its creator's table knows. Letting the host serve it
		// would read and write the empty shadow file in silence.
		v = decision.Verdict{Decision: decision.Refused, Errno: unix.EBADF}
	}
	switch v.Decision {
	case decision.Host:
		s.reply(n, sc.Name, decision.Host, Reply{}, start)
	case decision.Refused:
		s.reply(n, sc.Name, decision.Refused, Reply{Errno: v.Errno}, start)
	case decision.Rump:
		// A rump call takes a round trip to the rump kernel, or blocks
		// there; the receiver goes on with the other threads' calls.
		call := *n
		s.track(call)
		s.inflight.Add(1)
		go func() {
			defer s.inflight.Done()
			r := s.rump.Serve(&call, sc, v, proc)
			if s.untrack(call.ID) {
				s.reply(&call, sc.Name, decision.Rump, r, start)
			}
		}()
	}
}

// rumpState reports whether a process of the session may hold rump
// descriptors or a rump working directory: whether any has shadows or a
// working directory in the rump kernel, or a fork of a rump process waits
// for a child not seen yet.
func (s *Session) rumpState() bool {
	return s.shadows.Load() > 0 || s.cwds.Load() > 0 || s.procs.pending.Load() > 0
}

// reply answers n, counts the decision and times it.
func (s *Session) reply(n *notify.Notification, name string, d decision.Decision, r Reply,
	start time.Time) {
	if r.Park && s.handingOff.Load() {
		s.mu.Lock()
		s.parked = append(s.parked, *n)
		s.mu.Unlock()
		return // the successor serves it
	}
	var err error
	switch {
	case r.Sent:
	case d == decision.Host || r.Continue:
		err = s.listener.Continue(n.ID)
	case r.Errno != 0:
		err = s.listener.Fail(n.ID, r.Errno)
	default:
		err = s.listener.Return(n.ID, r.Value)
	}
	if err == notify.ErrGone {
		s.withdraw(name)
		return
	}
	if err != nil {
		s.log.Error("reply failed", "pid", n.PID, "syscall", name, "error", err)
		return
	}
	s.mu.Lock()
	s.served++
	s.mu.Unlock()
	s.metrics.Decision(name, d.String()).Inc()
	s.metrics.Notification.Observe(time.Since(start).Seconds())
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("notification", "pid", n.PID, "syscall", name, "decision", d.String(),
			"errno", int(r.Errno))
	}
}

// reconnected is told that the rump process of target process pid was
// replaced by a new one after the connection was lost: its rump descriptors
// are gone with the old one, so its shadows now fail with EBADF.
func (s *Session) reconnected(pid int) {
	s.procs.invalidate(pid)
	s.log.Warn("rump server reconnected; the old rump process's descriptors are gone",
		"pid", pid)
}

// foreignShadow reports whether a descriptor argument of n at or above fdoff
// is a shadow that the calling process's table does not hold: one inherited
// across fork. Closing one is left to the host, which frees the number.
func (s *Session) foreignShadow(n *notify.Notification, sc *decision.Syscall) bool {
	if n.Nr == unix.SYS_CLOSE || n.Nr == unix.SYS_CLOSE_RANGE {
		return false
	}
	for _, i := range sc.FDs {
		fd := int(int32(n.Args[i]))
		if fd < s.policy.FDOff {
			continue
		}
		if fdinject.IsShadow(n.PID, fd) {
			return true
		}
	}
	return false
}

// info describes the session for a session list.
func (s *Session) info() control.SessionInfo {
	s.mu.Lock()
	served, withdrawn := s.served, s.withdrawn
	s.mu.Unlock()
	procs := s.procs.count()
	return control.SessionInfo{
		ID: s.id, Program: s.program, Argv: s.argv, PID: s.pid, UID: s.uid,
		Policy: s.policy.String(), Server: serverName(s.server),
		Started: s.started.Format(time.RFC3339), Served: served, Withdrawn: withdrawn,
		Processes: procs, Shadows: s.shadows.Load(),
	}
}

// withdraw counts a notification whose target was interrupted or died
// before it was answered.
func (s *Session) withdraw(name string) {
	s.mu.Lock()
	s.withdrawn++
	s.mu.Unlock()
	s.metrics.Decision(name, "withdrawn").Inc()
}

// noRumpState is the state of a target that holds no rump descriptors and
// whose working directory is on the host. Every target is in that state
// while rump calls cannot succeed, since only a successful rump call creates
// a rump descriptor or moves the working directory.
type noRumpState struct{}

func (noRumpState) IsRumpFD(int) bool { return false }
func (noRumpState) CwdInRump() bool   { return false }
