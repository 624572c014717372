package rumpserver

// One connection.
//
// A connection starts NEW: the server has sent its banner and accepts only a
// GUEST or FORK handshake, which binds it to a process and makes it
// RUNNING. Anything else before that is answered with ERROR AUTH and ends
// the connection, as rump_server does.
//
// Reading. One goroutine at a time, the reader, reads the frames, in order.
// It answers handshakes and PREFORK itself, hands an EXEC handshake, which
// must wait for the process's calls to drain, to a goroutine of its own, and
// passes responses to the calls waiting for them. Replies to the client's
// requests, and the server's own COPYIN and COPYOUT requests, are written
// whole under a write lock by whichever goroutine has them.
//
// Calls. A SYSCALL that arrives while no other call of the connection is in
// flight, which is every call of a single-threaded client, runs on the
// reader itself: starting a goroutine and waking it, and waking the call
// again for each copy reply, would cost more scheduler wake-ups than the
// call itself takes. Such an inline call reads the answers to its own copy
// requests, and handles whatever else arrives meanwhile as the reader does;
// a SYSCALL arriving then gets a goroutine of its own, as does every SYSCALL
// that arrives while a call is in flight. The client must be heard while a
// call waits on a descriptor or for time, since another of the client's
// threads may be the one to end the wait. So an inline call hands the
// reading over to a new goroutine (handOff) before it blocks, sleeps or
// takes long, and also when it comes back from a copy request to find other
// calls in flight: one of them may hold a lock the call is about to take
// while it waits for its own copy reply, which must be read. From then on it
// is a call like any other. The reader thus runs a handler only while that
// handler's call is the connection's only call in flight, and a lock it
// waits for is held by a call of another connection, whose reader goes on.
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

// writeTimeout bounds how long a frame may take to write, to between half of
// it and all of it (see write); a client that does not read for that long,
// while it has calls to answer, is disconnected, so that it cannot hold the
// server's call slots forever.
const writeTimeout = 2 * time.Minute

// conn is one client connection and, after its handshake, the process it
// acts as.
type conn struct {
	s   *Server
	nc  net.Conn
	log *slog.Logger

	// dead is closed when the connection is going away.
	dead chan struct{}

	// br buffers what the client sends; only the reader reads it.
	br *bufio.Reader
	// over is set by the reader when an inline call found the connection
	// ended; the reader tears it down once the call has returned.
	over bool

	// wmu is held while a whole frame is written.
	wmu sync.Mutex
	// deadline is the write deadline last set; guarded by wmu.
	deadline time.Time

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

	// running and proc belong to the reader; proc is set before any
	// goroutine that uses it starts.
	running bool
	proc    *process

	// workers counts the goroutines running calls and exec handshakes,
	// and former readers running the call they handed the reading over
	// for.
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
	if err := c.writeRaw(c.s.banner); err != nil {
		c.teardown()
		return
	}
	c.br = bufio.NewReaderSize(c.nc, 64<<10)
	c.read()
}

// read is the reader's loop. It returns once the connection has ended and
// been torn down, or once the goroutine running it has handed the reading
// over to another.
func (c *conn) read() {
	for {
		f, ok := c.next()
		if !ok {
			c.teardown()
			return
		}
		if !c.running || f.Class != sysproxy.ClassReq || f.Type != sysproxy.TypeSyscall {
			if !c.handleFrame(f) {
				c.teardown()
				return
			}
			continue
		}

		run, alone := c.admit(f)
		if !run {
			continue
		}
		cl := newCall(c, f)
		if !alone {
			c.workers.Add(1)
			go c.runSyscall(cl)
			continue
		}
		cl.reading = true
		c.perform(cl)
		if !cl.reading {
			c.workers.Done() // counted by handOff
			return
		}
		if c.over {
			c.teardown()
			return
		}
	}
}

// next reads the next frame; false means the connection has ended.
func (c *conn) next() (sysproxy.Frame, bool) {
	f, err := sysproxy.ReadFrame(c.br, maxFramePayload)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			c.log.Debug("rump connection dropped", "error", err)
		}
		return sysproxy.Frame{}, false
	}
	return f, true
}

