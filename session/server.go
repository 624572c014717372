package session

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/control"
	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/decision/filter"
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
	return &Server{log: log, metrics: m, rumpMetrics: rm, embedded: opts.Embedded,
		sessions: make(map[uint64]*Session), conns: make(map[*control.Conn]struct{}),
		pools: make(map[string]*rumpconn.Pool)}, nil
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

// refusal is a registration that failed: result is the metric label, err
// what the peer and the log are told.
type refusal struct {
	result string
	err    error
}

func (r *refusal) Error() string { return r.err.Error() }

func refuse(result string, format string, args ...any) *refusal {
	return &refusal{result: result, err: fmt.Errorf(format, args...)}
}

// register runs one registration to its end: a session, or a refusal that
// is logged, counted and, where the peer can still hear it, sent back.
func (s *Server) register(c *control.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(RegisterTimeout))

	cred, err := c.PeerCred()
	if err != nil {
		s.log.Warn("registration refused", "reason", "no peer credentials", "error", err)
		s.metrics.Registrations.WithLabelValues("error").Inc()
		return
	}
	log := s.log.With("peer_pid", cred.Pid, "peer_uid", cred.Uid)

	sess, ref := s.handshake(c, cred)
	if sess == nil && ref == nil {
		return // a list request, answered
	}
	if ref != nil {
		log.Warn("registration refused", "reason", ref.result, "error", ref.err)
		s.metrics.Registrations.WithLabelValues(ref.result).Inc()
		if ref.result != "disconnected" {
			c.Send(control.TypeError, control.Error{Message: ref.err.Error()})
		}
		return
	}
	s.metrics.Registrations.WithLabelValues("ok").Inc()
	if err := c.Send(control.TypeAck, control.Ack{Session: sess.id}); err != nil {
		// The program never runs; its listener hangs up when
		// hijack-exec exits, which ends the session.
		log.Warn("acknowledgement not delivered", "session", sess.id, "error", err)
	}
}

func (s *Server) handshake(c *control.Conn, cred *unix.Ucred) (*Session, *refusal) {
	msg, fds, err := c.ReceiveRaw()
	if err != nil {
		return nil, receiveRefusal(err)
	}
	if t, err := control.TypeOf(msg); err == nil && t == control.TypeList {
		closeFDs(fds)
		if err := control.Unmarshal(msg, control.TypeList, &control.List{}); err != nil {
			return nil, receiveRefusal(err)
		}
		return nil, s.list(c)
	}
	var reg control.Register
	err = control.Unmarshal(msg, control.TypeRegister, &reg)
	closeFDs(fds)
	if err != nil {
		return nil, receiveRefusal(err)
	}
	policy, err := decision.PolicyFromEnv(reg.Policy, reg.PolicySet)
	if err != nil {
		return nil, &refusal{"bad_policy", err}
	}
	retry, err := decision.RetryFromEnv(reg.Retry, reg.RetrySet)
	if err != nil {
		return nil, &refusal{"bad_policy", err}
	}
	var srv rumpconn.Server
	var noServer error
	if policy.HijacksAnything() {
		srv, noServer = s.serverFor(&reg)
		if noServer != nil && noServer != errNoEmbedded {
			return nil, &refusal{"bad_server", noServer}
		}
	}
	prog, err := filter.Compile(policy)
	if err != nil {
		return nil, refuse("error", "compile filter: %w", err)
	}
	if err := c.Send(control.TypeFilter, control.Filter{Program: prog}); err != nil {
		return nil, refuse("disconnected", "send filter: %w", err)
	}

	fds, err = c.Receive(control.TypeListener, &control.Listener{})
	if err != nil {
		return nil, receiveRefusal(err)
	}
	if len(fds) != 1 {
		closeFDs(fds)
		return nil, refuse("malformed", "listener message carries %d descriptors, want 1",
			len(fds))
	}
	l, err := notify.NewListener(fds[0])
	if err != nil {
		unix.Close(fds[0])
		return nil, refuse("malformed", "listener: %w", err)
	}
	if err := checkPeer(int(cred.Pid)); err != nil {
		l.Close()
		return nil, &refusal{"not_confined", err}
	}

	var conn *rumpconn.Conn
	var staging *rumpconn.Staging
	var sessp atomic.Pointer[Session]
	if policy.HijacksAnything() && noServer == nil {
		program := "?"
		if len(reg.Argv) > 0 {
			program = reg.Argv[0]
		}
		pid := int(cred.Pid)
		staging = rumpconn.NewStaging(targetMemory{pid: pid})
		// The session does not exist yet when the connection is made;
		// a reconnect can only come once it does.
		conn, err = s.connect(context.Background(), srv, program, staging, retry,
			func() { killTree(pid) },
			func() {
				if sess := sessp.Load(); sess != nil {
					sess.reconnected(pid)
				}
			})
		if err != nil {
			l.Close()
			return nil, &refusal{"server_unreachable", err}
		}
	}

	sess, err := s.open(l, policy, retry, &reg, cred, srv, conn, staging, noServer)
	if err != nil {
		l.Close()
		if conn != nil {
			conn.Close()
		}
		return nil, &refusal{"shutting_down", err}
	}
	sessp.Store(sess)
	return sess, nil
}

