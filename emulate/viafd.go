package emulate

import (
	"context"

	"golang.org/x/sys/unix"
)

// A path call on /proc/self/fd/N, with N a rump descriptor, is about the
// rump file behind N, not about the shadow the host would find there: glibc
// names descriptors so, for one, to change the mode of a file it opened
// with O_PATH. Such a call is served as the descriptor call it amounts to.

// viaFD maps a path call to its descriptor call: the call to make and its
// arguments, built from the path call's arguments a and the descriptor fd.
var viaFD = map[uint64]func(fd uint64, a [6]uint64) (uint64, [6]uint64){
	unix.SYS_CHMOD:     func(fd uint64, a [6]uint64) (uint64, [6]uint64) { return unix.SYS_FCHMOD, [6]uint64{fd, a[1]} },
	unix.SYS_FCHMODAT:  func(fd uint64, a [6]uint64) (uint64, [6]uint64) { return unix.SYS_FCHMOD, [6]uint64{fd, a[2]} },
	unix.SYS_FCHMODAT2: func(fd uint64, a [6]uint64) (uint64, [6]uint64) { return unix.SYS_FCHMOD, [6]uint64{fd, a[2]} },
	unix.SYS_CHOWN:     func(fd uint64, a [6]uint64) (uint64, [6]uint64) { return unix.SYS_FCHOWN, [6]uint64{fd, a[1], a[2]} },
	unix.SYS_LCHOWN:    func(fd uint64, a [6]uint64) (uint64, [6]uint64) { return unix.SYS_FCHOWN, [6]uint64{fd, a[1], a[2]} },
	unix.SYS_FCHOWNAT:  func(fd uint64, a [6]uint64) (uint64, [6]uint64) { return unix.SYS_FCHOWN, [6]uint64{fd, a[2], a[3]} },
	unix.SYS_STAT:      func(fd uint64, a [6]uint64) (uint64, [6]uint64) { return unix.SYS_FSTAT, [6]uint64{fd, a[1]} },
	unix.SYS_LSTAT:     func(fd uint64, a [6]uint64) (uint64, [6]uint64) { return unix.SYS_FSTAT, [6]uint64{fd, a[1]} },
	unix.SYS_NEWFSTATAT: func(fd uint64, a [6]uint64) (uint64, [6]uint64) {
		return unix.SYS_FSTAT, [6]uint64{fd, a[2]}
	},
	unix.SYS_STATX: func(fd uint64, a [6]uint64) (uint64, [6]uint64) {
		return unix.SYS_STATX, [6]uint64{fd, a[1], a[2] | unix.AT_EMPTY_PATH, a[3], a[4]}
	},
	unix.SYS_TRUNCATE: func(fd uint64, a [6]uint64) (uint64, [6]uint64) { return unix.SYS_FTRUNCATE, [6]uint64{fd, a[1]} },
	unix.SYS_UTIMENSAT: func(fd uint64, a [6]uint64) (uint64, [6]uint64) {
		return unix.SYS_UTIMENSAT, [6]uint64{fd, 0, a[2], 0}
	},
	unix.SYS_UTIMES:    func(fd uint64, a [6]uint64) (uint64, [6]uint64) { return unix.SYS_FUTIMESAT, [6]uint64{fd, 0, a[1]} },
	unix.SYS_FUTIMESAT: func(fd uint64, a [6]uint64) (uint64, [6]uint64) { return unix.SYS_FUTIMESAT, [6]uint64{fd, 0, a[2]} },
	unix.SYS_CHDIR:     func(fd uint64, a [6]uint64) (uint64, [6]uint64) { return unix.SYS_FCHDIR, [6]uint64{fd} },
}

// serveViaFD serves a path call on /proc/self/fd/N of a rump descriptor.
func serveViaFD(ctx context.Context, c *Call) Reply {
	fd := uint64(c.Verdict.FD)
	if to, ok := viaFD[uint64(c.N.Nr)]; ok {
		n := *c.N
		var nr uint64
		nr, n.Args = to(fd, n.Args)
		n.Nr = int32(nr)
		call := *c
		call.N = &n
		return Serve(ctx, &call)
	}
	switch c.N.Nr {
	case unix.SYS_READLINK, unix.SYS_READLINKAT:
		// The host's answer names the shadow; the rump file's name is
		// not known.
		return Reply{Continue: true}
	case unix.SYS_ACCESS, unix.SYS_FACCESSAT, unix.SYS_FACCESSAT2:
		return Reply{} // the descriptor is open, so its file exists
	}
	// Opening a rump file anew through its descriptor would need its
	// name; Linux answers ENXIO for descriptors it cannot reopen alike.
	return Reply{Errno: unix.ENXIO}
}
