package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/control"
	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/metrics"
	"github.com/hijack-project/hijack/notify"
	"github.com/hijack-project/hijack/rumpconn"
)

// RegisterTimeout bounds a whole registration, so a peer that connects and
// stalls costs one goroutine for that long at most.
const RegisterTimeout = 10 * time.Second

// Options configure a Server.
type Options struct {
	// Embedded is the rump server of sessions whose RUMP_SERVER is unset,
	// hijackd's embedded kernel; nil when hijackd runs without one, which
	// makes such sessions fail their rump calls with ENOTCONN.
	Embedded *rumpconn.Server
}

// Server accepts registrations and owns the sessions they open.
type Server struct {
	log         *slog.Logger
	metrics     *metrics.Metrics
	rumpMetrics *rumpconn.Metrics
	embedded    *rumpconn.Server

	wg sync.WaitGroup // registrations and receivers in progress

	// livePumps counts the pumped shadows of every session, so that a
	// rump call drains them only when there is one.
	livePumps atomic.Int64
	// forks follows the forks of every session's processes; nil where
	// the kernel's process events cannot be had.
	forks *forkEvents

	mu       sync.Mutex
	nextID   uint64                     // guarded by mu
	sessions map[uint64]*Session        // guarded by mu
	closed   bool                       // guarded by mu
	lns      []net.Listener             // guarded by mu
	conns    map[*control.Conn]struct{} // registrations in progress; guarded by mu
	pools    map[string]*rumpconn.Pool  // by server URL; guarded by mu
}

// NewServer returns a server that logs to log and counts into m.
func NewServer(log *slog.Logger, m *metrics.Metrics, opts Options) (*Server, error) {
	rm, err := rumpconn.NewMetrics(m.Registry())
	if err != nil {
		return nil, fmt.Errorf("rump connection metrics: %w", err)
	}
	forks, err := newForkEvents(log)
	if err != nil {
		log.Warn("forks are known from /proc only: a child its parent leaves before "+
			"the child's first rump call starts without its rump state", "error", err)
	}
	return &Server{log: log, metrics: m, rumpMetrics: rm, embedded: opts.Embedded,
		forks: forks, sessions: make(map[uint64]*Session),
		conns: make(map[*control.Conn]struct{}), pools: make(map[string]*rumpconn.Pool)}, nil
}

// Serve accepts control connections on ln until ln is closed or Close is
// called, handling each in a goroutine of its own. It returns nil after
// Close.
func (s *Server) Serve(ln *net.UnixListener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				s.log.Error("accept failed; retrying", "error", err)
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return fmt.Errorf("accept control connection: %w", err)
		}
		conn := control.NewConn(c)
		s.mu.Lock()
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.register(conn)
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
		}()
	}
}

// open creates and starts the session for listener l, whose rump calls go to
// conn, or fail with ENOTCONN for the reason noServer when conn is nil.
func (s *Server) open(l *notify.Listener, policy *decision.Policy, retry decision.Retry,
	reg *control.Register, cred *unix.Ucred, srv rumpconn.Server, conn *rumpconn.Conn,
	staging *rumpconn.Staging, noServer error) (*Session, error) {
	program := "?"
	if len(reg.Argv) > 0 {
		program = filepath.Base(reg.Argv[0])
	}
	server := reg.RumpServer
	if !reg.RumpServerSet {
		server = ""
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("hijackd is shutting down")
	}
	s.nextID++
	sess := s.newSession(s.nextID, l, policy, retry, server, program, reg.Argv,
		int(cred.Pid), cred.Uid, time.Now())
	if conn != nil {
		if err := s.serveRump(sess, srv); err != nil {
			return nil, err
		}
		// The registering process is the program: its rump process is
		// the one made before it ran.
		if _, err := sess.procs.add(sess.pid, sess.pid, conn, staging); err != nil {
			sess.shadow.Close()
			return nil, err
		}
	} else {
		reason := "no server"
		if noServer != nil {
			reason = noServer.Error()
		}
		sess.rump = &unreachable{log: sess.log, server: serverName(server), reason: reason}
	}
	s.launchLocked(sess, "session opened")
	return sess, nil
}

