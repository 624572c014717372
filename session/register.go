package session

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/control"
	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/decision/filter"
	"github.com/hijack-project/hijack/notify"
	"github.com/hijack-project/hijack/rumpconn"
)

// The registration of a session on a control connection, and the answer to
// a request for the session list.

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
		conn, err = s.connect(context.Background(), srv, program, pid, staging, retry,
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
