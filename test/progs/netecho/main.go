// Command netecho exercises TCP and UDP sockets with the net package and raw
// system calls alone, so that it needs no libc, for hijack's end-to-end tests
// and benchmarks of sockets in the rump kernel:
//
//	netecho serve             serves until its standard input closes, and
//	                          prints "serving TCP4 TCP6 UDP4 SINK": a TCP
//	                          echo server on 127.0.0.1 and on ::1, a UDP
//	                          echo server on 127.0.0.1, and a TCP sink
//	                          that reads to end of file and answers with
//	                          the byte count
//	netecho check [TCP4 TCP6 UDP4]
//	                          runs the socket checks and prints "ok NAME"
//	                          or "FAIL NAME: ERROR" for each; the echo
//	                          checks use the servers at the addresses
//	                          serve printed, or servers of its own
//	netecho sigpipe           sets SIGPIPE to its default action and
//	                          writes to a reset peer until it dies
//	netecho dial NETWORK ADDR sends "ping" to ADDR and prints the line it
//	                          gets back
//	netecho probe             makes an inet and an inet6 socket and prints
//	                          what each returned
//	netecho recvmmsg          runs the checks of recvmmsg timeouts on UDP
//	                          sockets and prints what each call returned
//
// and, for the benchmarks, against the servers of netecho serve:
//
//	netecho ping TCP4 N       N round trips of one byte; prints
//	                          "ping N NS", the cost of one in nanoseconds
//	netecho bulk SINK SIZE BUF
//	                          sends SIZE bytes in BUF-byte writes; prints
//	                          "bulk SIZE MBPS", in megabytes (10^6 bytes)
//	                          per second
//
// Exit status 1 means a check or a step failed, 2 a usage error.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch mode, args := os.Args[1], os.Args[2:]; {
	case mode == "serve" && len(args) == 0:
		err = serve()
	case mode == "check" && (len(args) == 0 || len(args) == 3):
		if !runChecks(args) {
			os.Exit(1)
		}
	case mode == "sigpipe" && len(args) == 0:
		err = sigpipe()
	case mode == "dial" && len(args) == 2:
		err = dial(args[0], args[1])
	case mode == "probe" && len(args) == 0:
		probe()
	case mode == "recvmmsg" && len(args) == 0:
		err = recvmmsg()
	case mode == "ping" && len(args) == 2:
		err = ping(args[0], count(args[1]))
	case mode == "bulk" && len(args) == 3:
		err = bulk(args[0], count(args[1]), count(args[2]))
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "netecho:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: netecho serve | netecho check [TCP4 TCP6 UDP4] | "+
		"netecho sigpipe | netecho dial NETWORK ADDR | netecho probe | "+
		"netecho recvmmsg | netecho ping TCP4 N | netecho bulk SINK SIZE BUF")
	os.Exit(2)
}

// count parses a positive number, which may end in K or M (binary units).
func count(s string) int {
	unit := 1
	switch {
	case len(s) > 1 && s[len(s)-1] == 'K':
		unit, s = 1<<10, s[:len(s)-1]
	case len(s) > 1 && s[len(s)-1] == 'M':
		unit, s = 1<<20, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "netecho: %q is not a positive number\n", s)
		os.Exit(2)
	}
	return n * unit
}

// servers are the listeners of netecho serve, and of a check run without
// addresses.
type servers struct {
	tcp4, tcp6, sink net.Listener
	udp4             net.PacketConn
}

// startServers listens and serves in the background until close.
func startServers() (*servers, error) {
	var s servers
	var err error
	if s.tcp4, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	if s.tcp6, err = net.Listen("tcp6", "[::1]:0"); err != nil {
		s.close()
		return nil, err
	}
	if s.sink, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
		s.close()
		return nil, err
	}
	if s.udp4, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
		s.close()
		return nil, err
	}
	go acceptLoop(s.tcp4, echo)
	go acceptLoop(s.tcp6, echo)
	go acceptLoop(s.sink, sink)
	go udpEcho(s.udp4)
	return &s, nil
}

func (s *servers) close() {
	for _, c := range []io.Closer{s.tcp4, s.tcp6, s.sink, s.udp4} {
		if c != nil {
			c.Close()
		}
	}
}

func serve() error {
	s, err := startServers()
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Println("serving", s.tcp4.Addr(), s.tcp6.Addr(), s.udp4.LocalAddr(), s.sink.Addr())
	_, err = io.Copy(io.Discard, os.Stdin)
	return err
}

func acceptLoop(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go handle(c)
	}
}

// echo sends back what it reads and, at end of file, one more line saying
// how many bytes it read and from whom: the client's half-close ends the
// echo but not the connection.
func echo(c net.Conn) {
	defer c.Close()
	n, err := io.Copy(c, c)
	if err != nil {
		return
	}
	fmt.Fprintf(c, "EOF after %d bytes from %s\n", n, c.RemoteAddr())
}

// sink reads to end of file and answers with the byte count, eight bytes
// big-endian. It reads 64 KiB at a time, more than io.Discard would.
func sink(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 64<<10)
	var total uint64
	for {
		n, err := c.Read(buf)
		total += uint64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return
		}
	}
	c.Write(binary.BigEndian.AppendUint64(nil, total))
}

func udpEcho(pc net.PacketConn) {
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		pc.WriteTo(buf[:n], from)
	}
}

// dial sends "ping" to addr and prints the line that comes back.
func dial(network, addr string) error {
	c, err := net.Dial(network, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	fmt.Print(line)
	return nil
}

// probe prints whether the kernel behind the sockets has inet and inet6.
func probe() {
	for _, f := range []struct {
		name   string
		family int
	}{{"inet", unix.AF_INET}, {"inet6", unix.AF_INET6}} {
		fd, err := unix.Socket(f.family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			fmt.Printf("%s %s\n", f.name, errnoName(err))
			continue
		}
		unix.Close(fd)
		fmt.Printf("%s ok\n", f.name)
	}
}

// errnoName returns the symbolic name of the errno in err, or its text.
func errnoName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			return name
		}
	}
	return err.Error()
}

// sigpipe writes to a reset peer with SIGPIPE at its default action, which
// kills the process; returning at all is the failure.
func sigpipe() error {
	// The runtime's own handler would swallow the signal: put back the
	// default with the raw call, which signal.Reset does not do.
	var act [4]uint64 // handler SIG_DFL, flags, restorer, mask
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGPIPE),
		uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	if errno != 0 {
		return fmt.Errorf("rt_sigaction: %w", errno)
	}
	c, err := resetPeer()
	if err != nil {
		return err
	}
	err = writeUntilEPIPE(c)
	return fmt.Errorf("still alive after the write to a reset peer: %v", err)
}
