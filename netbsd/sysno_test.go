package netbsd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// d2Calls is the syscall table of SYSPROXY.md D.2, typed in from the document
// (slot names in order, PAD included, and the component letter), not from
// the implementation.
var d2Calls = []struct {
	nr    Sysno
	name  string
	slots string
	comp  string
}{
	{3, "read", "fd buf nbyte", "K"},
	{4, "write", "fd buf nbyte", "K"},
	{5, "open", "path flags mode", "V"},
	{6, "close", "fd", "K"},
	{9, "link", "path link", "V"},
	{10, "unlink", "path", "V"},
	{12, "chdir", "path", "V"},
	{13, "fchdir", "fd", "V"},
	{15, "chmod", "path mode", "V"},
	{16, "chown", "path uid gid", "V"},
	{20, "getpid", "", "K"},
	{22, "unmount", "path flags", "V"},
	{27, "recvmsg", "s msg flags", "N"},
	{28, "sendmsg", "s msg flags", "N"},
	{29, "recvfrom", "s buf len flags from fromlenaddr", "N"},
	{30, "accept", "s name anamelen", "N"},
	{31, "getpeername", "fdes asa alen", "N"},
	{32, "getsockname", "fdes asa alen", "N"},
	{33, "access", "path flags", "V"},
	{36, "sync", "", "V"},
	{39, "getppid", "", "K"},
	{41, "dup", "fd", "K"},
	{42, "pipe", "", "K"},
	{54, "ioctl", "fd com data", "K"},
	{57, "symlink", "path link", "V"},
	{58, "readlink", "path buf count", "V"},
	{60, "umask", "newmask", "V"},
	{61, "chroot", "path", "V"},
	{90, "dup2", "from to", "K"},
	{92, "fcntl", "fd cmd arg", "K"},
	{95, "fsync", "fd", "V"},
	{98, "connect", "s name namelen", "N"},
	{104, "bind", "s name namelen", "N"},
	{105, "setsockopt", "s level name val valsize", "N"},
	{106, "listen", "s backlog", "N"},
	{118, "getsockopt", "s level name val avalsize", "N"},
	{120, "readv", "fd iovp iovcnt", "K"},
	{121, "writev", "fd iovp iovcnt", "K"},
	{123, "fchown", "fd uid gid", "V"},
	{124, "fchmod", "fd mode", "V"},
	{128, "rename", "from to", "V"},
	{131, "flock", "fd how", "K"},
	{133, "sendto", "s buf len flags to tolen", "N"},
	{134, "shutdown", "s how", "N"},
	{135, "socketpair", "domain type protocol rsv", "N"},
	{136, "mkdir", "path mode", "V"},
	{137, "rmdir", "path", "V"},
	{173, "pread", "fd buf nbyte PAD offset", "V"},
	{174, "pwrite", "fd buf nbyte PAD offset", "V"},
	{191, "pathconf", "path name", "V"},
	{192, "fpathconf", "fd name", "K"},
	{199, "lseek", "fd PAD offset whence", "V"},
	{200, "truncate", "path PAD length", "V"},
	{201, "ftruncate", "fd PAD length", "V"},
	{202, "__sysctl", "name namelen oldv oldlenp newv newlen", "K"},
	{208, "reboot", "opt bootstr", "K"},
	{209, "poll", "fds nfds timeout", "K"},
	{241, "fdatasync", "fd", "V"},
	{270, "__posix_rename", "from to", "V"},
	{274, "lchmod", "path mode", "V"},
	{275, "lchown", "path uid gid", "V"},
	{283, "__posix_chown", "path uid gid", "V"},
	{289, "preadv", "fd iovp iovcnt PAD offset", "V"},
	{290, "pwritev", "fd iovp iovcnt PAD offset", "V"},
	{296, "__getcwd", "bufp length", "V"},
	{297, "fchroot", "fd", "V"},
	{344, "kqueue", "", "K"},
	{354, "fsync_range", "fd flags start length", "V"},
	{356, "getvfsstat", "buf bufsize flags", "V"},
	{357, "statvfs1", "path buf flags", "V"},
	{358, "fstatvfs1", "fd buf flags", "V"},
	{390, "__getdents30", "fd buf count", "V"},
	{394, "__socket30", "domain type protocol", "N"},
	{395, "__getfh30", "fname fhp fh_size", "V"},
	{396, "__fhopen40", "fhp fh_size flags", "V"},
	{410, "__mount50", "type path flags data data_len", "V"},
	{416, "__posix_fadvise50", "fd PAD offset len advice", "K"},
	{417, "__select50", "nd in ou ex tv", "K"},
	{420, "__utimes50", "path tptr", "V"},
	{423, "__futimes50", "fd tptr", "V"},
	{424, "__lutimes50", "path tptr", "V"},
	{430, "__nanosleep50", "rqtp rmtp", "K"},
	{435, "__kevent50", "fd changelist nchanges eventlist nevents timeout", "K"},
	{436, "__pselect50", "nd in ou ex ts mask", "K"},
	{437, "__pollts50", "fds nfds ts mask", "K"},
	{439, "__stat50", "path ub", "V"},
	{440, "__fstat50", "fd sb", "K"},
	{441, "__lstat50", "path ub", "V"},
	{450, "__mknod50", "path mode dev", "V"},
	{453, "pipe2", "fildes flags", "K"},
	{454, "dup3", "from to flags", "K"},
	{455, "kqueue1", "flags", "K"},
	{456, "paccept", "s name anamelen mask flags", "N"},
	{457, "linkat", "fd1 name1 fd2 name2 flags", "V"},
	{458, "renameat", "fromfd from tofd to", "V"},
	{459, "mkfifoat", "fd path mode", "V"},
	{460, "mknodat", "fd path mode PAD dev", "V"},
	{461, "mkdirat", "fd path mode", "V"},
	{462, "faccessat", "fd path amode flag", "V"},
	{463, "fchmodat", "fd path mode flag", "V"},
	{464, "fchownat", "fd path owner group flag", "V"},
	{466, "fstatat", "fd path buf flag", "V"},
	{467, "utimensat", "fd path tptr flag", "V"},
	{468, "openat", "fd path oflags mode", "V"},
	{469, "readlinkat", "fd path buf bufsize", "V"},
	{470, "symlinkat", "path1 fd path2", "V"},
	{471, "unlinkat", "fd path flag", "V"},
	{472, "futimens", "fd tptr", "V"},
	{475, "recvmmsg", "s mmsg vlen flags timeout", "N"},
	{476, "sendmmsg", "s mmsg vlen flags", "N"},
	{479, "posix_fallocate", "fd PAD pos len", "V"},
	{480, "fdiscard", "fd PAD pos len", "V"},
}

