package fdinject

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// A rump socket's shadow must be readable exactly when the rump socket is,
// and writable exactly when it is, so that poll, select and epoll on the
// shadow, which are never trapped, see the rump socket. Such a shadow is one
// end of a local socket pair; hijackd keeps both ends and sets the target's
// end's readiness through them:
//
//   - readable: a token byte waits in the target end's receive queue, sent
//     from the other end; taking it back makes the end unreadable again;
//   - not writable: the target end's send buffer is filled, through
//     hijackd's own copy of it, into the other end's receive queue; reading
//     that queue empty makes it writable again;
//   - hang-up: the other end is shut down, so the target end reports end of
//     file and POLLHUP, and stays readable.
//
// The target never reads or writes its end: every call on the shadow's
// number is trapped and served from the rump socket.

// ReadyShadow is the shadow of one rump socket.
type ReadyShadow struct {
	mu       sync.Mutex
	target   int // the end installed in the target (hijackd's copy); -1 once closed
	peer     int // the other end
	readable bool
	writable bool
	hungUp   bool
	ino      uint64 // of the target end, as /proc names it
}

// socketShadows holds the inode numbers of the target ends of live socket
// shadows, which tell IsShadow a shadow from another socket.
var socketShadows sync.Map

func isSocketShadow(ino uint64) bool {
	_, ok := socketShadows.Load(ino)
	return ok
}

// sndbuf is the target end's send buffer: small, so that filling it to make
// the end unwritable moves little data.
const sndbuf = 4096

// NewReadyShadow creates a shadow that is neither readable nor writable.
func NewReadyShadow() (*ReadyShadow, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX,
		unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("create socket shadow: %w", err)
	}
	r := &ReadyShadow{target: fds[0], peer: fds[1], writable: true}
	var st unix.Stat_t
	if err := unix.Fstat(r.target, &st); err == nil {
		r.ino = st.Ino
		socketShadows.Store(st.Ino, true)
	}
	unix.SetsockoptInt(r.target, unix.SOL_SOCKET, unix.SO_SNDBUF, sndbuf)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.setWritableLocked(false); err != nil {
		r.closeLocked()
		return nil, err
	}
	return r, nil
}

// FD returns the end to install in the target, -1 once closed.
func (r *ReadyShadow) FD() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.target
}

// Set makes the shadow readable and writable as given.
func (r *ReadyShadow) Set(readable, writable bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.target < 0 {
		return nil
	}
	if err := r.setReadableLocked(readable); err != nil {
		return err
	}
	return r.setWritableLocked(writable)
}

// State returns whether the shadow is readable and writable now.
func (r *ReadyShadow) State() (readable, writable bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readable || r.hungUp, r.writable
}

func (r *ReadyShadow) setReadableLocked(on bool) error {
	if on == r.readable || r.hungUp {
		return nil
	}
	var err error
	if on {
		_, err = unix.Write(r.peer, []byte{1})
	} else {
		var b [16]byte
		_, err = unix.Read(r.target, b[:])
		if err == unix.EAGAIN {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("set socket shadow readable=%v: %w", on, err)
	}
	r.readable = on
	return nil
}

func (r *ReadyShadow) setWritableLocked(on bool) error {
	if on == r.writable {
		return nil
	}
	var b [sndbuf]byte
	for {
		var err error
		if on {
			_, err = unix.Read(r.peer, b[:])
		} else {
			_, err = unix.Write(r.target, b[:])
		}
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			return fmt.Errorf("set socket shadow writable=%v: %w", on, err)
		}
	}
	r.writable = on
	return nil
}

// HangUp makes the shadow report end of file: readable for good, with
// POLLHUP and POLLRDHUP.
func (r *ReadyShadow) HangUp() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.target < 0 || r.hungUp {
		return
	}
	unix.Shutdown(r.peer, unix.SHUT_RDWR)
	r.hungUp = true
}

// Close closes hijackd's ends; the target's copy stays until it closes it.
func (r *ReadyShadow) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeLocked()
}

func (r *ReadyShadow) closeLocked() {
	if r.target < 0 {
		return
	}
	socketShadows.Delete(r.ino)
	unix.Close(r.target)
	unix.Close(r.peer)
	r.target, r.peer = -1, -1
}

// ShadowState is what a successor needs to go on with a ReadyShadow
// besides its two descriptors.
type ShadowState struct {
	Readable bool `json:"readable"`
	Writable bool `json:"writable"`
	HungUp   bool `json:"hung_up"`
}

// Handoff returns the shadow's two ends, the one installed in the target
// first, and its state, for a successor's RestoreReadyShadow. The shadow
// keeps them; ok is false once it is closed.
func (r *ReadyShadow) Handoff() (target, peer int, st ShadowState, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.target < 0 {
		return -1, -1, ShadowState{}, false
	}
	return r.target, r.peer, ShadowState{r.readable, r.writable, r.hungUp}, true
}

// RestoreReadyShadow makes a ReadyShadow of the ends and state a
// predecessor's Handoff gave. It takes the descriptors.
func RestoreReadyShadow(target, peer int, st ShadowState) (*ReadyShadow, error) {
	var s unix.Stat_t
	if err := unix.Fstat(target, &s); err != nil {
		unix.Close(target)
		unix.Close(peer)
		return nil, fmt.Errorf("restore socket shadow: %w", err)
	}
	r := &ReadyShadow{target: target, peer: peer, readable: st.Readable,
		writable: st.Writable, hungUp: st.HungUp, ino: s.Ino}
	socketShadows.Store(s.Ino, true)
	return r, nil
}
