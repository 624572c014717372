package sysproxy

import (
	"strconv"
	"syscall"
)

// The protocol version this package speaks. A server announces its version in
// the banner; the major number changes only for incompatible protocols, so a
// client refuses any major but ProtoMajor and accepts any minor.
const (
	ProtoMajor = 0
	ProtoMinor = 4
)

// Sizes fixed by the protocol, and the limits of the reference server that a
// client must respect.
const (
	// HeaderSize is the size of a frame header. A frame's length includes it.
	HeaderSize = 24

	// MaxBanner is the size of the buffer the server formats its banner
	// into, including the terminating NUL it does not send: a banner line,
	// newline included, is at most MaxBanner-1 bytes.
	MaxBanner = 96

	// CookieSize is the size of the fork authentication cookie.
	CookieSize = 16

	// SlotSize is the size of one argument slot in a SYSCALL request:
	// register_t on amd64.
	SlotSize = 8

	// MaxSyscall is the number of entries in the server's system call table
	// (SYS_NSYSENT). Numbers at or above it are answered with ENOSYS, but
	// the server reads the number as a signed int and does not reject the
	// values that become negative, so a client sends only numbers below it.
	MaxSyscall = 512

	// MaxWorkers is the size of the reference server's worker pool. Calls
	// beyond it queue behind the running ones across all clients, so a
	// client that lets more than MaxWorkers calls block at once on one
	// server can deadlock it.
	MaxWorkers = 128
)

// Class is the frame class in Header.Class.
type Class uint16

// Frame classes.
const (
	ClassReq   Class = 0 // a request; the peer answers some types
	ClassResp  Class = 1 // a response, carrying the request's reqno
	ClassError Class = 2 // a server's refusal of a request; header only
)

// String returns the protocol's name for c, or its number if unknown.
func (c Class) String() string {
	switch c {
	case ClassReq:
		return "REQ"
	case ClassResp:
		return "RESP"
	case ClassError:
		return "ERROR"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Type is the message type in Header.Type.
type Type uint16

// Message types. The comment names the side that sends the request.
const (
	TypeHandshake  Type = 0 // client
	TypeSyscall    Type = 1 // client
	TypeCopyin     Type = 2 // server; also the type of COPYINSTR replies
	TypeCopyinstr  Type = 3 // server
	TypeCopyout    Type = 4 // server; no reply
	TypeCopyoutstr Type = 5 // server, in theory; servers send TypeCopyout
	TypeAnonmmap   Type = 6 // server
	TypePrefork    Type = 7 // client
	TypeRaise      Type = 8 // server; no reply
)

var typeNames = [...]string{
	TypeHandshake:  "HANDSHAKE",
	TypeSyscall:    "SYSCALL",
	TypeCopyin:     "COPYIN",
	TypeCopyinstr:  "COPYINSTR",
	TypeCopyout:    "COPYOUT",
	TypeCopyoutstr: "COPYOUTSTR",
	TypeAnonmmap:   "ANONMMAP",
	TypePrefork:    "PREFORK",
	TypeRaise:      "RAISE",
}

// String returns the protocol's name for t, or its number if unknown.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// HandshakeKind is the kind of a HANDSHAKE request, carried in Header.U.
type HandshakeKind uint32

// Handshake kinds.
const (
	// HandshakeGuest creates a new process with an empty descriptor table
	// apart from the rump console on 0, 1 and 2.
	HandshakeGuest HandshakeKind = 0
	// HandshakeAuth is defined but not implemented by servers, which answer
	// it with CodeAuth and close the connection.
	HandshakeAuth HandshakeKind = 1
	// HandshakeFork binds a new connection to a process made by PREFORK.
	HandshakeFork HandshakeKind = 2
	// HandshakeExec renames the process after a host exec and closes its
	// close-on-exec descriptors; valid only after one of the others.
	HandshakeExec HandshakeKind = 3
)

// String returns the protocol's name for k, or its number if unknown.
func (k HandshakeKind) String() string {
	switch k {
	case HandshakeGuest:
		return "GUEST"
	case HandshakeAuth:
		return "AUTH"
	case HandshakeFork:
		return "FORK"
	case HandshakeExec:
		return "EXEC"
	}
	return "handshake(" + strconv.FormatUint(uint64(k), 10) + ")"
}

// ErrorCode is the reason a server gives in an ERROR frame, carried in
// Header.U.
type ErrorCode uint32

// Error codes.
const (
	CodeNone             ErrorCode = 0
	CodeTryAgain         ErrorCode = 1 // no work item; resend the request
	CodeAuth             ErrorCode = 2 // request before a handshake, or AUTH
	CodeInvalidPrefork   ErrorCode = 3 // unknown or reused fork cookie
	CodeRforkFailed      ErrorCode = 4 // the server could not fork
	CodeInExec           ErrorCode = 5 // an exec handshake is in progress
	CodeNoMem            ErrorCode = 6
	CodeMalformedRequest ErrorCode = 7
)

var codeInfo = [...]struct {
	name  string
	errno syscall.Errno
}{
	CodeNone:             {"NONE", 0},
	CodeTryAgain:         {"TRYAGAIN", syscall.EAGAIN},
	CodeAuth:             {"AUTH", syscall.EPERM},
	CodeInvalidPrefork:   {"INVALID_PREFORK", syscall.ESRCH},
	CodeRforkFailed:      {"RFORK_FAILED", syscall.EIO},
	CodeInExec:           {"INEXEC", syscall.EBUSY},
	CodeNoMem:            {"NOMEM", syscall.ENOMEM},
	CodeMalformedRequest: {"MALFORMED_REQUEST", syscall.EINVAL},
}

// String returns the protocol's name for c, or its number if unknown.
func (c ErrorCode) String() string {
	if uint64(c) < uint64(len(codeInfo)) {
		return codeInfo[c].name
	}
	return "error(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// Errno returns the host errno the reference client reports for c, so that
// callers fail the way rumpclient programs do on Linux. CodeNone gives 0. An
// unknown code gives EIO: the reference client returns -1 there, which is no
// errno at all.
func (c ErrorCode) Errno() syscall.Errno {
	if uint64(c) < uint64(len(codeInfo)) {
		return codeInfo[c].errno
	}
	return syscall.EIO
}
