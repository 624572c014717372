package notify

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrFault reports that target memory could not be read: the address is not
// mapped in the target, or not readable. The host kernel would fail the same
// call with EFAULT.
var ErrFault = errors.New("bad address in target")

// ErrTooLong reports that no NUL was found within the limit given to
// ReadString.
var ErrTooLong = errors.New("string in target too long")

const pageSize = 4096

// ReadMemory reads len(buf) bytes at addr in the address space of thread tid.
// It reads everything or fails: a read that stops short (an unmapped page)
// gives ErrFault. The caller must check the notification with Valid after the
// read: until then the thread id may have been reused by another process.
func ReadMemory(tid int, addr uint64, buf []byte) error {
	for done := 0; done < len(buf); {
		n, err := readv(tid, addr+uint64(done), buf[done:])
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrFault
		}
		done += n
	}
	return nil
}

func readv(tid int, addr uint64, buf []byte) (int, error) {
	if len(buf) == 0 {
		return 0, nil
	}
	local := []unix.Iovec{{Base: &buf[0]}}
	local[0].SetLen(len(buf))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(buf)}}
	for {
		n, err := unix.ProcessVMReadv(tid, local, remote, 0)
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EFAULT:
			return 0, ErrFault
		default:
			return 0, fmt.Errorf("read target %d memory at %#x: %w", tid, addr, err)
		}
	}
}

// ReadString reads a NUL-terminated string of at most max bytes (the NUL not
// counted) at addr in thread tid. It reads page by page, never past the page
// that holds the NUL, so a string that ends just before an unmapped page is
// read correctly. It returns ErrFault for an unreadable address and ErrTooLong
// when no NUL comes within max bytes. As with ReadMemory, check the
// notification with Valid afterwards.
func ReadString(tid int, addr uint64, max int) (string, error) {
	if addr == 0 {
		return "", ErrFault
	}
	out := make([]byte, 0, 256)
	var page [pageSize]byte
	for len(out) <= max {
		chunk := pageSize - int(addr%pageSize)
		if want := max + 1 - len(out); chunk > want {
			chunk = want
		}
		n, err := readv(tid, addr, page[:chunk])
		if err != nil {
			return "", err
		}
		if n == 0 {
			return "", ErrFault
		}
		for i, b := range page[:n] {
			if b == 0 {
				return string(append(out, page[:i]...)), nil
			}
		}
		out = append(out, page[:n]...)
		addr += uint64(n)
	}
	return "", ErrTooLong
}

// WriteMemory writes buf at addr in the address space of thread tid, all of
// it or failing with ErrFault. Check the notification with Valid before
// writing: a write to a reused thread id would corrupt another process.
func WriteMemory(tid int, addr uint64, buf []byte) error {
	for done := 0; done < len(buf); {
		local := []unix.Iovec{{Base: &buf[done]}}
		local[0].SetLen(len(buf) - done)
		remote := []unix.RemoteIovec{{Base: uintptr(addr) + uintptr(done), Len: len(buf) - done}}
		n, err := unix.ProcessVMWritev(tid, local, remote, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EFAULT || (err == nil && n == 0):
			return ErrFault
		case err != nil:
			return fmt.Errorf("write target %d memory at %#x: %w", tid, addr, err)
		}
		done += n
	}
	return nil
}
