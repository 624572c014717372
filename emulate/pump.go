package emulate

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/notify"
	"github.com/hijack-project/hijack/rumpconn"
)

// RumpFile is a rump descriptor of one rump process read and written
// through staged buffers, for a pump to move data with.
type RumpFile struct {
	conn    *rumpconn.Conn
	staging *rumpconn.Staging
	fd      int32
}

var _ fdinject.RumpFile = (*RumpFile)(nil)

// NewRumpFile returns rump descriptor fd of the rump process on conn.
func NewRumpFile(conn *rumpconn.Conn, staging *rumpconn.Staging, fd int32) *RumpFile {
	return &RumpFile{conn: conn, staging: staging, fd: fd}
}

func (f *RumpFile) call(ctx context.Context, nr netbsd.Sysno, buf []byte) (int, error) {
	r, err := f.staging.Stage(buf)
	if err != nil {
		return 0, err
	}
	defer r.Release()
	res, err := f.conn.Syscall(ctx, nr, sint(f.fd), r.Addr(), uint64(len(buf)))
	switch {
	case err != nil:
		return 0, err
	case res.Faulted:
		return 0, unix.EFAULT
	case res.Errno != 0:
		return 0, netbsd.ErrnoToLinux(res.Errno)
	case res.Retval[0] < 0 || res.Retval[0] > int64(len(buf)):
		return 0, fmt.Errorf("%v returned %d for %d bytes", nr, res.Retval[0], len(buf))
	}
	return int(res.Retval[0]), nil
}

// FD returns the rump descriptor.
func (f *RumpFile) FD() int32 { return f.fd }

// Read reads from the rump descriptor; 0 means end of file.
func (f *RumpFile) Read(ctx context.Context, p []byte) (int, error) {
	return f.call(ctx, netbsd.SYS_READ, p[:min(len(p), maxIO)])
}

// Write writes to the rump descriptor.
func (f *RumpFile) Write(ctx context.Context, p []byte) (int, error) {
	return f.call(ctx, netbsd.SYS_WRITE, p[:min(len(p), maxIO)])
}

// Close closes the rump descriptor.
func (f *RumpFile) Close(ctx context.Context) error {
	res, err := f.conn.Syscall(ctx, netbsd.SYS_CLOSE, sint(f.fd))
	if err == nil && res.Errno != 0 {
		err = netbsd.ErrnoToLinux(res.Errno)
	}
	return err
}

// pumpAt gives rump descriptor fd, a duplicate made for the purpose, a
// pumped shadow at number newfd below fdoff, in the direction its access
// mode allows, and answers the call with newfd.
func (c *Call) pumpAt(ctx context.Context, newfd int, fd int32, cloexec bool) Reply {
	r := c.rump(ctx, netbsd.SYS_FCNTL, sint(fd), netbsd.F_GETFL, 0)
	if r.Errno != 0 {
		c.rump(ctx, netbsd.SYS_CLOSE, sint(fd))
		return r
	}
	var dir fdinject.Direction
	switch r.Value & netbsd.O_ACCMODE {
	case netbsd.O_RDONLY:
		dir = fdinject.FromRump
	case netbsd.O_WRONLY:
		dir = fdinject.ToRump
	default:
		dir = fdinject.ToRump | fdinject.FromRump
	}
	if err := c.Pump(newfd, NewRumpFile(c.Conn, c.Staging, fd), dir, cloexec); err != nil {
		c.rump(ctx, netbsd.SYS_CLOSE, sint(fd))
		if err == notify.ErrGone {
			return Reply{Sent: true}
		}
		return Reply{Errno: unix.EMFILE}
	}
	return Reply{Sent: true}
}
