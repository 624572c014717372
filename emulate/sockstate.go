package emulate

import (
	"context"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/rumpconn"
)

// Socket readiness. A rump socket's shadow is a fdinject.ReadyShadow whose
// readiness is kept equal to the rump socket's, so that poll, select and
// epoll on it need no trap. Readiness is lost only by the program's own
// calls, which are trapped: a receive that drained the socket, a send that
// filled it, a connect under way. Those calls clear it here. It is regained
// by events in the rump kernel: each process has a watcher that polls the
// rump kernel for every socket's missing readiness, in one poll call that
// also waits on a rump pipe, which a call that clears readiness writes to
// so that the poll starts over with the new set.

// Socket is one rump socket as its shadow shows it. Duplicates and fork
// copies of the rump descriptor share it, as they share the socket.
type Socket struct {
	shadow *fdinject.ReadyShadow
	kind   sockKind

	mu sync.Mutex
	// holders are the processes' sets naming it, each with the number of
	// its rump descriptors that do; guarded by mu.
	holders map[*Sockets]int
}

// hold counts one more rump descriptor of ss naming s.
func (s *Socket) hold(ss *Sockets) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holders == nil {
		s.holders = make(map[*Sockets]int)
	}
	s.holders[ss]++
}

// sockKind is a socket's family, type and protocol as the program made it,
// in Linux's numbers, for the options NetBSD lacks (SO_DOMAIN, SO_PROTOCOL).
type sockKind struct{ family, typ, proto int32 }

// Sockets are the rump sockets of one process, by rump descriptor, and the
// watcher that mirrors their readiness.
type Sockets struct {
	mu     sync.Mutex
	byFD   map[int32]*Socket // guarded by mu
	w      *watcher          // guarded by mu; started with the first socket
	closed bool              // guarded by mu
	// The rump process the sockets are in, once Attach has named it;
	// guarded by mu.
	ctx     context.Context
	conn    *rumpconn.Conn
	staging *rumpconn.Staging
}

// NewSockets returns an empty set.
func NewSockets() *Sockets { return &Sockets{byFD: make(map[int32]*Socket)} }

