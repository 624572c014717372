package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// ioTimeout bounds every read, write and wait of the checks, so that a call
// that never returns fails its check instead of hanging the run.
const ioTimeout = 30 * time.Second

// runTimeout bounds the whole run; when it passes, the check that is still
// running is reported.
const runTimeout = 5 * time.Minute

// check is one named step of netecho check.
type check struct {
	name string
	run  func() error
}

// runChecks runs every check in turn, printing one line for each, and
// reports whether all passed. args are the echo servers' addresses, or
// none to start servers in this process.
func runChecks(args []string) bool {
	if len(args) == 0 {
		s, err := startServers()
		if err != nil {
			fmt.Printf("FAIL servers: %v\n", err)
			return false
		}
		defer s.close()
		args = []string{s.tcp4.Addr().String(), s.tcp6.Addr().String(),
			s.udp4.LocalAddr().String()}
	}
	tcp4, tcp6, udp4 := args[0], args[1], args[2]
	checks := []check{
		{"tcp-echo", func() error { return echoClients(tcp4, 50, 200) }},
		{"tcp-half-close", func() error { return halfClose(tcp4) }},
		{"udp-echo", func() error { return udpEchoClient(udp4, 200) }},
		{"ipv6-echo", func() error { return echoClients(tcp6, 5, 50) }},
		{"read-deadline", readDeadline},
		{"accept-deadline", acceptDeadline},
		{"connect-refused", connectRefused},
		{"nonblocking-connect", nonblockingConnect},
		{"addresses", addresses},
		{"socket-identity", socketIdentity},
		{"so-reuseaddr", reuseAddr},
		{"tcp-nodelay", noDelay},
		{"so-rcvbuf", bufferSizes},
		{"epipe", epipe},
	}

	var current atomic.Value
	current.Store("start")
	go func() {
		time.Sleep(runTimeout)
		fmt.Printf("FAIL %s: no result after %v\n", current.Load(), runTimeout)
		os.Exit(1)
	}()
	passed := true
	for _, c := range checks {
		current.Store(c.name)
		if err := c.run(); err != nil {
			fmt.Printf("FAIL %s: %v\n", c.name, err)
			passed = false
			continue
		}
		fmt.Printf("ok %s\n", c.name)
	}
	return passed
}

// message is what connection id sends in round r: 1 to 4000 bytes that
// differ between connections and rounds.
func message(id, r int) []byte {
	msg := make([]byte, 1+(id*7919+r*104729)%4000)
	for i := range msg {
		msg[i] = byte(id + r + i*31)
	}
	return msg
}

// echoClients runs conns connections to the echo server at addr at once,
// each with rounds round trips, and returns the first failure.
func echoClients(addr string, conns, rounds int) error {
	errs := make(chan error, conns)
	for id := range conns {
		go func() { errs <- echoClient(addr, id, rounds) }()
	}
	var first error
	for range conns {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func echoClient(addr string, id, rounds int) error {
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return fmt.Errorf("connection %d: %w", id, err)
	}
	defer c.Close()
	sent := 0
	got := make([]byte, 4000)
	for r := range rounds {
		c.SetDeadline(time.Now().Add(ioTimeout))
		msg := message(id, r)
		if _, err := c.Write(msg); err != nil {
			return fmt.Errorf("connection %d, round %d: write: %w", id, r, err)
		}
		if _, err := io.ReadFull(c, got[:len(msg)]); err != nil {
			return fmt.Errorf("connection %d, round %d: read: %w", id, r, err)
		}
		if !bytes.Equal(got[:len(msg)], msg) {
			return fmt.Errorf("connection %d, round %d: %d bytes came back changed",
				id, r, len(msg))
		}
		sent += len(msg)
	}
	return endEcho(c.(*net.TCPConn), sent)
}

// endEcho half-closes c and checks that the echo server then read end of
// file, counted sent bytes, and saw c's own address as its peer.
func endEcho(c *net.TCPConn, sent int) error {
	if err := c.CloseWrite(); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	rest, err := io.ReadAll(c)
	if err != nil {
		return fmt.Errorf("read after shutdown: %w", err)
	}
	want := fmt.Sprintf("EOF after %d bytes from %s\n", sent, c.LocalAddr())
	if string(rest) != want {
		return fmt.Errorf("after shutdown the server sent %q, want %q", rest, want)
	}
	return nil
}

// halfClose sends more than the socket buffers hold and half-closes at
// once, while the echo still comes back: the server must read end of file
// only after all of it, and still write to the half-closed connection.
func halfClose(addr string) error {
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i % 251)
	}
	written := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil {
			err = c.(*net.TCPConn).CloseWrite()
		}
		written <- err
	}()
	got, err := io.ReadAll(c)
	if werr := <-written; werr != nil {
		return fmt.Errorf("write and shutdown: %w", werr)
	}
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	trailer := fmt.Sprintf("EOF after %d bytes from %s\n", len(data), c.LocalAddr())
	if !bytes.Equal(got, append(data, trailer...)) {
		return fmt.Errorf("got %d bytes back, want the %d sent and %q", len(got), len(data),
			trailer)
	}
	return nil
}

