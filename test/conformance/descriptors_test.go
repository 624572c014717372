package conformance

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/rumpconn"
)

// testConsole checks what a new process starts with: the rump console,
// write-only, on descriptors 0 to 2, so that its first descriptor is 3.
func testConsole(t *testing.T, srv rumpconn.Server) {
	p := dial(t, srv, "console", rumpconn.Options{})
	for fd := range int64(3) {
		st := p.fstat(t, fd)
		if got := infoOf(st); got.Type != netbsd.S_IFCHR || got.Perm != 0o600 {
			t.Errorf("__fstat50(%d) gives mode %#o, want %#o: the console", fd, st.Mode,
				netbsd.S_IFCHR|0o600)
		}
	}
	msg := []byte("hijack conformance test: a line on the rump console\n")
	p.write(t, 1, msg)
	p.fails(t, netbsd.EBADF, netbsd.SYS_READ, 0, p.stage(t, make([]byte, 1)), 1)

	fd := p.open(t, "/", netbsd.O_RDONLY, 0)
	if fd != 3 {
		t.Errorf("the first open of a new process gave descriptor %d, want 3", fd)
	}
	p.close(t, fd)
}

// testDescriptorErrors checks the errno of descriptor calls that must fail.
func testDescriptorErrors(t *testing.T, srv rumpconn.Server) {
	p := dial(t, srv, "descriptors", rumpconn.Options{})
	dir := scratch(t, p)
	p.create(t, dir+"/file", []byte("contents"))
	rd := p.open(t, dir+"/file", netbsd.O_RDONLY, 0)
	wr := p.open(t, dir+"/file", netbsd.O_WRONLY, 0)
	// pipe returns both ends, the read end first.
	pipe := p.call(t, netbsd.SYS_PIPE)
	if pipe.Errno != 0 {
		t.Fatalf("pipe failed with %v", pipe.Errno)
	}
	pr := pipe.Retval[0]
	// The closed descriptor is the last one made, so that no later one
	// takes its number.
	closed := p.open(t, dir+"/file", netbsd.O_RDONLY, 0)
	p.close(t, closed)

	const never = 1000 // a descriptor no test opens
	const seekBad = 7  // no whence value
	cases := []errnoCase{
		errCase("read from a closed descriptor gives EBADF", netbsd.EBADF,
			netbsd.SYS_READ, closed, bufArg(1), 1),
		errCase("__fstat50 of a descriptor never opened gives EBADF", netbsd.EBADF,
			netbsd.SYS___FSTAT50, never, bufArg(netbsd.StatSize)),
		errCase("close of a descriptor never opened gives EBADF", netbsd.EBADF,
			netbsd.SYS_CLOSE, never),
		errCase("fcntl F_GETFD of a closed descriptor gives EBADF", netbsd.EBADF,
			netbsd.SYS_FCNTL, closed, netbsd.F_GETFD, 0),
		errCase("write to a descriptor opened read-only gives EBADF", netbsd.EBADF,
			netbsd.SYS_WRITE, rd, bufArg(1), 1),
		errCase("read from a descriptor opened write-only gives EBADF", netbsd.EBADF,
			netbsd.SYS_READ, wr, bufArg(1), 1),
		errCase("lseek on a pipe gives ESPIPE", netbsd.ESPIPE,
			netbsd.SYS_LSEEK, pr, 0, seekSet),
		errCase("lseek to a negative offset gives EINVAL", netbsd.EINVAL,
			netbsd.SYS_LSEEK, rd, int64(-1), seekSet),
		errCase("lseek with an unknown whence gives EINVAL", netbsd.EINVAL,
			netbsd.SYS_LSEEK, rd, 0, seekBad),
		errCase("__getdents30 of a pipe gives EINVAL", netbsd.EINVAL,
			netbsd.SYS___GETDENTS30, pr, bufArg(direntBuf), direntBuf),
		errCase("__getdents30 of a regular file gives EINVAL", netbsd.EINVAL,
			netbsd.SYS___GETDENTS30, rd, bufArg(direntBuf), direntBuf).
			knownIssue(netbsd.ENOTDIR, "the host's ENOTDIR is passed on; NetBSD's "+
				"vn_readdir refuses every vnode that is not a directory"),
	}
	runErrnoCases(t, p, cases)

	// The descriptors that were misused still work.
	if diff := cmp.Diff("contents", string(p.read(t, rd, 64))); diff != "" {
		t.Errorf("read after the failed calls (-want +got):\n%s", diff)
	}
	if off := p.ok(t, netbsd.SYS_LSEEK, uint64(rd), 0, seekCur); off != int64(len("contents")) {
		t.Errorf("offset after the read = %d, want %d", off, len("contents"))
	}
}
