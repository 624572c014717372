package conformance

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/rumpconn"
)

// fileInfo is the part of a NetBSD stat that the tests can predict on any
// server.
type fileInfo struct {
	Type  uint32
	Perm  uint32
	Size  int64
	Nlink uint32
}

func infoOf(st netbsd.Stat) fileInfo {
	return fileInfo{
		Type:  st.Mode & netbsd.S_IFMT,
		Perm:  st.Mode &^ netbsd.S_IFMT,
		Size:  st.Size,
		Nlink: st.Nlink,
	}
}

// testFileLifecycle takes one file through creation, writing, reading back,
// fstat, a directory listing, rename and unlink.
func testFileLifecycle(t *testing.T, srv rumpconn.Server) {
	p := dial(t, srv, "files", rumpconn.Options{})
	dir := scratch(t, p)
	before, after := dir+"/before", dir+"/after"
	data := []byte("written through the rump kernel\n")

	fd := p.open(t, before, netbsd.O_CREAT|netbsd.O_RDWR, 0o600)
	if fd < 3 {
		t.Errorf("open gave descriptor %d, want 3 or more: 0 to 2 are the console", fd)
	}

	// The data comes from the target's own memory, unstaged, as a write
	// whose buffer emulate passes through does.
	addr := p.mem.put(t, data)
	if n := p.ok(t, netbsd.SYS_WRITE, uint64(fd), addr, uint64(len(data))); n != int64(len(data)) {
		t.Fatalf("write of %d bytes returned %d", len(data), n)
	}
	if off := p.ok(t, netbsd.SYS_LSEEK, uint64(fd), 0, seekCur); off != int64(len(data)) {
		t.Errorf("lseek(SEEK_CUR) after the write = %d, want %d", off, len(data))
	}
	if off := p.ok(t, netbsd.SYS_LSEEK, uint64(fd), 0, seekSet); off != 0 {
		t.Errorf("lseek(0, SEEK_SET) = %d, want 0", off)
	}
	if diff := cmp.Diff(string(data), string(p.read(t, fd, 2*len(data)))); diff != "" {
		t.Errorf("read back after lseek (-want +got):\n%s", diff)
	}
	if got := p.read(t, fd, len(data)); len(got) != 0 {
		t.Errorf("read at the end of the file returned %q, want nothing", got)
	}
	if off := p.ok(t, netbsd.SYS_LSEEK, uint64(fd), 0, seekEnd); off != int64(len(data)) {
		t.Errorf("lseek(0, SEEK_END) = %d, want the size %d", off, len(data))
	}

	want := fileInfo{Type: netbsd.S_IFREG, Perm: 0o600, Size: int64(len(data)), Nlink: 1}
	if diff := cmp.Diff(want, infoOf(p.fstat(t, fd))); diff != "" {
		t.Errorf("__fstat50 of the new file (-want +got):\n%s", diff)
	}

	ents := p.list(t, dir)
	if e, ok := entry(ents, "before"); !ok {
		t.Errorf("__getdents30 of %s lists %v, without %q", dir, ents, "before")
	} else if e.Type != netbsd.DT_REG {
		t.Errorf("__getdents30 gives %q type %d, want DT_REG (%d)", e.Name, e.Type,
			netbsd.DT_REG)
	}

	// rumpfs, the root file system of a rump_server, has no rename: on it
	// the file keeps its first name, and the test skips once the rest is
	// checked.
	name := before
	r := p.call(t, netbsd.SYS_RENAME, p.cstr(t, before), p.cstr(t, after))
	switch r.Errno {
	case 0:
		name = after
		checkRenamed(t, p, fd, dir, data, want)
	case netbsd.EOPNOTSUPP:
	default:
		t.Errorf("rename failed with %v, want success", r.Errno)
	}
	p.close(t, fd)

	p.ok(t, netbsd.SYS_UNLINK, p.cstr(t, name))
	p.fails(t, netbsd.ENOENT, netbsd.SYS_OPEN, p.cstr(t, name), netbsd.O_RDONLY, 0)
	if ents := p.list(t, dir); len(withoutDots(ents)) != 0 {
		t.Errorf("__getdents30 of %s after the unlink lists %v, want nothing", dir, ents)
	}
	p.fails(t, netbsd.EBADF, netbsd.SYS_READ, uint64(fd), p.stage(t, make([]byte, 1)), 1)
	if r.Errno == netbsd.EOPNOTSUPP {
		t.Skip("rename gives EOPNOTSUPP: the server's file system (rumpfs) has none")
	}
}

