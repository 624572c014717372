package rumpserver

import (
	"bytes"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// Client memory is reached the way the rump kernel reaches it: COPYIN and
// COPYINSTR requests on the connection, answered with the bytes, and COPYOUT
// requests, not answered. An address is never interpreted; only NULL is
// refused (EFAULT) before anything is sent, and zero bytes are never asked
// for.
//
// A call's COPYOUTs are queued on the call and written together with its
// next frame, a copy request or its response, in one system call: the client
// handles frames in order, so it still has every COPYOUT of a call before
// anything the call asks afterwards, and before the response. Nothing reads
// what a call copies out before the call returns.

// reqno returns a fresh number for a request of the server's own.
func (c *conn) reqno() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nextReqno
	c.nextReqno++
	return n
}

// deliver hands the payload of a response to the call waiting for it. A
// response nobody waits for is dropped, as rump_server drops it.
func (c *conn) deliver(reqno uint64, payload []byte) {
	c.mu.Lock()
	ch, ok := c.waiting[reqno]
	delete(c.waiting, reqno)
	c.mu.Unlock()
	if ok {
		ch <- payload
	}
}

// send writes f after the COPYOUTs cl has queued, all in one write.
func (cl *call) send(f sysproxy.Frame) error {
	if len(cl.out) == 0 {
		return cl.c.send(f)
	}
	b := sysproxy.AppendFrame(cl.out, f)
	cl.out = nil
	return cl.c.write(b)
}

// request sends a COPYIN or COPYINSTR request for cl and waits for its
// answer. It fails with EFAULT when the connection goes away first, as the
// rump kernel's copyin does.
func (cl *call) request(m sysproxy.ServerMessage, reqno uint64) ([]byte, netbsd.Errno) {
	if cl.reading {
		return cl.readReply(m, reqno)
	}
	c := cl.c
	ch := make(chan []byte, 1)
	c.mu.Lock()
	if c.dying {
		c.mu.Unlock()
		return nil, netbsd.EFAULT
	}
	c.waiting[reqno] = ch
	c.mu.Unlock()

	if err := cl.send(m.Frame()); err != nil {
		c.mu.Lock()
		delete(c.waiting, reqno)
		c.mu.Unlock()
		return nil, netbsd.EFAULT
	}
	select {
	case data := <-ch:
		return data, 0
	case <-c.dead:
		c.mu.Lock()
		delete(c.waiting, reqno)
		c.mu.Unlock()
		return nil, netbsd.EFAULT
	}
}

// readReply is request for a call that runs on the reader: it reads frames
// until the answer, handling the others as the reader does. If calls started
// meanwhile, it hands the reading over before cl runs on (see conn). When the
// connection ends instead, the request fails with EFAULT and the reader
// tears the connection down once cl has returned.
func (cl *call) readReply(m sysproxy.ServerMessage, reqno uint64) ([]byte, netbsd.Errno) {
	c := cl.c
	if c.over {
		return nil, netbsd.EFAULT
	}
	if err := cl.send(m.Frame()); err != nil {
		return nil, netbsd.EFAULT
	}
	for {
		f, ok := c.next()
		if !ok {
			c.over = true
			c.hangUp()
			return nil, netbsd.EFAULT
		}
		if f.Class == sysproxy.ClassResp && f.Reqno == reqno {
			c.mu.Lock()
			others := c.calls > 1
			c.mu.Unlock()
			if others {
				c.handOff(cl)
			}
			return f.Payload, 0
		}
		if !c.handleFrame(f) {
			c.over = true
			c.hangUp()
			return nil, netbsd.EFAULT
		}
	}
}

// copyin reads n bytes of client memory at addr, in requests of at most
// maxCopyin bytes. A reply shorter than asked, which makes a real server read
// past its buffer, fails the call with EFAULT; extra bytes are ignored, as
// the real server ignores them.
func (cl *call) copyin(addr uint64, n int) ([]byte, netbsd.Errno) {
	if n <= 0 {
		return nil, 0
	}
	if addr == 0 || addr+uint64(n) < addr {
		return nil, netbsd.EFAULT
	}
	out := make([]byte, 0, n)
	for len(out) < n {
		chunk := min(n-len(out), maxCopyin)
		reqno := cl.c.reqno()
		req := sysproxy.CopyinRequest{Reqno: reqno,
			CopyDesc: sysproxy.CopyDesc{Len: uint64(chunk), Addr: addr + uint64(len(out))}}
		data, e := cl.request(req, reqno)
		if e != 0 {
			return nil, e
		}
		if len(data) < chunk {
			return nil, netbsd.EFAULT
		}
		out = append(out, data[:chunk]...)
	}
	return out, 0
}

// copyinstr reads a NUL-terminated string of at most limit bytes, NUL
// included, at addr, and returns it without the NUL. A reply without a NUL
// fails with ENAMETOOLONG, as the kernel's copyinstr does; bytes past limit,
// which overflow a real server's buffer, are ignored.
func (cl *call) copyinstr(addr uint64, limit int) (string, netbsd.Errno) {
	if addr == 0 {
		return "", netbsd.EFAULT
	}
	reqno := cl.c.reqno()
	req := sysproxy.CopyinstrRequest{Reqno: reqno,
		CopyDesc: sysproxy.CopyDesc{Len: uint64(limit), Addr: addr}}
	data, e := cl.request(req, reqno)
	if e != 0 {
		return "", e
	}
	data = data[:min(len(data), limit)]
	i := bytes.IndexByte(data, 0)
	if i < 0 {
		return "", netbsd.ENAMETOOLONG
	}
	return string(data[:i]), 0
}

// copyout queues b for client memory at addr, to be written with the call's
// next frame. The protocol has no answer, so only a NULL address fails it
// (EFAULT); a connection lost meanwhile loses the response too.
func (cl *call) copyout(addr uint64, b []byte) netbsd.Errno {
	if len(b) == 0 {
		return 0
	}
	if addr == 0 {
		return netbsd.EFAULT
	}
	m := sysproxy.CopyoutRequest{Reqno: cl.c.reqno(), Addr: addr, Data: b}
	cl.out = sysproxy.AppendFrame(cl.out, m.Frame())
	return 0
}

// raise tells the client that the kernel posted NetBSD signal sig to its
// process, as the rump kernel's "raise" signal model does.
func (c *conn) raise(sig netbsd.Signal) {
	c.send(sysproxy.RaiseRequest{Signo: uint32(sig)}.Frame())
}
