package rumpconn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hijack-project/hijack/sysproxy"
)

// preconn is a connected socket whose banner has been read, ready for the
// handshake that makes it a link.
type preconn struct {
	nc     net.Conn
	br     *bufio.Reader
	banner sysproxy.Banner
}

// readBufferSize is large enough for the frames of a typical call (a stat
// COPYOUT, a page of read data) to arrive in one system call.
const readBufferSize = 64 << 10

// dialDirect connects to srv and reads its banner, blocking until both are
// done or ctx ends.
func dialDirect(ctx context.Context, srv Server) (*preconn, error) {
	nc, err := srv.dial(ctx)
	if err != nil {
		return nil, err
	}
	return readBanner(ctx, srv, nc)
}

// readBanner reads the banner from a new connection to srv; on failure it
// closes nc.
func readBanner(ctx context.Context, srv Server, nc net.Conn) (*preconn, error) {
	pc := &preconn{nc: nc, br: bufio.NewReaderSize(nc, readBufferSize)}

	// A server out of connection slots accepts and closes; one that is
	// wedged accepts and says nothing. The deadline makes ctx end the read.
	stop := context.AfterFunc(ctx, func() { nc.SetReadDeadline(time.Unix(1, 0)) })
	var err error
	pc.banner, err = sysproxy.ReadBanner(pc.br)
	if !stop() || err != nil {
		nc.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect %v: %w", srv, context.Cause(ctx))
		}
		return nil, fmt.Errorf("connect %v: %w", srv, err)
	}
	return pc, nil
}

// kind is the sort of request an attempt waits for an answer to; a
// response of another sort for its reqno is a protocol violation.
type kind uint8

const (
	kindSyscall kind = iota
	kindHandshake
	kindPrefork
)

// attempt is one request sent on one link, waiting for its answer.
type attempt struct {
	reqno uint64
	kind  kind
	// ptrs holds the call's non-NULL pointer arguments, to attribute
	// faults (see blameLocked).
	ptrs []uint64
	// ch receives exactly one outcome: the answer, or the link's death.
	ch chan outcome
	// faulted records that serving one of the call's copy requests
	// faulted, so its result must be EFAULT.
	faulted atomic.Bool
	// finish releases what the attempt holds (a worker slot); called once.
	finish func()
}

type outcome struct {
	msg sysproxy.ServerMessage
	err error // the link died before an answer came
}

// link is one socket to the server and the rump process on it: a Conn has
// a new link, and a new generation, after each reconnect.
type link struct {
	c      *Conn
	nc     net.Conn
	br     *bufio.Reader
	banner sysproxy.Banner
	// gen is the generation of the Conn this link serves. Set by install
	// under Conn.mu before the link is published, read only after.
	gen uint64

	// wmu is held for each whole frame written, so frames of concurrent
	// callers and of the reader's replies never interleave.
	wmu sync.Mutex

	mu sync.Mutex
	// calls maps the reqno of every attempt in flight to it. Guarded by
	// mu; nil once the link is dead.
	calls map[uint64]*attempt
	// dead is why the link died; nil while it lives. Guarded by mu.
	dead error
}

// startLink turns pc into a link with the handshake hs builds, which must
// be a GUEST or FORK handshake, and returns it not yet installed. It blocks
// until the server answers or ctx ends; on failure the socket is closed.
func (c *Conn) startLink(ctx context.Context, pc *preconn, op string,
	hs func(reqno uint64) sysproxy.ClientMessage) (*link, error) {
	l := &link{c: c, nc: pc.nc, br: pc.br, banner: pc.banner,
		calls: make(map[uint64]*attempt)}

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		pc.nc.Close()
		return nil, ErrClosed
	}
	c.readers.Add(1)
	c.mu.Unlock()
	go l.read()

	a, err := l.register(kindHandshake, nil, func() {})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	l.send(hs(a.reqno).Frame())

	var o outcome
	select {
	case o = <-a.ch:
	case <-ctx.Done():
		l.fail(context.Cause(ctx))
		return nil, fmt.Errorf("%s: %w", op, context.Cause(ctx))
	}
	if err := handshakeError(op, o); err != nil {
		l.fail(err)
		return nil, err
	}
	return l, nil
}

// handshakeError returns nil if o is a successful handshake answer.
func handshakeError(op string, o outcome) error {
	if o.err != nil {
		return fmt.Errorf("%s: no answer: %w", op, o.err)
	}
	switch m := o.msg.(type) {
	case sysproxy.HandshakeResponse:
		if m.Error != 0 {
			return fmt.Errorf("%s: %w: answer with NetBSD errno %d", op, ErrProtocol, m.Error)
		}
		return nil
	case sysproxy.ErrorResponse:
		return &RefusedError{Op: op, Code: m.Code}
	}
	return fmt.Errorf("%s: %w: answered with %T", op, ErrProtocol, o.msg)
}

