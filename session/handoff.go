package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/emulate"
	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/notify"
	"github.com/hijack-project/hijack/rumpconn"
)

// Handing sessions over. A hijackd that is restarted gives its successor
// every session, through descriptors that systemd keeps meanwhile and a
// state that names them: each session's listener, each process's idle rump
// connection, each socket shadow's two ends, and what hijackd knew of the
// processes (shadow tables, sockets, working directories, forks). Trapped
// calls made meanwhile wait in the listener's queue. A rump call waiting in
// the rump kernel for a socket parks: it gives up its wait, having done
// nothing, and the successor serves its notification afresh.
//
// Pumped shadows one way (a rump descriptor duplicated below fdoff for
// reading or for writing) are handed over with their streams. Not handed
// over, and ended by a restart: pumped shadows both ways, /proc/sys files,
// and the rump process of a process whose call was still in the rump kernel
// when the handoff gave up waiting (its rump descriptors then fail with
// EBADF).

// HandoffWait bounds how long a handoff waits for rump calls in flight. A
// call still running then is answered with EINTR, and its process's rump
// process is not handed over.
const HandoffWait = 5 * time.Second

// handoffVersion is the version of the state; a successor refuses others.
const handoffVersion = 1

// NamedFD is a descriptor of a handoff with its name in the state.
type NamedFD struct {
	Name string
	FD   int
}

type handoffState struct {
	Version  int              `json:"version"`
	NextID   uint64           `json:"next_id"`
	Sessions []sessionHandoff `json:"sessions"`
}

type sessionHandoff struct {
	ID        uint64    `json:"id"`
	Listener  string    `json:"listener"`
	Policy    string    `json:"policy"`
	Retry     int       `json:"retry"`
	Server    string    `json:"server"`     // RUMP_SERVER as given, "" for the embedded kernel
	ServerURL string    `json:"server_url"` // resolved
	Program   string    `json:"program"`
	Argv      []string  `json:"argv"`
	PID       int       `json:"pid"`
	UID       uint32    `json:"uid"`
	Started   time.Time `json:"started"`
	Served    int       `json:"served"`
	Withdrawn int       `json:"withdrawn"`

	Sockets   []socketHandoff       `json:"sockets"`
	Processes []processHandoff      `json:"processes"`
	Orphans   []forkHandoff         `json:"orphans"`
	Pumps     []pumpHandoff         `json:"pumps"`
	Parked    []notify.Notification `json:"parked"`
}

type socketHandoff struct {
	Target string               `json:"target"`
	Peer   string               `json:"peer"`
	Shadow fdinject.ShadowState `json:"shadow"`
	Kind   emulate.SocketState  `json:"kind"`
}

type processHandoff struct {
	PID       int              `json:"pid"`
	Conn      string           `json:"conn,omitempty"`
	ConnState rumpconn.Handoff `json:"conn_state"`
	Shadows   map[int]int32    `json:"shadows"`
	Sockets   map[int32]int    `json:"sockets"` // rump descriptor → index in Sockets
	Private   []int32          `json:"private"` // rump descriptors to close
	Cwd       bool             `json:"cwd"`
	Forked    *rumpconn.Cookie `json:"forked,omitempty"`
	Inherited []int32          `json:"inherited"`
	Parent    int              `json:"parent"`
	Execed    bool             `json:"execed"`
	CloseExec []int32          `json:"close_on_exec"`
	ExecClose map[int]int32    `json:"exec_closed"`
	Snapshots []forkHandoff    `json:"snapshots"`
	CwdKids   []int            `json:"rump_cwd_kids"`
}

type pumpHandoff struct {
	Stream string             `json:"stream"`
	PID    int                `json:"pid"`
	FD     int32              `json:"fd"`
	Dir    fdinject.Direction `json:"dir"`
}

type forkHandoff struct {
	PID     int             `json:"pid"`
	Cookie  rumpconn.Cookie `json:"cookie"`
	Entries map[int]int32   `json:"entries"`
	Private []int32         `json:"private"`
	Sockets map[int32]int   `json:"sockets"`
	Cwd     bool            `json:"cwd"`
}

