package rumpserver

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// The data path shared by read, write and their vector, positional and
// socket forms: one host call at a time, waiting while the host descriptor
// would block and the file is not non-blocking.

// fileArg looks up the descriptor in slot i.
func (cl *call) fileArg(i int) (*fdEntry, *file, netbsd.Errno) {
	return cl.p.getFile(cl.int(i))
}

// ioWait waits until f is ready for events, bounded by the socket's receive
// or send timeout. A timeout fails with EAGAIN (EWOULDBLOCK), as a NetBSD
// socket's does.
func (cl *call) ioWait(e *fdEntry, f *file, events int16) netbsd.Errno {
	timeout := time.Duration(-1)
	if f.sock != nil {
		opt := unix.SO_RCVTIMEO
		if events&unix.POLLOUT != 0 {
			opt = unix.SO_SNDTIMEO
		}
		if tv, err := unix.GetsockoptTimeval(f.fd, unix.SOL_SOCKET, opt); err == nil &&
			(tv.Sec != 0 || tv.Usec != 0) {
			timeout = time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond
		}
	}
	ready, errno := cl.block([]unix.PollFd{{Fd: int32(f.fd), Events: events}},
		[]*fdEntry{e}, timeout)
	if errno != 0 {
		return errno
	}
	if !ready {
		return netbsd.EAGAIN
	}
	return 0
}

// retry runs op until it does not report EAGAIN, waiting for events in
// between unless the call must not block (f non-blocking, or nbio for this
// call alone).
func (cl *call) retry(e *fdEntry, f *file, events int16, nbio bool, op func() error) netbsd.Errno {
	for {
		err := op()
		if err == unix.EINTR {
			continue
		}
		if err != unix.EAGAIN {
			return toErrno(err)
		}
		if nbio || f.nbio.Load() {
			return netbsd.EAGAIN
		}
		if en := cl.ioWait(e, f, events); en != 0 {
			return en
		}
	}
}

// readInto reads into buf from f, at off when off >= 0.
func (cl *call) readInto(e *fdEntry, f *file, buf []byte, off int64) (int, netbsd.Errno) {
	if f.kind == kindConsole {
		// The console is open for writing only.
		return 0, netbsd.EBADF
	}
	var n int
	errno := cl.retry(e, f, unix.POLLIN, false, func() (err error) {
		if off >= 0 {
			n, err = unix.Pread(f.fd, buf, off)
		} else {
			n, err = unix.Read(f.fd, buf)
		}
		return err
	})
	return n, errno
}

// writeFrom writes data to f, at off when off >= 0. A blocking write to a
// pipe, FIFO or socket goes on until all of data is written, or until it
// fails or is interrupted after some of it, which it then reports. A write to
// a broken pipe or connection raises SIGPIPE unless the file says otherwise,
// and fails with EPIPE.
func (cl *call) writeFrom(e *fdEntry, f *file, data []byte, off int64) (int, netbsd.Errno) {
	switch {
	case f.kind == kindConsole:
		cl.k.writeConsole(data)
		return len(data), 0
	case f.sock != nil:
		return cl.sendData(e, f, data, nil, nil, 0, false, false)
	}
	return cl.writeAll(e, f, data, false, false, f.kind != kindVnode,
		func(rest []byte, done int) (int, error) {
			if off >= 0 {
				return unix.Pwrite(f.fd, rest, off+int64(done))
			}
			return unix.Write(f.fd, rest)
		})
}

// writeAll writes data to f with write, which is given the part not yet
// written and how much of data went before it. With untilDone a blocking
// write goes on until all of data is written; otherwise, or when nbio or the
// file says not to block, the first write that succeeds is the answer. An
// error after some of data is written reports that much as written, but for
// EPIPE, which fails the call and raises SIGPIPE unless nosignal or the file
// says otherwise.
func (cl *call) writeAll(e *fdEntry, f *file, data []byte, nbio, nosignal, untilDone bool,
	write func(rest []byte, done int) (int, error)) (int, netbsd.Errno) {
	total := 0
	for {
		var n int
		errno := cl.retry(e, f, unix.POLLOUT, nbio, func() (err error) {
			n, err = write(data[total:], total)
			return err
		})
		errno = f.unconnected(errno)
		if errno == netbsd.EPIPE && f.sigpipe(nosignal) {
			cl.c.raise(netbsd.SIGPIPE)
		}
		if errno != 0 {
			if total > 0 && errno != netbsd.EPIPE {
				return total, 0
			}
			return total, errno
		}
		total += n
		if total >= len(data) || nbio || f.nbio.Load() || !untilDone {
			return total, 0
		}
	}
}

// gather copies in the buffers of iovecs, at most maxIO bytes in all.
func (cl *call) gather(iov []netbsd.Iovec) ([]byte, netbsd.Errno) {
	var data []byte
	for _, v := range iov {
		n := min(v.Len, uint64(maxIO-len(data)))
		b, e := cl.copyin(v.Base, int(n))
		if e != 0 {
			return nil, e
		}
		data = append(data, b...)
		if len(data) >= maxIO {
			break
		}
	}
	return data, 0
}

// scatter copies data out over iovecs, in order.
func (cl *call) scatter(iov []netbsd.Iovec, data []byte) netbsd.Errno {
	for _, v := range iov {
		if len(data) == 0 {
			break
		}
		n := int(min(v.Len, uint64(len(data))))
		if e := cl.copyout(v.Base, data[:n]); e != 0 {
			return e
		}
		data = data[n:]
	}
	return 0
}

// iovecs copies in cnt struct iovec at addr and returns them with the bytes
// they hold, cut to maxIO. A count outside [0, IOV_MAX] or a total that
// overflows ssize_t gives EINVAL.
func (cl *call) iovecs(addr uint64, cnt int32) ([]netbsd.Iovec, int, netbsd.Errno) {
	if cnt < 0 || cnt > maxIovecs {
		return nil, 0, netbsd.EINVAL
	}
	b, e := cl.copyin(addr, int(cnt)*netbsd.IovecSize)
	if e != 0 {
		return nil, 0, e
	}
	iov, err := netbsd.DecodeIovecs(b, int(cnt))
	if err != nil {
		return nil, 0, netbsd.EINVAL
	}
	var total uint64
	for _, v := range iov {
		total += v.Len
		if v.Len > 1<<63-1 || total > 1<<63-1 {
			return nil, 0, netbsd.EINVAL
		}
	}
	return iov, int(min(total, maxIO)), 0
}
