package decision

import "golang.org/x/sys/unix"

// Class says how the place of a trapped system call is decided.
type Class uint8

const (
	// ClassPath calls name files by path, each path relative to a
	// directory descriptor or to the working directory.
	ClassPath Class = iota + 1
	// ClassFD calls act on descriptors they take as arguments.
	ClassFD
	// ClassSocket calls create sockets of the family in their first
	// argument.
	ClassSocket
	// ClassCwd calls read or set the working directory: getcwd reports
	// whichever one the process is in, and fchdir, trapped whatever its
	// descriptor, may move it from the rump kernel back to the host.
	ClassCwd
	// ClassSync is sync, which names no file and acts on every file system:
	// it runs in the host and, for a process with a rump process, in the
	// rump kernel as well.
	ClassSync
	// ClassVFS calls are the ones a vfs= selector names with no path or
	// rump descriptor to go by: trapped, and rump, when it is selected.
	ClassVFS
)

// NoDirfd marks a path argument that has no directory descriptor beside it:
// a relative path is relative to the working directory.
const NoDirfd = -1

// PathArg locates one path argument of a call.
type PathArg struct {
	Dirfd int // argument index of the directory descriptor, or NoDirfd
	Path  int // argument index of the path pointer
}

// Syscall describes one system call that a filter may trap.
type Syscall struct {
	Nr    int
	Name  string
	Class Class
	// Paths lists the path arguments of a ClassPath call. A call whose
	// paths fall in different kernels is refused with EXDEV.
	Paths []PathArg
	// FDs lists the argument indices holding descriptors of a ClassFD
	// call. The call is trapped when any of them is at or above fdoff.
	FDs []int
	// VFS is the vfs= selector of a ClassVFS call.
	VFS string
}

func path(nr int, name string, args ...PathArg) Syscall {
	if len(args) == 0 {
		args = []PathArg{{NoDirfd, 0}}
	}
	return Syscall{Nr: nr, Name: name, Class: ClassPath, Paths: args}
}

func at(dirfd, path int) PathArg { return PathArg{dirfd, path} }

func fd(nr int, name string, args ...int) Syscall {
	if len(args) == 0 {
		args = []int{0}
	}
	return Syscall{Nr: nr, Name: name, Class: ClassFD, FDs: args}
}