// track records notification n as being served off the receiver.
func (s *Session) track(n notify.Notification) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = make(map[uint64]notify.Notification)
	}
	s.calls[n.ID] = n
}

// untrack forgets notification id; false means a handoff that gave up
// waiting for it has answered it already.
func (s *Session) untrack(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.calls[id]
	delete(s.calls, id)
	return ok
}

// settle waits, for a handoff, until the rump calls in flight have been
// answered or parked, at most HandoffWait; those still running then are
// answered with EINTR.
func (s *Session) settle() {
	done := make(chan struct{})
	go func() {
		s.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(HandoffWait):
	}
	s.mu.Lock()
	late := s.calls
	s.calls = nil
	s.mu.Unlock()
	for _, n := range late {
		s.log.Warn("rump call still running at the handoff; it fails with EINTR",
			"pid", n.PID, "nr", n.Nr)
		s.listener.Fail(n.ID, unix.EINTR)
	}
}

// Handoff stops the Server for a successor: it stops accepting
// registrations, stops every session's receiver, lets the rump calls in
// flight finish or park, and returns the state and descriptors Resume
// takes. The descriptors stay open until the process exits; the sessions'
// targets wait meanwhile.
func (s *Server) Handoff() ([]byte, []NamedFD, error) {
	s.mu.Lock()
	s.closed = true
	lns := s.lns
	s.lns = nil
	sessions := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	for c := range s.conns {
		c.Close()
	}
	next := s.nextID
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, sess := range sessions {
		sess.handingOff.Store(true)
		sess.listener.Stop()
	}
	for _, sess := range sessions {
		<-sess.done
	}
	state := handoffState{Version: handoffVersion, NextID: next}
	var fds []NamedFD
	for _, sess := range sessions {
		h, more := sess.handoff()
		state.Sessions = append(state.Sessions, h)
		fds = append(fds, more...)
	}
	data, err := json.Marshal(state)
	if err != nil {
		return nil, nil, fmt.Errorf("handoff state: %w", err)
	}
	return data, fds, nil
}

