package rumpserver

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/hijack-project/hijack/sysproxy"
)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("rump server closed")

// Server is an embedded rump server: one host-backed kernel and the
// connections of its clients. Its methods are safe for concurrent use.
type Server struct {
	cfg    Config
	k      *kernel
	log    *slog.Logger
	banner []byte

	// calls holds a token for every system call in flight.
	calls chan struct{}

	mu        sync.Mutex
	closed    bool                         // guarded by mu
	listeners map[net.Listener]struct{}    // guarded by mu
	conns     map[*conn]struct{}           // guarded by mu
	preforks  map[sysproxy.Cookie]*process // guarded by mu
	wg        sync.WaitGroup               // connections being served
}

// New returns a server for cfg. It opens the root directory, and fails if it
// cannot, or if it is not a directory.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	k, err := newKernel(cfg)
	if err != nil {
		return nil, fmt.Errorf("new rump server: %w", err)
	}
	return &Server{
		cfg:       cfg,
		k:         k,
		log:       cfg.Log,
		banner:    sysproxy.FormatBanner(OSType, OSRelease, Machine),
		calls:     make(chan struct{}, cfg.MaxCalls),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		preforks:  make(map[sysproxy.Cookie]*process),
	}, nil
}

// Serve accepts connections on ln and serves each on a goroutine of its own,
// until ln fails or the server is closed. It always returns an error:
// ErrServerClosed after Close, otherwise the listener's. It closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()

	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		go s.ServeConn(nc)
	}
}

// ServeConn serves one connection until the client hangs up or breaks the
// protocol, then tears its process down, and closes nc. When the server
// already has MaxConns connections, or is closed, nc is closed at once
// without a banner, as a rump_server with no free slot does.
func (s *Server) ServeConn(nc net.Conn) {
	c := newConn(s, nc)
	if !s.addConn(c) {
		nc.Close()
		return
	}
	defer s.wg.Done()
	c.serve()
}

// Close stops every listener, ends every connection (their processes are torn
// down, as on a disconnect), releases the unclaimed preforked processes and
// the root, and waits for all of it. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	preforks := s.preforks
	s.preforks = nil
	s.mu.Unlock()

	s.wg.Wait()
	for _, p := range preforks {
		p.exit()
	}
	s.k.close()
	return nil
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// addConn registers c, unless the server is closed or full.
func (s *Server) addConn(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.conns) >= s.cfg.MaxConns {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// acquireCall takes a server-wide call token without waiting.
func (s *Server) acquireCall() bool {
	select {
	case s.calls <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *Server) releaseCall() { <-s.calls }

// addPrefork stores a preforked process under a fresh random cookie. It
// fails when MaxPreforks are waiting or the server is closed.
func (s *Server) addPrefork(p *process) (sysproxy.Cookie, bool) {
	var c sysproxy.Cookie
	rand.Read(c[:])

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.preforks == nil || len(s.preforks) >= s.cfg.MaxPreforks {
		return c, false
	}
	s.preforks[c] = p
	return c, true
}

// takePrefork removes and returns the process stored under c, or nil: a
// cookie is good for one fork handshake.
func (s *Server) takePrefork(c sysproxy.Cookie) *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.preforks[c]
	delete(s.preforks, c)
	return p
}
