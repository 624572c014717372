// Package systemd speaks the three service protocols of systemd that hijackd
// uses, without linking libsystemd: state notifications with the watchdog
// (sd_notify(3)), the file descriptor store that keeps seccomp listeners and
// rump connections open while hijackd restarts, and socket activation
// (sd_listen_fds(3)), through which the control socket and the stored
// descriptors come back.
//
// It owns the wire formats and the environment variables of those
// protocols, nothing else: when to notify, what to store and what a
// descriptor that comes back means are the caller's business. Without
// systemd every function is a no-op that succeeds, so a hijackd started by
// hand behaves as it did before.
//
// Every function is safe for concurrent use, except ListenFDs, which reads
// and clears process-wide environment variables and is meant to be called
// once, early.
package systemd

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// maxMessage is the largest datagram systemd accepts on its notification
// socket (NOTIFY_BUFFER_MAX, the size of a pipe buffer); it ignores longer
// ones whole, descriptors included.
const maxMessage = 4096

// Notify sends state, newline-separated VAR=VALUE assignments as described in
// sd_notify(3), to the service manager named by $NOTIFY_SOCKET: an absolute
// path, or a name in the abstract namespace written with a leading '@'.
// Without $NOTIFY_SOCKET it does nothing and returns nil.
//
// The datagram is sent on a socket of its own, so Notify does not block on
// other callers; it blocks only while systemd's receive queue is full.
// systemd answers nothing: a nil error means the datagram was queued, not
// that systemd accepted it.
func Notify(state string) error {
	return send(state, nil)
}

// Ready tells systemd that start-up is finished (READY=1). A Type=notify
// service is not started, and units ordered after it wait, until it says so.
func Ready() error { return Notify("READY=1") }

// Stopping tells systemd that the service is shutting down (STOPPING=1), so
// that a stop is not mistaken for a crash while it takes its time.
func Stopping() error { return Notify("STOPPING=1") }

// Watchdog keeps the service watchdog from firing (WATCHDOG=1). It must be
// called more often than WatchdogInterval reports; sd_watchdog_enabled(3)
// recommends every half interval.
func Watchdog() error { return Notify("WATCHDOG=1") }

// WatchdogInterval reports the interval systemd expects Watchdog calls in,
// from $WATCHDOG_USEC, and whether the watchdog is enabled for this process:
// it is not when $WATCHDOG_USEC is unset, zero or malformed, or when
// $WATCHDOG_PID names another process (a child that inherited the
// environment is not the one being watched).
func WatchdogInterval() (time.Duration, bool) {
	usec, err := strconv.ParseUint(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec == 0 || usec > uint64(time.Duration(1<<63-1)/time.Microsecond) {
		return 0, false
	}
	if s := os.Getenv("WATCHDOG_PID"); s != "" {
		pid, err := strconv.Atoi(s)
		if err != nil || pid != os.Getpid() {
			return 0, false
		}
	}
	return time.Duration(usec) * time.Microsecond, true
}

// send sends state with fds attached (SCM_RIGHTS) to $NOTIFY_SOCKET. The
// descriptors stay open in this process: the kernel gives systemd copies.
func send(state string, fds []int) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if state == "" {
		return errors.New("sd_notify: empty state")
	}
	if len(state) > maxMessage {
		return fmt.Errorf("sd_notify: state of %d bytes is longer than the %d systemd accepts",
			len(state), maxMessage)
	}
	to, err := notifyAddr(addr)
	if err != nil {
		return err
	}

	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sd_notify: socket: %w", err)
	}
	defer unix.Close(fd)

	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if err := unix.Sendmsg(fd, []byte(state), oob, to, unix.MSG_NOSIGNAL); err != nil {
		return fmt.Errorf("sd_notify: send to %s: %w", addr, err)
	}
	return nil
}

// notifyAddr turns the value of $NOTIFY_SOCKET into a socket address. The
// vsock: addresses of newer systemd versions are not supported: hijackd does
// not run in a virtual machine that reports to its host's manager.
func notifyAddr(addr string) (unix.Sockaddr, error) {
	// unix.SockaddrUnix itself turns a leading '@' into the NUL byte that
	// marks the abstract namespace.
	if !strings.HasPrefix(addr, "/") && !strings.HasPrefix(addr, "@") {
		return nil, fmt.Errorf("sd_notify: NOTIFY_SOCKET=%q: want an absolute path or @name",
			addr)
	}
	// A path needs room for its terminating NUL; an abstract name has none.
	limit := len(unix.RawSockaddrUnix{}.Path)
	if addr[0] == '/' {
		limit--
	}
	if len(addr) > limit {
		return nil, fmt.Errorf("sd_notify: NOTIFY_SOCKET=%q: longer than the %d bytes "+
			"of a socket address", addr, limit)
	}
	return &unix.SockaddrUnix{Name: addr}, nil
}

// Managed reports whether a service manager listens for notifications
// ($NOTIFY_SOCKET is set): only then can descriptors be stored.
func Managed() bool { return os.Getenv("NOTIFY_SOCKET") != "" }