// Syscalls lists every call a filter can trap, by class. Calls absent from
// it always run in the host kernel.
var Syscalls = []Syscall{
	path(unix.SYS_OPEN, "open"),
	path(unix.SYS_CREAT, "creat"),
	path(unix.SYS_OPENAT, "openat", at(0, 1)),
	path(unix.SYS_OPENAT2, "openat2", at(0, 1)),
	path(unix.SYS_STAT, "stat"),
	path(unix.SYS_LSTAT, "lstat"),
	path(unix.SYS_NEWFSTATAT, "newfstatat", at(0, 1)),
	path(unix.SYS_STATX, "statx", at(0, 1)),
	path(unix.SYS_ACCESS, "access"),
	path(unix.SYS_FACCESSAT, "faccessat", at(0, 1)),
	path(unix.SYS_FACCESSAT2, "faccessat2", at(0, 1)),
	path(unix.SYS_READLINK, "readlink"),
	path(unix.SYS_READLINKAT, "readlinkat", at(0, 1)),
	path(unix.SYS_MKDIR, "mkdir"),
	path(unix.SYS_MKDIRAT, "mkdirat", at(0, 1)),
	path(unix.SYS_RMDIR, "rmdir"),
	path(unix.SYS_UNLINK, "unlink"),
	path(unix.SYS_UNLINKAT, "unlinkat", at(0, 1)),
	path(unix.SYS_RENAME, "rename", at(NoDirfd, 0), at(NoDirfd, 1)),
	path(unix.SYS_RENAMEAT, "renameat", at(0, 1), at(2, 3)),
	path(unix.SYS_RENAMEAT2, "renameat2", at(0, 1), at(2, 3)),
	path(unix.SYS_LINK, "link", at(NoDirfd, 0), at(NoDirfd, 1)),
	path(unix.SYS_LINKAT, "linkat", at(0, 1), at(2, 3)),
	// A symlink's target is its content, not a name to resolve: only the
	// link's own path decides.
	path(unix.SYS_SYMLINK, "symlink", at(NoDirfd, 1)),
	path(unix.SYS_SYMLINKAT, "symlinkat", at(1, 2)),
	path(unix.SYS_CHMOD, "chmod"),
	path(unix.SYS_FCHMODAT, "fchmodat", at(0, 1)),
	path(unix.SYS_FCHMODAT2, "fchmodat2", at(0, 1)),
	path(unix.SYS_CHOWN, "chown"),
	path(unix.SYS_LCHOWN, "lchown"),
	path(unix.SYS_FCHOWNAT, "fchownat", at(0, 1)),
	path(unix.SYS_TRUNCATE, "truncate"),
	path(unix.SYS_UTIME, "utime"),
	path(unix.SYS_UTIMES, "utimes"),
	path(unix.SYS_UTIMENSAT, "utimensat", at(0, 1)),
	path(unix.SYS_FUTIMESAT, "futimesat", at(0, 1)),
	path(unix.SYS_CHDIR, "chdir"),
	path(unix.SYS_MKNOD, "mknod"),
	path(unix.SYS_MKNODAT, "mknodat", at(0, 1)),
	path(unix.SYS_STATFS, "statfs"),
	path(unix.SYS_EXECVE, "execve"),
	path(unix.SYS_EXECVEAT, "execveat", at(0, 1)),
	path(unix.SYS_GETXATTR, "getxattr"),
	path(unix.SYS_LGETXATTR, "lgetxattr"),
	path(unix.SYS_SETXATTR, "setxattr"),
	path(unix.SYS_LSETXATTR, "lsetxattr"),
	path(unix.SYS_LISTXATTR, "listxattr"),
	path(unix.SYS_LLISTXATTR, "llistxattr"),
	path(unix.SYS_REMOVEXATTR, "removexattr"),
	path(unix.SYS_LREMOVEXATTR, "lremovexattr"),
	path(unix.SYS_INOTIFY_ADD_WATCH, "inotify_add_watch", at(NoDirfd, 1)),
	path(unix.SYS_NAME_TO_HANDLE_AT, "name_to_handle_at", at(0, 1)),
	{Nr: unix.SYS_GETCWD, Name: "getcwd", Class: ClassCwd},
	{Nr: unix.SYS_FCHDIR, Name: "fchdir", Class: ClassCwd, FDs: []int{0}},

	fd(unix.SYS_READ, "read"),
	fd(unix.SYS_WRITE, "write"),
	fd(unix.SYS_PREAD64, "pread64"),
	fd(unix.SYS_PWRITE64, "pwrite64"),
	fd(unix.SYS_READV, "readv"),
	fd(unix.SYS_WRITEV, "writev"),
	fd(unix.SYS_PREADV, "preadv"),
	fd(unix.SYS_PWRITEV, "pwritev"),
	fd(unix.SYS_PREADV2, "preadv2"),
	fd(unix.SYS_PWRITEV2, "pwritev2"),
	fd(unix.SYS_CLOSE, "close"),
	// close_range is trapped by its last descriptor: a range that ends
	// below fdoff cannot touch a shadow.
	fd(unix.SYS_CLOSE_RANGE, "close_range", 1),
	fd(unix.SYS_FSTAT, "fstat"),
	fd(unix.SYS_LSEEK, "lseek"),
	fd(unix.SYS_IOCTL, "ioctl"),
	fd(unix.SYS_FCNTL, "fcntl"),
	fd(unix.SYS_FLOCK, "flock"),
	fd(unix.SYS_FSYNC, "fsync"),
	fd(unix.SYS_FDATASYNC, "fdatasync"),
	fd(unix.SYS_SYNC_FILE_RANGE, "sync_file_range"),
	fd(unix.SYS_SYNCFS, "syncfs"),
	fd(unix.SYS_FTRUNCATE, "ftruncate"),
	fd(unix.SYS_GETDENTS, "getdents"),
	fd(unix.SYS_GETDENTS64, "getdents64"),
	fd(unix.SYS_FCHMOD, "fchmod"),
	fd(unix.SYS_FCHOWN, "fchown"),
	fd(unix.SYS_FSTATFS, "fstatfs"),
	fd(unix.SYS_FADVISE64, "fadvise64"),
	fd(unix.SYS_READAHEAD, "readahead"),
	fd(unix.SYS_FALLOCATE, "fallocate"),
	fd(unix.SYS_FGETXATTR, "fgetxattr"),
	fd(unix.SYS_FSETXATTR, "fsetxattr"),
	fd(unix.SYS_FLISTXATTR, "flistxattr"),
	fd(unix.SYS_FREMOVEXATTR, "fremovexattr"),
	fd(unix.SYS_DUP, "dup"),
	fd(unix.SYS_DUP2, "dup2", 0, 1),
	fd(unix.SYS_DUP3, "dup3", 0, 1),
	// mmap is trapped only for file mappings; see the filter.
	fd(unix.SYS_MMAP, "mmap", 4),
	fd(unix.SYS_BIND, "bind"),
	fd(unix.SYS_CONNECT, "connect"),
	fd(unix.SYS_LISTEN, "listen"),
	fd(unix.SYS_ACCEPT, "accept"),
	fd(unix.SYS_ACCEPT4, "accept4"),
	fd(unix.SYS_GETSOCKNAME, "getsockname"),
	fd(unix.SYS_GETPEERNAME, "getpeername"),
	fd(unix.SYS_SETSOCKOPT, "setsockopt"),
	fd(unix.SYS_GETSOCKOPT, "getsockopt"),
	fd(unix.SYS_SHUTDOWN, "shutdown"),
	fd(unix.SYS_SENDTO, "sendto"),
	fd(unix.SYS_RECVFROM, "recvfrom"),
	fd(unix.SYS_SENDMSG, "sendmsg"),
	fd(unix.SYS_RECVMSG, "recvmsg"),
	fd(unix.SYS_SENDMMSG, "sendmmsg"),
	fd(unix.SYS_RECVMMSG, "recvmmsg"),
	// Calls that move data inside the host kernel must never reach a
	// shadow untrapped.
	fd(unix.SYS_SENDFILE, "sendfile", 0, 1),
	fd(unix.SYS_SPLICE, "splice", 0, 2),
	fd(unix.SYS_TEE, "tee", 0, 1),
	fd(unix.SYS_VMSPLICE, "vmsplice"),
	fd(unix.SYS_COPY_FILE_RANGE, "copy_file_range", 0, 2),

	{Nr: unix.SYS_SYNC, Name: "sync", Class: ClassSync},
	// Its handle says whether it is a rump kernel's, which only the
	// handler reads.
	{Nr: unix.SYS_OPEN_BY_HANDLE_AT, Name: "open_by_handle_at", Class: ClassVFS,
		VFS: "fhcalls"},

	{Nr: unix.SYS_SOCKET, Name: "socket", Class: ClassSocket},
	{Nr: unix.SYS_SOCKETPAIR, Name: "socketpair", Class: ClassSocket},
}

var byNr = func() map[int]*Syscall {
	m := make(map[int]*Syscall, len(Syscalls))
	for i := range Syscalls {
		m[Syscalls[i].Nr] = &Syscalls[i]
	}
	return m
}()

// Lookup returns the description of system call nr, or nil when no filter
// traps it.
func Lookup(nr int) *Syscall { return byNr[nr] }