func receiveRefusal(err error) *refusal {
	if errors.Is(err, io.EOF) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, unix.ECONNRESET) {
		return refuse("disconnected", "peer went away during registration: %w", err)
	}
	var r *control.RefusedError
	if errors.As(err, &r) {
		return refuse("malformed", "peer sent an error message: %s", r.Message)
	}
	return refuse("malformed", "%w", err)
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// list answers a List request with the live sessions. It returns a refusal
// only when the answer could not be sent.
func (s *Server) list(c *control.Conn) *refusal {
	s.mu.Lock()
	sessions := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	slices.SortFunc(sessions, func(a, b *Session) int { return cmp.Compare(a.id, b.id) })
	var out control.Sessions
	for _, sess := range sessions {
		out.Sessions = append(out.Sessions, sess.info())
	}
	if err := c.Send(control.TypeSessions, out); err != nil {
		return refuse("disconnected", "send session list: %w", err)
	}
	return nil
}

// checkPeer requires the registering process to have no_new_privs set, as
// hijack-exec always does. Without it the program could exec a set-user-ID
// binary whose calls hijackd would then serve from a rump kernel the
// unprivileged user chose.
func checkPeer(pid int) error {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return fmt.Errorf("read status of peer %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "NoNewPrivs:"); ok {
			if strings.TrimSpace(v) == "1" {
				return nil
			}
			return fmt.Errorf("peer %d does not have no_new_privs set; "+
				"start programs with hijack-exec", pid)
		}
	}
	return fmt.Errorf("peer %d: no NoNewPrivs line in its status", pid)
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
	sess := &Session{
		id: s.nextID, listener: l, policy: policy, retry: retry, server: server,
		program: program, argv: reg.Argv, pid: int(cred.Pid), uid: cred.Uid, started: time.Now(),
		metrics: s.metrics, done: make(chan struct{}),
	}
	sess.ctx, sess.cancel = context.WithCancel(context.Background())
	sess.procs.shadows = &sess.shadows
	sess.owner = s
	sess.procs.onExit = func(*process) { s.metrics.Processes.Dec() }
	sess.procs.onAdd = func(*process) { s.metrics.Processes.Inc() }
	sess.log = s.log.With("session", sess.id)
	if conn != nil {
		shadow, err := fdinject.NewShadow()
		if err != nil {
			return nil, err
		}
		// The registering process is the program: its rump process is
		// the one made before it ran.
		if _, err := sess.procs.add(sess.pid, sess.pid, conn, staging); err != nil {
			shadow.Close()
			return nil, err
		}
		sess.shadow = shadow
		backend := &served{sess: sess, srv: srv, shadow: shadow}
		sess.procs.release = backend.release
		sess.rump = backend
	} else {
		reason := "no server"
		if noServer != nil {
			reason = noServer.Error()
		}
		sess.rump = &unreachable{log: sess.log, server: serverName(server), reason: reason}
	}
	s.sessions[sess.id] = sess
	s.metrics.Sessions.Inc()
	sess.log.Info("session opened", "program", program, "pid", sess.pid, "uid", sess.uid,
		"policy", policy.String(), "server", serverName(server))

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		sess.serve()
		s.closeSession(sess)
	}()
	return sess, nil
}

func serverName(url string) string {
	if url == "" {
		return "embedded"
	}
	return url
}

func (s *Server) closeSession(sess *Session) {
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

// Sessions returns the number of live sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}