// d2Also lists the calls of D.2's "also present" paragraph with their
// components. The document gives fktrace (288) to librumpvfs; the rump
// kernel's own list (rumpkern_syscalls.c) has it in librump, which is what
// the implementation follows, so that row says K.
var d2Also = []struct {
	nr   Sysno
	comp string
}{
	{23, "K"}, {24, "K"}, {25, "K"}, {43, "K"}, {47, "K"}, {49, "K"}, {50, "K"},
	{79, "K"}, {80, "K"}, {81, "K"}, {82, "K"}, {126, "K"}, {127, "K"}, {147, "K"},
	{181, "K"}, {182, "K"}, {183, "K"}, {194, "K"}, {195, "K"}, {207, "K"},
	{235, "K"}, {236, "K"}, {239, "K"}, {446, "K"}, {447, "K"}, {246, "K"},
	{286, "K"}, {305, "K"}, {418, "K"}, {419, "K"}, {421, "K"}, {425, "K"},
	{426, "K"}, {427, "K"}, {428, "K"}, {429, "K"}, {477, "K"},
	{34, "V"}, {35, "V"}, {304, "V"}, {45, "V"}, {288, "K"}, {56, "V"}, {132, "V"},
	{360, "V"}, {375, "V"}, {386, "V"}, {473, "V"}, {135, "N"},
	{1, "-"}, {2, "-"}, {7, "-"}, {37, "-"}, {59, "-"}, {197, "-"},
}

var componentLetter = map[Component]string{
	NotInRump: "-", Librump: "K", Librumpvfs: "V", Librumpnet: "N",
}

func slotNames(c Call) string {
	var names []string
	for _, a := range c.Args {
		names = append(names, a.Name)
	}
	return strings.Join(names, " ")
}

