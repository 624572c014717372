package rumpserver

import (
	"github.com/hijack-project/hijack/netbsd"
)

// fdEntry is one slot of a descriptor table. Blocking calls remember the
// entry they looked up, not the number, so that closing the descriptor wakes
// them even when the number is reused at once.
type fdEntry struct {
	f       *file
	fd      int32 // the slot's number
	cloexec bool  // guarded by the owning process's mu
}

// getFile looks descriptor fd up and returns its entry and its file with a
// reference the caller releases. An unknown descriptor gives EBADF.
func (p *process) getFile(fd int32) (*fdEntry, *file, netbsd.Errno) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entryLocked(fd)
	if e == nil {
		return nil, nil, netbsd.EBADF
	}
	return e, e.f.acquire(), 0
}

// entryLocked returns the entry of fd, or nil.
//
// Preconditions: p.mu is held.
func (p *process) entryLocked(fd int32) *fdEntry {
	if fd < 0 || int(fd) >= len(p.fds) {
		return nil
	}
	return p.fds[fd]
}

// install puts f in the lowest free slot at or above min, taking a reference
// of its own, and returns the descriptor. A full table gives EMFILE, a min
// beyond the table's limit EINVAL, as fcntl(F_DUPFD) reports it.
func (p *process) install(f *file, cloexec bool, min int) (int32, netbsd.Errno) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited {
		return -1, netbsd.EBADF
	}
	if min < 0 || min >= p.k.maxFiles {
		return -1, netbsd.EINVAL
	}
	fd := min
	for fd < len(p.fds) && p.fds[fd] != nil {
		fd++
	}
	if fd >= p.k.maxFiles {
		return -1, netbsd.EMFILE
	}
	p.putLocked(fd, &fdEntry{f: f.acquire(), cloexec: cloexec})
	return int32(fd), 0
}

// installAt puts f in slot fd, closing what was there, as dup2 does. A number
// beyond the table's limit gives EBADF.
func (p *process) installAt(fd int32, f *file, cloexec bool) netbsd.Errno {
	p.mu.Lock()
	if p.exited {
		p.mu.Unlock()
		return netbsd.EBADF
	}
	if fd < 0 || int(fd) >= p.k.maxFiles {
		p.mu.Unlock()
		return netbsd.EBADF
	}
	old := p.entryLocked(fd)
	p.putLocked(int(fd), &fdEntry{f: f.acquire(), cloexec: cloexec})
	if old != nil {
		p.wakeEntryLocked(old)
	}
	p.mu.Unlock()

	if old != nil {
		old.f.release()
	}
	return 0
}

// putLocked stores e in slot fd, growing the table as needed.
//
// Preconditions: p.mu is held; fd is below the table's limit.
func (p *process) putLocked(fd int, e *fdEntry) {
	for fd >= len(p.fds) {
		p.fds = append(p.fds, nil)
	}
	e.fd = int32(fd)
	p.fds[fd] = e
}

// closeFd closes descriptor fd and wakes the calls blocked on it, which fail
// with EBADF, as NetBSD's fd_close restarts them.
func (p *process) closeFd(fd int32) netbsd.Errno {
	p.mu.Lock()
	e := p.entryLocked(fd)
	if e == nil {
		p.mu.Unlock()
		return netbsd.EBADF
	}
	p.fds[fd] = nil
	p.wakeEntryLocked(e)
	p.mu.Unlock()

	e.f.release()
	return 0
}

// closeWhere closes every descriptor at or above min whose entry drop selects,
// and returns how many it closed.
func (p *process) closeWhere(min int, drop func(*fdEntry) bool) int {
	var closed []*fdEntry
	p.mu.Lock()
	for fd := max(min, 0); fd < len(p.fds); fd++ {
		if e := p.fds[fd]; e != nil && drop(e) {
			p.fds[fd] = nil
			p.wakeEntryLocked(e)
			closed = append(closed, e)
		}
	}
	p.mu.Unlock()

	for _, e := range closed {
		e.f.release()
	}
	return len(closed)
}

// maxFd returns the highest open descriptor, or -1, for F_MAXFD.
func (p *process) maxFd() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	for fd := len(p.fds) - 1; fd >= 0; fd-- {
		if p.fds[fd] != nil {
			return int32(fd)
		}
	}
	return -1
}

// setCloexec sets the close-on-exec flag of fd.
func (p *process) setCloexec(fd int32, on bool) netbsd.Errno {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entryLocked(fd)
	if e == nil {
		return netbsd.EBADF
	}
	e.cloexec = on
	return 0
}

// cloexec reports the close-on-exec flag of fd.
func (p *process) cloexec(fd int32) (bool, netbsd.Errno) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entryLocked(fd)
	if e == nil {
		return false, netbsd.EBADF
	}
	return e.cloexec, 0
}
