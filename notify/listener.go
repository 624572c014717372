// Package notify owns the seccomp user-notification listener: waiting for and
// receiving notifications, checking that a notification is still valid,
// replying to it, injecting descriptors into the target, and reading target
// memory. It is the only package of the project that issues seccomp ioctls.
//
// It knows nothing of policies or rump kernels: callers decide what a
// notification means and which reply it gets.
package notify

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrGone reports that a notification no longer exists: its target was
// interrupted by a signal or died, or the notification was already answered.
// The kernel says ENOENT for all of these; it is a normal event, not a failure
// of the supervisor.
var ErrGone = errors.New("notification withdrawn")

// ErrClosed is returned by Wait once Close has been called.
var ErrClosed = errors.New("listener closed")

// Notification is one trapped system call, as the kernel reports it.
type Notification struct {
	ID    uint64    // the kernel's cookie for this notification
	PID   int       // thread id of the target, in hijackd's pid namespace
	Flags uint32    // unused by current kernels
	Nr    int32     // system call number
	Arch  uint32    // AUDIT_ARCH_* value of the call
	IP    uint64    // instruction pointer of the target at the call
	Args  [6]uint64 // raw register arguments
}

// Kernel structure sizes this package is written for (x86-64). NewListener
// checks them against SECCOMP_GET_NOTIF_SIZES so that a kernel with larger
// structures is refused instead of being misread.
const (
	notifSize = 80
	respSize  = 24
	dataSize  = 64
)

type seccompNotif struct {
	id    uint64
	pid   uint32
	flags uint32
	nr    int32
	arch  uint32
	ip    uint64
	args  [6]uint64
}

type seccompResp struct {
	id    uint64
	val   int64
	error int32
	flags uint32
}

type seccompAddfd struct {
	id         uint64
	flags      uint32
	srcfd      uint32
	newfd      uint32
	newfdFlags uint32
}

type notifSizes struct {
	notif uint16
	resp  uint16
	data  uint16
}

// Listener is a seccomp listener descriptor received from a target. Wait and
// Receive must be called from one goroutine at a time; the replies, AddFD and
// Valid may be called from any goroutine, also concurrently with Close: once
// the listener is closed they return ErrClosed instead of touching a
// descriptor number that may have been reused.
type Listener struct {
	stop int // eventfd that wakes Wait when Stop is called

	mu     sync.RWMutex // held shared by every ioctl, exclusively by Close
	fd     int          // guarded by mu; -1 once closed
	closed bool         // guarded by mu
}

var checkSizes = sync.OnceValue(func() error {
	var s notifSizes
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_NOTIF_SIZES, 0,
		uintptr(unsafe.Pointer(&s)))
	if errno != 0 {
		return fmt.Errorf("seccomp(SECCOMP_GET_NOTIF_SIZES): %w", errno)
	}
	if s.notif < notifSize || s.resp < respSize || s.data != dataSize {
		return fmt.Errorf("kernel seccomp structure sizes %d/%d/%d, want at least %d/%d/%d",
			s.notif, s.resp, s.data, notifSize, respSize, dataSize)
	}
	if s.notif != notifSize || s.resp != respSize {
		// A kernel with larger structures would accept our smaller
		// buffers only if it stays compatible; refuse rather than guess.
		return fmt.Errorf("kernel seccomp structure sizes %d/%d differ from %d/%d",
			s.notif, s.resp, notifSize, respSize)
	}
	return nil
})

// IsListener reports whether fd refers to a seccomp listener.
func IsListener(fd int) bool {
	target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	return err == nil && target == "anon_inode:seccomp notify"
}

// NewListener takes ownership of fd, which must be a seccomp listener. It
// checks the kernel's structure sizes and asks the kernel to wake the target
// on the CPU that answers (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP), which makes a
// round trip several times cheaper on multi-CPU machines. On failure fd is
// left open and still belongs to the caller.
func NewListener(fd int) (*Listener, error) {
	if err := checkSizes(); err != nil {
		return nil, err
	}
	if !IsListener(fd) {
		return nil, fmt.Errorf("descriptor %d is not a seccomp listener", fd)
	}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd),
		unix.SECCOMP_IOCTL_NOTIF_SET_FLAGS, unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
	if errno != 0 {
		return nil, fmt.Errorf("set SYNC_WAKE_UP on listener: %w", errno)
	}
	stop, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("create listener stop event: %w", err)
	}
	return &Listener{fd: fd, stop: stop}, nil
}

// ioctl issues one seccomp ioctl on the listener, or fails with EBADF once
// the listener is closed. An ioctl interrupted by a signal is issued again:
// the kernel takes the listener's lock interruptibly and answers EINTR, not
// a restart, when a signal comes first, and it has then done nothing. Left
// to the caller, an interrupted reply would leave its target waiting for
// ever.
//
// arg stays an unsafe.Pointer until the system call itself, where its
// conversion to uintptr keeps the object it points to alive and in place;
// converted earlier, a goroutine stack that grows in between would move
// the object and leave the kernel a stale address, with a reply read from
// whatever lies there now.
func (l *Listener) ioctl(req uintptr, arg unsafe.Pointer) (uintptr, unix.Errno) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return 0, unix.EBADF
	}
	for {
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(l.fd), req, uintptr(arg))
		if errno != unix.EINTR {
			return r, errno
		}
	}
}