func TestSyscallTableMatchesD2(t *testing.T) {
	for _, want := range d2Calls {
		t.Run(fmt.Sprintf("%s is number %d with slots (%s)", want.name, want.nr, want.slots),
			func(t *testing.T) {
				c, ok := Lookup(want.nr)
				if !ok {
					t.Fatalf("Lookup(%d) found nothing", want.nr)
				}
				if c.Name != want.name {
					t.Errorf("name = %q, want %q", c.Name, want.name)
				}
				if got := slotNames(c); got != want.slots {
					t.Errorf("slots = (%s), want (%s)", got, want.slots)
				}
				if got := componentLetter[c.Component]; got != want.comp {
					t.Errorf("component = %s, want %s", got, want.comp)
				}
			})
	}
	for _, want := range d2Also {
		t.Run(fmt.Sprintf("number %d is in component %s", want.nr, want.comp), func(t *testing.T) {
			c, ok := Lookup(want.nr)
			if !ok {
				t.Fatalf("Lookup(%d) found nothing", want.nr)
			}
			if got := componentLetter[c.Component]; got != want.comp {
				t.Errorf("component = %s, want %s", got, want.comp)
			}
		})
	}
}

func TestResultKindsFollowA8(t *testing.T) {
	noErr := map[Sysno]bool{20: true, 24: true, 25: true, 36: true, 39: true, 43: true,
		47: true, 305: true, 416: true, 477: true, 479: true}
	errnoResult := map[Sysno]bool{416: true, 477: true, 479: true}
	two := map[Sysno]bool{20: true, 24: true, 47: true, 42: true}
	for _, nr := range Sysnos() {
		c, _ := Lookup(nr)
		t.Run(fmt.Sprintf("%s reports its result as A.8 says", c.Name), func(t *testing.T) {
			if c.NoErr != noErr[nr] || c.ErrnoResult != errnoResult[nr] ||
				c.TwoResults != two[nr] {
				t.Errorf("NoErr %v ErrnoResult %v TwoResults %v, want %v %v %v",
					c.NoErr, c.ErrnoResult, c.TwoResults, noErr[nr], errnoResult[nr], two[nr])
			}
		})
	}
}

func TestEveryNumberIsBelowTheServerLimit(t *testing.T) {
	for _, nr := range Sysnos() {
		if nr >= MaxSysno {
			t.Errorf("%v = %d is not below %d", nr, nr, MaxSysno)
		}
	}
}

