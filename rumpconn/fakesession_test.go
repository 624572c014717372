package rumpconn

import (
	"crypto/rand"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// fakeSession is one accepted connection: one process of the fake kernel.
type fakeSession struct {
	fs  *fakeServer
	nc  net.Conn
	wmu sync.Mutex
	pid int
	// calls counts the session's calls in flight, for the exec drain.
	calls sync.WaitGroup

	mu      sync.Mutex
	reqno   uint64                // the server's own request counter
	waiters map[uint64]chan reply // copyin and anonmmap waiters
	live    bool                  // handshake done
	dead    bool                  // connection ended
	done    chan struct{}         // closed when the connection ends
}

// waitEnd blocks until the connection ends.
func (s *fakeSession) waitEnd() { <-s.done }

// end wakes every waiter with nil, so that handlers waiting for a client
// that went away return.
func (s *fakeSession) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dead {
		close(s.done)
	}
	s.dead = true
	for reqno, ch := range s.waiters {
		ch <- reply{}
		delete(s.waiters, reqno)
	}
}

func (s *fakeSession) serve() {
	defer s.fs.wg.Done()
	defer s.nc.Close()

	banner := s.fs.config().banner
	if banner == nil {
		banner = sysproxy.FormatBanner("NetBSD", "7.99.34", "amd64")
	}
	if _, err := s.nc.Write(banner); err != nil {
		return
	}
	for {
		f, err := sysproxy.ReadFrame(s.nc, sysproxy.DefaultMaxPayload)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) &&
				!errors.Is(err, syscall.ECONNRESET) {
				s.fs.violation("read: %v", err)
			}
			s.end()
			s.calls.Wait()
			return
		}
		if err := sysproxy.CheckClientFrame(f); err != nil {
			s.fs.violation("%v", err)
		}
		m, err := sysproxy.DecodeClientMessage(f)
		if err != nil {
			s.fs.violation("%v", err)
			s.send(sysproxy.ErrorResponse{Reqno: f.Reqno, Code: sysproxy.CodeMalformedRequest})
			continue
		}
		if !s.handle(m) {
			s.nc.Close()
		}
	}
}

// handle serves one client message; false drops the connection.
func (s *fakeSession) handle(m sysproxy.ClientMessage) bool {
	fs := s.fs
	switch m := m.(type) {
	case sysproxy.GuestHandshake:
		if s.isLive() {
			s.send(sysproxy.ErrorResponse{Reqno: m.Reqno, Code: sysproxy.CodeMalformedRequest})
			return false
		}
		fs.record("guest " + m.Name)
		s.begin()
		s.send(sysproxy.HandshakeResponse{Reqno: m.Reqno})

	case sysproxy.ForkHandshake:
		fs.mu.Lock()
		_, ok := fs.cookies[m.Cookie]
		delete(fs.cookies, m.Cookie)
		fs.mu.Unlock()
		if m.Cancel {
			return false
		}
		if !ok {
			s.send(sysproxy.ErrorResponse{Reqno: m.Reqno, Code: sysproxy.CodeInvalidPrefork})
			return false
		}
		if code := fs.config().forkErr; code != 0 {
			s.send(sysproxy.ErrorResponse{Reqno: m.Reqno, Code: code})
			return false
		}
		fs.record("fork")
		s.begin()
		s.send(sysproxy.HandshakeResponse{Reqno: m.Reqno})

	case sysproxy.ExecHandshake:
		if code := fs.config().execErr; code != 0 {
			s.send(sysproxy.ErrorResponse{Reqno: m.Reqno, Code: code})
			return false
		}
		s.calls.Wait()
		fs.record("exec " + m.Name)
		s.send(sysproxy.HandshakeResponse{Reqno: m.Reqno})

	case sysproxy.PreforkRequest:
		if code := fs.config().preforkErr; code != 0 {
			s.send(sysproxy.ErrorResponse{Reqno: m.Reqno, Code: code})
			return code != sysproxy.CodeInExec
		}
		var c sysproxy.Cookie
		rand.Read(c[:])
		fs.mu.Lock()
		fs.cookies[c] = s.pid
		fs.mu.Unlock()
		s.send(sysproxy.PreforkResponse{Reqno: m.Reqno, Cookie: c})

	case sysproxy.SyscallRequest:
		if !s.isLive() {
			s.send(sysproxy.ErrorResponse{Reqno: m.Reqno, Code: sysproxy.CodeAuth})
			return false
		}
		fs.mu.Lock()
		fs.calls[netbsd.Sysno(m.Sysnum)]++
		fs.mu.Unlock()
		s.calls.Add(1)
		go func() {
			defer s.calls.Done()
			res, ok := fs.config().handle(s, m)
			if !ok {
				s.nc.Close()
				return
			}
			s.send(sysproxy.SyscallResponse{Reqno: m.Reqno, Result: res})
		}()

	case sysproxy.CopyinResponse:
		s.wake(m.Reqno, m.Data)
	case sysproxy.AnonmmapResponse:
		s.wake(m.Reqno, le64(m.Addr))
	}
	return true
}

