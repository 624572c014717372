package control

import (
	"fmt"
	"io"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// Conn is one control connection, on either side.
type Conn struct {
	c *net.UnixConn
}

// NewConn wraps an accepted or dialled SOCK_SEQPACKET connection.
func NewConn(c *net.UnixConn) *Conn { return &Conn{c: c} }

// Dial connects to hijackd's control socket at path.
func Dial(path string) (*Conn, error) {
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, err
	}
	return &Conn{c: c}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// SetDeadline bounds every later read and write.
func (c *Conn) SetDeadline(t time.Time) error { return c.c.SetDeadline(t) }

// Unix returns the underlying connection.
func (c *Conn) Unix() *net.UnixConn { return c.c }

// Send sends one message, with the descriptors fds attached when given.
func (c *Conn) Send(t Type, body any, fds ...int) error {
	msg, err := Marshal(t, body)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if _, _, err := c.c.WriteMsgUnix(msg, oob, nil); err != nil {
		return fmt.Errorf("send %v message: %w", t, err)
	}
	return nil
}

// maxFDs is how many descriptors one message may carry: the protocol sends at
// most one, and room for a few more lets a packet that carries too many be
// received whole, so that every one of them is closed.
const maxFDs = 8

// Receive reads one message of type want into body and returns the
// descriptors that came with it, which the caller then owns. A packet that
// was truncated (longer than MaxMessage, or with more descriptors than a
// message may carry) is refused with ErrMalformed; every descriptor received
// with a refused packet is closed. io.EOF reports an orderly close by the
// peer.
func (c *Conn) Receive(want Type, body any) ([]int, error) {
	msg, fds, err := c.ReceiveRaw()
	if err != nil {
		return nil, err
	}
	if err := Unmarshal(msg, want, body); err != nil {
		closeAll(fds)
		return nil, err
	}
	return fds, nil
}

// ReceiveRaw reads one packet, bounded and checked as Receive checks it, and
// returns it undecoded with its descriptors, for a side that accepts more
// than one type of message (see TypeOf).
func (c *Conn) ReceiveRaw() ([]byte, []int, error) {
	buf := make([]byte, MaxMessage+1)
	oob := make([]byte, unix.CmsgSpace(maxFDs*4))
	n, oobn, flags, _, err := c.c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, nil, err
	}
	fds, ferr := parseRights(oob[:oobn])
	fail := func(err error) ([]byte, []int, error) {
		closeAll(fds)
		return nil, nil, err
	}
	switch {
	case ferr != nil:
		return fail(ferr)
	case n == 0 && oobn == 0:
		return fail(io.EOF)
	case flags&unix.MSG_TRUNC != 0 || n > MaxMessage:
		return fail(fmt.Errorf("%w: packet longer than %d bytes", ErrMalformed, MaxMessage))
	case flags&unix.MSG_CTRUNC != 0:
		return fail(fmt.Errorf("%w: more than %d descriptors attached", ErrMalformed, maxFDs))
	}
	return buf[:n], fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("%w: control data: %v", ErrMalformed, err)
	}
	var fds []int
	var bad error
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_RIGHTS {
			bad = fmt.Errorf("%w: control data other than SCM_RIGHTS", ErrMalformed)
			continue
		}
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			bad = fmt.Errorf("%w: SCM_RIGHTS: %v", ErrMalformed, err)
			continue
		}
		fds = append(fds, got...)
	}
	if bad != nil {
		closeAll(fds)
		return nil, bad
	}
	return fds, nil
}

// PeerCred returns the credentials the kernel recorded for the peer when it
// connected.
func (c *Conn) PeerCred() (*unix.Ucred, error) {
	raw, err := c.c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	return cred, cerr
}