// handOff hands the reading over to a new goroutine if cl runs on the
// reader, as it must before it waits for anything but the client. The
// goroutine running cl stops reading once cl is answered.
func (c *conn) handOff(cl *call) {
	if !cl.reading {
		return
	}
	cl.reading = false
	c.workers.Add(1) // the goroutine running cl, until read returns
	go c.read()
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
		if run, _ := c.admit(f); run {
			c.workers.Add(1)
			go c.runSyscall(newCall(c, f))
		}
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

// admit counts a SYSCALL request in flight and reports that it is to run,
// and whether it is the only call in flight, or answers it at once when the
// process is in an exec (EBUSY, as the server cannot create an LWP then) or
// too many calls are in flight (ERROR TRYAGAIN).
func (c *conn) admit(f sysproxy.Frame) (run, alone bool) {
	c.mu.Lock()
	if c.inExec {
		c.mu.Unlock()
		c.send(sysproxy.SyscallResponse{Reqno: f.Reqno, Result: sysproxy.SyscallResult{
			Error: int32(netbsd.EBUSY), Retval: [2]int64{-1, 0}}}.Frame())
		return false, false
	}
	if c.calls >= c.s.cfg.MaxProcessCalls || !c.s.acquireCall() {
		c.mu.Unlock()
		c.sendError(f.Reqno, sysproxy.CodeTryAgain)
		return false, false
	}
	c.calls++
	alone = c.calls == 1
	c.mu.Unlock()
	return true, alone
}

// runSyscall performs a call on a goroutine of its own.
func (c *conn) runSyscall(cl *call) {
	defer c.workers.Done()
	c.perform(cl)
}

// perform runs a call admitted in flight, answers it, and counts it out.
func (c *conn) perform(cl *call) {
	defer c.s.releaseCall()
	defer func() {
		c.mu.Lock()
		c.calls--
		if c.calls == 0 {
			c.drained.Broadcast()
		}
		c.mu.Unlock()
	}()

	res := c.dispatchSafely(cl)
	cl.send(sysproxy.SyscallResponse{Reqno: cl.reqno, Result: res}.Frame())
}

// dispatchSafely runs the call's handler. A panic there is a bug of this
// server, never a client's due; it fails the one call with EIO instead of
// taking every other client down with it.
func (c *conn) dispatchSafely(cl *call) (res sysproxy.SyscallResult) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("rump system call panicked", "syscall", cl.nr.String(),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			res = sysproxy.SyscallResult{Error: int32(netbsd.EIO), Retval: [2]int64{-1, 0}}
		}
	}()
	return cl.run()
}

// hangUp makes the connection DYING: copy requests waiting for the client
// fail, and blocking calls are interrupted. Only the reader calls it; it is
// idempotent.
func (c *conn) hangUp() {
	c.mu.Lock()
	first := !c.dying
	c.dying = true
	c.mu.Unlock()
	if !first {
		return
	}
	close(c.dead)
	c.nc.Close()
	if c.proc != nil {
		c.proc.interrupt()
	}
}

// teardown ends the connection and, once its calls have returned, its
// process. The reader calls it when the connection ends.
func (c *conn) teardown() {
	c.hangUp()
	c.workers.Wait()
	if c.proc != nil {
		c.proc.exit()
		c.log.Debug("rump process exited", "pid", c.proc.pid)
	}
	c.s.removeConn(c)
}

// send writes one frame whole. A failed or stalled write closes the
// connection, which the reader then sees.
func (c *conn) send(f sysproxy.Frame) error {
	return c.write(sysproxy.AppendFrame(make([]byte, 0, sysproxy.HeaderSize+len(f.Payload)), f))
}

// write writes b, whole frames, in one system call. The write deadline is
// moved on only once half of it has passed: setting it on every frame
// would reset a runtime timer each time, and that can wake the scheduler.
func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if now := time.Now(); c.deadline.Sub(now) < writeTimeout/2 {
		c.deadline = now.Add(writeTimeout)
		c.nc.SetWriteDeadline(c.deadline)
	}
	if _, err := c.nc.Write(b); err != nil {
		c.nc.Close()
		return err
	}
	return nil
}

// writeRaw writes bytes that are not a frame: the banner.
func (c *conn) writeRaw(b []byte) error {
	if err := c.write(b); err != nil {
		return fmt.Errorf("write banner: %w", err)
	}
	return nil
}

func (c *conn) sendError(reqno uint64, code sysproxy.ErrorCode) {
	c.send(sysproxy.ErrorResponse{Reqno: reqno, Code: code}.Frame())
}
