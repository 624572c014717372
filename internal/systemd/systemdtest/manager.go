// Package systemdtest plays systemd's side of the protocols package systemd
// speaks, for tests: it listens on a notification socket, records every
// datagram, keeps the descriptors a service stores the way systemd 252
// keeps them, and starts processes with $LISTEN_FDS built from what it holds,
// so a test can restart a service and watch what survives.
//
// It follows systemd where a service could come to depend on it: datagrams
// without credentials, longer than 4096 bytes or from a process other than
// the main one are ignored whole; descriptors that come without FDSTORE=1
// are closed; a descriptor already stored is not stored again; a stored
// descriptor that reports POLLHUP or POLLERR is dropped; the store is
// bounded; descriptors come back newest first, after those of the socket
// units. What systemd would log, the Manager logs to the test.
//
// A test binary that imports this package lets the Manager start programs
// through it: see Command.
package systemdtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/internal/systemd"
)

// DefaultFDStoreMax is the fd store limit of a Manager made without the
// FDStoreMax option: hijackd.service's FileDescriptorStoreMax=.
const DefaultFDStoreMax = 4096

// Limits of systemd 252's notification socket.
const (
	// maxMessage is NOTIFY_BUFFER_MAX: longer datagrams are ignored.
	maxMessage = 4096

	// maxMessageFDs is NOTIFY_FD_MAX, the descriptors systemd makes room
	// for in one datagram; the kernel passes at most 253 anyway.
	maxMessageFDs = 768

	// maxNameLen is FDNAME_MAX.
	maxNameLen = 255
)

// kcmpFile is KCMP_FILE, which x/sys/unix does not define.
const kcmpFile = 0

// Message is one datagram received on the notification socket.
type Message struct {
	// PID is the sender, from the credentials the kernel attached.
	PID int

	// State is the datagram as sent: newline-separated assignments.
	State string

	// FDs is how many descriptors came with it.
	FDs int

	// Ignored says why systemd would have ignored the whole datagram, or is
	// empty if it would have acted on it.
	Ignored string
}

// Has reports whether one of m's lines is exactly assignment, such as
// "READY=1".
func (m Message) Has(assignment string) bool {
	for _, line := range strings.Split(m.State, "\n") {
		if line == assignment {
			return true
		}
	}
	return false
}

// An Option changes how NewManager sets up a Manager.
type Option func(*config)

type config struct {
	abstract   bool
	fdStoreMax int
	watchdog   time.Duration
}

// Abstract makes the notification socket a name in the abstract namespace
// ("@..."), which $NOTIFY_SOCKET may name too, instead of a path.
func Abstract() Option { return func(c *config) { c.abstract = true } }

// FDStoreMax sets the fd store limit, FileDescriptorStoreMax=; 0 disables
// the store, so every stored descriptor is closed.
func FDStoreMax(n int) Option { return func(c *config) { c.fdStoreMax = n } }

// Watchdog enables the service watchdog, WatchdogSec=: Env and Command pass
// $WATCHDOG_USEC, and Command $WATCHDOG_PID. The Manager records WATCHDOG=1
// messages but kills nothing.
func Watchdog(d time.Duration) Option { return func(c *config) { c.watchdog = d } }

// stored is a descriptor the Manager holds for the service.
type stored struct {
	name string
	fd   int
	poll bool // dropped on POLLHUP or POLLERR, unless stored with FDPOLL=0
}

// A Manager is the service manager of one test. Its methods may be called
// from any goroutine, except those that fail the test when something is
// amiss (NewManager, AddSocket, WaitFor, Wait, Command), which must be
// called from the test's own.
type Manager struct {
	t    testing.TB
	cfg  config
	addr string
	conn *net.UnixConn
	dir  string        // holds the socket unless it is abstract
	done chan struct{} // closed when receive returns

	mu sync.Mutex
	// messages holds every datagram received, in order. Guarded by mu.
	messages []Message
	// changed is closed and replaced when a message is added. Guarded by mu.
	changed chan struct{}
	// sockets are the socket units' descriptors, in the order added.
	// Guarded by mu.
	sockets []stored
	// store is the fd store, newest first. Guarded by mu.
	store []stored
	// mainPID is the main process of the service, 0 until Start; messages
	// from others are ignored (NotifyAccess=main). Guarded by mu.
	mainPID int
}

