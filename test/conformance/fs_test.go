package conformance

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/hijack-project/hijack/netbsd"
)

// lseek's whence values, the same on NetBSD and Linux.
const (
	seekSet = 0
	seekCur = 1
	seekEnd = 2
)

// direntBuf is the size of the buffer __getdents30 fills.
const direntBuf = 4096

// open opens path and returns the descriptor.
func (p *proc) open(tb testing.TB, path string, flags, mode uint64) int64 {
	tb.Helper()
	return p.ok(tb, netbsd.SYS_OPEN, p.cstr(tb, path), flags, mode)
}

func (p *proc) close(tb testing.TB, fd int64) {
	tb.Helper()
	p.ok(tb, netbsd.SYS_CLOSE, uint64(fd))
}

// write writes all of b, staged, to fd.
func (p *proc) write(tb testing.TB, fd int64, b []byte) {
	tb.Helper()
	n := p.ok(tb, netbsd.SYS_WRITE, uint64(fd), p.stage(tb, b), uint64(len(b)))
	if n != int64(len(b)) {
		tb.Fatalf("write of %d bytes returned %d", len(b), n)
	}
}

// read makes one read of up to n bytes from fd into a staged buffer.
func (p *proc) read(tb testing.TB, fd int64, n int) []byte {
	tb.Helper()
	buf := make([]byte, n)
	got := p.ok(tb, netbsd.SYS_READ, uint64(fd), p.stage(tb, buf), uint64(n))
	if got < 0 || got > int64(n) {
		tb.Fatalf("read of %d bytes returned %d", n, got)
	}
	return buf[:got]
}

// readFull reads from fd until it has n bytes or meets the end of file; a
// stream socket may deliver a message in pieces.
func (p *proc) readFull(tb testing.TB, fd int64, n int) []byte {
	tb.Helper()
	var out []byte
	for len(out) < n {
		b := p.read(tb, fd, n-len(out))
		if len(b) == 0 {
			break
		}
		out = append(out, b...)
	}
	return out
}

// create makes a regular file holding data.
func (p *proc) create(tb testing.TB, path string, data []byte) {
	tb.Helper()
	fd := p.open(tb, path, netbsd.O_CREAT|netbsd.O_EXCL|netbsd.O_WRONLY, 0o600)
	if len(data) > 0 {
		p.write(tb, fd, data)
	}
	p.close(tb, fd)
}

// fstat returns the NetBSD stat of fd.
func (p *proc) fstat(tb testing.TB, fd int64) netbsd.Stat {
	tb.Helper()
	buf := make([]byte, netbsd.StatSize)
	p.ok(tb, netbsd.SYS___FSTAT50, uint64(fd), p.stage(tb, buf))
	st, err := netbsd.DecodeStat(buf)
	if err != nil {
		tb.Fatalf("decode __fstat50's stat: %v", err)
	}
	return st
}

// stat returns the NetBSD stat of path, or the errno of __stat50.
func (p *proc) stat(tb testing.TB, path string) (netbsd.Stat, netbsd.Errno) {
	tb.Helper()
	buf := make([]byte, netbsd.StatSize)
	r := p.call(tb, netbsd.SYS___STAT50, p.cstr(tb, path), p.stage(tb, buf))
	if r.Errno != 0 {
		return netbsd.Stat{}, r.Errno
	}
	st, err := netbsd.DecodeStat(buf)
	if err != nil {
		tb.Fatalf("decode __stat50's stat: %v", err)
	}
	return st, 0
}

// list returns the entries of directory dir, read with __getdents30 until it
// returns 0.
func (p *proc) list(tb testing.TB, dir string) []netbsd.Dirent {
	tb.Helper()
	ents, err := p.tryList(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return ents
}

// tryList is list without a test to fail, for the clean-up.
func (p *proc) tryList(dir string) ([]netbsd.Dirent, error) {
	path, err := p.stg.Stage(append([]byte(dir), 0))
	if err != nil {
		return nil, err
	}
	defer path.Release()
	fd, err := p.try(netbsd.SYS_OPEN, path.Addr(), netbsd.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	defer p.sys(netbsd.SYS_CLOSE, uint64(fd))

	buf := make([]byte, direntBuf)
	r, err := p.stg.Stage(buf)
	if err != nil {
		return nil, err
	}
	defer r.Release()
	var all []netbsd.Dirent
	for {
		n, err := p.try(netbsd.SYS___GETDENTS30, uint64(fd), r.Addr(), uint64(len(buf)))
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", dir, err)
		}
		if n == 0 {
			return all, nil
		}
		if n < 0 || n > int64(len(buf)) {
			return nil, fmt.Errorf("list %s: __getdents30 returned %d", dir, n)
		}
		ents, err := netbsd.ParseDirents(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", dir, err)
		}
		all = append(all, ents...)
	}
}

// try performs a call and turns a failure, its errno included, into an
// error.
func (p *proc) try(nr netbsd.Sysno, args ...uint64) (int64, error) {
	r, err := p.sys(nr, args...)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%s: %w", callName(nr), err)
	case r.Faulted:
		return 0, fmt.Errorf("%s: copy faulted", callName(nr))
	case r.Errno != 0:
		return 0, fmt.Errorf("%s: %v", callName(nr), r.Errno)
	}
	return r.Retval[0], nil
}

// entry returns the entry called name, if ents has one.
func entry(ents []netbsd.Dirent, name string) (netbsd.Dirent, bool) {
	for _, e := range ents {
		if e.Name == name {
			return e, true
		}
	}
	return netbsd.Dirent{}, false
}

// scratch makes a directory of the test's own at the top of the server's
// root, under a name no other run uses, since a real server's root is
// shared and outlives the test, and removes it with what the test left in
// it when the test ends.
func scratch(t *testing.T, p *proc) string {
	t.Helper()
	dir := fmt.Sprintf("/hijack-conformance-%d-%016x", os.Getpid(), rand.Uint64())
	p.ok(t, netbsd.SYS_MKDIR, p.cstr(t, dir), 0o755)
	t.Cleanup(func() {
		if err := p.removeAll(dir); err != nil {
			t.Errorf("clean up %s: %v", dir, err)
		}
	})
	return dir
}

// removeAll removes path and, if it is a directory, what it holds.
func (p *proc) removeAll(path string) error {
	name, err := p.stg.Stage(append([]byte(path), 0))
	if err != nil {
		return err
	}
	defer name.Release()
	r, err := p.sys(netbsd.SYS_UNLINK, name.Addr())
	if err != nil {
		return err
	}
	if r.Errno == 0 || r.Errno == netbsd.ENOENT {
		return nil
	}

	ents, err := p.tryList(path)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Name == "." || e.Name == ".." {
			continue
		}
		if err := p.removeAll(path + "/" + e.Name); err != nil {
			return err
		}
	}
	_, err = p.try(netbsd.SYS_RMDIR, name.Addr())
	return err
}
