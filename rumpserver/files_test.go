package rumpserver

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hijack-project/hijack/netbsd"
)

const (
	oRDWR   = netbsd.O_RDWR
	oCREAT  = netbsd.O_CREAT
	oRDONLY = netbsd.O_RDONLY
)

func TestFileRoundTrip(t *testing.T) {
	s, root := newServer(t)
	c := guest(t, s, "files")

	fd := c.ok(netbsd.SYS_OPEN, c.str("/hello.txt"), oRDWR|oCREAT|netbsd.O_EXCL, 0o644)
	if fd != 3 {
		t.Errorf("first descriptor = %d, want 3 after the console's 0, 1, 2", fd)
	}
	data := []byte("hello, rump\n")
	if n := c.ok(netbsd.SYS_WRITE, uint64(fd), c.put(data), uint64(len(data))); n != 12 {
		t.Errorf("write = %d", n)
	}
	if off := c.ok(netbsd.SYS_LSEEK, uint64(fd), 0, 0); off != 0 {
		t.Errorf("lseek = %d", off)
	}
	buf := c.alloc(64)
	n := c.ok(netbsd.SYS_READ, uint64(fd), buf, 64)
	if diff := cmp.Diff(data, c.load(buf, int(n))); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}

	sb := c.alloc(netbsd.StatSize)
	c.ok(netbsd.SYS___FSTAT50, uint64(fd), sb)
	st, err := netbsd.DecodeStat(c.load(sb, netbsd.StatSize))
	if err != nil {
		t.Fatal(err)
	}
	got := [3]uint64{uint64(st.Mode), uint64(st.Size), st.Rdev}
	if diff := cmp.Diff([3]uint64{netbsd.S_IFREG | 0o644, 12, netbsd.NODEV}, got); diff != "" {
		t.Errorf("fstat mode, size, rdev (-want +got):\n%s", diff)
	}

	dir := c.ok(netbsd.SYS_OPEN, c.str("/"), oRDONLY|netbsd.O_DIRECTORY, 0)
	names := readDir(t, c, dir)
	for _, want := range []string{".", "..", "hello.txt"} {
		if !slices.Contains(names, want) {
			t.Errorf("getdents of / = %q, lacks %q", names, want)
		}
	}

	c.ok(netbsd.SYS_CLOSE, uint64(fd))
	if e := c.fails(netbsd.SYS_READ, uint64(fd), buf, 1); e != netbsd.EBADF {
		t.Errorf("read after close: %v, want EBADF", e)
	}
	host, err := os.ReadFile(filepath.Join(root, "hello.txt"))
	if err != nil || string(host) != string(data) {
		t.Errorf("host file holds %q (%v)", host, err)
	}
}

// readDir lists a directory descriptor with small buffers, so that records
// carry over between calls.
func readDir(t *testing.T, c *testClient, fd int64) []string {
	t.Helper()
	var names []string
	buf := c.alloc(48)
	for {
		n := c.ok(netbsd.SYS___GETDENTS30, uint64(fd), buf, 48)
		if n == 0 {
			return names
		}
		ents, err := netbsd.ParseDirents(c.load(buf, int(n)))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ents {
			names = append(names, d.Name)
		}
	}
}

