package netbsd

import "golang.org/x/sys/unix"

// LinuxCall is the NetBSD call that serves a Linux x86-64 system call whose
// register arguments line up with the NetBSD call's declared arguments.
type LinuxCall struct {
	// Sysno is the NetBSD call.
	Sysno Sysno
	// Args is how many Linux argument registers carry over, in order, to the
	// NetBSD call's declared arguments (PAD slots are not counted). The
	// declared arguments after them are zero: faccessat's missing flag, or
	// accept's NULL mask and zero flags for paccept. Linux registers past
	// Args are not used, so a caller must not pass them on.
	Args int
}

// SyscallFromLinux returns the NetBSD call for Linux system call nr when the
// mapping is direct, meaning the arguments need at most value translation
// (flags, errno, structure layouts through this package), never reordering.
// Calls that need more (pipe's copied-out array, accept4's flag position,
// ppoll's signal mask, renameat2's flags) are left to the caller, who knows
// how to emulate them; for those ok is false.
func SyscallFromLinux(nr int) (call LinuxCall, ok bool) {
	call, ok = fromLinux[nr]
	return call, ok
}

// fromLinux follows the Linux column of the NetBSD syscall table. Where
// NetBSD has a BSD and a POSIX variant, the POSIX one is chosen because it is
// what NetBSD's libc calls and what Linux implements (chown clearing set-id
// bits, rename of hard links to the same file).
var fromLinux = map[int]LinuxCall{
	unix.SYS_READ:        {SYS_READ, 3},
	unix.SYS_WRITE:       {SYS_WRITE, 3},
	unix.SYS_OPEN:        {SYS_OPEN, 3}, // open flags
	unix.SYS_CLOSE:       {SYS_CLOSE, 1},
	unix.SYS_STAT:        {SYS___STAT50, 2}, // struct stat
	unix.SYS_FSTAT:       {SYS___FSTAT50, 2},
	unix.SYS_LSTAT:       {SYS___LSTAT50, 2},
	unix.SYS_POLL:        {SYS_POLL, 3}, // POLL bits, rump fds
	unix.SYS_LSEEK:       {SYS_LSEEK, 3},
	unix.SYS_IOCTL:       {SYS_IOCTL, 3}, // command encoding
	unix.SYS_PREAD64:     {SYS_PREAD, 4},
	unix.SYS_PWRITE64:    {SYS_PWRITE, 4},
	unix.SYS_READV:       {SYS_READV, 3},
	unix.SYS_WRITEV:      {SYS_WRITEV, 3},
	unix.SYS_ACCESS:      {SYS_ACCESS, 2},
	unix.SYS_SELECT:      {SYS___SELECT50, 5}, // timeval, fd_set tail
	unix.SYS_DUP:         {SYS_DUP, 1},
	unix.SYS_DUP2:        {SYS_DUP2, 2},
	unix.SYS_GETPID:      {SYS_GETPID, 0},
	unix.SYS_GETPPID:     {SYS_GETPPID, 0},
	unix.SYS_SOCKET:      {SYS___SOCKET30, 3}, // family, type flags
	unix.SYS_CONNECT:     {SYS_CONNECT, 3},    // sockaddr
	unix.SYS_ACCEPT:      {SYS_PACCEPT, 3},    // Linux accept never inherits O_NONBLOCK
	unix.SYS_SENDTO:      {SYS_SENDTO, 6},
	unix.SYS_RECVFROM:    {SYS_RECVFROM, 6},
	unix.SYS_SENDMSG:     {SYS_SENDMSG, 3}, // msghdr, cmsghdr
	unix.SYS_RECVMSG:     {SYS_RECVMSG, 3},
	unix.SYS_SHUTDOWN:    {SYS_SHUTDOWN, 2},
	unix.SYS_BIND:        {SYS_BIND, 3},
	unix.SYS_LISTEN:      {SYS_LISTEN, 2},
	unix.SYS_GETSOCKNAME: {SYS_GETSOCKNAME, 3},
	unix.SYS_GETPEERNAME: {SYS_GETPEERNAME, 3},
	unix.SYS_SOCKETPAIR:  {SYS_SOCKETPAIR, 4},
	unix.SYS_SETSOCKOPT:  {SYS_SETSOCKOPT, 5}, // level, name, value
	unix.SYS_GETSOCKOPT:  {SYS_GETSOCKOPT, 5},
	unix.SYS_FCNTL:       {SYS_FCNTL, 3}, // command, flags, struct flock
	unix.SYS_FLOCK:       {SYS_FLOCK, 2},
	unix.SYS_FSYNC:       {SYS_FSYNC, 1},
	unix.SYS_FDATASYNC:   {SYS_FDATASYNC, 1},
	unix.SYS_TRUNCATE:    {SYS_TRUNCATE, 2},
	unix.SYS_FTRUNCATE:   {SYS_FTRUNCATE, 2},
	unix.SYS_GETDENTS:    {SYS___GETDENTS30, 3}, // record format
	unix.SYS_GETDENTS64:  {SYS___GETDENTS30, 3},
	unix.SYS_GETCWD:      {SYS___GETCWD, 2},
	unix.SYS_CHDIR:       {SYS_CHDIR, 1},
	unix.SYS_FCHDIR:      {SYS_FCHDIR, 1},
	unix.SYS_RENAME:      {SYS___POSIX_RENAME, 2},
	unix.SYS_MKDIR:       {SYS_MKDIR, 2},
	unix.SYS_RMDIR:       {SYS_RMDIR, 1},
	unix.SYS_LINK:        {SYS_LINK, 2},
	unix.SYS_UNLINK:      {SYS_UNLINK, 1},
	unix.SYS_SYMLINK:     {SYS_SYMLINK, 2},
	unix.SYS_READLINK:    {SYS_READLINK, 3},
	unix.SYS_CHMOD:       {SYS_CHMOD, 2},
	unix.SYS_FCHMOD:      {SYS_FCHMOD, 2},
	unix.SYS_CHOWN:       {SYS___POSIX_CHOWN, 3},
	unix.SYS_FCHOWN:      {SYS___POSIX_FCHOWN, 3},
	unix.SYS_LCHOWN:      {SYS___POSIX_LCHOWN, 3},
	unix.SYS_UMASK:       {SYS_UMASK, 1},
	unix.SYS_STATFS:      {SYS_STATVFS1, 2}, // flags 0 refreshes, like ST_WAIT
	unix.SYS_FSTATFS:     {SYS_FSTATVFS1, 2},
	unix.SYS_MKNOD:       {SYS___MKNOD50, 3},
	unix.SYS_CHROOT:      {SYS_CHROOT, 1},
	unix.SYS_SYNC:        {SYS_SYNC, 0},
	unix.SYS_UMOUNT2:     {SYS_UNMOUNT, 2}, // MNT_FORCE differs
	unix.SYS_FADVISE64:   {SYS___POSIX_FADVISE50, 4},
	unix.SYS_UTIMES:      {SYS___UTIMES50, 2}, // timeval
	unix.SYS_OPENAT:      {SYS_OPENAT, 4},
	unix.SYS_MKDIRAT:     {SYS_MKDIRAT, 3},
	unix.SYS_MKNODAT:     {SYS_MKNODAT, 4},
	unix.SYS_FCHOWNAT:    {SYS_FCHOWNAT, 5}, // AT flags
	unix.SYS_NEWFSTATAT:  {SYS_FSTATAT, 4},  // AT_EMPTY_PATH needs SYS___FSTAT50
	unix.SYS_UNLINKAT:    {SYS_UNLINKAT, 3},
	unix.SYS_RENAMEAT:    {SYS_RENAMEAT, 4},
	unix.SYS_LINKAT:      {SYS_LINKAT, 5},
	unix.SYS_SYMLINKAT:   {SYS_SYMLINKAT, 3},
	unix.SYS_READLINKAT:  {SYS_READLINKAT, 4},
	unix.SYS_FCHMODAT:    {SYS_FCHMODAT, 3}, // Linux fchmodat has no flag
	unix.SYS_FCHMODAT2:   {SYS_FCHMODAT, 4},
	unix.SYS_FACCESSAT:   {SYS_FACCESSAT, 3}, // Linux faccessat has no flag
	unix.SYS_FACCESSAT2:  {SYS_FACCESSAT, 4}, // AT_EACCESS differs
	unix.SYS_UTIMENSAT:   {SYS_UTIMENSAT, 4}, // a NULL path (futimens) needs SYS_FUTIMENS
	unix.SYS_DUP3:        {SYS_DUP3, 3},      // O_CLOEXEC
	unix.SYS_PIPE2:       {SYS_PIPE2, 2},     // open flags
	unix.SYS_PREADV:      {SYS_PREADV, 4},    // pos_l is the whole offset on x86-64
	unix.SYS_PWRITEV:     {SYS_PWRITEV, 4},
	unix.SYS_RECVMMSG:    {SYS_RECVMMSG, 5}, // mmsghdr
	unix.SYS_SENDMMSG:    {SYS_SENDMMSG, 4},
}