// checkRenamed checks a file that was renamed from "before" to "after" in
// dir while open as fd: only the new name lists and opens, and the open
// file is unchanged.
func checkRenamed(t *testing.T, p *proc, fd int64, dir string, data []byte, want fileInfo) {
	t.Helper()
	p.fails(t, netbsd.ENOENT, netbsd.SYS_OPEN, p.cstr(t, dir+"/before"), netbsd.O_RDONLY, 0)
	ents := p.list(t, dir)
	if _, ok := entry(ents, "before"); ok {
		t.Errorf("__getdents30 after the rename still lists %q", "before")
	}
	if _, ok := entry(ents, "after"); !ok {
		t.Errorf("__getdents30 after the rename lists %v, without %q", ents, "after")
	}
	if diff := cmp.Diff(want, infoOf(p.fstat(t, fd))); diff != "" {
		t.Errorf("__fstat50 of the open file after its rename (-want +got):\n%s", diff)
	}
	again := p.open(t, dir+"/after", netbsd.O_RDONLY, 0)
	if diff := cmp.Diff(string(data), string(p.read(t, again, 2*len(data)))); diff != "" {
		t.Errorf("read under the new name (-want +got):\n%s", diff)
	}
	p.close(t, again)
}

// withoutDots drops "." and "..", which rumpfs does not list and host file
// systems do.
func withoutDots(ents []netbsd.Dirent) []netbsd.Dirent {
	var out []netbsd.Dirent
	for _, e := range ents {
		if e.Name != "." && e.Name != ".." {
			out = append(out, e)
		}
	}
	return out
}

// testMkdirRmdir makes a directory and removes it.
func testMkdirRmdir(t *testing.T, srv rumpconn.Server) {
	p := dial(t, srv, "mkdir", rumpconn.Options{})
	dir := scratch(t, p)
	sub := dir + "/sub"

	p.ok(t, netbsd.SYS_MKDIR, p.cstr(t, sub), 0o750)
	st, errno := p.stat(t, sub)
	if errno != 0 {
		t.Fatalf("__stat50 of the new directory failed with %v", errno)
	}
	if got := infoOf(st); got.Type != netbsd.S_IFDIR || got.Perm != 0o750 {
		t.Errorf("__stat50 of the new directory gives mode %#o, want %#o",
			st.Mode, netbsd.S_IFDIR|0o750)
	}
	if e, ok := entry(p.list(t, dir), "sub"); !ok || e.Type != netbsd.DT_DIR {
		t.Errorf("__getdents30 of %s gives %+v for %q, want type DT_DIR (%d)", dir, e, "sub",
			netbsd.DT_DIR)
	}
	if ents := withoutDots(p.list(t, sub)); len(ents) != 0 {
		t.Errorf("the new directory lists %v, want nothing", ents)
	}

	p.ok(t, netbsd.SYS_RMDIR, p.cstr(t, sub))
	if _, errno := p.stat(t, sub); errno != netbsd.ENOENT {
		t.Errorf("__stat50 of the removed directory gives %v, want ENOENT", errno)
	}
	p.fails(t, netbsd.ENOENT, netbsd.SYS_RMDIR, p.cstr(t, sub))
}

