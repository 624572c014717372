// Package fdinject owns shadow descriptors: the host descriptors that stand
// for rump descriptors in a target, their numbering at or above fdoff, and
// the table that maps each shadow to its rump descriptor.
//
// A shadow is a duplicate of one anonymous regular file per session,
// installed in the target with SECCOMP_IOCTL_NOTIF_ADDFD. Like a regular
// file it is always ready for poll and select; every call that could reach
// its contents is trapped, since its number is at or above fdoff.
package fdinject

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Table maps the shadows of one target process to its rump descriptors.
// It is safe for concurrent use by the process's threads.
type Table struct {
	count *atomic.Int64 // shadows of every table sharing it

	mu     sync.Mutex
	shadow map[int]int32 // shadow number → rump descriptor; guarded by mu
}

// NewTable returns an empty table that adds its shadows to count, which
// tables of one session share so that the session knows whether any of its
// processes has a shadow.
func NewTable(count *atomic.Int64) *Table {
	return &Table{count: count, shadow: make(map[int]int32)}
}

// Lookup returns the rump descriptor behind shadow number fd.
func (t *Table) Lookup(fd int) (int32, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.shadow[fd]
	return r, ok
}

// Add records that shadow number fd stands for rump descriptor r.
func (t *Table) Add(fd int, r int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.shadow[fd]; !ok {
		t.count.Add(1)
	}
	t.shadow[fd] = r
}

// Remove forgets shadow number fd and returns its rump descriptor.
func (t *Table) Remove(fd int) (int32, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.shadow[fd]
	if ok {
		delete(t.shadow, fd)
		t.count.Add(-1)
	}
	return r, ok
}

// Stale is the rump descriptor of a shadow whose rump process is gone: the
// rump kernel answers every call on it with EBADF, as a reconnected
// rumpclient's calls on its old descriptors fail.
const Stale int32 = -1

// Foreign is the rump descriptor recorded for a number that holds a host
// file hijackd made for the target (a /proc/sys file): calls on it are the
// host's, but its close must be seen.
const Foreign int32 = -2

// Invalidate marks every shadow stale, for when the rump process the table
// referred to has been replaced by a new one. The shadows stay until the
// target closes them.
func (t *Table) Invalidate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for fd := range t.shadow {
		t.shadow[fd] = Stale
	}
}

// Clone returns a table holding the same shadows, for a fork child, whose
// shadows are copies of its parent's at the fork.
func (t *Table) Clone() *Table {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := NewTable(t.count)
	for fd, r := range t.shadow {
		c.shadow[fd] = r
	}
	t.count.Add(int64(len(c.shadow)))
	return c
}

// Entries returns the shadows and their rump descriptors.
func (t *Table) Entries() map[int]int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[int]int32, len(t.shadow))
	for fd, r := range t.shadow {
		out[fd] = r
	}
	return out
}

// Numbers returns the shadow numbers, for a caller that removes them all.
func (t *Table) Numbers() map[int]bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[int]bool, len(t.shadow))
	for fd := range t.shadow {
		out[fd] = true
	}
	return out
}

// Len returns the number of shadows.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.shadow)
}

// Reserve picks the lowest number at or above fdoff that is neither a
// shadow nor open in process pid, records it for rump descriptor r and
// returns it. The caller installs the shadow there, or calls Remove if it
// cannot. A number the target opens itself between the check and the
// installation would be replaced; the target only gets numbers that high
// when every lower one is taken.
func (t *Table) Reserve(pid, fdoff int, r int32) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var limit unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &limit); err != nil {
		return -1, fmt.Errorf("descriptor limit of %d: %w", pid, err)
	}
	for fd := fdoff; uint64(fd) < limit.Cur; fd++ {
		if _, used := t.shadow[fd]; used {
			continue
		}
		if _, err := os.Lstat(fmt.Sprintf("/proc/%d/fd/%d", pid, fd)); err == nil {
			continue
		}
		t.shadow[fd] = r
		t.count.Add(1)
		return fd, nil
	}
	return -1, unix.EMFILE
}

// shadowName is the name of the shadow file, as /proc shows it.
const shadowName = "hijack-shadow"

// IsShadow reports whether descriptor fd of thread tid is a shadow of some
// session: a duplicate of a shadow file.
func IsShadow(tid, fd int) bool {
	target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", tid, fd))
	if err != nil {
		return false
	}
	if ino, ok := strings.CutPrefix(target, "socket:["); ok {
		n, err := strconv.ParseUint(strings.TrimSuffix(ino, "]"), 10, 64)
		return err == nil && isSocketShadow(n)
	}
	return strings.HasPrefix(target, "/memfd:"+shadowName)
}

// Shadow is the host file every shadow of a session duplicates.
type Shadow struct {
	fd int
}

// NewShadow creates the file shadows duplicate.
func NewShadow() (*Shadow, error) {
	fd, err := unix.MemfdCreate(shadowName, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("create shadow file: %w", err)
	}
	return &Shadow{fd: fd}, nil
}

// FD returns the descriptor to install as a shadow.
func (s *Shadow) FD() int { return s.fd }

// Close closes hijackd's own reference.
func (s *Shadow) Close() error { return unix.Close(s.fd) }
