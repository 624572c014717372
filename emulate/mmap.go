package emulate

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// mmap of a rump file. The host cannot map pages it does not hold, so the
// mapped range is copied out of the rump file into a fresh anonymous file,
// which replaces the shadow at the same number before the host runs the
// call: the mapping shows the file as it was at the mmap. Nothing else
// changes for the target, since every call on that number is still
// trapped and served from the rump descriptor. The copy is opened
// read-only, so a private mapping may be written (copy on write, as with
// any file) and a shared one can never become writable; a writable shared
// mapping, whose stores would have to reach the rump file, fails with
// ENODEV up front. The copy's pages live as long as the mapping or the
// shadow.

// maxMapped bounds the bytes one mapping copies.
const maxMapped = 1 << 30

// MappedName is the name of the copies, which still count as shadows.
const MappedName = "hijack-shadow-mapped"

func mmapHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(4)
	if !ok {
		return Reply{Continue: true}
	}
	length, prot, flags, off := c.N.Args[1], c.N.Args[2], c.N.Args[3], c.N.Args[5]
	shared := flags&unix.MAP_TYPE == unix.MAP_SHARED || flags&unix.MAP_TYPE == unix.MAP_SHARED_VALIDATE
	if shared && prot&unix.PROT_WRITE != 0 {
		return Reply{Errno: unix.ENODEV}
	}
	if length == 0 || off%uint64(os.Getpagesize()) != 0 || int64(off) < 0 {
		return Reply{Errno: unix.EINVAL}
	}
	if length > maxMapped {
		return Reply{Errno: unix.ENOMEM}
	}
	var s staged
	defer s.release()
	st, r, ok := c.fstat(ctx, &s, fd)
	if !ok {
		return r
	}
	if st.Mode&netbsd.S_IFMT != netbsd.S_IFREG {
		return Reply{Errno: unix.ENODEV}
	}
	if r := c.rump(ctx, netbsd.SYS_FCNTL, fd, netbsd.F_GETFL, 0); r.Errno != 0 {
		return r
	} else if r.Value&netbsd.O_ACCMODE == netbsd.O_WRONLY {
		return Reply{Errno: unix.EACCES} // as for any file not open for reading
	}
	copyFD, r := c.copyRange(ctx, fd, st.Size, off, length)
	if r.Errno != 0 {
		return r
	}
	defer unix.Close(copyFD)
	cloexec, err := closeOnExec(c.PID, int(c.arg(4)))
	if err != nil {
		return Reply{Errno: unix.EBADF}
	}
	if err := c.Replace(int(c.arg(4)), copyFD, cloexec); err != nil {
		return Reply{Errno: unix.EBADF}
	}
	return Reply{Continue: true}
}

// copyRange copies bytes [off, off+length) of rump file fd, of the given
// size, into a new anonymous file of that size and returns a read-only
// descriptor of it.
func (c *Call) copyRange(ctx context.Context, fd uint64, size int64, off, length uint64) (int, Reply) {
	mfd, err := unix.MemfdCreate(MappedName, unix.MFD_CLOEXEC)
	if err != nil {
		return -1, Reply{Errno: unix.ENOMEM}
	}
	defer unix.Close(mfd)
	if err := unix.Ftruncate(mfd, size); err != nil {
		return -1, Reply{Errno: unix.ENOMEM}
	}
	end := min(off+length, uint64(max(size, 0)))
	if off < end {
		if r := c.copyIn(ctx, mfd, fd, off, end); r.Errno != 0 {
			return -1, r
		}
	}
	ro, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", mfd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, Reply{Errno: unix.ENOMEM}
	}
	return ro, Reply{}
}

// copyIn copies bytes [off, end) of rump file fd to the same place in host
// file mfd.
func (c *Call) copyIn(ctx context.Context, mfd int, fd uint64, off, end uint64) Reply {
	buf := make([]byte, min(end-off, maxIO))
	var s staged
	defer s.release()
	addr, err := c.stage(&s, buf)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	for pos := off; pos < end; {
		n := min(end-pos, uint64(len(buf)))
		r := c.rump(ctx, netbsd.SYS_PREAD, fd, addr, n, pos)
		if r.Errno != 0 {
			return r
		}
		if r.Value <= 0 {
			break // the file shrank meanwhile; the rest reads as zeros
		}
		got := min(uint64(r.Value), n)
		if _, err := unix.Pwrite(mfd, buf[:got], int64(pos)); err != nil {
			return Reply{Errno: unix.ENOMEM}
		}
		pos += got
	}
	return Reply{}
}

// closeOnExec reports whether descriptor fd of process pid is close-on-exec.
func closeOnExec(pid, fd int) (bool, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		return false, err
	}
	var pos, flags uint64
	if _, err := fmt.Sscanf(string(data), "pos:\t%d\nflags:\t%o", &pos, &flags); err != nil {
		return false, fmt.Errorf("fdinfo of %d in %d: %w", fd, pid, err)
	}
	return flags&unix.O_CLOEXEC != 0, nil
}
