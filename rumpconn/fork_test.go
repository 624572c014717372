package rumpconn

import (
	"errors"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

func TestPreforkForkAndExec(t *testing.T) {
	checkGoroutines(t)
	fs := newFakeServer(t)
	ctx := testCtx(t)
	parent := dialFake(t, fs, Options{})

	cookie, err := parent.Prefork(ctx)
	if err != nil {
		t.Fatalf("prefork: %v", err)
	}
	child, err := DialFork(ctx, fs.srv, cookie, "child", Options{})
	if err != nil {
		t.Fatalf("fork handshake: %v", err)
	}
	defer child.Close()
	res, err := child.Syscall(ctx, netbsd.SYS_GETPID)
	if err != nil || res.Retval[0] != 3 {
		t.Errorf("the child's getpid = %+v, %v; want its own process, pid 3", res, err)
	}

	if err := child.Exec(ctx, "newprog"); err != nil {
		t.Fatalf("exec: %v", err)
	}
	res, err = child.Syscall(ctx, netbsd.SYS_GETPID)
	if err != nil || res.Retval[0] != 3 {
		t.Errorf("getpid after exec = %+v, %v; want the same process, pid 3", res, err)
	}

	_, err = DialFork(ctx, fs.srv, cookie, "again", Options{})
	wantRefused(t, err, syscall.ESRCH)

	_, handshakes, _ := fs.stats()
	want := []string{"guest prog", "fork", "exec newprog"}
	if diff := cmp.Diff(want, handshakes); diff != "" {
		t.Errorf("handshakes (-want +got):\n%s", diff)
	}
}

// wantRefused fails unless err is a *RefusedError matching errno.
func wantRefused(t *testing.T, err error, errno syscall.Errno) {
	t.Helper()
	var refused *RefusedError
	if !errors.As(err, &refused) {
		t.Errorf("error %v is not a refusal by the server", err)
	}
	wantErr(t, err, errno)
}

func TestServerRefusals(t *testing.T) {
	tests := []struct {
		name      string
		config    func(*fakeConfig)
		op        func(t *testing.T, c *Conn) error
		errno     syscall.Errno
		stillUsed bool // the connection survives the refusal
	}{
		{"a prefork without memory is ENOMEM and keeps the connection",
			func(c *fakeConfig) { c.preforkErr = sysproxy.CodeNoMem },
			preforkOp, syscall.ENOMEM, true},
		{"a failed fork on the server is EIO and keeps the connection",
			func(c *fakeConfig) { c.preforkErr = sysproxy.CodeRforkFailed },
			preforkOp, syscall.EIO, true},
		{"a prefork during an exec is EBUSY and loses the connection",
			func(c *fakeConfig) { c.preforkErr = sysproxy.CodeInExec },
			preforkOp, syscall.EBUSY, false},
		{"an exec during an exec is EBUSY and loses the connection",
			func(c *fakeConfig) { c.execErr = sysproxy.CodeInExec },
			func(t *testing.T, c *Conn) error { return c.Exec(testCtx(t), "x") },
			syscall.EBUSY, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeServer(t)
			fs.setConfig(tt.config)
			c := dialFake(t, fs, Options{})
			err := tt.op(t, c)
			wantRefused(t, err, tt.errno)

			if !tt.stillUsed {
				// The server hangs up after these; what the next call sees
				// depends on whether the hang-up arrived, so only wait for it.
				eventually(t, "the connection is lost", func() bool {
					_, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID)
					return err != nil
				})
				return
			}
			if _, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID); err != nil {
				t.Errorf("getpid after the refusal: %v", err)
			}
		})
	}
}

func preforkOp(t *testing.T, c *Conn) error {
	_, err := c.Prefork(testCtx(t))
	return err
}

func TestForkHandshakeFailures(t *testing.T) {
	tests := []struct {
		name    string
		forkErr sysproxy.ErrorCode
		cookie  func(t *testing.T, parent *Conn) Cookie
		errno   syscall.Errno
	}{
		{"an unknown cookie is ESRCH", 0,
			func(*testing.T, *Conn) Cookie { return Cookie{1, 2, 3} }, syscall.ESRCH},
		{"a fork the server cannot complete is EIO", sysproxy.CodeRforkFailed,
			func(t *testing.T, parent *Conn) Cookie {
				c, err := parent.Prefork(testCtx(t))
				if err != nil {
					t.Fatal(err)
				}
				return c
			}, syscall.EIO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			fs := newFakeServer(t)
			fs.setConfig(func(c *fakeConfig) { c.forkErr = tt.forkErr })
			parent := dialFake(t, fs, Options{})
			c, err := DialFork(testCtx(t), fs.srv, tt.cookie(t, parent), "child", Options{})
			if c != nil {
				c.Close()
			}
			wantRefused(t, err, tt.errno)
		})
	}
}
