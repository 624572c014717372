package sysproxy

import (
	"errors"
	"fmt"
	"io"
)

// Handshake opens a new connection from the client side: it reads the
// server's banner from rw, sends hs, which must be a GuestHandshake or a
// ForkHandshake, and reads the server's answer. It returns the banner.
//
// It is meant for the start of a connection, before any other traffic: the
// server sends nothing but the banner and the answer until the handshake is
// done. An ExecHandshake, which goes over an established connection where
// other frames interleave with its answer, is the connection's business.
//
// A cancelled ForkHandshake gets no answer; Handshake returns once it is
// sent. Otherwise the error wraps what went wrong: the banner's error; the
// code's errno (ESRCH for an unknown cookie, EIO for a failed fork, EPERM,
// EINVAL) when the server refuses with an ERROR frame; io.ErrUnexpectedEOF
// when it closes the connection without answering, as it does when it
// cannot fork a guest process; ErrUnexpected or ErrMalformed for any other
// answer, including a handshake response with a nonzero error, which the
// reference server never sends; ErrRefused when hs is not a handshake that
// opens a connection.
func Handshake(rw io.ReadWriter, hs ClientMessage) (Banner, error) {
	var reqno uint64
	cancel := false
	switch m := hs.(type) {
	case GuestHandshake:
		reqno = m.Reqno
	case ForkHandshake:
		reqno, cancel = m.Reqno, m.Cancel
	default:
		return Banner{}, fmt.Errorf("handshake: %w: %T does not open a connection",
			ErrRefused, hs)
	}

	b, err := ReadBanner(rw)
	if err != nil {
		return Banner{}, fmt.Errorf("handshake: %w", err)
	}
	f := hs.Frame()
	if err := CheckClientFrame(f); err != nil {
		return b, fmt.Errorf("handshake: %w", err)
	}
	if err := WriteFrame(rw, f); err != nil {
		return b, fmt.Errorf("handshake: %w", err)
	}
	if cancel {
		return b, nil
	}

	if err := readHandshakeAnswer(rw, reqno); err != nil {
		return b, fmt.Errorf("handshake: %w", err)
	}
	return b, nil
}

// readHandshakeAnswer reads the one frame that answers the handshake reqno.
// Its payload is at most a few bytes, so a small bound keeps a corrupt
// length from costing memory.
func readHandshakeAnswer(r io.Reader, reqno uint64) error {
	f, err := ReadFrame(r, syscallResultSize)
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("server closed the connection without answering: %w",
			io.ErrUnexpectedEOF)
	}
	if err != nil {
		return err
	}

	m, err := DecodeServerMessage(f)
	if err != nil {
		return err
	}
	switch m := m.(type) {
	case HandshakeResponse:
		if m.Reqno != reqno {
			return fmt.Errorf("%w: answer to reqno %d, sent %d", ErrUnexpected, m.Reqno, reqno)
		}
		if m.Error != 0 {
			return fmt.Errorf("%w: handshake failed with NetBSD errno %d",
				ErrUnexpected, m.Error)
		}
		return nil
	case ErrorResponse:
		return fmt.Errorf("server refused the handshake with %v: %w", m.Code, m.Code.Errno())
	}
	return fmt.Errorf("%w: %v before the handshake answer", ErrUnexpected, f)
}
