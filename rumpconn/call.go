package rumpconn

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// Result is the outcome of one system call in the rump kernel.
type Result struct {
	// Errno is the NetBSD errno, 0 on success. It is EFAULT when Faulted.
	// For the calls netbsd marks NoErr it is what the server sent, and the
	// outcome is in Retval[0].
	Errno netbsd.Errno
	// Retval holds the kernel's two return values; they mean something
	// only when Errno is 0.
	Retval [2]int64
	// Faulted reports that a copy between the kernel and Memory failed
	// during the call: the kernel was given zeros for unreadable memory,
	// or an empty string, or its output was lost. The call may have had
	// effects (a write of zeros) although it reports EFAULT.
	Faulted bool
	// Generation is the generation of the rump process that ran the call,
	// which is newer than the caller expected if the call was replayed
	// after a reconnect.
	Generation uint64
}

// request is what roundTrip sends: the frame for a reqno and what answers
// it.
type request struct {
	kind  kind
	op    string
	ptrs  []uint64
	build func(reqno uint64) sysproxy.Frame
	// slot tells that the request occupies a server worker while it runs.
	slot bool
}

// Syscall performs NetBSD system call nr with the declared arguments args
// (netbsd's Lookup lists them; PAD slots are added here) in the rump
// process, and blocks until it returns. Pointer arguments are addresses in
// the Conn's Memory; the kernel's copy requests for them are served while
// the call runs.
//
// The call's own failure is in Result.Errno. The error is for everything
// else: ErrInvalidCall, with nothing sent, for a number or argument count
// that must not be sent; ErrNotConnected (matching ENOTCONN) when the
// connection is lost and the retry policy does not bring it back;
// ErrClosed; a *RefusedError if the server refuses the request. If ctx ends
// first, Syscall returns its cause; a call already sent keeps running in
// the kernel, its copy requests are still served and its result is
// dropped, so staged regions it uses must outlive it or its late copies
// fault harmlessly.
func (c *Conn) Syscall(ctx context.Context, nr netbsd.Sysno, args ...uint64) (Result, error) {
	call, ok := netbsd.Lookup(nr)
	if !ok || nr >= netbsd.MaxSysno || call.Component == netbsd.NotInRump {
		return Result{}, fmt.Errorf("%v: %w: not a call a rump kernel serves", nr, ErrInvalidCall)
	}
	block, err := call.ArgBlock(args...)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrInvalidCall, err)
	}
	slots := make([]uint64, len(block)/sysproxy.SlotSize)
	for i := range slots {
		slots[i] = binary.LittleEndian.Uint64(block[i*sysproxy.SlotSize:])
	}
	var ptrs []uint64
	for i, a := range call.Args {
		if a.Kind == netbsd.ArgPtr && slots[i] != 0 {
			ptrs = append(ptrs, slots[i])
		}
	}

	start := time.Now()
	msg, a, gen, err := c.roundTrip(ctx, request{
		kind: kindSyscall,
		op:   call.Name,
		ptrs: ptrs,
		build: func(reqno uint64) sysproxy.Frame {
			return sysproxy.SyscallRequest{Reqno: reqno, Sysnum: uint32(nr), Args: slots}.Frame()
		},
		slot: true,
	})
	c.opts.Metrics.observeCall(call.Name, time.Since(start))
	if err != nil {
		return Result{}, err
	}

	switch m := msg.(type) {
	case sysproxy.SyscallResponse:
		res := Result{
			Errno:      netbsd.Errno(m.Result.Error),
			Retval:     m.Result.Retval,
			Generation: gen,
		}
		if a.faulted.Load() {
			res.Faulted = true
			res.Errno = netbsd.EFAULT
		}
		return res, nil
	case sysproxy.ErrorResponse:
		return Result{}, &RefusedError{Op: call.Name, Code: m.Code}
	}
	return Result{}, fmt.Errorf("%s: %w: answered with %T", call.Name, ErrProtocol, msg)
}

// roundTrip sends r and returns its answer, the attempt that got it and the
// generation of the link it came on. It replays r after each reconnect and
// resends it after ERROR TRYAGAIN, as rumpclient does; other ERROR frames
// are returned as answers.
func (c *Conn) roundTrip(ctx context.Context, r request) (sysproxy.ServerMessage, *attempt,
	uint64, error) {
	if err := sysproxy.CheckClientFrame(r.build(0)); err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %w: %w", r.op, ErrInvalidCall, err)
	}

	for tries := 0; ; {
		l, err := c.currentLink(ctx)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("%s: %w", r.op, err)
		}
		release, err := c.acquireSlot(ctx, r.slot)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("%s: %w", r.op, err)
		}
		a, err := l.register(r.kind, r.ptrs, release)
		if err != nil {
			c.linkDown(l, err)
			continue
		}
		l.send(r.build(a.reqno))

		var o outcome
		select {
		case o = <-a.ch:
		case <-ctx.Done():
			return nil, nil, 0, fmt.Errorf("%s: %w", r.op, context.Cause(ctx))
		}
		if o.err != nil {
			continue
		}
		if e, ok := o.msg.(sysproxy.ErrorResponse); ok && e.Code == sysproxy.CodeTryAgain {
			tries++
			if err := c.clock.Sleep(ctx, tryAgainDelay(tries)); err != nil {
				return nil, nil, 0, fmt.Errorf("%s: %w", r.op, err)
			}
			continue
		}
		return o.msg, a, l.gen, nil
	}
}

// tryAgainDelay spaces resends of a request the server had no worker for:
// the server gives no hint when one frees up.
func tryAgainDelay(tries int) time.Duration {
	return min(time.Duration(tries)*time.Millisecond, 100*time.Millisecond)
}

// acquireSlot takes a server worker slot, if the Conn has a bound and the
// request needs one, blocking until one is free or ctx ends. The returned
// function gives it back.
func (c *Conn) acquireSlot(ctx context.Context, needed bool) (func(), error) {
	if !needed || c.slots == nil {
		return func() {}, nil
	}
	select {
	case c.slots <- struct{}{}:
		return func() { <-c.slots }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-c.closing.Done():
		return nil, ErrClosed
	}
}
