package rumpconn

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// FuzzServerStream feeds arbitrary bytes to a Conn as everything the server
// sends, banner included. Whatever they are, the Conn must not panic, must
// not send what a real server cannot take, and every call must return once
// the stream ends.
func FuzzServerStream(f *testing.F) {
	banner := sysproxy.FormatBanner("NetBSD", "7.99.34", "amd64")
	ok := append(append([]byte(nil), banner...), frame(sysproxy.HandshakeResponse{Reqno: 1})...)
	seed := func(parts ...[]byte) []byte {
		b := append([]byte(nil), ok...)
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	f.Add([]byte{})
	f.Add(banner)
	f.Add(ok)
	f.Add(seed(frame(sysproxy.SyscallResponse{Reqno: 2})))
	f.Add(seed(frame(sysproxy.CopyinRequest{CopyDesc: sysproxy.CopyDesc{Len: 8, Addr: 0x1000}}),
		frame(sysproxy.CopyinstrRequest{CopyDesc: sysproxy.CopyDesc{Len: 64, Addr: 0x1000}}),
		frame(sysproxy.CopyoutRequest{Addr: 0x1004, Data: []byte("abcd")}),
		frame(sysproxy.AnonmmapRequest{Size: 4096}),
		frame(sysproxy.RaiseRequest{Signo: 13}),
		frame(sysproxy.SyscallResponse{Reqno: 2}),
		frame(sysproxy.SyscallResponse{Reqno: 3})))
	f.Add(seed(frame(sysproxy.ErrorResponse{Reqno: 2, Code: sysproxy.CodeTryAgain}),
		frame(sysproxy.SyscallResponse{Reqno: 3})))
	f.Add(seed(header(10, 2, sysproxy.ClassResp, sysproxy.TypeSyscall, 0)))
	f.Add(seed(header(1<<40, 2, sysproxy.ClassReq, sysproxy.TypeCopyout, 0)))
	f.Add(seed(frame(sysproxy.PreforkResponse{Reqno: 2})))

	f.Fuzz(func(t *testing.T, stream []byte) {
		client, server := net.Pipe()
		checked := make(chan struct{})
		go func() {
			defer close(checked)
			for {
				f, err := sysproxy.ReadFrame(server, sysproxy.DefaultMaxPayload)
				if err != nil {
					io.Copy(io.Discard, server)
					return
				}
				if err := sysproxy.CheckClientFrame(f); err != nil {
					t.Errorf("the client sent %v", err)
				}
			}
		}()
		go func() {
			server.Write(stream)
			server.Close()
		}()

		mem := newFakeMemory()
		mem.mapAt(0x1000, make([]byte, 64))
		c := newConn(Server{network: "unix", address: "/fuzz"}, "fuzz", Options{
			Memory:  mem,
			MaxCopy: 1 << 16,
			Clock:   newFakeClock(),
			OnRaise: func(netbsd.Signal) {},
		})
		c.dial = func(ctx context.Context) (*preconn, bool, error) {
			pc, err := readBanner(ctx, c.srv, client)
			return pc, false, err
		}
		defer func() {
			c.Close()
			<-checked
		}()

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.open(ctx, guestHandshake("fuzz")); err != nil {
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.Syscall(ctx, netbsd.SYS_WRITE, 1, 0x1000, 8)
		}()
		c.Syscall(ctx, netbsd.SYS_GETPID)
		<-done
		if ctx.Err() != nil {
			t.Fatal("a call did not return after the stream ended")
		}
	})
}