// NewManager starts a Manager listening on a notification socket of its own.
// It is stopped, and every descriptor it holds closed, when t ends.
func NewManager(t testing.TB, opts ...Option) *Manager {
	t.Helper()
	m := &Manager{
		t:       t,
		cfg:     config{fdStoreMax: DefaultFDStoreMax},
		done:    make(chan struct{}),
		changed: make(chan struct{}),
	}
	for _, o := range opts {
		o(&m.cfg)
	}

	if m.cfg.abstract {
		m.addr = fmt.Sprintf("@hijack-systemdtest/%d/%d", os.Getpid(), time.Now().UnixNano())
	} else {
		// Not t.TempDir: its paths, named after the test, can be longer
		// than a socket address.
		dir, err := os.MkdirTemp("", "systemdtest")
		if err != nil {
			t.Fatalf("systemdtest: %v", err)
		}
		m.dir = dir
		m.addr = dir + "/notify"
	}

	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: m.addr, Net: "unixgram"})
	if err != nil {
		os.RemoveAll(m.dir)
		t.Fatalf("systemdtest: notification socket: %v", err)
	}
	m.conn = conn
	if err := setPassCred(conn); err != nil {
		conn.Close()
		os.RemoveAll(m.dir)
		t.Fatalf("systemdtest: notification socket: %v", err)
	}

	go m.receive()
	t.Cleanup(m.close)
	return m
}

// setPassCred asks the kernel to attach the sender's credentials to every
// datagram, as systemd does: it trusts no pid a message claims.
func setPassCred(conn *net.UnixConn) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("SO_PASSCRED: %w", serr)
	}
	return nil
}

func (m *Manager) close() {
	m.conn.Close()
	<-m.done
	if m.dir != "" {
		os.RemoveAll(m.dir)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sockets {
		unix.Close(s.fd)
	}
	for _, s := range m.store {
		unix.Close(s.fd)
	}
	m.sockets, m.store = nil, nil
}

// Addr returns the notification socket's address, the value of
// $NOTIFY_SOCKET.
func (m *Manager) Addr() string { return m.addr }

// Env returns the environment a service gets from this Manager, apart from
// what depends on its pid: $NOTIFY_SOCKET, and $WATCHDOG_USEC if the
// watchdog is enabled.
func (m *Manager) Env() []string {
	env := []string{"NOTIFY_SOCKET=" + m.addr}
	if m.cfg.watchdog > 0 {
		env = append(env, fmt.Sprintf("WATCHDOG_USEC=%d", m.cfg.watchdog.Microseconds()))
	}
	return env
}

// AddSocket makes a duplicate of f a descriptor of a socket unit, passed
// under name (FileDescriptorName=) before the stored ones to every process
// Command starts, as systemd passes hijackd.socket's. f stays the caller's.
func (m *Manager) AddSocket(name string, f *os.File) {
	m.t.Helper()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		m.t.Fatalf("systemdtest: socket %q: %v", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sockets = append(m.sockets, stored{name: name, fd: fd})
}

// Messages returns every datagram received so far, in order.
func (m *Manager) Messages() []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Message(nil), m.messages...)
}

// WaitFor blocks until a datagram that systemd would act on, from pid (any
// process if 0), has a line equal to assignment, and returns it; one
// received earlier counts. It fails the test if none arrives within 30
// seconds or before the test's deadline.
func (m *Manager) WaitFor(pid int, assignment string) Message {
	m.t.Helper()
	return m.wait(fmt.Sprintf("%q from pid %d", assignment, pid), func(msg Message) bool {
		return msg.Ignored == "" && (pid == 0 || msg.PID == pid) && msg.Has(assignment)
	})
}

// Wait is WaitFor for any datagram match accepts, ignored ones included.
func (m *Manager) Wait(match func(Message) bool) Message {
	m.t.Helper()
	return m.wait("a matching datagram", match)
}

func (m *Manager) wait(what string, match func(Message) bool) Message {
	m.t.Helper()
	limit := 30 * time.Second
	if d, ok := m.t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			limit = min(limit, time.Until(deadline)-time.Second)
		}
	}
	timeout := time.After(limit)

	for {
		m.mu.Lock()
		for _, msg := range m.messages {
			if match(msg) {
				m.mu.Unlock()
				return msg
			}
		}
		changed := m.changed
		m.mu.Unlock()

		select {
		case <-changed:
		case <-timeout:
			m.t.Fatalf("systemdtest: no %s within %v; received %+v", what, limit, m.Messages())
		}
	}
}

// Stored returns what the fd store holds, newest first, as systemd passes it
// back. The descriptors are the Manager's: use them, do not close them.
func (m *Manager) Stored() []systemd.File {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pollStoreLocked()
	files := make([]systemd.File, len(m.store))
	for i, s := range m.store {
		files[i] = systemd.File{FD: s.fd, Name: s.name}
	}
	return files
}

// receive records datagrams until the socket is closed.
func (m *Manager) receive() {
	defer close(m.done)
	buf := make([]byte, maxMessage+1)
	oob := make([]byte, unix.CmsgSpace(4*maxMessageFDs)+unix.CmsgSpace(unix.SizeofUcred))
	for {
		n, oobn, flags, _, err := m.conn.ReadMsgUnix(buf, oob)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			m.t.Errorf("systemdtest: notification socket: %v", err)
			return
		}
		m.handle(buf[:n], oob[:oobn], flags)
	}
}