// Wait blocks the calling thread until a notification is pending, every
// target has exited, or Close is called. It returns ready=true when Receive
// will find a notification (or ErrGone, if the target is interrupted in the
// meantime), hup=true when no process uses the filter any more, and ErrClosed
// after Close. The listener is polled rather than received from directly
// because a blocking receive does not return when the last target exits.
func (l *Listener) Wait() (ready, hup bool, err error) {
	l.mu.RLock()
	fd, closed := l.fd, l.closed
	l.mu.RUnlock()
	if closed {
		return false, false, ErrClosed
	}
	// Close waits for no Wait in progress, so it only signals stop and
	// leaves the descriptors for Close to take once this poll has
	// returned; the caller must not call Close concurrently with Wait.
	fds := []unix.PollFd{
		{Fd: int32(fd), Events: unix.POLLIN},
		{Fd: int32(l.stop), Events: unix.POLLIN},
	}
	for {
		_, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, false, fmt.Errorf("poll listener: %w", err)
		}
		if fds[1].Revents != 0 {
			return false, false, ErrClosed
		}
		rev := fds[0].Revents
		switch {
		case rev&unix.POLLIN != 0:
			return true, false, nil
		case rev&(unix.POLLHUP|unix.POLLERR) != 0:
			return false, true, nil
		case rev&unix.POLLNVAL != 0:
			return false, false, ErrClosed
		}
	}
}

// Receive takes the next pending notification into n. It returns ErrGone when
// the notification that Wait saw was withdrawn before it could be taken.
func (l *Listener) Receive(n *Notification) error {
	// The kernel refuses a buffer that is not zeroed; it writes the buffer
	// only on success, so an interrupted receive is retried with it as is.
	var raw seccompNotif
	_, errno := l.ioctl(unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&raw))
	switch errno {
	case 0:
		*n = Notification{
			ID: raw.id, PID: int(raw.pid), Flags: raw.flags, Nr: raw.nr,
			Arch: raw.arch, IP: raw.ip, Args: raw.args,
		}
		return nil
	case unix.ENOENT:
		return ErrGone
	default:
		return fmt.Errorf("receive notification: %w", errno)
	}
}

// Valid reports whether notification id is still pending. It returns ErrGone
// when it is not. Call it after reading target memory: a successful check
// proves that the thread id still named the target during the read.
func (l *Listener) Valid(id uint64) error {
	_, errno := l.ioctl(unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id))
	switch errno {
	case 0:
		return nil
	case unix.ENOENT:
		return ErrGone
	default:
		return fmt.Errorf("check notification %d: %w", id, errno)
	}
}

func (l *Listener) send(r *seccompResp) error {
	_, errno := l.ioctl(unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(r))
	switch errno {
	case 0:
		return nil
	case unix.ENOENT:
		return ErrGone
	default:
		return fmt.Errorf("reply to notification %d: %w", r.id, errno)
	}
}

// Continue lets the kernel execute the trapped call itself. The call reads its
// arguments again from target memory; Continue is therefore only right for a
// call whose execution by the host is harmless whatever those arguments are.
func (l *Listener) Continue(id uint64) error {
	return l.send(&seccompResp{id: id, flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE})
}

// Fail makes the trapped call return -1 with errno e in the target.
func (l *Listener) Fail(id uint64, e unix.Errno) error {
	if e == 0 {
		return fmt.Errorf("reply to notification %d: errno 0 is not a failure", id)
	}
	return l.send(&seccompResp{id: id, error: -int32(e)})
}

// Return makes the trapped call return val in the target.
func (l *Listener) Return(id uint64, val int64) error {
	return l.send(&seccompResp{id: id, val: val})
}

// AddFD installs a duplicate of srcfd in the target of notification id. With
// newfd >= 0 it is placed at exactly that number, replacing what was there;
// otherwise the lowest free number is used. With send=true the installation
// also answers the notification with the new number as the call's return
// value, in one step, so the descriptor cannot leak if the target is
// interrupted between the two. It returns the number in the target.
func (l *Listener) AddFD(id uint64, srcfd, newfd int, cloexec, send bool) (int, error) {
	a := seccompAddfd{id: id, srcfd: uint32(srcfd)}
	if newfd >= 0 {
		a.flags |= unix.SECCOMP_ADDFD_FLAG_SETFD
		a.newfd = uint32(newfd)
	}
	if send {
		a.flags |= unix.SECCOMP_ADDFD_FLAG_SEND
	}
	if cloexec {
		a.newfdFlags = unix.O_CLOEXEC
	}
	r, errno := l.ioctl(unix.SECCOMP_IOCTL_NOTIF_ADDFD, unsafe.Pointer(&a))
	switch errno {
	case 0:
		return int(r), nil
	case unix.ENOENT:
		return -1, ErrGone
	default:
		return -1, fmt.Errorf("inject descriptor into target of notification %d: %w", id, errno)
	}
}

// FD returns the listener descriptor, for handing it to a successor; -1
// once closed. The Listener keeps it.
func (l *Listener) FD() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.fd
}

// Stop makes a Wait in progress, and every later one, return ErrClosed. It
// may be called from any goroutine, any number of times.
func (l *Listener) Stop() {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if !l.closed {
		one := [8]byte{1}
		unix.Write(l.stop, one[:])
	}
}

// Close closes the listener. Targets whose calls are pending, and every later
// trapped call, fail with ENOSYS. It must not run concurrently with Wait: stop
// the waiting goroutine with Stop and let it return first. Close is
// idempotent.
func (l *Listener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	err := errors.Join(unix.Close(l.fd), unix.Close(l.stop))
	l.fd = -1
	return err
}
