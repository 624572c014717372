package rumpconn

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/sysproxy"
)

// Handing a connection over. A hijackd that restarts keeps each target's
// rump process by passing the socket of its connection to its successor
// (through systemd's descriptor store): the server sees nothing happen. The
// socket must be idle, with no request of the Conn's in flight, since the
// successor cannot answer the server's copy requests for a call it did not
// make; frames never split across the two, as each hijackd reads whole
// frames only while it has calls in flight.

// Handoff is what a successor needs to resume a Conn besides its socket.
type Handoff struct {
	Banner     string // the server's banner line
	Generation uint64
	Progname   string
}

// ErrBusy is Conn.File's answer while calls stay in flight.
var ErrBusy = errors.New("calls in flight")

// File returns a duplicate of the live link's socket, and what Resume needs
// with it. While a call is in flight it waits up to wait, since a call its
// caller gave up on stays in flight until the server answers it, which it
// does at once once what it waited for has happened; then it fails with
// ErrBusy. It fails with ErrNotConnected while the Conn has no live link
// (it is reconnecting).
func (c *Conn) File(wait time.Duration) (*os.File, Handoff, error) {
	deadline := time.Now().Add(wait)
	var l *link
	var gen uint64
	var name string
	for {
		c.mu.Lock()
		l, gen, name = c.link, c.gen, c.progname
		c.mu.Unlock()
		if l == nil {
			return nil, Handoff{}, ErrNotConnected
		}
		l.mu.Lock()
		busy := len(l.calls)
		l.mu.Unlock()
		if busy == 0 {
			break
		}
		if !time.Now().Before(deadline) {
			return nil, Handoff{}, fmt.Errorf("%w: %d", ErrBusy, busy)
		}
		time.Sleep(5 * time.Millisecond)
	}
	sc, ok := l.nc.(syscall.Conn)
	if !ok {
		return nil, Handoff{}, fmt.Errorf("a %T cannot be handed over", l.nc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, Handoff{}, err
	}
	var f *os.File
	var derr error
	err = rc.Control(func(fd uintptr) {
		var nfd int
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
		if derr == nil {
			f = os.NewFile(uintptr(nfd), "rump connection")
		}
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, Handoff{}, fmt.Errorf("duplicate connection socket: %w", err)
	}
	return f, Handoff{Banner: l.banner.String(), Generation: gen, Progname: name}, nil
}

// Resume makes a Conn of a socket to srv that a predecessor's File handed
// over: connected, handshaken, idle. The Conn takes f. A later reconnect
// follows opts.Retry as for a Conn made by Dial.
func Resume(srv Server, f *os.File, h Handoff, opts Options) (*Conn, error) {
	banner, err := sysproxy.ParseBanner([]byte(h.Banner + "\n"))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("resume connection to %v: %w", srv, err)
	}
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("resume connection to %v: %w", srv, err)
	}
	c := newConn(srv, h.Progname, opts)
	l := &link{c: c, nc: nc, br: bufio.NewReaderSize(nc, readBufferSize), banner: banner,
		calls: make(map[uint64]*attempt)}
	c.mu.Lock()
	c.gen = h.Generation - 1 // install makes it h.Generation again
	c.readers.Add(1)
	c.mu.Unlock()
	go l.read()
	if !c.install(l) {
		l.fail(ErrClosed)
		return nil, fmt.Errorf("resume connection to %v: %w", srv, ErrClosed)
	}
	return c, nil
}