// handoff describes the session for a successor. Its receiver has stopped.
func (s *Session) handoff() (sessionHandoff, []NamedFD) {
	s.mu.Lock()
	h := sessionHandoff{ID: s.id, Policy: s.policy.String(), Retry: int(s.retry),
		Server: s.server, Program: s.program, Argv: s.argv, PID: s.pid, UID: s.uid,
		Started: s.started, Served: s.served, Withdrawn: s.withdrawn, Parked: s.parked}
	s.mu.Unlock()
	h.Listener = fmt.Sprintf("l%d", s.id)
	fds := []NamedFD{{h.Listener, s.listener.FD()}}
	backend, _ := s.rump.(*served)
	if backend == nil {
		return h, fds // no rump server: nothing but the listener
	}
	h.ServerURL = backend.srv.String()

	sockets := make(map[*emulate.Socket]int)
	socketIndex := func(sock *emulate.Socket) int {
		if i, ok := sockets[sock]; ok {
			return i
		}
		target, peer, st, ok := sock.Shadow().Handoff()
		if !ok {
			return -1
		}
		// Duplicates: the shadow closes its own if its last process
		// exits before the handoff is stored.
		target, terr := unix.FcntlInt(uintptr(target), unix.F_DUPFD_CLOEXEC, 0)
		peer, perr := unix.FcntlInt(uintptr(peer), unix.F_DUPFD_CLOEXEC, 0)
		if terr != nil || perr != nil {
			unix.Close(target)
			unix.Close(peer)
			return -1
		}
		i := len(h.Sockets)
		sh := socketHandoff{Target: fmt.Sprintf("st%d.%d", s.id, i),
			Peer: fmt.Sprintf("sp%d.%d", s.id, i), Shadow: st, Kind: sock.State()}
		h.Sockets = append(h.Sockets, sh)
		fds = append(fds, NamedFD{sh.Target, target}, NamedFD{sh.Peer, peer})
		sockets[sock] = i
		return i
	}
	socketMap := func(ss *emulate.Sockets) map[int32]int {
		out := make(map[int32]int)
		ss.Each(func(fd int32, sock *emulate.Socket) {
			if i := socketIndex(sock); i >= 0 {
				out[fd] = i
			}
		})
		return out
	}
	forkOf := func(pid int, f fork) forkHandoff {
		return forkHandoff{PID: pid, Cookie: f.cookie, Entries: f.entries, Private: f.private,
			Sockets: socketMap(f.sockets), Cwd: f.cwd}
	}

	s.procs.mu.Lock()
	procs := make([]*process, 0, len(s.procs.byPID))
	for _, p := range s.procs.byPID {
		procs = append(procs, p)
	}
	for pid, f := range s.procs.orphans {
		h.Orphans = append(h.Orphans, forkOf(pid, f))
	}
	s.procs.mu.Unlock()
	slices.SortFunc(procs, func(a, b *process) int { return a.pid - b.pid })

	// Pumps first: they make rump calls until stopped, and their rump
	// descriptors are not to be closed by the successor.
	handing := make(map[int]bool)
	for _, p := range procs {
		p.mu.Lock()
		handing[p.pid] = p.conn != nil
		p.mu.Unlock()
	}
	pumped := make(map[int]map[int32]bool)
	for pump, owner := range s.pumps.owned() {
		if !handing[owner.pid] || owner.fd < 0 {
			pump.Close()
			continue
		}
		fd := pump.Detach(s.ctx)
		if fd < 0 {
			continue
		}
		ph := pumpHandoff{Stream: fmt.Sprintf("pu%d.%d", s.id, len(h.Pumps)), PID: owner.pid,
			FD: owner.fd, Dir: pump.Direction()}
		h.Pumps = append(h.Pumps, ph)
		fds = append(fds, NamedFD{ph.Stream, fd})
		if pumped[owner.pid] == nil {
			pumped[owner.pid] = make(map[int32]bool)
		}
		pumped[owner.pid][owner.fd] = true
	}

	for _, p := range procs {
		ph := processHandoff{PID: p.pid, Shadows: p.shadow.Entries(), Cwd: p.CwdInRump(),
			Sockets: socketMap(p.sockets)}
		p.sockets.Quiesce() // its poll would keep the connection busy
		p.mu.Lock()
		for _, r := range p.privateLocked() {
			if !pumped[p.pid][r] {
				ph.Private = append(ph.Private, r)
			}
		}
		if p.conn != nil {
			// The watcher's poll, given up on, is answered once its
			// pipe was written.
			f, cs, err := p.conn.File(time.Second)
			if err != nil {
				s.log.Warn("rump process not handed over; its rump descriptors are lost",
					"pid", p.pid, "error", err)
			} else {
				ph.Conn = fmt.Sprintf("c%d.%d", s.id, p.pid)
				ph.ConnState = cs
				fds = append(fds, NamedFD{ph.Conn, int(f.Fd())})
				keepOpen(f)
			}
		}
		ph.Forked, ph.Inherited = p.forked, p.inherited
		if p.parent != nil {
			ph.Parent = p.parent.pid
		}
		ph.Execed, ph.CloseExec, ph.ExecClose = p.execed, p.closeOnExec, p.execClosed
		for pid, f := range p.snapshots {
			ph.Snapshots = append(ph.Snapshots, forkOf(pid, f))
		}
		for pid := range p.rumpCwdKids {
			ph.CwdKids = append(ph.CwdKids, pid)
		}
		p.mu.Unlock()
		for fd, r := range ph.Shadows {
			if r == fdinject.Foreign {
				delete(ph.Shadows, fd) // a /proc/sys file: the host's from now on
			}
		}
		h.Processes = append(h.Processes, ph)
	}
	return h, fds
}

// handedOver holds the duplicates handed over until the process exits.
var handedOver struct {
	sync.Mutex
	files []*os.File
}

func keepOpen(f *os.File) {
	handedOver.Lock()
	handedOver.files = append(handedOver.files, f)
	handedOver.Unlock()
}