func TestArgBlock(t *testing.T) {
	slot := func(vs ...uint64) []byte {
		b := make([]byte, 0, 8*len(vs))
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, v)
		}
		return b
	}
	tests := []struct {
		name string
		nr   Sysno
		args []uint64
		want []byte
	}{
		{"lseek puts a zero PAD slot before the offset", SYS_LSEEK,
			[]uint64{3, 1 << 40, 2}, slot(3, 0, 1<<40, 2)},
		{"pread has five slots for four arguments", SYS_PREAD,
			[]uint64{4, 0x10000, 512, 4096}, slot(4, 0x10000, 512, 0, 4096)},
		{"an int argument keeps only its low 32 bits", SYS_OPENAT,
			[]uint64{0xffffffffffffff9c, 0x10000, 0x200, 0o644},
			slot(0xffffff9c, 0x10000, 0x200, 0o644)},
		{"a pointer keeps all 64 bits", SYS_READ,
			[]uint64{0, 0x7fff_0000_1234, 1}, slot(0, 0x7fff_0000_1234, 1)},
		{"getpid sends an empty payload", SYS_GETPID, nil, []byte{}},
		{"mknodat pads before the 64-bit dev", SYS_MKNODAT,
			[]uint64{5, 0x1000, 0o20644, 0x0102}, slot(5, 0x1000, 0o20644, 0, 0x0102)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ArgBlock(tt.nr, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ArgBlock (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a wrong argument count is refused", func(t *testing.T) {
		if _, err := ArgBlock(SYS_LSEEK, 3, 0, 0, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	})
	t.Run("an unknown number is refused", func(t *testing.T) {
		if _, err := ArgBlock(511); !errors.Is(err, ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	})
	t.Run("every block is eight bytes a slot", func(t *testing.T) {
		for _, nr := range Sysnos() {
			c, _ := Lookup(nr)
			b, err := c.ArgBlock(make([]uint64, c.Declared())...)
			if err != nil || len(b) != 8*len(c.Args) {
				t.Errorf("%s: %d bytes, %v; want %d", c.Name, len(b), err, 8*len(c.Args))
			}
		}
	})
}

func TestLookupReturnsACopy(t *testing.T) {
	c, _ := Lookup(SYS_READ)
	c.Args[0].Name = "changed"
	if again, _ := Lookup(SYS_READ); again.Args[0].Name != "fd" {
		t.Errorf("the table changed through a Lookup result: %q", again.Args[0].Name)
	}
}

func TestSysnoString(t *testing.T) {
	for n, want := range map[Sysno]string{SYS___STAT50: "__stat50", 999: "sysno(999)"} {
		if got := n.String(); got != want {
			t.Errorf("Sysno(%d).String() = %q, want %q", n, got, want)
		}
	}
}

// d2Linux is the Linux column of D.2 for the direct mappings, the Linux
// numbers written from the document and checked against x/sys/unix.
var d2Linux = []struct {
	name    string
	nr, sys int
	netbsd  Sysno
	args    int
}{
	{"read", 0, unix.SYS_READ, 3, 3},
	{"write", 1, unix.SYS_WRITE, 4, 3},
	{"open", 2, unix.SYS_OPEN, 5, 3},
	{"close", 3, unix.SYS_CLOSE, 6, 1},
	{"stat", 4, unix.SYS_STAT, 439, 2},
	{"fstat", 5, unix.SYS_FSTAT, 440, 2},
	{"lstat", 6, unix.SYS_LSTAT, 441, 2},
	{"poll", 7, unix.SYS_POLL, 209, 3},
	{"lseek", 8, unix.SYS_LSEEK, 199, 3},
	{"ioctl", 16, unix.SYS_IOCTL, 54, 3},
	{"pread64", 17, unix.SYS_PREAD64, 173, 4},
	{"pwrite64", 18, unix.SYS_PWRITE64, 174, 4},
	{"readv", 19, unix.SYS_READV, 120, 3},
	{"writev", 20, unix.SYS_WRITEV, 121, 3},
	{"access", 21, unix.SYS_ACCESS, 33, 2},
	{"select", 23, unix.SYS_SELECT, 417, 5},
	{"dup", 32, unix.SYS_DUP, 41, 1},
	{"dup2", 33, unix.SYS_DUP2, 90, 2},
	{"getpid", 39, unix.SYS_GETPID, 20, 0},
	{"socket", 41, unix.SYS_SOCKET, 394, 3},
	{"connect", 42, unix.SYS_CONNECT, 98, 3},
	{"accept with Linux semantics", 43, unix.SYS_ACCEPT, 456, 3},
	{"sendto", 44, unix.SYS_SENDTO, 133, 6},
	{"recvfrom", 45, unix.SYS_RECVFROM, 29, 6},
	{"sendmsg", 46, unix.SYS_SENDMSG, 28, 3},
	{"recvmsg", 47, unix.SYS_RECVMSG, 27, 3},
	{"shutdown", 48, unix.SYS_SHUTDOWN, 134, 2},
	{"bind", 49, unix.SYS_BIND, 104, 3},
	{"listen", 50, unix.SYS_LISTEN, 106, 2},
	{"getsockname", 51, unix.SYS_GETSOCKNAME, 32, 3},
	{"getpeername", 52, unix.SYS_GETPEERNAME, 31, 3},
	{"socketpair", 53, unix.SYS_SOCKETPAIR, 135, 4},
	{"setsockopt", 54, unix.SYS_SETSOCKOPT, 105, 5},
	{"getsockopt", 55, unix.SYS_GETSOCKOPT, 118, 5},
	{"fcntl", 72, unix.SYS_FCNTL, 92, 3},
	{"flock", 73, unix.SYS_FLOCK, 131, 2},
	{"fsync", 74, unix.SYS_FSYNC, 95, 1},
	{"fdatasync", 75, unix.SYS_FDATASYNC, 241, 1},
	{"truncate", 76, unix.SYS_TRUNCATE, 200, 2},
	{"ftruncate", 77, unix.SYS_FTRUNCATE, 201, 2},
	{"getdents", 78, unix.SYS_GETDENTS, 390, 3},
	{"getcwd", 79, unix.SYS_GETCWD, 296, 2},
	{"chdir", 80, unix.SYS_CHDIR, 12, 1},
	{"fchdir", 81, unix.SYS_FCHDIR, 13, 1},
	{"rename", 82, unix.SYS_RENAME, 270, 2},
	{"mkdir", 83, unix.SYS_MKDIR, 136, 2},
	{"rmdir", 84, unix.SYS_RMDIR, 137, 1},
	{"link", 86, unix.SYS_LINK, 9, 2},
	{"unlink", 87, unix.SYS_UNLINK, 10, 1},
	{"symlink", 88, unix.SYS_SYMLINK, 57, 2},
	{"readlink", 89, unix.SYS_READLINK, 58, 3},
	{"chmod", 90, unix.SYS_CHMOD, 15, 2},
	{"fchmod", 91, unix.SYS_FCHMOD, 124, 2},
	{"chown", 92, unix.SYS_CHOWN, 283, 3},
	{"fchown", 93, unix.SYS_FCHOWN, 284, 3},
	{"lchown", 94, unix.SYS_LCHOWN, 285, 3},
	{"umask", 95, unix.SYS_UMASK, 60, 1},
	{"getppid", 110, unix.SYS_GETPPID, 39, 0},
	{"mknod", 133, unix.SYS_MKNOD, 450, 3},
	{"statfs", 137, unix.SYS_STATFS, 357, 2},
	{"fstatfs", 138, unix.SYS_FSTATFS, 358, 2},
	{"chroot", 161, unix.SYS_CHROOT, 61, 1},
	{"sync", 162, unix.SYS_SYNC, 36, 0},
	{"umount2", 166, unix.SYS_UMOUNT2, 22, 2},
	{"getdents64", 217, unix.SYS_GETDENTS64, 390, 3},
	{"fadvise64", 221, unix.SYS_FADVISE64, 416, 4},
	{"utimes", 235, unix.SYS_UTIMES, 420, 2},
	{"openat", 257, unix.SYS_OPENAT, 468, 4},
	{"mkdirat", 258, unix.SYS_MKDIRAT, 461, 3},
	{"mknodat", 259, unix.SYS_MKNODAT, 460, 4},
	{"fchownat", 260, unix.SYS_FCHOWNAT, 464, 5},
	{"newfstatat", 262, unix.SYS_NEWFSTATAT, 466, 4},
	{"unlinkat", 263, unix.SYS_UNLINKAT, 471, 3},
	{"renameat", 264, unix.SYS_RENAMEAT, 458, 4},
	{"linkat", 265, unix.SYS_LINKAT, 457, 5},
	{"symlinkat", 266, unix.SYS_SYMLINKAT, 470, 3},
	{"readlinkat", 267, unix.SYS_READLINKAT, 469, 4},
	{"fchmodat", 268, unix.SYS_FCHMODAT, 463, 3},
	{"faccessat", 269, unix.SYS_FACCESSAT, 462, 3},
	{"utimensat", 280, unix.SYS_UTIMENSAT, 467, 4},
	{"dup3", 292, unix.SYS_DUP3, 454, 3},
	{"pipe2", 293, unix.SYS_PIPE2, 453, 2},
	{"preadv", 295, unix.SYS_PREADV, 289, 4},
	{"pwritev", 296, unix.SYS_PWRITEV, 290, 4},
	{"recvmmsg", 299, unix.SYS_RECVMMSG, 475, 5},
	{"sendmmsg", 307, unix.SYS_SENDMMSG, 476, 4},
	{"faccessat2", 439, unix.SYS_FACCESSAT2, 462, 4},
	{"fchmodat2", 452, unix.SYS_FCHMODAT2, 463, 4},
}

func TestSyscallFromLinuxFollowsD2(t *testing.T) {
	for _, want := range d2Linux {
		t.Run(fmt.Sprintf("Linux %s (%d) is served by NetBSD %d", want.name, want.nr, want.netbsd),
			func(t *testing.T) {
				if want.nr != want.sys {
					t.Fatalf("x/sys/unix numbers %s %d, the document %d",
						want.name, want.sys, want.nr)
				}
				got, ok := SyscallFromLinux(want.nr)
				if !ok {
					t.Fatalf("no mapping")
				}
				if diff := cmp.Diff(LinuxCall{want.netbsd, want.args}, got); diff != "" {
					t.Errorf("SyscallFromLinux (-want +got):\n%s", diff)
				}
				c, _ := Lookup(got.Sysno)
				if got.Args > c.Declared() {
					t.Errorf("%d Linux arguments for %d declared", got.Args, c.Declared())
				}
			})
	}
	for _, nr := range []int{unix.SYS_PIPE, unix.SYS_ACCEPT4, unix.SYS_PPOLL, unix.SYS_PSELECT6,
		unix.SYS_RENAMEAT2, unix.SYS_MMAP, unix.SYS_FALLOCATE, unix.SYS_MOUNT} {
		t.Run(fmt.Sprintf("Linux call %d needs emulation, not a direct mapping", nr),
			func(t *testing.T) {
				if got, ok := SyscallFromLinux(nr); ok {
					t.Errorf("SyscallFromLinux(%d) = %+v, want none", nr, got)
				}
			})
	}
	if len(d2Linux) != len(fromLinux) {
		t.Errorf("the test lists %d mappings, the table has %d", len(d2Linux), len(fromLinux))
	}
}
