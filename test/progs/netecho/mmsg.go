package main

import (
	"fmt"
	"os"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvmmsg checks, each on a blocking UDP socket of its own, how a
// recvmmsg timeout ends a batch: Linux checks it after each message
// received, so a wait for a message outlasts it. It prints one line per
// check with what the call returned and whether time was left, and nothing
// that depends on how long the calls took.
func recvmmsg() error {
	checks := []struct {
		name    string
		vlen    int
		flags   int
		timeout *unix.Timespec
		before  []string // sent before the call
		after   string   // sent 600 ms into the call, when not ""
	}{
		{"the message after an expired timeout ends the batch", 4, 0,
			&unix.Timespec{Nsec: 200e6}, []string{"one"}, "two"},
		{"a batch that fills before its timeout", 2, 0,
			&unix.Timespec{Sec: 30}, []string{"one", "two"}, ""},
		{"a zero timeout ends the batch at the first message", 4, 0,
			&unix.Timespec{}, []string{"one", "two"}, ""},
		{"MSG_WAITFORONE waits for the first only", 4, unix.MSG_WAITFORONE,
			&unix.Timespec{Sec: 30}, []string{"one"}, ""},
		{"no timeout and a batch that fills", 2, 0, nil, []string{"one", "two"}, ""},
		{"a timeout with nanoseconds out of range", 2, 0,
			&unix.Timespec{Nsec: 1e9}, []string{"one"}, ""},
	}
	for _, c := range checks {
		r, s, err := udpPair()
		if err != nil {
			return err
		}
		for _, m := range c.before {
			if err := unix.Send(s, []byte(m), 0); err != nil {
				return fmt.Errorf("%s: send: %w", c.name, err)
			}
		}
		if c.after != "" {
			time.AfterFunc(600*time.Millisecond, func() { unix.Send(s, []byte(c.after), 0) })
		}
		hung := time.AfterFunc(30*time.Second, func() {
			fmt.Printf("FAIL %s: recvmmsg still waiting after 30 s\n", c.name)
			os.Exit(1)
		})
		var given unix.Timespec
		if c.timeout != nil {
			given = *c.timeout
		}
		got, n, err := recvBatch(r, c.vlen, c.flags, c.timeout)
		hung.Stop()
		switch {
		case err != nil:
			fmt.Printf("%s: %s\n", c.name, errnoName(err))
		case c.timeout == nil:
			fmt.Printf("%s: received %d: %s\n", c.name, n, strings.Join(got, " "))
		default:
			fmt.Printf("%s: received %d: %s; %s\n", c.name, n, strings.Join(got, " "),
				timeLeft(given, *c.timeout))
		}
		unix.Close(r)
		unix.Close(s)
	}
	return nil
}

// timeLeft says what recvmmsg wrote back of timeout given.
func timeLeft(given, left unix.Timespec) string {
	switch {
	case left.Sec == 0 && left.Nsec == 0:
		return "none of the timeout left"
	case left.Nano() > 0 && left.Nano() < given.Nano():
		return "part of the timeout left"
	}
	return fmt.Sprintf("timeout %+v left of %+v", left, given)
}

// udpPair returns a blocking UDP socket on 127.0.0.1 and one connected to
// it.
func udpPair() (r, s int, err error) {
	r, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("socket: %w", err)
	}
	if err := unix.Bind(r, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return -1, -1, fmt.Errorf("bind: %w", err)
	}
	addr, err := unix.Getsockname(r)
	if err != nil {
		return -1, -1, fmt.Errorf("getsockname: %w", err)
	}
	s, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("socket: %w", err)
	}
	if err := unix.Connect(s, addr); err != nil {
		return -1, -1, fmt.Errorf("connect: %w", err)
	}
	return r, s, nil
}

// mmsghdr is Linux's struct mmsghdr.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// recvBatch receives up to vlen messages from fd with one recvmmsg and
// returns them.
func recvBatch(fd, vlen, flags int, timeout *unix.Timespec) ([]string, int, error) {
	bufs := make([][16]byte, vlen)
	iovs := make([]unix.Iovec, vlen)
	vec := make([]mmsghdr, vlen)
	for i := range vec {
		iovs[i].Base = &bufs[i][0]
		iovs[i].SetLen(len(bufs[i]))
		vec[i].hdr.Iov = &iovs[i]
		vec[i].hdr.SetIovlen(1)
	}
	n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd),
		uintptr(unsafe.Pointer(&vec[0])), uintptr(vlen), uintptr(flags),
		uintptr(unsafe.Pointer(timeout)), 0)
	if errno != 0 {
		return nil, 0, errno
	}
	var got []string
	for i := range int(n) {
		got = append(got, string(bufs[i][:vec[i].len]))
	}
	return got, int(n), nil
}
