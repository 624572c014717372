package conformance

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/rumpconn"
)

// atFdcwd is AT_FDCWD in an int slot.
const atFdcwd = uint64(1<<64 + netbsd.AT_FDCWD)

// testMknod checks which nodes __mknod50 makes: regular files and device
// nodes only, the name looked up before the type; FIFOs come from mkfifoat.
func testMknod(t *testing.T, srv rumpconn.Server) {
	p := dial(t, srv, "mknod", rumpconn.Options{})
	dir := scratch(t, p)
	p.create(t, dir+"/taken", nil)
	runErrnoCases(t, p, []errnoCase{
		errCase("a FIFO gives EINVAL", netbsd.EINVAL,
			netbsd.SYS___MKNOD50, pathArg(dir+"/fifo"), netbsd.S_IFIFO|0o644, 0),
		errCase("a socket gives EINVAL", netbsd.EINVAL,
			netbsd.SYS___MKNOD50, pathArg(dir+"/sock"), netbsd.S_IFSOCK|0o644, 0),
		errCase("file type 0 gives EINVAL", netbsd.EINVAL,
			netbsd.SYS___MKNOD50, pathArg(dir+"/zero"), 0o644, 0),
		errCase("a directory gives EINVAL", netbsd.EINVAL,
			netbsd.SYS___MKNOD50, pathArg(dir+"/dir"), netbsd.S_IFDIR|0o755, 0),
		errCase("a name in use gives EEXIST whatever the type", netbsd.EEXIST,
			netbsd.SYS___MKNOD50, pathArg(dir+"/taken"), netbsd.S_IFIFO|0o644, 0),
	})

	p.ok(t, netbsd.SYS___MKNOD50, p.cstr(t, dir+"/reg"), netbsd.S_IFREG|0o644, 0)
	p.ok(t, netbsd.SYS_MKFIFOAT, atFdcwd, p.cstr(t, dir+"/fifo"), 0o644)
	for name, want := range map[string]uint32{"reg": netbsd.S_IFREG, "fifo": netbsd.S_IFIFO} {
		st, errno := p.stat(t, dir+"/"+name)
		if errno != 0 || st.Mode&netbsd.S_IFMT != want {
			t.Errorf("%s: mode %#o, %v; want type %#o", name, st.Mode, errno, want)
		}
	}
}

// testLocks checks that a process's flock and record locks keep another
// process out, and what F_GETLK reports of them.
func testLocks(t *testing.T, srv rumpconn.Server) {
	p := dial(t, srv, "holder", rumpconn.Options{})
	q := dial(t, srv, "other", rumpconn.Options{})
	dir := scratch(t, p)
	p.create(t, dir+"/f", []byte("0123456789"))
	pf := uint64(p.open(t, dir+"/f", netbsd.O_RDWR, 0))
	qf := uint64(q.open(t, dir+"/f", netbsd.O_RDWR, 0))

	p.ok(t, netbsd.SYS_FLOCK, pf, netbsd.LOCK_EX)
	q.fails(t, netbsd.EAGAIN, netbsd.SYS_FLOCK, qf, netbsd.LOCK_EX|netbsd.LOCK_NB)
	q.fails(t, netbsd.EINVAL, netbsd.SYS_FLOCK, qf, netbsd.LOCK_SH|netbsd.LOCK_EX)
	p.ok(t, netbsd.SYS_FLOCK, pf, netbsd.LOCK_UN)
	q.ok(t, netbsd.SYS_FLOCK, qf, netbsd.LOCK_EX|netbsd.LOCK_NB)
	q.ok(t, netbsd.SYS_FLOCK, qf, netbsd.LOCK_UN)

	// NetBSD's flock and record locks share one list: the flock locks are
	// gone before the record locks are taken.
	lock := func(p *proc, typ int16, start, n int64) uint64 {
		return p.stage(t, netbsd.Flock{Type: typ, Start: start, Len: n}.Encode())
	}
	p.ok(t, netbsd.SYS_FCNTL, pf, netbsd.F_SETLK, lock(p, netbsd.F_WRLCK, 0, 5))
	q.fails(t, netbsd.EAGAIN, netbsd.SYS_FCNTL, qf, netbsd.F_SETLK, lock(q, netbsd.F_WRLCK, 4, 1))
	q.ok(t, netbsd.SYS_FCNTL, qf, netbsd.F_SETLK, lock(q, netbsd.F_WRLCK, 5, 5))

	buf := netbsd.Flock{Type: netbsd.F_RDLCK}.Encode()
	q.ok(t, netbsd.SYS_FCNTL, qf, netbsd.F_GETLK, q.stage(t, buf))
	got, err := netbsd.DecodeFlock(buf)
	if err != nil {
		t.Fatal(err)
	}
	got.Pid = 0 // the holder's rump pid, or -1 where the server cannot tell
	want := netbsd.Flock{Type: netbsd.F_WRLCK, Start: 0, Len: 5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("F_GETLK of the other process's lock (-want +got):\n%s", diff)
	}

	pipe := p.call(t, netbsd.SYS_PIPE)
	p.fails(t, netbsd.EOPNOTSUPP, netbsd.SYS_FLOCK, uint64(pipe.Retval[0]), netbsd.LOCK_EX)
}

// testFallocate checks posix_fallocate, which reports its failure in its
// return value with the error field 0.
func testFallocate(t *testing.T, srv rumpconn.Server) {
	p := dial(t, srv, "fallocate", rumpconn.Options{})
	dir := scratch(t, p)
	p.create(t, dir+"/f", []byte("data"))
	rw := uint64(p.open(t, dir+"/f", netbsd.O_RDWR, 0))
	ro := uint64(p.open(t, dir+"/f", netbsd.O_RDONLY, 0))

	outcome := func(args ...uint64) netbsd.Errno {
		t.Helper()
		r := p.call(t, netbsd.SYS_POSIX_FALLOCATE, args...)
		if r.Errno != 0 {
			t.Errorf("posix_fallocate failed in the error field with %v", r.Errno)
		}
		return netbsd.Errno(r.Retval[0])
	}
	if e := outcome(ro, 0, 10); e != netbsd.EBADF {
		t.Errorf("posix_fallocate on a read-only descriptor = %v, want EBADF", e)
	}
	if e := outcome(rw, 1<<64-1, 10); e != netbsd.EINVAL {
		t.Errorf("posix_fallocate at a negative offset = %v, want EINVAL", e)
	}
	// Which file systems implement it varies: tmpfs and rumpfs do not.
	switch e := outcome(rw, 0, 4096); e {
	case 0:
		if st := p.fstat(t, int64(rw)); st.Size != 4096 {
			t.Errorf("posix_fallocate succeeded, but the size is %d, want 4096", st.Size)
		}
	case netbsd.EOPNOTSUPP:
	default:
		t.Errorf("posix_fallocate of a writable file = %v, want 0 or EOPNOTSUPP", e)
	}
}
