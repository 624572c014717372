package rumpconn

import (
	"bytes"
	"errors"
)

// Memory is the address space copy requests are served from. For a Conn it
// is the target process's memory, shared by all its threads, usually seen
// through a Staging. Implementations must be safe for concurrent use: the
// Conn reads and writes from its reader goroutine while callers stage.
type Memory interface {
	// ReadAt fills p with the bytes at addr. It reads all of p or returns
	// an error, which the Conn treats as a fault.
	ReadAt(p []byte, addr uint64) error
	// WriteAt stores p at addr, all of it or an error, a fault.
	WriteAt(p []byte, addr uint64) error
}

// ErrFault is what NoMemory, and Staging for an address in its window that
// no region holds, return: nothing is mapped there.
var ErrFault = errors.New("bad address")

// NoMemory is a Memory with nothing mapped: every access of one byte or
// more faults. It is the Memory of a Conn opened without one, which suits
// calls that take no pointers.
type NoMemory struct{}

// ReadAt fails with ErrFault unless p is empty.
func (NoMemory) ReadAt(p []byte, addr uint64) error {
	if len(p) == 0 {
		return nil
	}
	return ErrFault
}

// WriteAt fails with ErrFault unless p is empty.
func (NoMemory) WriteAt(p []byte, addr uint64) error {
	if len(p) == 0 {
		return nil
	}
	return ErrFault
}

// pageSize is the unit in which readability changes in a target; a string
// read stops at page boundaries so that it never reads a page past its NUL.
const pageSize = 4096

// readString reads the NUL-terminated string at addr, at most limit bytes
// with its NUL. It returns the bytes up to and including the NUL; limit
// bytes without a NUL when the string is longer; and ok false when memory
// ends before either, which is a fault.
//
// It reads a page at a time, so a string that ends just before an unmapped
// page is read whole. When a chunk faults, the readable prefix of the chunk
// is found by bisection, because readability only ever ends at a boundary
// (of a page, or of a staged region): what lies before it is readable.
func readString(m Memory, addr uint64, limit int) (s []byte, ok bool) {
	out := make([]byte, 0, min(limit, 256))
	for len(out) < limit {
		chunk := min(limit-len(out), pageSize-int(addr%pageSize))
		buf := make([]byte, chunk)
		n := chunk
		if m.ReadAt(buf, addr) != nil {
			n = readablePrefix(m, buf, addr)
		}
		if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
			return append(out, buf[:i+1]...), true
		}
		if n < chunk {
			return nil, false
		}
		out = append(out, buf...)
		addr += uint64(chunk)
	}
	return out, true
}

// readablePrefix returns how many bytes at the start of buf, at addr, read
// without a fault; buf holds them afterwards.
func readablePrefix(m Memory, buf []byte, addr uint64) int {
	lo, hi := 0, len(buf) // buf[:lo] is readable, buf[:hi] is not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if m.ReadAt(buf[lo:mid], addr+uint64(lo)) == nil {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}