// testPathErrors checks the errno of path calls that must fail. The scratch
// directory holds a regular file, an empty directory and one that is not.
func testPathErrors(t *testing.T, srv rumpconn.Server) {
	p := dial(t, srv, "errors", rumpconn.Options{})
	dir := scratch(t, p)
	p.create(t, dir+"/file", []byte("contents"))
	p.ok(t, netbsd.SYS_MKDIR, p.cstr(t, dir+"/empty"), 0o755)
	p.ok(t, netbsd.SYS_MKDIR, p.cstr(t, dir+"/full"), 0o755)
	p.create(t, dir+"/full/inside", nil)

	path := func(name string) pathArg { return pathArg(dir + "/" + name) }
	const creat = netbsd.O_CREAT | netbsd.O_RDWR
	cases := []errnoCase{
		errCase("mkdir of an existing directory gives EEXIST", netbsd.EEXIST,
			netbsd.SYS_MKDIR, path("empty"), 0o755),
		errCase("mkdir over a regular file gives EEXIST", netbsd.EEXIST,
			netbsd.SYS_MKDIR, path("file"), 0o755),
		errCase("an exclusive create of an existing file gives EEXIST", netbsd.EEXIST,
			netbsd.SYS_OPEN, path("file"), creat|netbsd.O_EXCL, 0o600),
		errCase("open below a regular file gives ENOTDIR", netbsd.ENOTDIR,
			netbsd.SYS_OPEN, path("file/x"), netbsd.O_RDONLY, 0),
		errCase("create below a regular file gives ENOTDIR", netbsd.ENOTDIR,
			netbsd.SYS_OPEN, path("file/x"), creat, 0o600),
		errCase("mkdir below a regular file gives ENOTDIR", netbsd.ENOTDIR,
			netbsd.SYS_MKDIR, path("file/x"), 0o755),
		errCase("rmdir of a regular file gives ENOTDIR", netbsd.ENOTDIR,
			netbsd.SYS_RMDIR, path("file")),
		errCase("open with O_DIRECTORY of a regular file gives ENOTDIR", netbsd.ENOTDIR,
			netbsd.SYS_OPEN, path("file"), netbsd.O_RDONLY|netbsd.O_DIRECTORY, 0),
		errCase("open of a missing file gives ENOENT", netbsd.ENOENT,
			netbsd.SYS_OPEN, path("missing"), netbsd.O_RDONLY, 0),
		errCase("create in a missing directory gives ENOENT", netbsd.ENOENT,
			netbsd.SYS_OPEN, path("missing/x"), creat, 0o600),
		errCase("mkdir in a missing directory gives ENOENT", netbsd.ENOENT,
			netbsd.SYS_MKDIR, path("missing/x"), 0o755),
		errCase("unlink of a missing file gives ENOENT", netbsd.ENOENT,
			netbsd.SYS_UNLINK, path("missing")),
		errCase("rmdir of a missing directory gives ENOENT", netbsd.ENOENT,
			netbsd.SYS_RMDIR, path("missing")),
		errCase("rename of a missing file gives ENOENT", netbsd.ENOENT,
			netbsd.SYS_RENAME, path("missing"), path("other")),
		errCase("__stat50 of a missing file gives ENOENT", netbsd.ENOENT,
			netbsd.SYS___STAT50, path("missing"), bufArg(netbsd.StatSize)),
		errCase("open of a directory for reading and writing gives EISDIR", netbsd.EISDIR,
			netbsd.SYS_OPEN, path("empty"), netbsd.O_RDWR, 0),
		errCase("open of a directory for writing only gives EISDIR", netbsd.EISDIR,
			netbsd.SYS_OPEN, path("empty"), netbsd.O_WRONLY, 0),
		errCase("rmdir of a directory that is not empty gives ENOTEMPTY", netbsd.ENOTEMPTY,
			netbsd.SYS_RMDIR, path("full")),
	}
	runErrnoCases(t, p, cases)

	// None of the failed calls changed anything.
	want := []string{"empty", "file", "full"}
	var got []string
	for _, e := range withoutDots(p.list(t, dir)) {
		got = append(got, e.Name)
	}
	if diff := cmp.Diff(want, got, sortStrings); diff != "" {
		t.Errorf("the scratch directory after the failed calls (-want +got):\n%s", diff)
	}
}