// Resume takes back the sessions a predecessor's Handoff described in
// state, with its descriptors by name, and starts them. Descriptors it does
// not use it closes; a session whose listener is missing is lost, and so is
// a process that exited meanwhile.
func (s *Server) Resume(state []byte, fds map[string]int) error {
	var st handoffState
	if err := json.Unmarshal(state, &st); err != nil {
		return fmt.Errorf("handoff state: %w", err)
	}
	if st.Version != handoffVersion {
		return fmt.Errorf("handoff state version %d, want %d", st.Version, handoffVersion)
	}
	take := func(name string) (int, bool) {
		fd, ok := fds[name]
		delete(fds, name)
		return fd, ok
	}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.NextID > s.nextID {
		s.nextID = st.NextID
	}
	var errs error
	for i := range st.Sessions {
		if err := s.resumeLocked(&st.Sessions[i], take); err != nil {
			errs = errors.Join(errs, fmt.Errorf("session %d: %w", st.Sessions[i].ID, err))
		}
	}
	return errs
}

func (s *Server) resumeLocked(h *sessionHandoff, take func(string) (int, bool)) error {
	lfd, ok := take(h.Listener)
	if !ok {
		return errors.New("its listener was not handed over")
	}
	l, err := notify.NewListener(lfd)
	if err != nil {
		unix.Close(lfd)
		return err
	}
	policy, err := decision.PolicyFromEnv(h.Policy, true)
	if err != nil {
		l.Close()
		return err
	}
	sess := s.newSession(h.ID, l, policy, decision.Retry(h.Retry), h.Server, h.Program,
		h.Argv, h.PID, h.UID, h.Started)
	sess.served, sess.withdrawn = h.Served, h.Withdrawn
	sess.resumed = h.Parked

	var srv rumpconn.Server
	switch {
	case h.ServerURL == "":
		sess.rump = &unreachable{log: sess.log, server: serverName(h.Server),
			reason: "no server"}
	case h.Server == "" && s.embedded == nil:
		sess.rump = &unreachable{log: sess.log, server: serverName(h.Server),
			reason: errNoEmbedded.Error()}
	case h.Server == "":
		srv = *s.embedded
	default:
		if srv, err = rumpconn.ParseServer(h.ServerURL, "/"); err != nil {
			l.Close()
			return err
		}
	}
	if sess.rump == nil {
		if err := s.serveRump(sess, srv); err != nil {
			l.Close()
			return err
		}
		s.resumeProcesses(sess, srv, h, take)
	}
	s.launchLocked(sess, "session resumed")
	return nil
}

