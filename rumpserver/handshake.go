package rumpserver

import (
	"bytes"

	"github.com/hijack-project/hijack/sysproxy"
)

// guest answers a GUEST handshake: a new process off proc1. The name is read
// up to its first NUL; an empty payload, which crashes a real server, names
// the process "". If the process cannot be made the connection ends without
// an answer, as it does when rump_server's rfork fails.
func (c *conn) guest(f sysproxy.Frame) bool {
	p, err := newGuest(c.s.k, processName(f.Payload))
	if err != nil {
		c.log.Warn("rump guest process not created", "error", err)
		return false
	}
	c.log.Debug("rump guest process", "pid", p.pid, "name", p.name)
	return c.adopt(f, p)
}

// adopt makes p the connection's process, whose calls it serves from now on,
// and answers the handshake f.
func (c *conn) adopt(f sysproxy.Frame, p *process) bool {
	c.proc = p
	c.running = true
	c.send(sysproxy.HandshakeResponse{Reqno: f.Reqno}.Frame())
	return true
}

// processName reads a handshake's name: the bytes before the first NUL, or
// all of them.
func processName(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// forkHandshake binds the connection to a preforked process. The cookie is
// good once: it is removed whether the handshake completes or is cancelled.
func (c *conn) forkHandshake(f sysproxy.Frame) bool {
	m, err := sysproxy.DecodeClientMessage(f)
	hs, ok := m.(sysproxy.ForkHandshake)
	if err != nil || !ok {
		return c.refuse(f, sysproxy.CodeMalformedRequest)
	}
	p := c.s.takePrefork(hs.Cookie)
	if p == nil {
		return c.refuse(f, sysproxy.CodeInvalidPrefork)
	}
	if hs.Cancel {
		p.exit()
		return false
	}
	c.log.Debug("rump fork child", "pid", p.pid, "ppid", p.ppid)
	return c.adopt(f, p)
}

// prefork copies the process for a fork handshake to come and answers with
// its cookie. The copy lives on its own, whatever becomes of this
// connection, until it is claimed or the server closes. A payload, which
// PREFORK does not have, is ignored, as rump_server ignores it.
func (c *conn) prefork(f sysproxy.Frame) bool {
	c.mu.Lock()
	inExec := c.inExec
	c.mu.Unlock()
	if inExec {
		return c.refuse(f, sysproxy.CodeInExec)
	}

	child := c.proc.fork()
	cookie, ok := c.s.addPrefork(child)
	if !ok {
		child.exit()
		c.sendError(f.Reqno, sysproxy.CodeNoMem)
		return true
	}
	c.send(sysproxy.PreforkResponse{Reqno: f.Reqno, Cookie: cookie}.Frame())
	return true
}

// execHandshake starts an exec: every blocking call of the process is
// interrupted, new calls fail with EBUSY, and once the calls in flight have
// returned, the close-on-exec descriptors are closed, the process is
// renamed, and the handshake is answered. A second EXEC before that answer
// is refused with INEXEC and ends the connection.
func (c *conn) execHandshake(f sysproxy.Frame) bool {
	c.mu.Lock()
	if c.inExec {
		c.mu.Unlock()
		return c.refuse(f, sysproxy.CodeInExec)
	}
	c.inExec = true
	c.mu.Unlock()

	name := processName(f.Payload)
	c.proc.interrupt()
	c.workers.Add(1)
	go func() {
		defer c.workers.Done()
		c.mu.Lock()
		for c.calls > 0 {
			c.drained.Wait()
		}
		dying := c.dying
		c.mu.Unlock()
		if dying {
			return
		}

		c.proc.exec(name)
		c.proc.resume()
		c.mu.Lock()
		c.inExec = false
		c.mu.Unlock()
		c.send(sysproxy.HandshakeResponse{Reqno: f.Reqno}.Frame())
	}()
	return true
}
