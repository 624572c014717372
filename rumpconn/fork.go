package rumpconn

import (
	"context"
	"fmt"

	"github.com/hijack-project/hijack/sysproxy"
)

// Cookie is the opaque, single-use token with which a fork child's
// connection claims the process Prefork made.
type Cookie = sysproxy.Cookie

// Prefork asks the server to fork the rump process ahead of a host fork:
// the copy shares nothing with the parent from then on and holds the
// parent's descriptors as they are now. It blocks until the server
// answers. The child claims the copy with DialFork; an unclaimed copy lives
// until the server exits.
//
// A refusal is a *RefusedError: ENOMEM or EIO (the server could not fork;
// the connection stays usable) or EBUSY (an exec is under way; the server
// then drops the connection). Transport failures are as for Syscall, and a
// prefork in flight is replayed after a reconnect, on the new process.
func (c *Conn) Prefork(ctx context.Context) (Cookie, error) {
	msg, _, _, err := c.roundTrip(ctx, request{
		kind: kindPrefork,
		op:   "prefork",
		build: func(reqno uint64) sysproxy.Frame {
			return sysproxy.PreforkRequest{Reqno: reqno}.Frame()
		},
	})
	if err != nil {
		return Cookie{}, err
	}
	switch m := msg.(type) {
	case sysproxy.PreforkResponse:
		return m.Cookie, nil
	case sysproxy.ErrorResponse:
		return Cookie{}, &RefusedError{Op: "prefork", Code: m.Code}
	}
	return Cookie{}, fmt.Errorf("prefork: %w: answered with %T", ErrProtocol, msg)
}

// DialFork opens the connection of a fork child: it connects to srv and
// claims the process the parent's Prefork made, with a FORK handshake
// (cancel 0), naming nothing: the process keeps the parent's name. It
// blocks until the server answers or ctx ends, and is not retried.
//
// An unknown or already used cookie is a *RefusedError matching ESRCH; a
// failed fork on the server one matching EIO. After a later reconnect the
// Conn gets a fresh GUEST process named progname, as rumpclient's would.
func DialFork(ctx context.Context, srv Server, cookie Cookie, progname string,
	opts Options) (*Conn, error) {
	c := newConn(srv, progname, opts)
	if err := c.open(ctx, forkHandshake(cookie)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func forkHandshake(cookie Cookie) handshake {
	return handshake{op: "fork handshake", build: func(reqno uint64) sysproxy.ClientMessage {
		return sysproxy.ForkHandshake{Reqno: reqno, Cookie: cookie}
	}}
}

// Exec tells the server that the target has executed a new program named
// progname: the server waits for the process's calls in flight to finish
// (blocked ones return EINTR), closes its close-on-exec descriptors and
// renames it; the process and its other descriptors stay. Exec blocks until
// all of that is done.
//
// An exec already under way is a *RefusedError matching EBUSY, after which
// the server drops the connection. If the connection is lost, the new
// process a reconnect makes is named progname.
func (c *Conn) Exec(ctx context.Context, progname string) error {
	c.mu.Lock()
	c.progname = progname
	c.mu.Unlock()

	msg, _, _, err := c.roundTrip(ctx, request{
		kind: kindHandshake,
		op:   "exec handshake",
		build: func(reqno uint64) sysproxy.Frame {
			return sysproxy.ExecHandshake{Reqno: reqno, Name: progname}.Frame()
		},
	})
	if err != nil {
		return err
	}
	return handshakeError("exec handshake", outcome{msg: msg})
}
