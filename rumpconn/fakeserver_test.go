package rumpconn

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// fakeServer is the server side of sysproxy, enough of a rump_server for
// the client's tests: a banner, the handshakes, prefork cookies, and system
// calls answered by a handler that may issue copy requests first. It
// records every frame the client sends that a real server could not take.
type fakeServer struct {
	t    testing.TB
	path string
	srv  Server

	wg sync.WaitGroup
	mu sync.Mutex
	// Guarded by mu, set with setConfig:
	fakeConfig
	// Guarded by mu:
	ln         net.Listener
	sessions   []*fakeSession
	accepted   int
	handshakes []string // "guest NAME", "fork", "exec NAME"
	calls      map[netbsd.Sysno]int
	cookies    map[sysproxy.Cookie]int // cookie → parent pid
	nextPid    int
	violations []string
}

func newFakeServer(t testing.TB) *fakeServer {
	t.Helper()
	return newFakeServerOn(t, "unix")
}

// newFakeServerOn starts a fake server on a unix socket in a new directory,
// or on a tcp port of 127.0.0.1, which start reuses after kill.
func newFakeServerOn(t testing.TB, network string) *fakeServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "rc")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeServer{t: t, path: filepath.Join(dir, "rump.sock"),
		calls: make(map[netbsd.Sysno]int), cookies: make(map[sysproxy.Cookie]int), nextPid: 1}
	fs.srv = Server{network: "unix", address: fs.path}
	if network == "tcp" {
		fs.srv = Server{network: "tcp", address: "127.0.0.1:0"}
	}
	fs.handle = defaultHandler
	fs.start()
	t.Cleanup(func() {
		fs.kill()
		os.RemoveAll(dir)
		for _, v := range fs.violations {
			t.Errorf("client sent what a real server could not take: %s", v)
		}
	})
	return fs
}

// start listens on the server's address, again after kill.
func (fs *fakeServer) start() {
	fs.t.Helper()
	ln, err := net.Listen(fs.srv.network, fs.srv.address)
	if err != nil {
		fs.t.Fatalf("listen: %v", err)
	}
	fs.mu.Lock()
	fs.srv.address = ln.Addr().String()
	fs.ln = ln
	fs.mu.Unlock()
	fs.wg.Add(1)
	go fs.accept(ln)
}

// kill closes the listener and every connection, as a server that exits.
func (fs *fakeServer) kill() {
	fs.mu.Lock()
	ln, sessions := fs.ln, fs.sessions
	fs.ln, fs.sessions = nil, nil
	fs.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, s := range sessions {
		s.nc.Close()
	}
	fs.wg.Wait()
}

func (fs *fakeServer) accept(ln net.Listener) {
	defer fs.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		s := &fakeSession{fs: fs, nc: nc, waiters: make(map[uint64]chan reply),
			done: make(chan struct{})}
		fs.mu.Lock()
		if fs.ln != ln {
			fs.mu.Unlock()
			nc.Close()
			return
		}
		fs.accepted++
		fs.sessions = append(fs.sessions, s)
		fs.mu.Unlock()
		fs.wg.Add(1)
		go s.serve()
	}
}

func (fs *fakeServer) violation(format string, args ...any) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.violations = append(fs.violations, fmt.Sprintf(format, args...))
}

func (fs *fakeServer) record(handshake string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.handshakes = append(fs.handshakes, handshake)
}

func (fs *fakeServer) stats() (accepted int, handshakes []string, calls map[netbsd.Sysno]int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	calls = make(map[netbsd.Sysno]int)
	for k, v := range fs.calls {
		calls[k] = v
	}
	return fs.accepted, append([]string(nil), fs.handshakes...), calls
}

// fakeConfig is how a fakeServer answers.
type fakeConfig struct {
	// handle answers a system call; it may call the session's copy
	// methods. ok false makes the server drop the connection unanswered.
	handle handler
	// banner replaces the banner line when set.
	banner []byte
	// preforkErr, when set, refuses PREFORK with it.
	preforkErr sysproxy.ErrorCode
	// execErr, when set, refuses EXEC with it and drops the connection.
	execErr sysproxy.ErrorCode
	// forkErr, when set, refuses a FORK handshake with a valid cookie.
	forkErr sysproxy.ErrorCode
}

type handler func(s *fakeSession, req sysproxy.SyscallRequest) (res sysproxy.SyscallResult, ok bool)

// setConfig changes the configuration for requests from now on.
func (fs *fakeServer) setConfig(change func(*fakeConfig)) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	change(&fs.fakeConfig)
}

func (fs *fakeServer) setHandler(h handler) {
	fs.setConfig(func(c *fakeConfig) { c.handle = h })
}

func (fs *fakeServer) config() fakeConfig {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.fakeConfig
}
