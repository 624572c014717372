package rumpserver

import (
	"encoding/binary"
	"errors"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// maxArgs is the most argument slots a handled call declares.
const maxArgs = 8

// call is one system call in progress: its process, its connection, for
// reaching client memory, and its argument slots.
type call struct {
	c     *conn
	p     *process
	k     *kernel
	nr    netbsd.Sysno
	reqno uint64
	args  [maxArgs]uint64
	// rv1 is the second return register, for the calls that have one.
	rv1 int64
	// reading tells that the call runs on the connection's reader (see
	// conn); only the call's goroutine uses it.
	reading bool
	// out holds the COPYOUT frames not yet written (see copy.go).
	out []byte
}

// handler performs a call and returns retval[0], or a NetBSD errno.
type handler func(*call) (int64, netbsd.Errno)

// newCall decodes a SYSCALL frame. The real server does not check the
// argument block's size: a short block makes it read whatever follows. Here
// the block is zero-filled, as rumpclient fills it, so missing slots read
// as 0 and extra ones are ignored.
func newCall(c *conn, f sysproxy.Frame) *call {
	cl := &call{c: c, p: c.proc, k: c.s.k, nr: netbsd.Sysno(f.U), reqno: f.Reqno}
	for i := range cl.args {
		if i*8 >= len(f.Payload) {
			break
		}
		var slot [8]byte
		copy(slot[:], f.Payload[i*8:])
		cl.args[i] = binary.LittleEndian.Uint64(slot[:])
	}
	return cl
}

// run dispatches the call by number. Numbers without a handler, including
// those at or above NetBSD's table size and those a rump kernel never has
// (fork, execve, mmap), fail with ENOSYS, as the calls of a component the
// server lacks do. Failed calls leave both return registers 0, as the kernel
// leaves them.
func (cl *call) run() sysproxy.SyscallResult {
	var h handler
	if cl.nr < netbsd.MaxSysno {
		h = handlers[cl.nr]
	}
	if h == nil {
		return sysproxy.SyscallResult{Error: int32(netbsd.ENOSYS)}
	}
	rv, e := h(cl)
	if e != 0 {
		return sysproxy.SyscallResult{Error: int32(e)}
	}
	return sysproxy.SyscallResult{Retval: [2]int64{rv, cl.rv1}}
}

// Slot accessors. The kernel reads each slot at its argument's C width from
// offset 0, so an int argument is the low 4 bytes whatever the rest holds.
func (cl *call) int(i int) int32   { return int32(uint32(cl.args[i])) }
func (cl *call) uint(i int) uint32 { return uint32(cl.args[i]) }
func (cl *call) long(i int) int64  { return int64(cl.args[i]) }
func (cl *call) ptr(i int) uint64  { return cl.args[i] }

// copyinInt reads a 4-byte int, such as a socklen_t.
func (cl *call) copyinInt(addr uint64) (int32, netbsd.Errno) {
	b, e := cl.copyin(addr, 4)
	if e != 0 {
		return 0, e
	}
	return int32(binary.LittleEndian.Uint32(b)), 0
}

// copyoutInt writes a 4-byte int.
func (cl *call) copyoutInt(addr uint64, v int32) netbsd.Errno {
	return cl.copyout(addr, binary.LittleEndian.AppendUint32(nil, uint32(v)))
}

// copyinPath reads a path argument, MAXPATHLEN bytes at most. An empty path
// names nothing (ENOENT), as NetBSD's namei has it.
func (cl *call) copyinPath(addr uint64) (string, netbsd.Errno) {
	s, e := cl.copyinstr(addr, maxPath)
	if e != 0 {
		return "", e
	}
	if s == "" {
		return "", netbsd.ENOENT
	}
	return s, 0
}

// toErrno translates a host error into the NetBSD errno the call answers.
// Errors that are not errnos, which no host call returns, become EIO.
func toErrno(err error) netbsd.Errno {
	if err == nil {
		return 0
	}
	var en unix.Errno
	if errors.As(err, &en) {
		return netbsd.ErrnoFromLinux(en)
	}
	return netbsd.EIO
}

// handlers holds every call the kernel implements, by NetBSD number. It is
// set in init, since handlers reach the connection's reader through their
// copy requests and the reader runs calls through it.
var handlers map[netbsd.Sysno]handler

func init() { handlers = handlerTable }

var handlerTable = map[netbsd.Sysno]handler{
	// Descriptors and data.
	netbsd.SYS_READ:           (*call).sysRead,
	netbsd.SYS_WRITE:          (*call).sysWrite,
	netbsd.SYS_PREAD:          (*call).sysPread,
	netbsd.SYS_PWRITE:         (*call).sysPwrite,
	netbsd.SYS_READV:          (*call).sysReadv,
	netbsd.SYS_WRITEV:         (*call).sysWritev,
	netbsd.SYS_PREADV:         (*call).sysPreadv,
	netbsd.SYS_PWRITEV:        (*call).sysPwritev,
	netbsd.SYS_LSEEK:          (*call).sysLseek,
	netbsd.SYS_CLOSE:          (*call).sysClose,
	netbsd.SYS_DUP:            (*call).sysDup,
	netbsd.SYS_DUP2:           (*call).sysDup2,
	netbsd.SYS_DUP3:           (*call).sysDup3,
	netbsd.SYS_FCNTL:          (*call).sysFcntl,
	netbsd.SYS_IOCTL:          (*call).sysIoctl,
	netbsd.SYS_FLOCK:          (*call).sysFlock,
	netbsd.SYS_FSYNC:          (*call).sysFsync,
	netbsd.SYS_FDATASYNC:      (*call).sysFdatasync,
	netbsd.SYS_FTRUNCATE:      (*call).sysFtruncate,
	netbsd.SYS___FSTAT50:      (*call).sysFstat,
	netbsd.SYS_FCHMOD:         (*call).sysFchmod,
	netbsd.SYS_FCHOWN:         (*call).sysFchown,
	netbsd.SYS___POSIX_FCHOWN: (*call).sysFchown,
	netbsd.SYS_FCHDIR:         (*call).sysFchdir,
	netbsd.SYS_FSTATVFS1:      (*call).sysFstatvfs1,
	netbsd.SYS___GETDENTS30:   (*call).sysGetdents,
	netbsd.SYS___FUTIMES50:    (*call).sysFutimes,
	netbsd.SYS_FUTIMENS:       (*call).sysFutimens,
	netbsd.SYS_PIPE:           (*call).sysPipe,
	netbsd.SYS_PIPE2:          (*call).sysPipe2,

	netbsd.SYS_POSIX_FALLOCATE: (*call).sysPosixFallocate,

	// Paths.
	netbsd.SYS_OPEN:           (*call).sysOpen,
	netbsd.SYS_OPENAT:         (*call).sysOpenat,
	netbsd.SYS___STAT50:       (*call).sysStat,
	netbsd.SYS___LSTAT50:      (*call).sysLstat,
	netbsd.SYS_FSTATAT:        (*call).sysFstatat,
	netbsd.SYS_ACCESS:         (*call).sysAccess,
	netbsd.SYS_FACCESSAT:      (*call).sysFaccessat,
	netbsd.SYS_READLINK:       (*call).sysReadlink,
	netbsd.SYS_READLINKAT:     (*call).sysReadlinkat,
	netbsd.SYS_CHMOD:          (*call).sysChmod,
	netbsd.SYS_LCHMOD:         (*call).sysLchmod,
	netbsd.SYS_FCHMODAT:       (*call).sysFchmodat,
	netbsd.SYS_CHOWN:          (*call).sysChown,
	netbsd.SYS___POSIX_CHOWN:  (*call).sysChown,
	netbsd.SYS_LCHOWN:         (*call).sysLchown,
	netbsd.SYS___POSIX_LCHOWN: (*call).sysLchown,
	netbsd.SYS_FCHOWNAT:       (*call).sysFchownat,
	netbsd.SYS_TRUNCATE:       (*call).sysTruncate,
	netbsd.SYS_STATVFS1:       (*call).sysStatvfs1,
	netbsd.SYS_GETVFSSTAT:     (*call).sysGetvfsstat,
	netbsd.SYS___GETFH30:      (*call).sysGetfh,
	netbsd.SYS___FHOPEN40:     (*call).sysFhopen,
	netbsd.SYS___UTIMES50:     (*call).sysUtimes,
	netbsd.SYS___LUTIMES50:    (*call).sysLutimes,
	netbsd.SYS_UTIMENSAT:      (*call).sysUtimensat,
	netbsd.SYS_MKDIR:          (*call).sysMkdir,
	netbsd.SYS_MKDIRAT:        (*call).sysMkdirat,
	netbsd.SYS___MKNOD50:      (*call).sysMknod,
	netbsd.SYS_MKNODAT:        (*call).sysMknodat,
	netbsd.SYS_MKFIFO:         (*call).sysMkfifo,
	netbsd.SYS_MKFIFOAT:       (*call).sysMkfifoat,
	netbsd.SYS_UNLINK:         (*call).sysUnlink,
	netbsd.SYS_RMDIR:          (*call).sysRmdir,
	netbsd.SYS_UNLINKAT:       (*call).sysUnlinkat,
	netbsd.SYS_RENAME:         (*call).sysRename,
	netbsd.SYS___POSIX_RENAME: (*call).sysRename,
	netbsd.SYS_RENAMEAT:       (*call).sysRenameat,
	netbsd.SYS_LINK:           (*call).sysLink,
	netbsd.SYS_LINKAT:         (*call).sysLinkat,
	netbsd.SYS_SYMLINK:        (*call).sysSymlink,
	netbsd.SYS_SYMLINKAT:      (*call).sysSymlinkat,
	netbsd.SYS_CHDIR:          (*call).sysChdir,
	netbsd.SYS___GETCWD:       (*call).sysGetcwd,
	netbsd.SYS_UMASK:          (*call).sysUmask,
	netbsd.SYS_SYNC:           (*call).sysSync,

	// Sockets and readiness.
	netbsd.SYS___SOCKET30:  (*call).sysSocket,
	netbsd.SYS_SOCKETPAIR:  (*call).sysSocketpair,
	netbsd.SYS_BIND:        (*call).sysBind,
	netbsd.SYS_CONNECT:     (*call).sysConnect,
	netbsd.SYS_LISTEN:      (*call).sysListen,
	netbsd.SYS_ACCEPT:      (*call).sysAccept,
	netbsd.SYS_PACCEPT:     (*call).sysPaccept,
	netbsd.SYS_GETSOCKNAME: (*call).sysGetsockname,
	netbsd.SYS_GETPEERNAME: (*call).sysGetpeername,
	netbsd.SYS_SHUTDOWN:    (*call).sysShutdown,
	netbsd.SYS_SETSOCKOPT:  (*call).sysSetsockopt,
	netbsd.SYS_GETSOCKOPT:  (*call).sysGetsockopt,
	netbsd.SYS_SENDTO:      (*call).sysSendto,
	netbsd.SYS_RECVFROM:    (*call).sysRecvfrom,
	netbsd.SYS_SENDMSG:     (*call).sysSendmsg,
	netbsd.SYS_RECVMSG:     (*call).sysRecvmsg,
	netbsd.SYS_POLL:        (*call).sysPoll,
	netbsd.SYS___POLLTS50:  (*call).sysPollts,

	// Process.
	netbsd.SYS_GETPID:    (*call).sysGetpid,
	netbsd.SYS_GETPPID:   (*call).sysGetppid,
	netbsd.SYS_GETUID:    (*call).sysGetuid,
	netbsd.SYS_GETEUID:   (*call).sysGetuid,
	netbsd.SYS_GETGID:    (*call).sysGetuid,
	netbsd.SYS_GETEGID:   (*call).sysGetuid,
	netbsd.SYS_ISSETUGID: (*call).sysIssetugid,
	netbsd.SYS___SYSCTL:  (*call).sysSysctl,
}