// newSession returns a session of listener l, not started yet.
func (s *Server) newSession(id uint64, l *notify.Listener, policy *decision.Policy,
	retry decision.Retry, server, program string, argv []string, pid int, uid uint32,
	started time.Time) *Session {
	sess := &Session{
		id: id, listener: l, policy: policy, retry: retry, server: server,
		program: program, argv: argv, pid: pid, uid: uid, started: started,
		metrics: s.metrics, done: make(chan struct{}),
	}
	sess.ctx, sess.cancel = context.WithCancel(context.Background())
	sess.procs.forks = s.forks
	sess.procs.shadows = &sess.shadows
	sess.procs.cwds = &sess.cwds
	sess.pumps.live = &s.livePumps
	sess.owner = s
	sess.procs.onExit = func(*process) {
		s.metrics.Processes.Dec()
		// Its writes to pumped shadows are complete.
		sess.pumps.drain(sess.ctx)
	}
	sess.procs.onAdd = func(*process) { s.metrics.Processes.Inc() }
	sess.log = s.log.With("session", sess.id)
	return sess
}

// serveRump makes sess perform its rump decisions on srv.
func (s *Server) serveRump(sess *Session, srv rumpconn.Server) error {
	shadow, err := fdinject.NewShadow()
	if err != nil {
		return err
	}
	sess.shadow = shadow
	backend := &served{sess: sess, srv: srv, shadow: shadow}
	sess.procs.release = backend.release
	sess.procs.prefork = backend.Prefork
	sess.procs.claim = backend.claim
	sess.rump = backend
	return nil
}

// launchLocked records sess and starts its receiver. s.mu is held.
func (s *Server) launchLocked(sess *Session, msg string) {
	s.sessions[sess.id] = sess
	s.metrics.Sessions.Inc()
	sess.log.Info(msg, "program", sess.program, "pid", sess.pid, "uid", sess.uid,
		"policy", sess.policy.String(), "server", serverName(sess.server))

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		sess.serve()
		s.closeSession(sess)
	}()
}

func serverName(url string) string {
	if url == "" {
		return "embedded"
	}
	return url
}

func (s *Server) closeSession(sess *Session) {
	if sess.handingOff.Load() {
		// Its successor goes on with it: nothing is closed.
		s.mu.Lock()
		delete(s.sessions, sess.id)
		s.mu.Unlock()
		s.metrics.Sessions.Dec()
		sess.log.Info("session handed over", "program", sess.program, "pid", sess.pid)
		return
	}
	sess.procs.close()
	if sess.shadow != nil {
		sess.shadow.Close()
	}
	s.mu.Lock()
	delete(s.sessions, sess.id)
	s.mu.Unlock()
	s.metrics.Sessions.Dec()
	sess.mu.Lock()
	served, withdrawn := sess.served, sess.withdrawn
	sess.mu.Unlock()
	sess.log.Info("session closed", "program", sess.program, "pid", sess.pid,
		"served", served, "withdrawn", withdrawn,
		"duration", time.Since(sess.started).Round(time.Millisecond))
}

// Close stops accepting registrations, stops every session and waits for
// their goroutines. Targets of the stopped sessions get ENOSYS from every
// later trapped call, the kernel's rule for a listener that is gone.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	lns := s.lns
	s.lns = nil
	for _, sess := range s.sessions {
		sess.listener.Stop()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	var err error
	for _, ln := range lns {
		err = errors.Join(err, ln.Close())
	}
	s.wg.Wait()
	s.mu.Lock()
	for _, p := range s.pools {
		err = errors.Join(err, p.Close())
	}
	s.pools = nil
	s.mu.Unlock()
	return err
}

// drainPumps moves what the targets of every session wrote to pumped
// shadows into their rump files: a program started after another one exited
// must find what it wrote, though it is another session.
func (s *Server) drainPumps(ctx context.Context) {
	if s.livePumps.Load() == 0 {
		return // what every rump call costs when no program redirects to rump files
	}
	s.mu.Lock()
	sessions := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.pumps.drain(ctx)
	}
}

// Sessions returns the number of live sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}
