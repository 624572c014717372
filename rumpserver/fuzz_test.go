package rumpserver

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// fuzzSeeds are client streams that reach the server's main paths: a
// handshake, calls that copy in and out, a prefork, an exec, and bad frames.
func fuzzSeeds(f *testing.F) {
	req := func(reqno uint64, nr netbsd.Sysno, args ...uint64) []byte {
		return sysproxy.AppendFrame(nil, sysproxy.SyscallRequest{Reqno: reqno,
			Sysnum: uint32(nr), Args: args}.Frame())
	}
	guestHs := sysproxy.AppendFrame(nil, sysproxy.GuestHandshake{Reqno: 1, Name: "fz"}.Frame())
	path := sysproxy.AppendFrame(nil, sysproxy.CopyinResponse{Reqno: 0,
		Data: []byte("/f\x00")}.Frame())
	data := sysproxy.AppendFrame(nil, sysproxy.CopyinResponse{Reqno: 1,
		Data: []byte("abc")}.Frame())

	seeds := [][]byte{
		guestHs,
		append(append([]byte(nil), guestHs...), req(2, netbsd.SYS_GETPID)...),
		concat(guestHs, req(2, netbsd.SYS_OPEN, 0x1000, netbsd.O_RDWR|netbsd.O_CREAT, 0o644),
			path, req(3, netbsd.SYS_WRITE, 3, 0x2000, 3), data),
		concat(guestHs, sysproxy.AppendFrame(nil, sysproxy.PreforkRequest{Reqno: 2}.Frame()),
			sysproxy.AppendFrame(nil, sysproxy.ExecHandshake{Reqno: 3, Name: "x"}.Frame())),
		concat(guestHs, req(2, netbsd.SYS___SOCKET30, netbsd.AF_INET, netbsd.SOCK_STREAM, 0),
			req(3, netbsd.SYS_LISTEN, 3, 1), req(4, netbsd.SYS_ACCEPT, 3, 0, 0)),
		concat(guestHs, req(2, netbsd.SYS_POLL, 0x1000, 1, 1<<31)),
		concat(guestHs, req(2, netbsd.SYS___SYSCTL, 0x1000, 2, 0x2000, 0x3000, 0, 0)),
		rawFrame(3, 0, 0, 0, 0, nil),
		rawFrame(1<<62, 0, 0, 0, 0, nil),
		concat(guestHs, rawFrame(24, 9, 2, 0, 7, nil), rawFrame(24, 9, 1, 2, 0, nil)),
	}
	for _, s := range seeds {
		f.Add(s)
	}
}

func concat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// FuzzServeClientStream feeds arbitrary client bytes into one connection.
// The server must not panic, must not hang once the client hangs up, and
// must go on serving other connections.
func FuzzServeClientStream(f *testing.F) {
	fuzzSeeds(f)
	s, err := New(Config{Root: f.TempDir(), Console: io.Discard,
		Log: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })

	f.Fuzz(func(t *testing.T, stream []byte) {
		cl, sv := socketpair(t)
		done := make(chan struct{})
		go func() {
			s.ServeConn(sv)
			close(done)
		}()
		go io.Copy(io.Discard, cl)
		cl.SetWriteDeadline(time.Now().Add(callTimeout))
		cl.Write(stream)
		cl.(*net.UnixConn).CloseWrite()
		select {
		case <-done:
		case <-time.After(callTimeout):
			t.Fatalf("connection not torn down %v after the client hung up", callTimeout)
		}
		cl.Close()
	})
}
