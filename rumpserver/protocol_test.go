package rumpserver

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

func TestBannerAndGuestHandshake(t *testing.T) {
	s, _ := newServer(t)
	nc := dialRaw(t, s)
	nc.SetDeadline(time.Now().Add(callTimeout))

	line := make([]byte, 32)
	if _, err := io.ReadFull(nc, line); err != nil {
		t.Fatalf("read banner: %v", err)
	}
	if diff := cmp.Diff("RUMPSP-0.4-NetBSD-7.99.34/amd64\n", string(line)); diff != "" {
		t.Errorf("banner (-want +got):\n%s", diff)
	}

	hs := sysproxy.GuestHandshake{Reqno: 1, Name: "probe"}
	if err := sysproxy.WriteFrame(nc, hs.Frame()); err != nil {
		t.Fatal(err)
	}
	f := readFrame(t, nc)
	want := sysproxy.HandshakeResponse{Reqno: 1}.Frame()
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("handshake answer (-want +got):\n%s", diff)
	}
}

func TestGuestProcesses(t *testing.T) {
	s, _ := newServer(t)
	first := guest(t, s, "first")
	second := guest(t, s, "second")

	tests := []struct {
		name string
		c    *testClient
		want [2]int64
	}{
		{"the first guest is pid 2, a child of proc1", first, [2]int64{2, 1}},
		{"the second guest is pid 3", second, [2]int64{3, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.c.sys(netbsd.SYS_GETPID)
			if diff := cmp.Diff(tt.want, r.Retval); diff != "" {
				t.Errorf("getpid (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnimplementedCallsAnswerENOSYS(t *testing.T) {
	s, _ := newServer(t)
	c := guest(t, s, "enosys")
	for _, nr := range []uint32{1, 2, 59, 197, 208, 511, 512, 600, 0x80000000} {
		reqno := c.nextReqno()
		f, ok := c.request(reqno, sysproxy.SyscallRequest{Reqno: reqno, Sysnum: nr})
		if !ok {
			t.Fatalf("syscall %d: connection lost", nr)
		}
		m, err := sysproxy.DecodeServerMessage(f)
		r, isResp := m.(sysproxy.SyscallResponse)
		if err != nil || !isResp || r.Result.Error != int32(netbsd.ENOSYS) {
			t.Errorf("syscall %d answered %v, want ENOSYS", nr, f)
		}
	}
}

// readFrame reads one frame within callTimeout.
func readFrame(t testing.TB, nc net.Conn) sysproxy.Frame {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(callTimeout))
	f, err := sysproxy.ReadFrame(nc, 1<<20)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return f
}

// expectEOF checks that the server hangs up without sending anything more.
func expectEOF(t testing.TB, nc net.Conn) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(callTimeout))
	f, err := sysproxy.ReadFrame(nc, 1<<20)
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		t.Fatalf("got %v (%v), want the connection closed", f, err)
	}
}

// rawFrame builds a frame with any header, length included.
func rawFrame(length, reqno uint64, class, typ uint16, u uint32, payload []byte) []byte {
	b := make([]byte, 24, 24+len(payload))
	binary.LittleEndian.PutUint64(b[0:], length)
	binary.LittleEndian.PutUint64(b[8:], reqno)
	binary.LittleEndian.PutUint16(b[16:], class)
	binary.LittleEndian.PutUint16(b[18:], typ)
	binary.LittleEndian.PutUint32(b[20:], u)
	return append(b, payload...)
}

// frameBytes is the wire form of a frame, with its length computed.
func frameBytes(reqno uint64, class sysproxy.Class, typ sysproxy.Type, u uint32,
	payload []byte) []byte {
	return rawFrame(24+uint64(len(payload)), reqno, uint16(class), uint16(typ), u, payload)
}

func TestMalformedFrames(t *testing.T) {
	errFrame := func(reqno uint64, code sysproxy.ErrorCode) *sysproxy.Frame {
		f := sysproxy.ErrorResponse{Reqno: reqno, Code: code}.Frame()
		return &f
	}
	guestFrame := frameBytes(1, sysproxy.ClassReq, sysproxy.TypeHandshake, 0, []byte("x\x00"))
	tests := []struct {
		name      string
		handshake bool   // do a GUEST handshake first
		send      []byte // the offending bytes
		answer    *sysproxy.Frame
		closes    bool
	}{
		{
			name:   "a syscall before the handshake is refused with AUTH and hung up",
			send:   frameBytes(5, sysproxy.ClassReq, sysproxy.TypeSyscall, 20, nil),
			answer: errFrame(5, sysproxy.CodeAuth), closes: true,
		},
		{
			name:   "an AUTH handshake is refused with AUTH and hung up",
			send:   frameBytes(6, sysproxy.ClassReq, sysproxy.TypeHandshake, 1, nil),
			answer: errFrame(6, sysproxy.CodeAuth), closes: true,
		},
		{
			name:   "an EXEC handshake before any other is refused with AUTH",
			send:   frameBytes(7, sysproxy.ClassReq, sysproxy.TypeHandshake, 3, []byte("x\x00")),
			answer: errFrame(7, sysproxy.CodeAuth), closes: true,
		},
		{
			name:   "a PREFORK before the handshake is refused with AUTH",
			send:   frameBytes(8, sysproxy.ClassReq, sysproxy.TypePrefork, 0, nil),
			answer: errFrame(8, sysproxy.CodeAuth), closes: true,
		},
		{
			name:   "an unknown handshake kind is refused with AUTH",
			send:   frameBytes(9, sysproxy.ClassReq, sysproxy.TypeHandshake, 77, nil),
			answer: errFrame(9, sysproxy.CodeAuth), closes: true,
		},
		{
			name: "a second GUEST handshake is MALFORMED and hung up", handshake: true,
			send:   frameBytes(10, sysproxy.ClassReq, sysproxy.TypeHandshake, 0, []byte("y\x00")),
			answer: errFrame(10, sysproxy.CodeMalformedRequest), closes: true,
		},
		{
			name: "a FORK handshake after GUEST is MALFORMED and hung up", handshake: true,
			send:   frameBytes(11, sysproxy.ClassReq, sysproxy.TypeHandshake, 2, make([]byte, 20)),
			answer: errFrame(11, sysproxy.CodeMalformedRequest), closes: true,
		},
		{
			name:   "a FORK handshake of 16 bytes is MALFORMED and hung up",
			send:   frameBytes(12, sysproxy.ClassReq, sysproxy.TypeHandshake, 2, make([]byte, 16)),
			answer: errFrame(12, sysproxy.CodeMalformedRequest), closes: true,
		},
		{
			name:   "a FORK handshake with an unknown cookie is INVALID_PREFORK",
			send:   frameBytes(13, sysproxy.ClassReq, sysproxy.TypeHandshake, 2, make([]byte, 20)),
			answer: errFrame(13, sysproxy.CodeInvalidPrefork), closes: true,
		},
		{
			name:      "a client-sent COPYIN request is MALFORMED, the connection kept",
			handshake: true,
			send:      frameBytes(14, sysproxy.ClassReq, sysproxy.TypeCopyin, 0, make([]byte, 16)),
			answer:    errFrame(14, sysproxy.CodeMalformedRequest),
		},
		{
			name:      "a request of an unknown type is MALFORMED, the connection kept",
			handshake: true,
			send:      frameBytes(15, sysproxy.ClassReq, 99, 0, nil),
			answer:    errFrame(15, sysproxy.CodeMalformedRequest),
		},
		{
			name:      "an ERROR frame from the client is MALFORMED, the connection kept",
			handshake: true,
			send:      frameBytes(16, sysproxy.ClassError, 0, 7, nil),
			answer:    errFrame(16, sysproxy.CodeMalformedRequest),
		},
		{
			name:      "a frame of an unknown class is MALFORMED, the connection kept",
			handshake: true,
			send:      frameBytes(17, 9, 0, 0, nil),
			answer:    errFrame(17, sysproxy.CodeMalformedRequest),
		},
		{
			name: "a response nobody waits for is dropped silently", handshake: true,
			send: frameBytes(18, sysproxy.ClassResp, sysproxy.TypeCopyin, 0, []byte("zz")),
		},
		{
			name:   "an ERROR frame before the handshake is MALFORMED, the connection kept",
			send:   frameBytes(19, sysproxy.ClassError, 0, 0, nil),
			answer: errFrame(19, sysproxy.CodeMalformedRequest),
		},
		{
			name: "a frame shorter than its header ends the connection", handshake: true,
			send:   rawFrame(23, 20, 0, 1, 20, nil),
			closes: true,
		},
		{
			name: "a frame claiming a terabyte ends the connection", handshake: true,
			send:   rawFrame(1<<40, 21, 0, 1, 20, nil),
			closes: true,
		},
	}
	s, _ := newServer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := dialRaw(t, s)
			nc.SetDeadline(time.Now().Add(callTimeout))
			if _, err := sysproxy.ReadBanner(nc); err != nil {
				t.Fatal(err)
			}
			if tt.handshake {
				nc.Write(guestFrame)
				readFrame(t, nc)
			}
			if _, err := nc.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			if tt.answer != nil {
				if diff := cmp.Diff(*tt.answer, readFrame(t, nc)); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
			}
			if tt.closes {
				expectEOF(t, nc)
				return
			}
			checkAlive(t, nc, tt.handshake)
		})
	}

	t.Run("the server still serves other connections", func(t *testing.T) {
		c := guest(t, s, "after")
		if pid := c.ok(netbsd.SYS_GETPID); pid < 2 {
			t.Errorf("getpid = %d", pid)
		}
	})
}

