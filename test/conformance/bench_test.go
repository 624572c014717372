package conformance

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/rumpconn"
	"github.com/hijack-project/hijack/rumpserver"
	"github.com/hijack-project/hijack/sysproxy"
)

// BenchmarkGetpid measures one getpid, the cheapest rump call, in one run:
// through a Conn to the embedded server over a unix socket; through bare
// sysproxy frames to the embedded server over an in-process pipe; a 24-byte
// echo over a unix socketpair, the floor any socket transport pays; and
// through a Conn to RUMP_SERVER when it is set.
func BenchmarkGetpid(b *testing.B) {
	b.Run("unix-socket", func(b *testing.B) { benchConnGetpid(b, embedded(b)) })
	b.Run("in-process", benchInProcessGetpid)
	b.Run("bare-unix-roundtrip", benchBareRoundtrip)
	b.Run("RUMP_SERVER", func(b *testing.B) { benchConnGetpid(b, serverFromEnv(b)) })
}

// benchConnGetpid calls getpid through a Conn to srv.
func benchConnGetpid(b *testing.B, srv rumpconn.Server) {
	p := dial(b, srv, "bench", rumpconn.Options{})
	ctx := context.Background()
	for b.Loop() {
		if _, err := p.conn.Syscall(ctx, netbsd.SYS_GETPID); err != nil {
			b.Fatalf("getpid: %v", err)
		}
	}
}

// benchInProcessGetpid calls getpid through a rumpconn Conn whose every
// connection is one end of a net.Pipe whose other end the embedded server
// serves: the client and the server of the unix-socket case, with no kernel
// socket between them.
func benchInProcessGetpid(b *testing.B) {
	srv, err := rumpserver.New(rumpserver.Config{
		Root:    b.TempDir(),
		Console: io.Discard,
		Log:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatalf("embedded server: %v", err)
	}
	b.Cleanup(func() { srv.Close() })
	inproc := rumpconn.InProcessServer("bench", func(context.Context) (net.Conn, error) {
		cl, sv := net.Pipe()
		go srv.ServeConn(sv)
		return cl, nil
	})
	benchConnGetpid(b, inproc)
}

// benchBareRoundtrip echoes 24 bytes, a frame header, between two goroutines
// over a unix stream socketpair: a write and a read each way, and nothing
// else.
func benchBareRoundtrip(b *testing.B) {
	client, echo := socketpair(b)
	go func() {
		buf := make([]byte, sysproxy.HeaderSize)
		for {
			if _, err := io.ReadFull(echo, buf); err != nil {
				return
			}
			if _, err := echo.Write(buf); err != nil {
				return
			}
		}
	}()

	msg := make([]byte, sysproxy.HeaderSize)
	buf := make([]byte, sysproxy.HeaderSize)
	for b.Loop() {
		if _, err := client.Write(msg); err != nil {
			b.Fatalf("write: %v", err)
		}
		if _, err := io.ReadFull(client, buf); err != nil {
			b.Fatalf("read: %v", err)
		}
	}
}

// socketpair returns the ends of a unix stream socketpair as net.Conns,
// closed when the benchmark ends.
func socketpair(tb testing.TB) (net.Conn, net.Conn) {
	tb.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatalf("socketpair: %v", err)
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			tb.Fatalf("socketpair conn: %v", err)
		}
		tb.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns[0], conns[1]
}
