package rumpserver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hijack-project/hijack/netbsd"
)

func TestPosixFallocate(t *testing.T) {
	s, root := newServer(t)
	c := guest(t, s, "fallocate")
	rw := uint64(c.ok(netbsd.SYS_OPEN, c.str("/f"), oRDWR|oCREAT, 0o600))
	ro := uint64(c.ok(netbsd.SYS_OPEN, c.str("/f"), oRDONLY, 0))
	pipe := c.sys(netbsd.SYS_PIPE)

	tests := []struct {
		name string
		args []uint64
		want netbsd.Errno
	}{
		{"a range on a writable file is allocated", []uint64{rw, 100, 4000}, 0},
		{"a read-only descriptor is EBADF", []uint64{ro, 0, 10}, netbsd.EBADF},
		{"a negative offset is EINVAL", []uint64{rw, 1<<64 - 1, 10}, netbsd.EINVAL},
		{"a range past the largest offset is EINVAL", []uint64{rw, 1 << 62, 1 << 62},
			netbsd.EINVAL},
		{"a pipe is EINVAL", []uint64{uint64(pipe.Retval[1]), 0, 10}, netbsd.EINVAL},
		{"a closed descriptor is EBADF", []uint64{99, 0, 10}, netbsd.EBADF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The outcome is retval[0]; the error field stays 0.
			r := c.sys(netbsd.SYS_POSIX_FALLOCATE, tt.args...)
			if r.Error != 0 || netbsd.Errno(r.Retval[0]) != tt.want {
				t.Errorf("posix_fallocate = error %d, retval %d; want 0, %v", r.Error,
					r.Retval[0], tt.want)
			}
		})
	}
	fi, err := os.Stat(filepath.Join(root, "f"))
	if err != nil || fi.Size() != 4100 {
		t.Errorf("the host file after posix_fallocate: %v, %v; want 4100 bytes", fi, err)
	}
}

func TestMknodMakesWhatNetBSDMakes(t *testing.T) {
	s, root := newServer(t)
	c := guest(t, s, "mknod")
	c.ok(netbsd.SYS_OPEN, c.str("/taken"), oRDWR|oCREAT, 0o600)

	tests := []struct {
		name string
		path string
		mode uint64
		want netbsd.Errno
	}{
		{"a regular file is made", "/reg", netbsd.S_IFREG | 0o640, 0},
		{"a FIFO is EINVAL: mkfifo makes those", "/fifo", netbsd.S_IFIFO | 0o640,
			netbsd.EINVAL},
		{"a socket is EINVAL", "/sock", netbsd.S_IFSOCK | 0o640, netbsd.EINVAL},
		{"file type 0 is EINVAL", "/zero", 0o640, netbsd.EINVAL},
		{"a directory is EINVAL", "/dir", netbsd.S_IFDIR | 0o750, netbsd.EINVAL},
		{"a block device is EPERM", "/blk", netbsd.S_IFBLK | 0o600, netbsd.EPERM},
		{"a name in use is EEXIST whatever the type", "/taken", netbsd.S_IFIFO | 0o600,
			netbsd.EEXIST},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.fails(netbsd.SYS___MKNOD50, c.str(tt.path), tt.mode, 0); got != tt.want {
				t.Errorf("__mknod50(%s, %#o) = %v, want %v", tt.path, tt.mode, got, tt.want)
			}
		})
	}
	c.ok(netbsd.SYS_MKFIFOAT, atFdcwd, c.str("/fifo"), 0o640)

	for name, want := range map[string]os.FileMode{"reg": 0o640, "fifo": os.ModeNamedPipe | 0o640} {
		fi, err := os.Lstat(filepath.Join(root, name))
		if err != nil || fi.Mode() != want {
			t.Errorf("%s on the host: %v, %v; want mode %v", name, fi, err, want)
		}
	}
	for _, name := range []string{"sock", "zero", "dir", "blk"} {
		if _, err := os.Lstat(filepath.Join(root, name)); !os.IsNotExist(err) {
			t.Errorf("%s was made on the host: %v", name, err)
		}
	}
}

func TestFlockOfAPipeIsEOPNOTSUPP(t *testing.T) {
	s, _ := newServer(t)
	c := guest(t, s, "flock")
	pipe := c.sys(netbsd.SYS_PIPE)
	e := c.fails(netbsd.SYS_FLOCK, uint64(pipe.Retval[0]), netbsd.LOCK_EX)
	if e != netbsd.EOPNOTSUPP {
		t.Errorf("flock of a pipe = %v, want EOPNOTSUPP", e)
	}
}