// Lookup returns the socket behind rump descriptor fd, if it is one.
func (ss *Sockets) Lookup(fd int32) *Socket {
	if ss == nil {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.byFD[fd]
}

// Len returns the number of rump descriptors that name sockets.
func (ss *Sockets) Len() int {
	if ss == nil {
		return 0
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.byFD)
}

// add records that rump descriptor fd names s.
func (ss *Sockets) add(fd int32, s *Socket) {
	s.hold(ss)
	ss.mu.Lock()
	old := ss.byFD[fd]
	ss.byFD[fd] = s
	ss.mu.Unlock()
	if old != nil {
		old.release(ss)
	}
}

// alias records that rump descriptor fd, a duplicate of old, names the
// same socket, when old names one.
func (ss *Sockets) alias(fd, old int32) {
	if s := ss.Lookup(old); s != nil {
		ss.add(fd, s)
	}
}

// Remove forgets rump descriptor fd; the last descriptor of a socket closes
// hijackd's ends of its shadow.
func (ss *Sockets) Remove(fd int32) {
	if ss == nil {
		return
	}
	ss.mu.Lock()
	s := ss.byFD[fd]
	delete(ss.byFD, fd)
	ss.mu.Unlock()
	if s != nil {
		s.release(ss)
	}
}

// release forgets one rump descriptor of from naming s. The last one closes
// hijackd's ends of the shadow. Otherwise the other processes holding s
// must watch it now, since from's watcher may have been the one that did.
func (s *Socket) release(from *Sockets) {
	s.mu.Lock()
	if s.holders[from]--; s.holders[from] <= 0 {
		delete(s.holders, from)
	}
	last := len(s.holders) == 0
	var others []*Sockets
	for h := range s.holders {
		if h != from {
			others = append(others, h)
		}
	}
	s.mu.Unlock()
	if last {
		s.shadow.Close()
		return
	}
	for _, h := range others {
		go h.watch()
	}
}

// Clone returns the sockets of a fork child, whose rump descriptors are
// its parent's as of the fork. The child's watcher starts with its first
// rump call on a socket.
func (ss *Sockets) Clone() *Sockets {
	c := NewSockets()
	if ss == nil {
		return c
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for fd, s := range ss.byFD {
		s.hold(c)
		c.byFD[fd] = s
	}
	return c
}

// Attach gives the sockets the rump process they are in, once the process
// has one: a fork child's sockets are its parent's until it claims its
// fork. A watcher starts at once when a socket lacks readiness, since the
// parent's may no longer watch it.
func (ss *Sockets) Attach(ctx context.Context, conn *rumpconn.Conn, staging *rumpconn.Staging) {
	if ss == nil {
		return
	}
	ss.mu.Lock()
	ss.ctx, ss.conn, ss.staging = context.WithoutCancel(ctx), conn, staging
	ss.mu.Unlock()
	ss.watch()
}

// watch starts the watcher, or kicks it, when a socket lacks readiness and
// the rump process is known.
func (ss *Sockets) watch() {
	ss.mu.Lock()
	conn, staging, ctx := ss.conn, ss.staging, ss.ctx
	need := false
	for _, s := range ss.byFD {
		if r, w := s.shadow.State(); !r || !w {
			need = true
			break
		}
	}
	ss.mu.Unlock()
	if conn != nil && need {
		ss.changed(ctx, conn, staging)
	}
}

// Lost is told that the rump process the sockets were in is gone, replaced
// by a new one after a reconnect: the watcher is abandoned without a call
// to the new rump process, whose descriptor numbers its pipe's may now name,
// and every socket is forgotten, its shadow readable and writable so that a
// program waiting on it calls and learns EBADF.
func (ss *Sockets) Lost() {
	if ss == nil {
		return
	}
	w, all := ss.takeAll(false)
	if w != nil {
		w.cancel()
	}
	for _, s := range all {
		s.shadow.Set(true, true)
		s.release(ss)
	}
}

// takeAll takes the watcher and every socket out of the set, and closes
// the set for good when closing.
func (ss *Sockets) takeAll(closing bool) (*watcher, map[int32]*Socket) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if closing {
		ss.closed = true
	}
	w, all := ss.w, ss.byFD
	ss.w, ss.byFD = nil, make(map[int32]*Socket)
	return w, all
}

// Private returns the rump descriptors the sockets' watcher holds, which no
// shadow names: a fork child's rump process inherits them and must close
// them.
func (ss *Sockets) Private() []int32 {
	if ss == nil {
		return nil
	}
	ss.mu.Lock()
	w := ss.w
	ss.mu.Unlock()
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []int32
	for _, fd := range w.pipe {
		if fd >= 0 {
			out = append(out, fd)
		}
	}
	return out
}

// Close stops the watcher and forgets every socket.
func (ss *Sockets) Close() {
	if ss == nil {
		return
	}
	w, all := ss.takeAll(true)
	if w != nil {
		w.stop()
	}
	for _, s := range all {
		s.release(ss)
	}
}

// changed is told that a socket of the process lost readiness: the watcher
// must poll for it. It starts the watcher on the process's connection when
// there is none yet.
func (ss *Sockets) changed(ctx context.Context, conn *rumpconn.Conn, staging *rumpconn.Staging) {
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return
	}
	ss.ctx, ss.conn, ss.staging = context.WithoutCancel(ctx), conn, staging
	w := ss.w
	if w == nil || w.conn != conn {
		if w != nil {
			go w.stop() // the connection was replaced
		}
		w = newWatcher(ctx, ss, conn, staging)
		ss.w = w
	}
	ss.mu.Unlock()
	w.kick(ctx)
}

// watcher polls the rump kernel for the readiness a process's sockets lack.
type watcher struct {
	ss      *Sockets
	conn    *rumpconn.Conn
	staging *rumpconn.Staging
	ctx     context.Context
	cancel  context.CancelFunc
	wake    chan struct{} // kicks a watcher that is not in the rump kernel
	done    chan struct{}

	mu      sync.Mutex
	polling bool     // a rump poll is, or is about to be, in flight; guarded by mu
	pipe    [2]int32 // the rump pipe that ends a poll; -1 until made; guarded by mu
}

func newWatcher(ctx context.Context, ss *Sockets, conn *rumpconn.Conn,
	staging *rumpconn.Staging) *watcher {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &watcher{ss: ss, conn: conn, staging: staging, ctx: ctx, cancel: cancel,
		wake: make(chan struct{}, 1), done: make(chan struct{}), pipe: [2]int32{-1, -1}}
	go w.run()
	return w
}

// kick makes the watcher look at the sockets again: a token on wake, which
// the watcher checks after listing what to poll for and before it polls,
// and, when it may be in the rump kernel already, a byte on its pipe.
func (w *watcher) kick(ctx context.Context) {
	select {
	case w.wake <- struct{}{}:
	default:
	}
	w.mu.Lock()
	polling, wr := w.polling, w.pipe[1]
	w.mu.Unlock()
	if polling && wr >= 0 {
		w.rumpIO(ctx, netbsd.SYS_WRITE, wr, []byte{1})
	}
}