// register records a new attempt of kind k with a fresh reqno. It fails
// with the link's death if the link is dead.
func (l *link) register(k kind, ptrs []uint64, finish func()) (*attempt, error) {
	a := &attempt{
		reqno:  l.c.reqno.Add(1),
		kind:   k,
		ptrs:   ptrs,
		ch:     make(chan outcome, 1),
		finish: sync.OnceFunc(finish),
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead != nil {
		a.finish()
		return nil, l.dead
	}
	l.calls[a.reqno] = a
	return a, nil
}

// send writes a request. A write error kills the link, which answers every
// attempt on it, the one for f included, so callers need not check.
func (l *link) send(f sysproxy.Frame) error {
	if err := sysproxy.CheckClientFrame(f); err != nil {
		l.fail(err)
		return err
	}
	return l.write(f)
}

// reply answers the server request req with f.
func (l *link) reply(req sysproxy.ServerMessage, f sysproxy.Frame) error {
	if err := sysproxy.CheckReply(req, f); err != nil {
		return err
	}
	return l.write(f)
}

func (l *link) write(f sysproxy.Frame) error {
	l.wmu.Lock()
	err := sysproxy.WriteFrame(l.nc, f)
	l.wmu.Unlock()
	if err != nil {
		err = fmt.Errorf("lost %v: %w", l.c.srv, err)
		l.fail(err)
	}
	return err
}

// fail kills the link for err: the socket is closed, which ends the rump
// process and the reader, and every attempt in flight is told. It is
// idempotent; the first err is the one kept.
func (l *link) fail(err error) {
	l.mu.Lock()
	if l.dead != nil {
		l.mu.Unlock()
		return
	}
	l.dead = err
	calls := l.calls
	l.calls = nil
	l.mu.Unlock()

	l.nc.Close()
	for _, a := range calls {
		a.ch <- outcome{err: err}
		a.finish()
	}
	l.c.linkDown(l, err)
}

// isDead reports whether the link has failed.
func (l *link) isDead() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dead != nil
}

// read is the link's reader goroutine: it reads every frame the server
// sends, in order, and dispatches it, until the link fails.
func (l *link) read() {
	defer l.c.readers.Done()
	for {
		f, err := sysproxy.ReadFrame(l.br, l.c.maxPayload())
		if err != nil {
			l.fail(l.readError(err))
			return
		}
		if err := l.dispatch(f); err != nil {
			l.fail(fmt.Errorf("lost %v: %w", l.c.srv, err))
			return
		}
	}
}

func (l *link) readError(err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("lost %v: server closed the connection: %w", l.c.srv, err)
	case errors.Is(err, sysproxy.ErrShortFrame), errors.Is(err, sysproxy.ErrFrameTooLarge):
		return fmt.Errorf("lost %v: %w: %w", l.c.srv, ErrProtocol, err)
	}
	return fmt.Errorf("lost %v: %w", l.c.srv, err)
}

// dispatch handles one frame from the server. An error means the frame
// breaks the protocol and the link must go.
func (l *link) dispatch(f sysproxy.Frame) error {
	m, err := sysproxy.DecodeServerMessage(f)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	switch m := m.(type) {
	case sysproxy.SyscallResponse:
		return l.deliver(m.Reqno, kindSyscall, m)
	case sysproxy.HandshakeResponse:
		return l.deliver(m.Reqno, kindHandshake, m)
	case sysproxy.PreforkResponse:
		return l.deliver(m.Reqno, kindPrefork, m)
	case sysproxy.ErrorResponse:
		return l.deliver(m.Reqno, 0, m)
	case sysproxy.CopyinRequest:
		return l.serveCopyin(m)
	case sysproxy.CopyinstrRequest:
		return l.serveCopyinstr(m)
	case sysproxy.CopyoutRequest:
		l.serveCopyout(m)
		return nil
	case sysproxy.AnonmmapRequest:
		// Nothing can be mapped into the target from here, so the kernel
		// gets 0, which fails its request with ENOMEM.
		return l.reply(m, m.Reply(0).Frame())
	case sysproxy.RaiseRequest:
		l.c.raise(m.Signo)
		return nil
	}
	return fmt.Errorf("%w: unhandled %T", ErrProtocol, m)
}

// deliver hands an answer to the attempt with its reqno. An ERROR frame
// answers an attempt of any kind. An answer for no attempt is dropped, as
// the server drops unknown replies: the reference server sends a fake one
// when it halts.
func (l *link) deliver(reqno uint64, k kind, m sysproxy.ServerMessage) error {
	l.mu.Lock()
	a := l.calls[reqno]
	if a == nil {
		l.mu.Unlock()
		l.c.log.Debug("dropped answer to no request", "server", l.c.srv.String(),
			"reqno", reqno)
		return nil
	}
	if _, isErr := m.(sysproxy.ErrorResponse); !isErr && a.kind != k {
		l.mu.Unlock()
		return fmt.Errorf("%w: %T answers reqno %d, which is another request",
			ErrProtocol, m, reqno)
	}
	delete(l.calls, reqno)
	l.mu.Unlock()

	a.ch <- outcome{msg: m}
	a.finish()
	return nil
}
