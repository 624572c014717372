package sysproxy

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Payload sizes fixed by the protocol (amd64).
const (
	syscallResultSize = 24 // struct rsp_sysresp
	copyDescSize      = 16 // struct rsp_copydata without its data
	forkPayloadSize   = 20 // struct handshake_fork
	handshakeRespSize = 4  // int
	addrSize          = 8  // size_t or void *
)

var le = binary.LittleEndian

// Cookie is the opaque fork authentication cookie a server hands out in a
// PREFORK response and takes back, once, in a HANDSHAKE_FORK request.
type Cookie [CookieSize]byte

// SyscallResult is the outcome of one system call in a rump kernel.
type SyscallResult struct {
	// Error is a NetBSD errno, 0 on success.
	Error int32
	// Retval holds the kernel's two return registers; they mean something
	// only when Error is 0 (and for the calls that cannot fail, which
	// report their outcome in Retval[0]).
	Retval [2]int64
}

// appendSyscallResult appends r in its 24-byte wire form. The 4 bytes after
// Error are padding; the reference server leaves stack garbage there, this
// package writes zeros so that an encoded frame depends only on its message.
func appendSyscallResult(dst []byte, r SyscallResult) []byte {
	dst = le.AppendUint32(dst, uint32(r.Error))
	dst = le.AppendUint32(dst, 0)
	dst = le.AppendUint64(dst, uint64(r.Retval[0]))
	return le.AppendUint64(dst, uint64(r.Retval[1]))
}

// parseSyscallResult decodes exactly 24 bytes, ignoring the padding.
func parseSyscallResult(b []byte) (SyscallResult, error) {
	if len(b) != syscallResultSize {
		return SyscallResult{}, sizeError("syscall result", len(b), syscallResultSize)
	}
	return SyscallResult{
		Error:  int32(le.Uint32(b[0:])),
		Retval: [2]int64{int64(le.Uint64(b[8:])), int64(le.Uint64(b[16:]))},
	}, nil
}

// CopyDesc names a range of client memory a server wants to read or write.
// Addr is an address the client gave the server in a SYSCALL argument; the
// server never interprets it.
type CopyDesc struct {
	Len  uint64
	Addr uint64
}

func appendCopyDesc(dst []byte, d CopyDesc) []byte {
	dst = le.AppendUint64(dst, d.Len)
	return le.AppendUint64(dst, d.Addr)
}

// parseCopyDesc decodes the 16-byte descriptor at the start of b; the caller
// checks what follows it.
func parseCopyDesc(b []byte) (CopyDesc, error) {
	if len(b) < copyDescSize {
		return CopyDesc{}, fmt.Errorf("%w: copy descriptor of %d bytes, want %d",
			ErrMalformed, len(b), copyDescSize)
	}
	return CopyDesc{Len: le.Uint64(b[0:]), Addr: le.Uint64(b[8:])}, nil
}

// appendArgs appends the argument block of a SYSCALL request: one 8-byte
// slot per value, in order.
func appendArgs(dst []byte, args []uint64) []byte {
	for _, a := range args {
		dst = le.AppendUint64(dst, a)
	}
	return dst
}

// parseArgs splits an argument block into its slots. An empty block is a
// call without arguments; a block that is not whole slots is malformed.
func parseArgs(b []byte) ([]uint64, error) {
	if len(b)%SlotSize != 0 {
		return nil, fmt.Errorf("%w: argument block of %d bytes is not whole %d-byte slots",
			ErrMalformed, len(b), SlotSize)
	}
	if len(b) == 0 {
		return nil, nil
	}
	args := make([]uint64, len(b)/SlotSize)
	for i := range args {
		args[i] = le.Uint64(b[i*SlotSize:])
	}
	return args, nil
}

// appendName appends a process name the way rumpclient sends it: the bytes
// before its first NUL, then a NUL. An empty name is therefore one NUL byte,
// never an empty payload, which a server would dereference as NULL.
func appendName(dst []byte, name string) []byte {
	if i := bytes.IndexByte([]byte(name), 0); i >= 0 {
		name = name[:i]
	}
	dst = append(dst, name...)
	return append(dst, 0)
}

// parseName decodes a process name: at least one byte, read up to its first
// NUL. A payload without NUL is taken whole, as the reference server does
// by terminating it itself.
func parseName(b []byte) (string, error) {
	if len(b) == 0 {
		return "", fmt.Errorf("%w: empty process name payload", ErrMalformed)
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b), nil
}

// appendForkPayload appends struct handshake_fork: the cookie, then the
// cancel flag as an int.
func appendForkPayload(dst []byte, c Cookie, cancel bool) []byte {
	dst = append(dst, c[:]...)
	var flag uint32
	if cancel {
		flag = 1
	}
	return le.AppendUint32(dst, flag)
}

// parseForkPayload decodes exactly 20 bytes. Any nonzero flag cancels, as
// the server treats it.
func parseForkPayload(b []byte) (Cookie, bool, error) {
	if len(b) != forkPayloadSize {
		return Cookie{}, false, sizeError("fork handshake", len(b), forkPayloadSize)
	}
	var c Cookie
	copy(c[:], b)
	return c, le.Uint32(b[CookieSize:]) != 0, nil
}

// parseU64 decodes a payload that is exactly one 8-byte integer.
func parseU64(what string, b []byte) (uint64, error) {
	if len(b) != addrSize {
		return 0, sizeError(what, len(b), addrSize)
	}
	return le.Uint64(b), nil
}

// sizeError reports a payload whose size the protocol fixes.
func sizeError(what string, got, want int) error {
	return fmt.Errorf("%w: %s payload of %d bytes, want %d", ErrMalformed, what, got, want)
}
