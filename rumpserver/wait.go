package rumpserver

// Blocking calls.
//
// The rump kernel runs every call on an LWP of its own; a call that sleeps
// sleeps alone, and ends when its condition holds, when another LWP closes
// the descriptor it sleeps on (fd_close restarts it), or when the process is
// told to exit (an exec handshake draining it, or its connection gone), which
// makes the sleep return EINTR.
//
// Here a call that waits has a goroutine of its own (block hands the
// connection's reading over first when the call runs on the reader), and
// host descriptors are always non-blocking. A call that gets EAGAIN on a
// descriptor its process has not made non-blocking calls block, which polls
// the host descriptors together with an eventfd of the call's own. The
// eventfd is registered with the process as a waiter, with the descriptor
// slots the call depends on; closing one of those slots, or interrupting the
// process, writes to it. An eventfd per wait, rather than one per process,
// keeps wake-ups from being consumed by the wrong waiter, and costs two
// system calls only on calls that really wait.

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// waiter is one blocking call in progress.
type waiter struct {
	efd     int
	entries []*fdEntry
}

// wake makes the waiter's poll return.
func (w *waiter) wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(w.efd, one[:])
}

// block waits until one of fds is ready, timeout passes (a negative timeout
// waits forever), the process is interrupted, or one of watch, the slots the
// call looked up, is closed. It returns whether a descriptor is ready (the
// revents of fds are filled in), and EINTR for an interrupted process, EBADF
// for a closed slot, or 0 (not ready) on timeout. A call running on the
// connection's reader first hands the reading over, so that the client,
// whose other threads may be the ones to wake it, is heard meanwhile.
func (cl *call) block(fds []unix.PollFd, watch []*fdEntry, timeout time.Duration) (bool,
	netbsd.Errno) {
	cl.c.handOff(cl)
	return cl.p.wait(fds, watch, timeout)
}

// sleep waits for d, or until the process is interrupted (EINTR).
func (cl *call) sleep(d time.Duration) netbsd.Errno {
	_, e := cl.block(nil, nil, d)
	return e
}

// takeLong tells that the call is about to take long without blocking, as a
// flush to disk can: a call running on the reader hands the reading over.
func (cl *call) takeLong() { cl.c.handOff(cl) }

// wait is block for the process, on whichever goroutine calls it.
func (p *process) wait(fds []unix.PollFd, watch []*fdEntry, timeout time.Duration) (bool,
	netbsd.Errno) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return false, toErrno(err)
	}
	defer unix.Close(efd)

	w := &waiter{efd: efd, entries: watch}
	if e := p.addWaiter(w); e != 0 {
		return false, e
	}
	defer p.removeWaiter(w)

	pfds := append(fds, unix.PollFd{Fd: int32(efd), Events: unix.POLLIN})
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		ms := -1
		if timeout >= 0 {
			ms = max(int((time.Until(deadline)+time.Millisecond-1)/time.Millisecond), 0)
		}
		n, err := unix.Poll(pfds, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, toErrno(err)
		}
		if pfds[len(pfds)-1].Revents != 0 {
			return false, p.wakeReason(w)
		}
		if n > 0 {
			copy(fds, pfds)
			return true, 0
		}
		if timeout >= 0 && !time.Now().Before(deadline) {
			return false, 0
		}
	}
}

// addWaiter registers w, unless the process is interrupted (EINTR) or one of
// its slots is already closed (EBADF).
func (p *process) addWaiter(w *waiter) netbsd.Errno {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.wakeReasonLocked(w); e != 0 {
		return e
	}
	p.waiters[w] = struct{}{}
	p.k.blocked.Add(1)
	return 0
}

func (p *process) removeWaiter(w *waiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.waiters, w)
	p.k.blocked.Add(-1)
}

// wakeReason says why w was woken.
func (p *process) wakeReason(w *waiter) netbsd.Errno {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.wakeReasonLocked(w); e != 0 {
		return e
	}
	// Woken for a slot that was closed and refilled at once: the call
	// still fails, as its descriptor went away under it.
	return netbsd.EBADF
}

// wakeReasonLocked returns EINTR for an interrupted process, EBADF if a slot
// of w is no longer in the table, and 0 otherwise.
//
// Preconditions: p.mu is held.
func (p *process) wakeReasonLocked(w *waiter) netbsd.Errno {
	if p.interrupted || p.exited {
		return netbsd.EINTR
	}
	for _, e := range w.entries {
		if !p.holdsLocked(e) {
			return netbsd.EBADF
		}
	}
	return 0
}

// holdsLocked reports whether entry e is still in the table.
//
// Preconditions: p.mu is held.
func (p *process) holdsLocked(e *fdEntry) bool {
	return int(e.fd) < len(p.fds) && p.fds[e.fd] == e
}

// wakeEntryLocked wakes the calls blocked on slot e, which is being closed.
//
// Preconditions: p.mu is held.
func (p *process) wakeEntryLocked(e *fdEntry) {
	for w := range p.waiters {
		for _, x := range w.entries {
			if x == e {
				w.wake()
				break
			}
		}
	}
}

// interrupt makes every blocking call of the process, present and future,
// fail with EINTR until resume.
func (p *process) interrupt() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.interrupted = true
	for w := range p.waiters {
		w.wake()
	}
}

// resume ends an interrupt.
func (p *process) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.interrupted = false
}
