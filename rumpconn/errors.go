package rumpconn

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/hijack-project/hijack/sysproxy"
)

// connError is a sentinel that also matches an errno with errors.Is, so a
// caller that only wants the errno to report can test for it directly.
type connError struct {
	msg   string
	errno syscall.Errno
}

func (e *connError) Error() string { return e.msg }

func (e *connError) Is(target error) bool { return target == e.errno }

var (
	// ErrNotConnected means the connection to the rump kernel is lost and the
	// reconnect policy does not (or no longer) allow re-establishing it. It
	// matches syscall.ENOTCONN, which is what rumpclient reports to every call
	// from then on.
	ErrNotConnected error = &connError{"not connected to the rump kernel", syscall.ENOTCONN}

	// ErrClosed means the Conn or Pool was closed. It matches
	// syscall.ENOTCONN too.
	ErrClosed error = &connError{"rump connection closed", syscall.ENOTCONN}

	// ErrProtocol means the server sent something this client cannot accept:
	// a frame that does not parse, a response nobody asked for in that form,
	// or a copy request larger than the client's bound. The connection is
	// dropped on it, since the stream can no longer be trusted.
	ErrProtocol = errors.New("rump server protocol violation")

	// ErrInvalidCall means Syscall was asked for a call it must never send:
	// an unknown number, one no rump kernel implements, or the wrong number
	// of arguments. Nothing was sent.
	ErrInvalidCall = errors.New("invalid rump call")
)

// RefusedError is a server's refusal of a request with an ERROR frame. It
// unwraps to the host errno rumpclient reports for the code (ESRCH for an
// unknown fork cookie, EIO for a failed fork, EBUSY during an exec, ENOMEM,
// EPERM, EINVAL), so errors.Is(err, syscall.ESRCH) works.
type RefusedError struct {
	// Op names the request: "guest handshake", "fork handshake", "exec
	// handshake", "prefork" or a system call name.
	Op   string
	Code sysproxy.ErrorCode
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s refused by the rump server with %v", e.Op, e.Code)
}

// Unwrap returns the errno of the code.
func (e *RefusedError) Unwrap() error { return e.Code.Errno() }
