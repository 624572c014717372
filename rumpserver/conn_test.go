package rumpserver

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// rawClient is a guest connection driven frame by frame, so that a test
// decides when each copy request is answered.
type rawClient struct {
	t  *testing.T
	nc net.Conn
}

func rawGuest(t *testing.T, s *Server) *rawClient {
	t.Helper()
	nc := dialRaw(t, s)
	nc.SetDeadline(time.Now().Add(callTimeout))
	if _, err := sysproxy.Handshake(nc, sysproxy.GuestHandshake{Reqno: 1, Name: "raw"}); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return &rawClient{t: t, nc: nc}
}

func (c *rawClient) write(f sysproxy.Frame) {
	c.t.Helper()
	if err := sysproxy.WriteFrame(c.nc, f); err != nil {
		c.t.Fatalf("write %v: %v", f, err)
	}
}

// call sends system call nr with reqno.
func (c *rawClient) call(reqno uint64, nr netbsd.Sysno, args ...uint64) {
	c.t.Helper()
	block, err := netbsd.ArgBlock(nr, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	slots := make([]uint64, len(block)/8)
	for i := range slots {
		slots[i] = binary.LittleEndian.Uint64(block[8*i:])
	}
	c.write(sysproxy.SyscallRequest{Reqno: reqno, Sysnum: uint32(nr), Args: slots}.Frame())
}

// next reads the next message from the server.
func (c *rawClient) next() sysproxy.ServerMessage {
	c.t.Helper()
	f := readFrame(c.t, c.nc)
	m, err := sysproxy.DecodeServerMessage(f)
	if err != nil {
		c.t.Fatalf("server sent %v: %v", f, err)
	}
	return m
}

// pathRequest reads a COPYINSTR request and checks its address.
func (c *rawClient) pathRequest(addr uint64) sysproxy.CopyinstrRequest {
	c.t.Helper()
	m, ok := c.next().(sysproxy.CopyinstrRequest)
	if !ok || m.Addr != addr {
		c.t.Fatalf("got %#v, want a COPYINSTR of %#x", m, addr)
	}
	return m
}

// answer reads a response and checks that it answers reqno with success.
func (c *rawClient) answer(reqno uint64) {
	c.t.Helper()
	m, ok := c.next().(sysproxy.SyscallResponse)
	if !ok || m.Reqno != reqno || m.Result.Error != 0 {
		c.t.Fatalf("got %#v, want a successful answer to %d", m, reqno)
	}
}

func TestCallsWhoseCopiesCross(t *testing.T) {
	const addrA, addrB = 0x1000, 0x2000
	dot := []byte(".\x00")
	tests := []struct {
		name   string
		aFirst bool
	}{
		{"the later call's copy answered first", false},
		{"the earlier call's copy answered first", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t)
			c := rawGuest(t, s)

			// The first call runs on the reader and reads its own copy
			// reply; the second, sent meanwhile, gets a goroutine.
			c.call(10, netbsd.SYS_ACCESS, addrA, 0)
			a := c.pathRequest(addrA)
			c.call(11, netbsd.SYS_ACCESS, addrB, 0)
			b := c.pathRequest(addrB)

			if tt.aFirst {
				c.write(a.Reply(dot).Frame())
				c.answer(10)
				c.write(b.Reply(dot).Frame())
				c.answer(11)
			} else {
				c.write(b.Reply(dot).Frame())
				c.answer(11)
				c.write(a.Reply(dot).Frame())
				c.answer(10)
			}

			c.call(12, netbsd.SYS_GETPID)
			c.answer(12)
		})
	}
}

func TestBlockingCallLetsOtherCallsRun(t *testing.T) {
	s, _ := newServer(t)
	c := guest(t, s, "block")
	res := c.sys(netbsd.SYS_PIPE)
	rd, wr := uint64(res.Retval[0]), uint64(res.Retval[1])

	buf := c.alloc(4)
	blocked := c.start(netbsd.SYS_READ, rd, buf, 4)
	waitBlocked(t, s, 1)
	if n := c.ok(netbsd.SYS_WRITE, wr, c.put([]byte("ping")), 4); n != 4 {
		t.Fatalf("write = %d, want 4", n)
	}
	select {
	case got := <-blocked:
		if got.Error != 0 || got.Retval[0] != 4 || string(c.load(buf, 4)) != "ping" {
			t.Errorf("read = %+v %q, want 4 \"ping\"", got, c.load(buf, 4))
		}
	case <-time.After(callTimeout):
		t.Fatal("the blocked read was not woken by the write")
	}
}

func TestCopyoutsComeBeforeTheAnswer(t *testing.T) {
	s, _ := newServer(t)
	c := rawGuest(t, s)
	const buf = 0x3000
	c.call(20, netbsd.SYS___FSTAT50, 0, buf)
	m, ok := c.next().(sysproxy.CopyoutRequest)
	if !ok || m.Addr != buf || len(m.Data) != netbsd.StatSize {
		t.Fatalf("got %#v, want a COPYOUT of a struct stat to %#x", m, buf)
	}
	c.answer(20)
}

func TestClientGoneDuringCopy(t *testing.T) {
	s, _ := newServer(t)
	c := rawGuest(t, s)
	c.call(30, netbsd.SYS_ACCESS, 0x1000, 0)
	c.pathRequest(0x1000)
	c.nc.Close()

	deadline := time.Now().Add(callTimeout)
	for connections(s) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the connection was not torn down after its client left")
		}
		time.Sleep(time.Millisecond)
	}
}

// connections returns how many connections the server serves.
func connections(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
