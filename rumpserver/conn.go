package rumpserver

// One connection.
//
// A connection starts NEW: the server has sent its banner and accepts only a
// GUEST or FORK handshake, which binds it to a process and makes it
// RUNNING. Anything else before that is answered with ERROR AUTH and ends
// the connection, as rump_server does.
//
// One goroutine reads frames, in order, and never waits for anything but the
// client: it answers handshakes and PREFORK itself, hands every SYSCALL to a
// goroutine of its own, hands an EXEC handshake, which must wait for the
// process's calls to drain, to another, and passes responses to the call
// waiting for them. Replies to the client's requests, and the server's own
// COPYIN and COPYOUT requests, are written whole under a write lock by
// whichever goroutine has them.
//
// Errors follow rump_server: a frame shorter than a header, or one longer
// than the server will allocate, ends the connection; an ERROR frame or an
// unknown class is answered ERROR MALFORMED and dropped; a response whose
// reqno no call waits for is dropped; a request of an unknown type is
// answered ERROR MALFORMED and the connection goes on; a second GUEST or
// FORK handshake is answered ERROR MALFORMED and ends it.
//
// When the client hangs up, the connection is DYING: waiting copyins fail
// (the call sees EFAULT), blocking calls are interrupted (EINTR), and once
// the last call has returned, the process exits and its descriptors close.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// writeTimeout bounds how long a frame may take to write; a client that does
// not read for that long, while it has calls to answer, is disconnected,
// so that it cannot hold the server's call slots forever.
const writeTimeout = 2 * time.Minute

// conn is one client connection and, after its handshake, the process it
// acts as.
type conn struct {
	s   *Server
	nc  net.Conn
	log *slog.Logger

	// dead is closed when the connection is going away.
	dead chan struct{}

	// wmu is held while a whole frame is written.
	wmu sync.Mutex

	mu sync.Mutex
	// nextReqno numbers the server's own requests; guarded by mu.
	nextReqno uint64
	// waiting maps the reqno of each COPYIN in flight to the channel its
	// call waits on; guarded by mu.
	waiting map[uint64]chan []byte
	// calls counts the system calls in flight; guarded by mu, which
	// drained is tied to, signalled when it reaches 0.
	calls   int
	drained *sync.Cond
	// inExec is set from an EXEC handshake until its answer; guarded by
	// mu.
	inExec bool
	// dying is set once the client is gone; guarded by mu.
	dying bool

	// running and proc belong to the reading goroutine; proc is set before
	// any goroutine that uses it starts.
	running bool
	proc    *process

	// workers counts the goroutines running calls and exec handshakes.
	workers sync.WaitGroup
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		s:       s,
		nc:      nc,
		log:     s.log.With("remote", nc.RemoteAddr().String()),
		dead:    make(chan struct{}),
		waiting: make(map[uint64]chan []byte),
	}
	c.drained = sync.NewCond(&c.mu)
	return c
}

// serve sends the banner and reads frames until the connection ends.
func (c *conn) serve() {
	defer c.teardown()
	if err := c.writeRaw(c.s.banner); err != nil {
		return
	}

	br := bufio.NewReaderSize(c.nc, 64<<10)
	for {
		f, err := sysproxy.ReadFrame(br, maxFramePayload)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.log.Debug("rump connection dropped", "error", err)
			}
			return
		}
		if !c.handleFrame(f) {
			return
		}
	}
}

// handleFrame acts on one frame and reports whether the connection goes on.
func (c *conn) handleFrame(f sysproxy.Frame) bool {
	switch f.Class {
	case sysproxy.ClassResp:
		c.deliver(f.Reqno, f.Payload)
		return true
	case sysproxy.ClassReq:
		return c.handleRequest(f)
	}
	c.sendError(f.Reqno, sysproxy.CodeMalformedRequest)
	return true
}