// udpEchoClient sends n datagrams of different sizes to the echo server at
// addr and checks each answer. A datagram lost on the way is sent again, up
// to three times.
func udpEchoClient(addr string, n int) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 2048)
	for i := range n {
		msg := make([]byte, 1+i*37%1400)
		for j := range msg {
			msg[j] = byte(i + j*7)
		}
		var got []byte
		for try := 0; got == nil; try++ {
			if try == 3 {
				return fmt.Errorf("datagram %d: no answer after 3 tries: %w", i, err)
			}
			if _, err = c.Write(msg); err != nil {
				return fmt.Errorf("datagram %d: send: %w", i, err)
			}
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			var m int
			m, err = c.Read(buf)
			if err == nil {
				got = buf[:m]
			} else if !errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("datagram %d: receive: %w", i, err)
			}
		}
		if !bytes.Equal(got, msg) {
			return fmt.Errorf("datagram %d: sent %d bytes, got %d different ones back", i,
				len(msg), len(got))
		}
	}
	return nil
}

// pair returns a listener and the two ends of a connection to it.
func pair() (ln *net.TCPListener, client, server *net.TCPConn, err error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := net.DialTimeout("tcp4", l.Addr().String(), ioTimeout)
	if err != nil {
		l.Close()
		return nil, nil, nil, fmt.Errorf("dial: %w", err)
	}
	s, err := l.Accept()
	if err != nil {
		l.Close()
		c.Close()
		return nil, nil, nil, fmt.Errorf("accept: %w", err)
	}
	return l.(*net.TCPListener), c.(*net.TCPConn), s.(*net.TCPConn), nil
}

// readDeadline reads where nothing comes until the deadline passes, then
// checks that the connection still works.
func readDeadline() error {
	ln, c, s, err := pair()
	if err != nil {
		return err
	}
	defer ln.Close()
	defer c.Close()
	defer s.Close()

	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		return fmt.Errorf("read with nothing sent: %d bytes, %v; want a timeout", n, err)
	}

	if _, err := s.Write([]byte("late")); err != nil {
		return fmt.Errorf("write after the timeout: %w", err)
	}
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	if _, err := io.ReadFull(c, buf[:4]); err != nil || string(buf[:4]) != "late" {
		return fmt.Errorf("read after the timeout: %q, %v; want \"late\"", buf[:4], err)
	}
	return nil
}

// acceptDeadline accepts where nobody connects until the deadline passes,
// then checks that the listener still accepts.
func acceptDeadline() error {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	ln := l.(*net.TCPListener)
	ln.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if c, err := ln.Accept(); !errors.Is(err, os.ErrDeadlineExceeded) {
		if c != nil {
			c.Close()
		}
		return fmt.Errorf("accept with nobody connecting: %v; want a timeout", err)
	}

	ln.SetDeadline(time.Now().Add(ioTimeout))
	c, err := net.DialTimeout("tcp4", ln.Addr().String(), ioTimeout)
	if err != nil {
		return fmt.Errorf("dial after the timeout: %w", err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		return fmt.Errorf("accept after the timeout: %w", err)
	}
	s.Close()
	return nil
}

// closedPort returns a loopback address that nothing listens on.
func closedPort() (string, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}

// connectRefused dials a closed port the way Go always dials: a
// nonblocking connect, a wait for writability, then SO_ERROR.
func connectRefused() error {
	addr, err := closedPort()
	if err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp4", addr, ioTimeout)
	if err == nil {
		c.Close()
		return fmt.Errorf("connected to closed port %s", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("dial closed port: %v; want ECONNREFUSED", err)
	}
	return nil
}
