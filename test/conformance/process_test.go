package conformance

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/rumpconn"
)

// testGetpid checks that each connection is a process of its own, with a
// pid that stays the same from call to call.
func testGetpid(t *testing.T, srv rumpconn.Server) {
	a := dial(t, srv, "first", rumpconn.Options{})
	b := dial(t, srv, "second", rumpconn.Options{})

	pa, pb := a.getpid(t), b.getpid(t)
	if pa == pb {
		t.Errorf("two connections have the same pid %d", pa)
	}
	// pid 1 is the rump kernel's own proc1, the parent of every guest.
	for _, pid := range []int64{pa, pb} {
		if pid <= 1 {
			t.Errorf("getpid = %d, want a pid above 1", pid)
		}
	}
	if again := a.getpid(t); again != pa {
		t.Errorf("getpid changed from %d to %d between two calls", pa, again)
	}
}

// testFork forks a process ahead of a host fork and claims the copy from a
// second connection, as a fork child does.
func testFork(t *testing.T, srv rumpconn.Server) {
	parent := dial(t, srv, "parent", rumpconn.Options{})
	dir := scratch(t, parent)
	data := []byte("0123456789")

	fd := parent.open(t, dir+"/shared", netbsd.O_CREAT|netbsd.O_RDWR, 0o600)
	parent.write(t, fd, data)
	parent.ok(t, netbsd.SYS_LSEEK, uint64(fd), 4, seekSet)

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	cookie, err := parent.conn.Prefork(ctx)
	if err != nil {
		t.Fatalf("prefork: %v", err)
	}
	// The child's descriptors are the parent's as they were at the prefork.
	late := parent.open(t, dir+"/shared", netbsd.O_RDONLY, 0)

	child, err := dialFork(t, srv, cookie, "child")
	if err != nil {
		t.Fatalf("fork handshake: %v", err)
	}
	if pp, pc := parent.getpid(t), child.getpid(t); pp == pc {
		t.Errorf("the fork child has its parent's pid %d", pp)
	}

	// The descriptor refers to the parent's open file, offset included.
	if diff := cmp.Diff("456", string(child.read(t, fd, 3))); diff != "" {
		t.Errorf("the child's read at the offset the parent left (-want +got):\n%s", diff)
	}
	if off := parent.ok(t, netbsd.SYS_LSEEK, uint64(fd), 0, seekCur); off != 7 {
		t.Errorf("the parent's offset after the child read 3 bytes from 4 is %d, want 7", off)
	}
	child.fails(t, netbsd.EBADF, netbsd.SYS___FSTAT50, uint64(late),
		child.stage(t, make([]byte, netbsd.StatSize)))

	// The tables are copies: closing in the child leaves the parent's.
	child.close(t, fd)
	parent.fstat(t, fd)

	t.Run("a fork cookie claims one process only", func(t *testing.T) {
		_, err := dialFork(t, srv, cookie, "again")
		var refused *rumpconn.RefusedError
		if !errors.As(err, &refused) || !errors.Is(err, syscall.ESRCH) {
			t.Errorf("a second fork handshake with the cookie gave %v, "+
				"want a refusal matching ESRCH", err)
		}
	})
}

// testExec tells the server that the target executed a new program.
func testExec(t *testing.T, srv rumpconn.Server) {
	p := dial(t, srv, "before-exec", rumpconn.Options{})
	dir := scratch(t, p)
	kept := p.open(t, dir+"/kept", netbsd.O_CREAT|netbsd.O_RDWR, 0o600)
	closed := p.open(t, dir+"/closed", netbsd.O_CREAT|netbsd.O_RDWR|netbsd.O_CLOEXEC, 0o600)
	marked := p.open(t, dir+"/marked", netbsd.O_CREAT|netbsd.O_RDWR, 0o600)
	p.ok(t, netbsd.SYS_FCNTL, uint64(marked), netbsd.F_SETFD, netbsd.FD_CLOEXEC)
	pid := p.getpid(t)

	getfd := func(t *testing.T, fd int64) rumpconn.Result {
		t.Helper()
		return p.call(t, netbsd.SYS_FCNTL, uint64(fd), netbsd.F_GETFD, 0)
	}
	if r := getfd(t, kept); r.Errno != 0 || r.Retval[0] != 0 {
		t.Errorf("F_GETFD of a plain descriptor = (%d, %v), want 0", r.Retval[0], r.Errno)
	}
	for _, fd := range []int64{closed, marked} {
		if r := getfd(t, fd); r.Errno != 0 || r.Retval[0] != netbsd.FD_CLOEXEC {
			t.Errorf("F_GETFD of close-on-exec descriptor %d = (%d, %v), want FD_CLOEXEC",
				fd, r.Retval[0], r.Errno)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := p.conn.Exec(ctx, "after-exec"); err != nil {
		t.Fatalf("exec handshake: %v", err)
	}

	if r := getfd(t, kept); r.Errno != 0 || r.Retval[0] != 0 {
		t.Errorf("F_GETFD of the plain descriptor after exec = (%d, %v), want 0",
			r.Retval[0], r.Errno)
	}
	for _, fd := range []int64{closed, marked} {
		if r := getfd(t, fd); r.Errno != netbsd.EBADF {
			t.Errorf("F_GETFD of close-on-exec descriptor %d after exec = (%d, %v), "+
				"want EBADF", fd, r.Retval[0], r.Errno)
		}
	}
	if got := p.getpid(t); got != pid {
		t.Errorf("getpid changed from %d to %d across the exec", pid, got)
	}
	p.write(t, kept, []byte("still open"))
	p.write(t, 1, []byte("hijack conformance test: the console survives exec\n"))
}