// handle acts on one datagram as systemd's manager_dispatch_notify_fd and
// service_notify_message do.
func (m *Manager) handle(data, oob []byte, flags int) {
	var fds []int
	var pid int
	cmsgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		m.t.Errorf("systemdtest: control data: %v", err)
	}
	for i := range cmsgs {
		if rights, err := unix.ParseUnixRights(&cmsgs[i]); err == nil {
			fds = append(fds, rights...)
		} else if cred, err := unix.ParseUnixCredentials(&cmsgs[i]); err == nil {
			pid = int(cred.Pid)
		}
	}
	msg := Message{PID: pid, State: string(data), FDs: len(fds)}

	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case len(data) > maxMessage || flags&unix.MSG_TRUNC != 0:
		msg.Ignored = fmt.Sprintf("longer than %d bytes", maxMessage)
	case flags&unix.MSG_CTRUNC != 0:
		msg.Ignored = "control data truncated"
	case pid <= 0:
		msg.Ignored = "no credentials"
	case m.mainPID != 0 && pid != m.mainPID:
		msg.Ignored = fmt.Sprintf("not from the main process %d (NotifyAccess=main)", m.mainPID)
	}
	if msg.Ignored != "" {
		m.t.Logf("systemdtest: ignoring notification from pid %d: %s", pid, msg.Ignored)
	} else {
		fds = m.applyLocked(strings.Split(msg.State, "\n"), fds)
	}
	if len(fds) > 0 {
		m.t.Logf("systemdtest: closing %d descriptors from pid %d that were not stored",
			len(fds), pid)
		for _, fd := range fds {
			unix.Close(fd)
		}
	}

	m.messages = append(m.messages, msg)
	close(m.changed)
	m.changed = make(chan struct{})
}

// applyLocked carries out the fd store requests among tags and returns the
// descriptors it did not keep, for the caller to close. As in systemd, a
// datagram either removes (FDSTOREREMOVE=1) or stores (FDSTORE=1), never
// both.
func (m *Manager) applyLocked(tags []string, fds []int) []int {
	name, named := "", false
	for _, tag := range tags {
		if v, ok := strings.CutPrefix(tag, "FDNAME="); ok {
			name, named = v, true
			break
		}
	}

	switch {
	case slices.Contains(tags, "FDSTOREREMOVE=1"):
		if !named || !validName(name) {
			m.t.Logf("systemdtest: FDSTOREREMOVE=1 without a valid FDNAME=, ignoring")
			return fds
		}
		kept := m.store[:0]
		for _, s := range m.store {
			if s.name == name {
				unix.Close(s.fd)
				continue
			}
			kept = append(kept, s)
		}
		m.store = kept
		return fds

	case slices.Contains(tags, "FDSTORE=1"):
		if named && !validName(name) {
			m.t.Logf("systemdtest: FDNAME=%q is invalid, storing as \"stored\"", name)
			named = false
		}
		if !named {
			name = "stored"
		}
		m.pollStoreLocked()
		poll := !slices.Contains(tags, "FDPOLL=0")
		for i, fd := range fds {
			if len(m.store) >= m.cfg.fdStoreMax {
				m.t.Logf("systemdtest: cannot store more fds than FileDescriptorStoreMax=%d, "+
					"closing remaining", m.cfg.fdStoreMax)
				return fds[i:]
			}
			if m.storedLocked(fd) {
				unix.Close(fd)
				continue
			}
			m.store = append([]stored{{name: name, fd: fd, poll: poll}}, m.store...)
		}
		return nil
	}
	return fds
}

// storedLocked reports whether fd refers to an open file description the
// store already holds, as systemd's same_fd decides with kcmp(2).
func (m *Manager) storedLocked(fd int) bool {
	pid := os.Getpid()
	for _, s := range m.store {
		r, _, errno := unix.Syscall6(unix.SYS_KCMP, uintptr(pid), uintptr(pid), kcmpFile,
			uintptr(s.fd), uintptr(fd), 0)
		if errno != 0 {
			m.t.Errorf("systemdtest: kcmp: %v", errno)
			return false
		}
		if r == 0 {
			return true
		}
	}
	return false
}

// pollStoreLocked drops stored descriptors that report POLLHUP or POLLERR.
// systemd watches them continuously; checking whenever the store is used
// makes no difference to what a service can observe.
func (m *Manager) pollStoreLocked() {
	kept := m.store[:0]
	for _, s := range m.store {
		if s.poll && hungUp(s.fd) {
			m.t.Logf("systemdtest: stored fd %d (%s) hung up, closing", s.fd, s.name)
			unix.Close(s.fd)
			continue
		}
		kept = append(kept, s)
	}
	m.store = kept
}

func hungUp(fd int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd)}}
	for {
		n, err := unix.Poll(pfd, 0)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0 && pfd[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0
	}
}

// validName is systemd's fdname_is_valid: up to 255 bytes of printable
// ASCII other than ':'; empty is valid.
func validName(name string) bool {
	if len(name) > maxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < ' ' || c >= 127 || c == ':' {
			return false
		}
	}
	return true
}