func (w *watcher) stop() {
	w.cancel()
	// A poll in the rump kernel ends when its pipe is written.
	w.mu.Lock()
	wr := w.pipe[1]
	w.mu.Unlock()
	if wr >= 0 {
		w.rumpIO(context.Background(), netbsd.SYS_WRITE, wr, []byte{1})
	}
	<-w.done
	w.mu.Lock()
	pipe := w.pipe
	w.mu.Unlock()
	for _, fd := range pipe {
		if fd >= 0 {
			w.conn.Syscall(context.Background(), netbsd.SYS_CLOSE, sint(fd))
		}
	}
}

// rumpIO reads or writes buf on rump descriptor fd through staging.
func (w *watcher) rumpIO(ctx context.Context, nr netbsd.Sysno, fd int32, buf []byte) (int64, bool) {
	r, err := w.staging.Stage(buf)
	if err != nil {
		return 0, false
	}
	defer r.Release()
	res, err := w.conn.Syscall(ctx, nr, sint(fd), r.Addr(), uint64(len(buf)))
	if err != nil || res.Errno != 0 || res.Faulted {
		return 0, false
	}
	return res.Retval[0], true
}

func (w *watcher) run() {
	defer close(w.done)
	res, err := w.conn.Syscall(w.ctx, netbsd.SYS_PIPE)
	if err != nil || res.Errno != 0 {
		return
	}
	w.mu.Lock()
	w.pipe = [2]int32{int32(res.Retval[0]), int32(res.Retval[1])}
	w.mu.Unlock()
	for w.ctx.Err() == nil {
		fds, socks := w.wanted()
		if len(socks) == 0 {
			select {
			case <-w.wake:
			case <-w.ctx.Done():
			}
			continue
		}
		// A kick between the listing and now may concern a socket the
		// listing missed: list again rather than poll without it.
		select {
		case <-w.wake:
			w.mu.Lock()
			w.polling = false
			w.mu.Unlock()
			continue
		default:
		}
		w.poll(fds, socks)
	}
}

// wanted lists what to poll for: the pipe, then each socket that lacks a
// readiness, with the events it lacks. It marks the watcher as polling, so
// that a kick from now on writes to the pipe.
func (w *watcher) wanted() ([]unix.PollFd, []*Socket) {
	fds := []unix.PollFd{{Fd: w.pipe[0], Events: unix.POLLIN}}
	var socks []*Socket
	w.ss.mu.Lock()
	for fd, s := range w.ss.byFD {
		r, wr := s.shadow.State()
		var ev int16
		if !r {
			ev |= unix.POLLIN
		}
		if !wr {
			ev |= unix.POLLOUT
		}
		if ev != 0 {
			fds = append(fds, unix.PollFd{Fd: fd, Events: ev})
			socks = append(socks, s)
		}
	}
	w.ss.mu.Unlock()
	w.mu.Lock()
	w.polling = len(socks) > 0
	w.mu.Unlock()
	return fds, socks
}

// poll waits in the rump kernel until one of fds is ready and shows what
// became ready on the shadows.
func (w *watcher) poll(fds []unix.PollFd, socks []*Socket) {
	defer func() {
		w.mu.Lock()
		w.polling = false
		w.mu.Unlock()
	}()
	buf := netbsd.EncodePollFds(fds) // the bits are the same on both systems
	r, err := w.staging.Stage(buf)
	if err != nil {
		return
	}
	res, err := w.conn.Syscall(w.ctx, netbsd.SYS_POLL, r.Addr(), uint64(len(fds)), sint(-1))
	got, derr := netbsd.DecodePollFds(buf, len(fds))
	r.Release()
	if err != nil {
		w.cancel() // the connection is gone
		return
	}
	if res.Errno != 0 || derr != nil {
		return
	}
	if got[0].Revents != 0 {
		var drain [64]byte
		w.rumpIO(w.ctx, netbsd.SYS_READ, w.pipe[0], drain[:])
	}
	for i, s := range socks {
		ev := got[i+1].Revents
		if ev == 0 || w.ss.Lookup(fds[i+1].Fd) != s {
			// Its descriptor was closed meanwhile, which ended the
			// poll with POLLNVAL: the socket is another process's
			// to watch now, or no one's.
			continue
		}
		r, wr := s.shadow.State()
		// An error or hang-up is readiness for both: the next call
		// reports it.
		if ev&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0 {
			r = true
		}
		if ev&(unix.POLLOUT|unix.POLLHUP|unix.POLLERR) != 0 {
			wr = true
		}
		if ev&unix.POLLNVAL != 0 {
			r, wr = true, true
		}
		s.shadow.Set(r, wr)
	}
}