func TestPathCalls(t *testing.T) {
	s, root := newServer(t)
	c := guest(t, s, "paths")

	c.ok(netbsd.SYS_MKDIR, c.str("/d"), 0o755)
	c.ok(netbsd.SYS_CHDIR, c.str("/d"))
	fd := c.ok(netbsd.SYS_OPEN, c.str("f"), oRDWR|oCREAT, 0o600)
	c.ok(netbsd.SYS_CLOSE, uint64(fd))
	c.ok(netbsd.SYS_SYMLINK, c.str("f"), c.str("l"))
	c.ok(netbsd.SYS_LINK, c.str("f"), c.str("h"))
	c.ok(netbsd.SYS_RENAME, c.str("h"), c.str("../h2"))
	c.ok(netbsd.SYS_CHMOD, c.str("l"), 0o640)
	c.ok(netbsd.SYS_TRUNCATE, c.str("/d/f"), 5)

	cwd := c.alloc(64)
	if n := c.ok(netbsd.SYS___GETCWD, cwd, 64); n != 3 || string(c.load(cwd, 3)) != "/d\x00" {
		t.Errorf("getcwd = %d %q", n, c.load(cwd, 3))
	}
	lnk := c.alloc(16)
	if n := c.ok(netbsd.SYS_READLINK, c.str("l"), lnk, 16); string(c.load(lnk, int(n))) != "f" {
		t.Errorf("readlink = %q", c.load(lnk, int(n)))
	}

	sb := c.alloc(netbsd.StatSize)
	c.ok(netbsd.SYS___STAT50, c.str("l"), sb)
	st, _ := netbsd.DecodeStat(c.load(sb, netbsd.StatSize))
	c.ok(netbsd.SYS___LSTAT50, c.str("l"), sb)
	lst, _ := netbsd.DecodeStat(c.load(sb, netbsd.StatSize))
	got := []uint32{st.Mode, uint32(st.Size), lst.Mode & netbsd.S_IFMT}
	if diff := cmp.Diff([]uint32{netbsd.S_IFREG | 0o640, 5, netbsd.S_IFLNK}, got); diff != "" {
		t.Errorf("stat through the link, lstat of it (-want +got):\n%s", diff)
	}

	tests := []struct {
		name string
		nr   netbsd.Sysno
		args func() []uint64
		want netbsd.Errno
	}{
		{"unlinking a directory is EPERM", netbsd.SYS_UNLINK,
			func() []uint64 { return []uint64{c.str("/d")} }, netbsd.EPERM},
		{"removing a full directory is ENOTEMPTY", netbsd.SYS_RMDIR,
			func() []uint64 { return []uint64{c.str("/d")} }, netbsd.ENOTEMPTY},
		{"removing dot is EINVAL", netbsd.SYS_RMDIR,
			func() []uint64 { return []uint64{c.str(".")} }, netbsd.EINVAL},
		{"making dot-dot is EEXIST", netbsd.SYS_MKDIR,
			func() []uint64 { return []uint64{c.str(".."), 0o755} }, netbsd.EEXIST},
		{"a trailing slash on a file is ENOTDIR", netbsd.SYS_UNLINK,
			func() []uint64 { return []uint64{c.str("f/")} }, netbsd.ENOTDIR},
		{"a device node is EPERM", netbsd.SYS___MKNOD50,
			func() []uint64 { return []uint64{c.str("dev"), netbsd.S_IFCHR | 0o600, 0x0103} },
			netbsd.EPERM},
		{"an empty path is ENOENT", netbsd.SYS___STAT50,
			func() []uint64 { return []uint64{c.str(""), sb} }, netbsd.ENOENT},
		{"readlink of a file is EINVAL", netbsd.SYS_READLINK,
			func() []uint64 { return []uint64{c.str("f"), lnk, 16} }, netbsd.EINVAL},
		{"getcwd into one byte is ERANGE", netbsd.SYS___GETCWD,
			func() []uint64 { return []uint64{cwd, 1} }, netbsd.ERANGE},
		{"a missing file is ENOENT", netbsd.SYS_ACCESS,
			func() []uint64 { return []uint64{c.str("nope"), 0} }, netbsd.ENOENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.fails(tt.nr, tt.args()...); got != tt.want {
				t.Errorf("%v = %v, want %v", tt.nr, got, tt.want)
			}
		})
	}

	c.ok(netbsd.SYS_UNLINK, c.str("l"))
	c.ok(netbsd.SYS_UNLINK, c.str("f"))
	c.ok(netbsd.SYS_CHDIR, c.str(".."))
	c.ok(netbsd.SYS_RMDIR, c.str("d"))
	entries, _ := os.ReadDir(root)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if diff := cmp.Diff([]string{"h2"}, left); diff != "" {
		t.Errorf("root afterwards (-want +got):\n%s", diff)
	}
}

// atFdcwd is AT_FDCWD in an int slot.
const atFdcwd = uint64(1<<64 + netbsd.AT_FDCWD)
