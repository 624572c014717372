package main

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// client is a minimal synchronous rump client for these tests: one call at a
// time, client memory a map from address to bytes.
type client struct {
	t     *testing.T
	nc    net.Conn
	reqno uint64
	mem   map[uint64][]byte
	next  uint64
}

// handshake reads the banner from nc and becomes a guest process.
func handshake(t *testing.T, nc net.Conn) *client {
	t.Helper()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	hs := sysproxy.GuestHandshake{Reqno: 1, Name: "test"}
	if _, err := sysproxy.Handshake(nc, hs); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return &client{t: t, nc: nc, reqno: 1, mem: map[uint64][]byte{}, next: 0x10000}
}

// put stores b in client memory and returns its address.
func (c *client) put(b []byte) uint64 {
	addr := c.next
	c.mem[addr] = append([]byte(nil), b...)
	c.next += uint64(len(b)+15) &^ 7
	return addr
}

func (c *client) alloc(n int) uint64 { return c.put(make([]byte, n)) }

func (c *client) str(s string) uint64 { return c.put(append([]byte(s), 0)) }

// load returns n bytes at addr, which must start a stored buffer.
func (c *client) load(addr uint64, n int) []byte {
	return append([]byte(nil), c.mem[addr][:n]...)
}

// sys makes a call and serves the server's requests until it is answered.
func (c *client) sys(nr netbsd.Sysno, args ...uint64) sysproxy.SyscallResult {
	c.t.Helper()
	block, err := netbsd.ArgBlock(nr, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	slots := make([]uint64, len(block)/8)
	for i := range slots {
		slots[i] = binary.LittleEndian.Uint64(block[8*i:])
	}
	c.reqno++
	req := sysproxy.SyscallRequest{Reqno: c.reqno, Sysnum: uint32(nr), Args: slots}
	c.nc.SetDeadline(time.Now().Add(20 * time.Second))
	if err := sysproxy.WriteFrame(c.nc, req.Frame()); err != nil {
		c.t.Fatal(err)
	}
	for {
		f, err := sysproxy.ReadFrame(c.nc, 1<<20)
		if err != nil {
			c.t.Fatalf("%v: %v", nr, err)
		}
		m, err := sysproxy.DecodeServerMessage(f)
		if err != nil {
			c.t.Fatalf("%v: %v", nr, err)
		}
		switch m := m.(type) {
		case sysproxy.CopyinRequest:
			r, _ := m.Reply(c.load(m.Addr, int(m.Len)))
			sysproxy.WriteFrame(c.nc, r.Frame())
		case sysproxy.CopyinstrRequest:
			sysproxy.WriteFrame(c.nc, m.Reply(c.mem[m.Addr]).Frame())
		case sysproxy.CopyoutRequest:
			copy(c.mem[m.Addr], m.Data)
		case sysproxy.SyscallResponse:
			return m.Result
		}
	}
}

// ok makes a call that must succeed.
func (c *client) ok(nr netbsd.Sysno, args ...uint64) int64 {
	c.t.Helper()
	r := c.sys(nr, args...)
	if r.Error != 0 {
		c.t.Fatalf("%v: %v", nr, netbsd.Errno(r.Error))
	}
	return r.Retval[0]
}

// inet4 is a NetBSD sockaddr_in for 127.0.0.1:port.
func inet4(port uint16) []byte {
	sa := make([]byte, netbsd.SockaddrInSize)
	sa[0], sa[1] = netbsd.SockaddrInSize, netbsd.AF_INET
	binary.BigEndian.PutUint16(sa[2:], port)
	copy(sa[4:], []byte{127, 0, 0, 1})
	return sa
}
