package emulate

import (
	"context"
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/notify"
)

// File handles with vfs=fhcalls: name_to_handle_at of a rump path takes a
// handle with the rump kernel's __getfh30, and open_by_handle_at of such a
// handle opens it with __fhopen40 and gives the descriptor a shadow. A rump
// handle is the rump kernel's fhandle_t, opaque to the program, in a Linux
// struct file_handle of type rumpHandle; open_by_handle_at of any other
// type is the host's. Without vfs=fhcalls a rump file has no handles, as a
// file system without export support has none (EOPNOTSUPP).

// rumpHandle is the handle_type of rump kernel handles ("rump").
const rumpHandle = 0x706d7572

// maxHandleSize is Linux's MAX_HANDLE_SZ.
const maxHandleSize = 128

func init() {
	handlers[unix.SYS_NAME_TO_HANDLE_AT] = onPath(nameToHandleHandler)
	handlers[unix.SYS_OPEN_BY_HANDLE_AT] = openByHandleHandler
}

func nameToHandleHandler(ctx context.Context, c *Call, s *staged, path uint64) Reply {
	if c.Policy == nil || !c.Policy.VFS.Has("fhcalls") {
		return Reply{Errno: unix.EOPNOTSUPP}
	}
	flags := uint32(c.arg(4))
	if flags&^(unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return Reply{Errno: unix.EINVAL}
	}
	// __getfh30 resolves from the working directory only, and follows a
	// final link.
	if c.dirfd(0) != atFDCWD && (c.Verdict.RumpPaths[0] == "" || c.Verdict.RumpPaths[0][0] != '/') {
		return Reply{Errno: unix.EOPNOTSUPP}
	}
	var hdr [8]byte
	if err := notify.ReadMemory(c.N.PID, c.N.Args[2], hdr[:]); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	room := binary.LittleEndian.Uint32(hdr[:])
	if room > maxHandleSize {
		return Reply{Errno: unix.EINVAL}
	}
	fh := make([]byte, maxHandleSize)
	size := make([]byte, 8)
	binary.LittleEndian.PutUint64(size, uint64(len(fh)))
	fa, err1 := c.stage(s, fh)
	sa, err2 := c.stage(s, size)
	if err1 != nil || err2 != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	if r := c.rump(ctx, netbsd.SYS___GETFH30, path, fa, sa); r.Errno != 0 {
		return r
	}
	n := min(binary.LittleEndian.Uint64(size), maxHandleSize)
	binary.LittleEndian.PutUint32(hdr[:], uint32(n))
	binary.LittleEndian.PutUint32(hdr[4:], rumpHandle)
	if uint64(room) < n {
		// Linux's answer: the size needed, and EOVERFLOW.
		if err := c.copyOut(c.N.Args[2], hdr[:4]); err != nil {
			return Reply{Errno: unix.EFAULT}
		}
		return Reply{Errno: unix.EOVERFLOW}
	}
	if err := c.copyOut(c.N.Args[2], append(hdr[:], fh[:n]...)); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	var mnt [4]byte
	binary.LittleEndian.PutUint32(mnt[:], 1<<20) // the rump root's id in mount tables
	if err := c.copyOut(c.N.Args[3], mnt[:]); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	return Reply{}
}

func openByHandleHandler(ctx context.Context, c *Call) Reply {
	var hdr [8]byte
	if err := notify.ReadMemory(c.N.PID, c.N.Args[1], hdr[:]); err != nil {
		return Reply{Continue: true} // the host reports the fault
	}
	if binary.LittleEndian.Uint32(hdr[4:]) != rumpHandle {
		return Reply{Continue: true}
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n == 0 || n > maxHandleSize {
		return Reply{Errno: unix.EINVAL}
	}
	fh := make([]byte, 8+n)
	if err := notify.ReadMemory(c.N.PID, c.N.Args[1], fh); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	linuxFlags := uint32(c.arg(2))
	flags, err := netbsd.OpenFlagsFromLinux(pathOnly(linuxFlags) &^ (unix.O_CLOEXEC | unix.O_CREAT))
	if err != nil {
		return Reply{Errno: unix.EINVAL}
	}
	var s staged
	defer s.release()
	fa, err := c.stage(&s, fh[8:])
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	r := c.rump(ctx, netbsd.SYS___FHOPEN40, fa, uint64(n), uint64(flags))
	if r.Errno != 0 {
		return r
	}
	return c.shadowFor(ctx, int32(r.Value), linuxFlags&unix.O_CLOEXEC != 0)
}