func (s *fakeSession) begin() {
	s.fs.mu.Lock()
	s.fs.nextPid++
	s.pid = s.fs.nextPid
	s.fs.mu.Unlock()
	s.mu.Lock()
	s.live = true
	s.mu.Unlock()
}

func (s *fakeSession) isLive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

func (s *fakeSession) send(m sysproxy.ServerMessage) {
	s.writeRaw(sysproxy.AppendFrame(nil, m.Frame()))
}

// writeRaw writes bytes as they are, for tests that break the protocol.
func (s *fakeSession) writeRaw(b []byte) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.nc.Write(b)
}

// reply is a client's answer to a server request; ok is false when the
// connection ended first.
type reply struct {
	data []byte
	ok   bool
}

// request sends a server request and waits for the client's reply.
func (s *fakeSession) request(build func(reqno uint64) sysproxy.ServerMessage) reply {
	ch := make(chan reply, 1)
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return reply{}
	}
	reqno := s.reqno
	s.reqno++
	s.waiters[reqno] = ch
	s.mu.Unlock()
	s.send(build(reqno))
	return <-ch
}

func (s *fakeSession) wake(reqno uint64, data []byte) {
	s.mu.Lock()
	ch := s.waiters[reqno]
	delete(s.waiters, reqno)
	s.mu.Unlock()
	if ch == nil {
		s.fs.violation("reply to no request, reqno %d", reqno)
		return
	}
	ch <- reply{data: data, ok: true}
}

// copyin asks for n bytes at addr and checks the reply has exactly n.
func (s *fakeSession) copyin(addr, n uint64) []byte {
	r := s.request(func(reqno uint64) sysproxy.ServerMessage {
		return sysproxy.CopyinRequest{Reqno: reqno, CopyDesc: sysproxy.CopyDesc{Len: n, Addr: addr}}
	})
	data := r.data
	if r.ok && uint64(len(data)) != n {
		s.fs.violation("copyin reply of %d bytes, asked %d", len(data), n)
	}
	return data
}

// copyinstr asks for a string of at most max bytes at addr.
func (s *fakeSession) copyinstr(addr, max uint64) []byte {
	r := s.request(func(reqno uint64) sysproxy.ServerMessage {
		return sysproxy.CopyinstrRequest{Reqno: reqno,
			CopyDesc: sysproxy.CopyDesc{Len: max, Addr: addr}}
	})
	data := r.data
	if uint64(len(data)) > max {
		s.fs.violation("copyinstr reply of %d bytes, at most %d asked", len(data), max)
	}
	return data
}

func (s *fakeSession) copyout(addr uint64, data []byte) {
	s.send(sysproxy.CopyoutRequest{Addr: addr, Data: data})
}

func (s *fakeSession) anonmmap(size uint64) []byte {
	return s.request(func(reqno uint64) sysproxy.ServerMessage {
		return sysproxy.AnonmmapRequest{Reqno: reqno, Size: size}
	}).data
}

func le64(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

// defaultHandler implements a few calls the way a kernel would use the
// copy requests: getpid, write (copyin, the sum of the bytes in retval[1]),
// read (copyout of a pattern from the fd), open (copyinstr).
func defaultHandler(s *fakeSession, req sysproxy.SyscallRequest) (sysproxy.SyscallResult, bool) {
	switch netbsd.Sysno(req.Sysnum) {
	case netbsd.SYS_GETPID:
		return sysproxy.SyscallResult{Retval: [2]int64{int64(s.pid), 1}}, true
	case netbsd.SYS_WRITE:
		data := s.copyin(req.Args[1], req.Args[2])
		return sysproxy.SyscallResult{Retval: [2]int64{int64(len(data)), sum(data)}}, true
	case netbsd.SYS_READ:
		s.copyout(req.Args[1], pattern(req.Args[0], int(req.Args[2])))
		return sysproxy.SyscallResult{Retval: [2]int64{int64(req.Args[2])}}, true
	case netbsd.SYS_OPEN:
		path := s.copyinstr(req.Args[0], 1024)
		if len(path) == 0 || path[len(path)-1] != 0 {
			return sysproxy.SyscallResult{Error: int32(netbsd.ENAMETOOLONG)}, true
		}
		return sysproxy.SyscallResult{Retval: [2]int64{3, sum(path)}}, true
	}
	return sysproxy.SyscallResult{Error: int32(netbsd.ENOSYS)}, true
}

func sum(b []byte) int64 {
	var n int64
	for i, c := range b {
		n += int64(c) * int64(i+1)
	}
	return n
}

func pattern(seed uint64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed*31 + uint64(i))
	}
	return b
}