// checkAlive shows that a connection still answers: a getpid after the
// handshake, or a handshake before it.
func checkAlive(t *testing.T, nc net.Conn, running bool) {
	t.Helper()
	if !running {
		nc.Write(frameBytes(30, sysproxy.ClassReq, sysproxy.TypeHandshake, 0, []byte("x\x00")))
		if f := readFrame(t, nc); f.Class != sysproxy.ClassResp || f.Reqno != 30 {
			t.Fatalf("handshake after the bad frame answered %v", f)
		}
	}
	nc.Write(frameBytes(31, sysproxy.ClassReq, sysproxy.TypeSyscall,
		uint32(netbsd.SYS_GETPID), nil))
	f := readFrame(t, nc)
	if f.Class != sysproxy.ClassResp || f.Type != sysproxy.TypeSyscall || f.Reqno != 31 {
		t.Fatalf("getpid after the bad frame answered %v", f)
	}
}

func TestBounds(t *testing.T) {
	root := t.TempDir()
	s, err := New(Config{Root: root, MaxConns: 2, MaxProcessCalls: 1, Log: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := guest(t, s, "bounded")
	pipe := c.sys(netbsd.SYS_PIPE).Retval
	writer := forkChild(t, s, c.prefork())

	t.Run("a call beyond the process's bound is answered TRYAGAIN", func(t *testing.T) {
		blocked := c.start(netbsd.SYS_READ, uint64(pipe[0]), c.alloc(1), 1)
		waitBlocked(t, s, 1)
		reqno := c.nextReqno()
		f, ok := c.request(reqno, sysproxy.SyscallRequest{Reqno: reqno,
			Sysnum: uint32(netbsd.SYS_GETPID)})
		want := sysproxy.ErrorResponse{Reqno: reqno, Code: sysproxy.CodeTryAgain}.Frame()
		if diff := cmp.Diff(want, f); !ok || diff != "" {
			t.Errorf("second call (-want +got):\n%s", diff)
		}
		writer.ok(netbsd.SYS_WRITE, uint64(pipe[1]), writer.put([]byte("x")), 1)
		if r := <-blocked; r.Error != 0 {
			t.Errorf("blocked read = %v", netbsd.Errno(r.Error))
		}
	})
	t.Run("a connection beyond MaxConns is closed without a banner", func(t *testing.T) {
		nc := dialRaw(t, s)
		nc.SetReadDeadline(time.Now().Add(callTimeout))
		var b [1]byte
		if n, err := nc.Read(b[:]); n != 0 || !errors.Is(err, io.EOF) {
			t.Errorf("third connection read %d bytes %q, %v; want EOF", n, b[:n], err)
		}
	})
}
