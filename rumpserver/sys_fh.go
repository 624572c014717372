package rumpserver

import (
	"encoding/binary"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// File handles. A handle is NetBSD's fhandle_t: the file system's fsid and
// a struct fid, whose data here is a number the kernel gave the file when a
// handle was first asked of it. The kernel keeps an O_PATH descriptor for
// each number, so that __fhopen40 reopens the very file, renamed or not,
// without the host privilege open_by_handle_at needs; the oldest numbers
// are forgotten beyond maxHandles, and their handles are then stale. A
// handle is valid in every process of the kernel, as on NetBSD, and not
// after the server restarts.

// maxHandles bounds the files the kernel keeps handles for.
const maxHandles = 4096

// fhSize is the size of a handle: fsid (8), fid_len and fid_reserved (2
// each), and the 8-byte number.
const fhSize = 8 + 4 + 8

type handles struct {
	mu    sync.Mutex
	next  uint64
	fds   map[uint64]int // number → O_PATH descriptor; guarded by mu
	order []uint64       // numbers, oldest first; guarded by mu
}

func (h *handles) add(fd int) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fds == nil {
		h.fds = make(map[uint64]int)
	}
	h.next++
	h.fds[h.next] = fd
	h.order = append(h.order, h.next)
	if len(h.order) > maxHandles {
		old := h.order[0]
		h.order = h.order[1:]
		unix.Close(h.fds[old])
		delete(h.fds, old)
	}
	return h.next
}

// reopen opens the file of number n anew with Linux open flags.
func (h *handles) reopen(n uint64, flags int) (int, netbsd.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fd, ok := h.fds[n]
	if !ok {
		return -1, netbsd.ESTALE
	}
	nfd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, toErrno(err)
	}
	return nfd, 0
}

// __getfh30(fname, fhp, fh_size): the handle of a path, following a final
// symbolic link. A buffer too small, or none, gives E2BIG with the size
// needed written back.
func (cl *call) sysGetfh() (int64, netbsd.Errno) {
	sizeAddr := cl.ptr(2)
	b, errno := cl.copyin(sizeAddr, 8)
	if errno != 0 {
		return 0, errno
	}
	room := binary.LittleEndian.Uint64(b)
	fd, errno := cl.pathArg(netbsd.AT_FDCWD, 0, false)
	if errno != 0 {
		return 0, errno
	}
	if cl.ptr(1) == 0 || room < fhSize {
		unix.Close(fd)
		if e := cl.copyout(sizeAddr, binary.LittleEndian.AppendUint64(nil, fhSize)); e != 0 {
			return 0, e
		}
		return 0, netbsd.E2BIG
	}
	n := cl.k.handles.add(fd)
	fh := make([]byte, fhSize)
	binary.LittleEndian.PutUint64(fh, cl.k.rootDev)
	binary.LittleEndian.PutUint16(fh[8:], 4+8) // fid_len counts the fid header
	binary.LittleEndian.PutUint64(fh[12:], n)
	if e := cl.copyout(cl.ptr(1), fh); e != 0 {
		return 0, e
	}
	return 0, cl.copyout(sizeAddr, binary.LittleEndian.AppendUint64(nil, fhSize))
}

// __fhopen40(fhp, fh_size, flags): open the file of a handle.
func (cl *call) sysFhopen() (int64, netbsd.Errno) {
	if cl.args[1] != fhSize {
		return 0, netbsd.EINVAL
	}
	fh, errno := cl.copyin(cl.ptr(0), fhSize)
	if errno != 0 {
		return 0, errno
	}
	if binary.LittleEndian.Uint64(fh) != cl.k.rootDev ||
		binary.LittleEndian.Uint16(fh[8:]) != 4+8 {
		return 0, netbsd.ESTALE
	}
	flags := cl.uint(2)
	if flags&(netbsd.O_CREAT|netbsd.O_EXCL) != 0 {
		return 0, netbsd.EINVAL
	}
	linux, _ := netbsd.OpenFlagsToLinux(flags)
	fd, errno := cl.k.handles.reopen(binary.LittleEndian.Uint64(fh[12:]),
		int(linux&^unix.O_CLOEXEC)|unix.O_NONBLOCK|unix.O_NOCTTY)
	if errno != 0 {
		return 0, errno
	}
	f := newFile(cl.k, fd, kindVnode)
	defer f.release()
	f.nbio.Store(flags&netbsd.O_NONBLOCK != 0)
	nfd, errno := cl.p.install(f, flags&netbsd.O_CLOEXEC != 0, 0)
	return int64(nfd), errno
}
