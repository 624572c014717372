package rumpconn

import (
	"fmt"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// This file serves the requests a server makes while calls run: the copies
// between the kernel and the Conn's Memory, and signals. All of it runs on
// the link's reader goroutine, in the order the frames arrive, which is what
// makes every COPYOUT of a call land before the call's response is seen.

// serveCopyin answers a COPYIN with exactly the Len bytes it asks for. When
// the memory faults there is no way to tell the server (an ERROR frame would
// leave its kernel thread waiting for ever, a short reply would make it
// read past its buffer), so it gets Len zero bytes and the call is marked
// faulted, to be answered EFAULT.
func (l *link) serveCopyin(m sysproxy.CopyinRequest) error {
	if m.Len > uint64(l.c.maxCopy()) {
		return fmt.Errorf("%w: copyin of %d bytes, above the client's bound of %d",
			ErrProtocol, m.Len, l.c.maxCopy())
	}
	buf := make([]byte, m.Len)
	if err := l.c.memory.ReadAt(buf, m.Addr); err != nil {
		clear(buf)
		l.blame(m.Addr, "copyin", err)
	}
	r, err := m.Reply(buf)
	if err != nil {
		return err
	}
	return l.reply(m, r.Frame())
}

// serveCopyinstr answers a COPYINSTR with the string up to and including its
// NUL, at most Len bytes. On a fault the reply is empty, which the server
// takes safely and turns into ENAMETOOLONG; the call is marked faulted, to
// be answered EFAULT instead.
func (l *link) serveCopyinstr(m sysproxy.CopyinstrRequest) error {
	limit := int(min(m.Len, uint64(l.c.maxCopy())))
	s, ok := readString(l.c.memory, m.Addr, limit)
	if !ok {
		s = nil
		l.blame(m.Addr, "copyinstr", ErrFault)
	}
	return l.reply(m, m.Reply(s).Frame())
}

// serveCopyout writes a COPYOUT's data. It has no reply; a fault only
// marks the call.
func (l *link) serveCopyout(m sysproxy.CopyoutRequest) {
	if err := l.c.memory.WriteAt(m.Data, m.Addr); err != nil {
		l.blame(m.Addr, "copyout", err)
	}
}

// blame marks the call that a faulting copy at addr belongs to.
func (l *link) blame(addr uint64, op string, err error) {
	l.c.log.Debug("copy request faulted", "server", l.c.srv.String(), "op", op,
		"addr", fmt.Sprintf("%#x", addr), "err", err)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.blameLocked(addr)
}

// blameLocked attributes a fault at addr to the calls in flight.
//
// A copy request does not say which call it serves. The kernel copies at a
// pointer argument or a little past it (a path, a structure, a chunk of a
// buffer), so the call whose pointer argument is the nearest at or below
// addr takes the fault; that is exact when one call is in flight, and when
// the calls' buffers do not interleave. An address below every pointer (one
// found inside a structure, like an iovec's base) cannot be placed, and then
// every call with a pointer argument is marked: a call that may have been
// fed zeros must not report success. Staged buffers never fault, so emulate,
// which stages what it translates, meets this only for buffers it passes
// through.
//
// Preconditions: l.mu is held.
func (l *link) blameLocked(addr uint64) {
	var best *attempt
	var bestPtr uint64
	for _, a := range l.calls {
		for _, p := range a.ptrs {
			if p <= addr && (best == nil || p > bestPtr) {
				best, bestPtr = a, p
			}
		}
	}
	if best != nil {
		best.faulted.Store(true)
		return
	}
	for _, a := range l.calls {
		if len(a.ptrs) > 0 {
			a.faulted.Store(true)
		}
	}
}

// raise hands a RAISE to OnRaise.
func (c *Conn) raise(signo uint32) {
	sig := netbsd.Signal(int32(signo))
	c.log.Debug("rump kernel raised a signal", "server", c.srv.String(), "signal", sig.String())
	if c.opts.OnRaise != nil {
		c.opts.OnRaise(sig)
	}
}
