package rumpserver

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// maxComLen is NetBSD's MAXCOMLEN: process names are cut to it.
const maxComLen = 16

// defaultUmask is the umask of proc1, which every guest inherits.
const defaultUmask = 0o022

// process is a rump process: what one connection acts as. Its identity is
// only its pid; it has root credentials, like every remote process of a rump
// kernel.
type process struct {
	k    *kernel
	pid  int32
	ppid int32

	mu sync.Mutex
	// name is p_comm, at most maxComLen bytes; guarded by mu.
	name string
	// fds is the descriptor table, indexed by NetBSD descriptor; nil
	// slots are free; guarded by mu.
	fds []*fdEntry
	// cwd is the working directory, an O_PATH directory under the root;
	// guarded by mu.
	cwd *file
	// umask applies to every file the process creates, before the host
	// process's own umask; guarded by mu.
	umask uint32
	// interrupted makes every blocking call fail with EINTR, while an
	// exec handshake drains the process or its connection is gone;
	// guarded by mu.
	interrupted bool
	// waiters are the blocking calls in progress; guarded by mu.
	waiters map[*waiter]struct{}
	// exited is set once the descriptors are gone; guarded by mu.
	exited bool
}

// newGuest creates the process of a GUEST handshake: a child of proc1 with
// the rump console on descriptors 0, 1 and 2 and the root as its working
// directory.
func newGuest(k *kernel, name string) (*process, error) {
	fd, err := unix.FcntlInt(uintptr(k.rootFd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("duplicate root for working directory: %w", err)
	}
	p := &process{
		k:       k,
		pid:     k.newPid(),
		ppid:    1,
		name:    truncName(name),
		cwd:     newFile(k, fd, kindVnode),
		umask:   defaultUmask,
		waiters: make(map[*waiter]struct{}),
	}
	cons := newConsole(k)
	for fd := range 3 {
		p.putLocked(fd, &fdEntry{f: cons.acquire()})
	}
	cons.release()
	return p, nil
}

// truncName cuts a process name to maxComLen bytes, as strlcpy into p_comm
// does.
func truncName(name string) string {
	if len(name) > maxComLen {
		return name[:maxComLen]
	}
	return name
}

// fork returns a child holding a copy of p's descriptor table, taken now,
// sharing every open file, as PREFORK's RUMP_RFFD_COPY fork does. The child
// has a pid of its own and p as its parent.
func (p *process) fork() *process {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &process{
		k:       p.k,
		pid:     p.k.newPid(),
		ppid:    p.pid,
		name:    p.name,
		cwd:     p.cwd.acquire(),
		umask:   p.umask,
		fds:     make([]*fdEntry, len(p.fds)),
		waiters: make(map[*waiter]struct{}),
	}
	for fd, e := range p.fds {
		if e != nil {
			c.fds[fd] = &fdEntry{f: e.f.acquire(), fd: int32(fd), cloexec: e.cloexec}
		}
	}
	return c
}

// exec closes the close-on-exec descriptors and renames the process, the
// work of an exec handshake once its calls have drained.
func (p *process) exec(name string) {
	p.closeWhere(0, func(e *fdEntry) bool { return e.cloexec })
	p.mu.Lock()
	p.name = truncName(name)
	p.mu.Unlock()
}

// exit closes every descriptor and the working directory. The process takes
// no calls afterwards.
func (p *process) exit() {
	p.closeWhere(0, func(*fdEntry) bool { return true })
	p.mu.Lock()
	cwd := p.cwd
	p.cwd = nil
	p.exited = true
	p.mu.Unlock()
	if cwd != nil {
		cwd.release()
	}
}

// getCwd returns the working directory with a reference the caller
// releases, or nil after exit.
func (p *process) getCwd() *file {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cwd == nil {
		return nil
	}
	return p.cwd.acquire()
}

// setCwd makes dir, whose reference it takes over, the working directory.
func (p *process) setCwd(dir *file) {
	p.mu.Lock()
	old := p.cwd
	p.cwd = dir
	if p.exited {
		p.cwd = nil
		old = dir
	}
	p.mu.Unlock()
	if old != nil {
		old.release()
	}
}

// getUmask and setUmask access the umask.
func (p *process) getUmask() uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.umask
}

func (p *process) setUmask(mask uint32) uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.umask
	p.umask = mask & 0o777
	return old
}