func (c *conn) handleRequest(f sysproxy.Frame) bool {
	if !c.running {
		if f.Type != sysproxy.TypeHandshake {
			return c.refuse(f, sysproxy.CodeAuth)
		}
		switch sysproxy.HandshakeKind(f.U) {
		case sysproxy.HandshakeGuest:
			return c.guest(f)
		case sysproxy.HandshakeFork:
			return c.forkHandshake(f)
		}
		return c.refuse(f, sysproxy.CodeAuth)
	}

	switch f.Type {
	case sysproxy.TypeSyscall:
		c.syscall(f)
		return true
	case sysproxy.TypePrefork:
		return c.prefork(f)
	case sysproxy.TypeHandshake:
		if sysproxy.HandshakeKind(f.U) != sysproxy.HandshakeExec {
			return c.refuse(f, sysproxy.CodeMalformedRequest)
		}
		return c.execHandshake(f)
	}
	c.sendError(f.Reqno, sysproxy.CodeMalformedRequest)
	return true
}

// refuse answers f with an ERROR frame and ends the connection.
func (c *conn) refuse(f sysproxy.Frame, code sysproxy.ErrorCode) bool {
	c.log.Debug("rump request refused", "frame", f.String(), "code", code.String())
	c.sendError(f.Reqno, code)
	return false
}

// syscall starts a goroutine for a SYSCALL request, or answers it at once
// when the process is in an exec (EBUSY, as the server cannot create an LWP
// then) or too many calls are in flight (ERROR TRYAGAIN).
func (c *conn) syscall(f sysproxy.Frame) {
	c.mu.Lock()
	if c.inExec {
		c.mu.Unlock()
		c.send(sysproxy.SyscallResponse{Reqno: f.Reqno, Result: sysproxy.SyscallResult{
			Error: int32(netbsd.EBUSY), Retval: [2]int64{-1, 0}}}.Frame())
		return
	}
	if c.calls >= c.s.cfg.MaxProcessCalls || !c.s.acquireCall() {
		c.mu.Unlock()
		c.sendError(f.Reqno, sysproxy.CodeTryAgain)
		return
	}
	c.calls++
	c.mu.Unlock()

	c.workers.Add(1)
	go c.runSyscall(f)
}

// runSyscall performs one call and answers it.
func (c *conn) runSyscall(f sysproxy.Frame) {
	defer c.workers.Done()
	defer c.s.releaseCall()
	defer func() {
		c.mu.Lock()
		c.calls--
		if c.calls == 0 {
			c.drained.Broadcast()
		}
		c.mu.Unlock()
	}()

	res := c.dispatchSafely(f)
	c.send(sysproxy.SyscallResponse{Reqno: f.Reqno, Result: res}.Frame())
}

// dispatchSafely runs the call's handler. A panic there is a bug of this
// server, never a client's due; it fails the one call with EIO instead of
// taking every other client down with it.
func (c *conn) dispatchSafely(f sysproxy.Frame) (res sysproxy.SyscallResult) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("rump system call panicked", "syscall", netbsd.Sysno(f.U).String(),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			res = sysproxy.SyscallResult{Error: int32(netbsd.EIO), Retval: [2]int64{-1, 0}}
		}
	}()
	cl := newCall(c, f)
	return cl.run()
}

// teardown ends the connection and, once its calls have returned, its
// process.
func (c *conn) teardown() {
	c.mu.Lock()
	c.dying = true
	c.mu.Unlock()
	close(c.dead)
	c.nc.Close()

	if c.proc != nil {
		c.proc.interrupt()
	}
	c.workers.Wait()
	if c.proc != nil {
		c.proc.exit()
		c.log.Debug("rump process exited", "pid", c.proc.pid)
	}
	c.s.removeConn(c)
}

// send writes one frame whole. A failed or stalled write closes the
// connection, which the reading goroutine then sees.
func (c *conn) send(f sysproxy.Frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := sysproxy.WriteFrame(c.nc, f); err != nil {
		c.nc.Close()
		return err
	}
	return nil
}

// writeRaw writes bytes that are not a frame: the banner.
func (c *conn) writeRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.nc.Write(b); err != nil {
		c.nc.Close()
		return fmt.Errorf("write banner: %w", err)
	}
	return nil
}

func (c *conn) sendError(reqno uint64, code sysproxy.ErrorCode) {
	c.send(sysproxy.ErrorResponse{Reqno: reqno, Code: code}.Frame())
}
