package rumpserver

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// TestCallSweep makes each of the remaining calls once, in NetBSD's terms,
// and checks what it answers.
func TestCallSweep(t *testing.T) {
	s, _ := newServer(t)
	c := guest(t, s, "sweep")
	fd := uint64(c.ok(netbsd.SYS_OPEN, c.str("/f"), oRDWR|oCREAT, 0o600))
	c.ok(netbsd.SYS_WRITE, fd, c.put([]byte("0123456789")), 10)
	sb, buf := c.alloc(netbsd.StatSize), c.alloc(64)
	vfs := c.alloc(netbsd.StatvfsSize)
	stat := func() netbsd.Stat {
		c.ok(netbsd.SYS___STAT50, c.str("/f"), sb)
		st, _ := netbsd.DecodeStat(c.load(sb, netbsd.StatSize))
		return st
	}
	iov := func(parts ...uint64) uint64 {
		var v []netbsd.Iovec
		for i := 0; i < len(parts); i += 2 {
			v = append(v, netbsd.Iovec{Base: parts[i], Len: parts[i+1]})
		}
		return c.put(netbsd.EncodeIovecs(v))
	}
	times := c.put(append(netbsd.EncodeTimespec(unixTs(1000)), netbsd.EncodeTimespec(
		unixTs(2000))...))

	tests := []struct {
		name  string
		run   func() int64
		want  int64
		check func() bool
	}{
		{name: "pread reads at an offset without moving",
			run: func() int64 { return c.ok(netbsd.SYS_PREAD, fd, buf, 3, 4) }, want: 3,
			check: func() bool { return string(c.load(buf, 3)) == "456" }},
		{name: "pwrite writes at an offset",
			run:  func() int64 { return c.ok(netbsd.SYS_PWRITE, fd, c.put([]byte("ab")), 2, 0) },
			want: 2,
			check: func() bool {
				c.ok(netbsd.SYS_PREAD, fd, buf, 2, 0)
				return string(c.load(buf, 2)) == "ab"
			}},
		{name: "readv scatters",
			run: func() int64 {
				c.ok(netbsd.SYS_LSEEK, fd, 0, 0)
				return c.ok(netbsd.SYS_READV, fd, iov(buf, 2, buf+8, 3), 2)
			}, want: 5,
			check: func() bool {
				return string(c.load(buf, 2))+string(c.load(buf+8, 3)) == "ab234"
			}},
		{name: "writev gathers", want: 4,
			run: func() int64 {
				v := iov(c.put([]byte("xy")), 2, c.put([]byte("zw")), 2)
				return c.ok(netbsd.SYS_WRITEV, fd, v, 2)
			}},
		{name: "fstatat sees the size", want: 0,
			run: func() int64 { return c.ok(netbsd.SYS_FSTATAT, atFdcwd, c.str("f"), sb, 0) },
			check: func() bool {
				st, _ := netbsd.DecodeStat(c.load(sb, netbsd.StatSize))
				return st.Size == 10
			}},
		{name: "fchmod changes the mode", want: 0,
			run:   func() int64 { return c.ok(netbsd.SYS_FCHMOD, fd, 0o640) },
			check: func() bool { return stat().Mode&0o777 == 0o640 }},
		{name: "fchown to the same owner succeeds", want: 0,
			run: func() int64 { return c.ok(netbsd.SYS_FCHOWN, fd, 1<<32-1, 1<<32-1) }},
		{name: "utimensat sets the times", want: 0,
			run: func() int64 { return c.ok(netbsd.SYS_UTIMENSAT, atFdcwd, c.str("/f"), times, 0) },
			check: func() bool {
				st := stat()
				return st.Atim.Sec == 1000 && st.Mtim.Sec == 2000
			}},
		{name: "futimens sets the times through the descriptor", want: 0,
			run:   func() int64 { return c.ok(netbsd.SYS_FUTIMENS, fd, times) },
			check: func() bool { return stat().Mtim.Sec == 2000 }},
		{name: "ftruncate shrinks", want: 0,
			run:   func() int64 { return c.ok(netbsd.SYS_FTRUNCATE, fd, 4) },
			check: func() bool { return stat().Size == 4 }},
		{name: "statvfs1 describes the root", want: 0,
			run: func() int64 { return c.ok(netbsd.SYS_STATVFS1, c.str("/"), vfs, 1) },
			check: func() bool {
				v, _ := netbsd.DecodeStatvfs(c.load(vfs, netbsd.StatvfsSize))
				return v.Mntonname == "/" && v.Bsize > 0
			}},
		{name: "getvfsstat without a buffer counts the file systems", want: 1,
			run: func() int64 { return c.ok(netbsd.SYS_GETVFSSTAT, 0, 0, 1) }},
		{name: "getvfsstat describes the root", want: 1,
			run: func() int64 {
				return c.ok(netbsd.SYS_GETVFSSTAT, vfs, netbsd.StatvfsSize, 1)
			},
			check: func() bool {
				v, _ := netbsd.DecodeStatvfs(c.load(vfs, netbsd.StatvfsSize))
				return v.Mntonname == "/" && v.Blocks > 0
			}},
		{name: "fstatvfs1 works on a file", want: 0,
			run: func() int64 { return c.ok(netbsd.SYS_FSTATVFS1, fd, vfs, 1) }},
		{name: "faccessat finds the file readable", want: 0,
			run: func() int64 {
				return c.ok(netbsd.SYS_FACCESSAT, atFdcwd, c.str("f"), 4, 0)
			}},
		{name: "dup2 onto a free number returns it", want: 20,
			run: func() int64 { return c.ok(netbsd.SYS_DUP2, fd, 20) }},
		{name: "dup3 with O_CLOEXEC marks the copy", want: 1,
			run: func() int64 {
				c.ok(netbsd.SYS_DUP3, fd, 21, netbsd.O_CLOEXEC)
				return c.ok(netbsd.SYS_FCNTL, 21, netbsd.F_GETFD, 0)
			}},
		{name: "F_DUPFD starts at the minimum", want: 30,
			run: func() int64 { return c.ok(netbsd.SYS_FCNTL, fd, netbsd.F_DUPFD, 30) }},
		{name: "F_SETFL O_NONBLOCK shows in F_GETFL", want: netbsd.O_RDWR | netbsd.O_NONBLOCK,
			run: func() int64 {
				c.ok(netbsd.SYS_FCNTL, fd, netbsd.F_SETFL, netbsd.O_NONBLOCK)
				return c.ok(netbsd.SYS_FCNTL, fd, netbsd.F_GETFL, 0)
			}},
		{name: "F_MAXFD is the highest descriptor", want: 30,
			run: func() int64 { return c.ok(netbsd.SYS_FCNTL, 0, netbsd.F_MAXFD, 0) }},
		{name: "F_CLOSEM closes from a number on", want: 20,
			run: func() int64 {
				c.ok(netbsd.SYS_FCNTL, 0, netbsd.F_CLOSEM, 21)
				return c.ok(netbsd.SYS_FCNTL, 0, netbsd.F_MAXFD, 0)
			}},
		{name: "an exclusive lock is taken", want: 0,
			run: func() int64 { return c.ok(netbsd.SYS_FLOCK, fd, netbsd.LOCK_EX|netbsd.LOCK_NB) }},
		{name: "a record lock is reported free to its holder", want: 0,
			run: func() int64 {
				lk := netbsd.Flock{Type: netbsd.F_WRLCK, Len: 1}
				c.ok(netbsd.SYS_FCNTL, fd, netbsd.F_SETLK, c.put(lk.Encode()))
				return c.ok(netbsd.SYS_FCNTL, fd, netbsd.F_GETLK, c.put(lk.Encode()))
			}},
		{name: "FIONREAD counts what is left to read", want: 0,
			run: func() int64 {
				c.ok(netbsd.SYS_LSEEK, fd, 1, 0)
				return c.ok(netbsd.SYS_IOCTL, fd, netbsd.FIONREAD, buf)
			},
			check: func() bool { return binary.LittleEndian.Uint32(c.load(buf, 4)) == 3 }},
		{name: "a FIFO is made, and readlinkat of it is EINVAL", want: int64(netbsd.EINVAL),
			run: func() int64 {
				c.ok(netbsd.SYS_MKFIFO, c.str("/fifo"), 0o600)
				return int64(c.fails(netbsd.SYS_READLINKAT, atFdcwd, c.str("fifo"), buf, 64))
			}},
		{name: "umask returns the old mask", want: 0o022,
			run: func() int64 { return c.ok(netbsd.SYS_UMASK, 0o077) }},
		{name: "renameat and unlinkat with AT_REMOVEDIR", want: 0,
			run: func() int64 {
				c.ok(netbsd.SYS_MKDIRAT, atFdcwd, c.str("dd"), 0o755)
				c.ok(netbsd.SYS_RENAMEAT, atFdcwd, c.str("dd"), atFdcwd, c.str("ee"))
				return c.ok(netbsd.SYS_UNLINKAT, atFdcwd, c.str("ee"), netbsd.AT_REMOVEDIR)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.run(); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
			if tt.check != nil && !tt.check() {
				t.Error("the call did not do what it said")
			}
		})
	}
}

func unixTs(sec int64) unix.Timespec { return unix.Timespec{Sec: sec} }