// resumeProcesses rebuilds the processes of a session being resumed.
func (s *Server) resumeProcesses(sess *Session, srv rumpconn.Server, h *sessionHandoff,
	take func(string) (int, bool)) {
	socks := make([]*emulate.Socket, len(h.Sockets))
	for i, sh := range h.Sockets {
		t, ok1 := take(sh.Target)
		p, ok2 := take(sh.Peer)
		if !ok1 || !ok2 {
			if ok1 {
				unix.Close(t)
			}
			if ok2 {
				unix.Close(p)
			}
			continue
		}
		shadow, err := fdinject.RestoreReadyShadow(t, p, sh.Shadow)
		if err != nil {
			sess.log.Warn("socket shadow not resumed", "error", err)
			continue
		}
		socks[i] = emulate.RestoreSocket(shadow, sh.Kind)
	}
	socketsOf := func(m map[int32]int) *emulate.Sockets {
		ss := emulate.NewSockets()
		for fd, i := range m {
			if i >= 0 && i < len(socks) && socks[i] != nil {
				ss.Put(fd, socks[i])
			}
		}
		return ss
	}
	forkOf := func(fh forkHandoff) fork {
		return fork{cookie: fh.Cookie, entries: fh.Entries, private: fh.Private,
			sockets: socketsOf(fh.Sockets), cwd: fh.Cwd}
	}

	byPID := make(map[int]*process)
	for i := range h.Processes {
		ph := &h.Processes[i]
		p := &process{pid: ph.PID, shadow: fdinject.NewTable(&sess.shadows), cwds: &sess.cwds,
			sockets: socketsOf(ph.Sockets)}
		var conn *rumpconn.Conn
		var staging *rumpconn.Staging
		if fd, ok := take(ph.Conn); ok {
			staging = rumpconn.NewStaging(targetMemory{pid: ph.PID})
			opts := s.connOptions(ph.PID, staging, sess.retry, p.lost)
			var err error
			conn, err = rumpconn.Resume(srv, os.NewFile(uintptr(fd), "rump connection"),
				ph.ConnState, opts)
			if err != nil {
				sess.log.Warn("rump process not resumed", "pid", ph.PID, "error", err)
				conn, staging = nil, nil
			}
		}
		for n, r := range ph.Shadows {
			if conn == nil && ph.Forked == nil && ph.Parent == 0 {
				r = fdinject.Stale
			}
			p.shadow.Add(n, r)
		}
		p.conn, p.staging = conn, staging
		p.forked, p.inherited = ph.Forked, ph.Inherited
		p.execed, p.closeOnExec, p.execClosed = ph.Execed, ph.CloseExec, ph.ExecClose
		if _, err := sess.procs.addProcess(ph.PID, ph.PID, p); err != nil {
			// It exited during the handoff.
			if conn != nil {
				conn.Close()
			}
			for n := range p.shadow.Numbers() {
				p.shadow.Remove(n)
			}
			p.sockets.Close()
			continue
		}
		p.setCwd(ph.Cwd)
		if conn != nil {
			// What the old hijackd held that no shadow names and it
			// did not hand over (the duplicates of pumps that ended
			// as it stopped); the watcher it stopped closed its pipe,
			// and a new watcher makes its own.
			for _, r := range ph.Private {
				conn.Syscall(sess.ctx, netbsd.SYS_CLOSE, uint64(int64(r)))
			}
			p.sockets.Attach(sess.ctx, conn, staging)
		}
		byPID[ph.PID] = p
	}
	for i := range h.Processes {
		ph := &h.Processes[i]
		p := byPID[ph.PID]
		if p == nil {
			continue
		}
		p.mu.Lock()
		if parent := byPID[ph.Parent]; parent != nil && ph.Parent != ph.PID {
			p.parent = parent
			p.mu.Unlock()
			parent.mu.Lock()
			if parent.kids == nil {
				parent.kids = make(map[*process]bool)
			}
			parent.kids[p] = true
			parent.mu.Unlock()
			p.mu.Lock()
		}
		for _, fh := range ph.Snapshots {
			if p.snapshots == nil {
				p.snapshots = make(map[int]fork)
			}
			p.snapshots[fh.PID] = forkOf(fh)
			sess.procs.pending.Add(1)
		}
		for _, pid := range ph.CwdKids {
			if p.rumpCwdKids == nil {
				p.rumpCwdKids = make(map[int]bool)
			}
			p.rumpCwdKids[pid] = true
		}
		p.mu.Unlock()
	}
	for _, uh := range h.Pumps {
		fd, ok := take(uh.Stream)
		if !ok {
			continue
		}
		p := byPID[uh.PID]
		if p == nil || !p.holdConn() {
			unix.Close(fd)
			continue
		}
		pump, err := fdinject.RestorePump(uh.Dir, fd)
		if err != nil {
			p.dropConn()
			sess.log.Warn("pumped shadow not resumed", "pid", uh.PID, "error", err)
			continue
		}
		p.mu.Lock()
		conn, staging := p.conn, p.staging
		p.mu.Unlock()
		sess.startPump(p, pump, emulate.NewRumpFile(conn, staging, uh.FD))
	}
	sess.procs.mu.Lock()
	for _, fh := range h.Orphans {
		if sess.procs.orphans == nil {
			sess.procs.orphans = make(map[int]fork)
		}
		sess.procs.orphans[fh.PID] = forkOf(fh)
		sess.procs.pending.Add(1)
	}
	sess.procs.mu.Unlock()
}
