package sysproxy

import (
	"encoding/binary"
	"fmt"
	"io"
)

// DefaultMaxPayload is a payload bound for ReadFrame suited to both sides of
// a connection: 16 MiB.
//
// The protocol has no limit of its own; the reference implementations
// allocate whatever a header claims, so one corrupt length exhausts memory.
// The largest legitimate frames carry the data of one copy between client
// memory and the kernel (a COPYOUT, or the reply to a COPYIN), and no single
// copy is larger than a buffer the system call was given; the kernel usually
// moves data in much smaller pieces. A client that never hands the server a
// buffer above 16 MiB therefore never sees a larger frame; one that does must
// raise the bound it passes to ReadFrame.
const DefaultMaxPayload = 16 << 20

// Header is the 24-byte frame header, little-endian on the wire.
type Header struct {
	// Len is the length of the whole frame, header included.
	Len uint64
	// Reqno is the request id; a response carries its request's.
	Reqno uint64
	Class Class
	Type  Type
	// U holds the syscall number of a SYSCALL request, the kind of a
	// HANDSHAKE request, the signal of a RAISE request and the code of an
	// ERROR frame; it is 0 in every other frame.
	U uint32
}

// Frame is one frame: its header and the Len-HeaderSize bytes after it.
type Frame struct {
	Header
	Payload []byte
}

// newFrame returns a frame whose Len matches its payload.
func newFrame(reqno uint64, class Class, typ Type, u uint32, payload []byte) Frame {
	return Frame{
		Header: Header{
			Len:   HeaderSize + uint64(len(payload)),
			Reqno: reqno,
			Class: class,
			Type:  typ,
			U:     u,
		},
		Payload: payload,
	}
}

// String describes f for logs and test failures.
func (f Frame) String() string {
	return fmt.Sprintf("%v/%v reqno %d u %d len %d", f.Class, f.Type, f.Reqno, f.U, f.Len)
}

// putHeader writes h into b, which has room for HeaderSize bytes.
func putHeader(b []byte, h Header) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], h.Len)
	le.PutUint64(b[8:], h.Reqno)
	le.PutUint16(b[16:], uint16(h.Class))
	le.PutUint16(b[18:], uint16(h.Type))
	le.PutUint32(b[20:], h.U)
}

// parseHeader reads a header from b, which holds HeaderSize bytes.
func parseHeader(b []byte) Header {
	le := binary.LittleEndian
	return Header{
		Len:   le.Uint64(b[0:]),
		Reqno: le.Uint64(b[8:]),
		Class: Class(le.Uint16(b[16:])),
		Type:  Type(le.Uint16(b[18:])),
		U:     le.Uint32(b[20:]),
	}
}

// ReadFrame reads one frame from r, blocking until it is complete.
//
// The payload is allocated as soon as the header is read, at exactly its
// claimed size, and only if that size is at most maxPayload (a negative
// bound counts as 0), so the bound must be one the process can afford to
// allocate; a larger claim returns an error wrapping ErrFrameTooLarge
// without allocating. A length below HeaderSize returns an
// error wrapping ErrShortFrame. Both leave the stream out of step, so the
// caller must drop the connection. An EOF before the first byte is io.EOF,
// an orderly close; an EOF inside a frame is io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, maxPayload int) (Frame, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.EOF {
			return Frame{}, io.EOF
		}
		return Frame{}, fmt.Errorf("read frame header: %w", err)
	}

	h := parseHeader(hdr[:])
	if h.Len < HeaderSize {
		return Frame{}, fmt.Errorf("read frame: %w: %d", ErrShortFrame, h.Len)
	}
	n := h.Len - HeaderSize
	if n > uint64(max(maxPayload, 0)) {
		return Frame{}, fmt.Errorf("read frame: %w: %d bytes, limit %d",
			ErrFrameTooLarge, n, max(maxPayload, 0))
	}

	f := Frame{Header: h}
	if n == 0 {
		return f, nil
	}
	f.Payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, fmt.Errorf("read frame %v: %w", f, err)
	}
	return f, nil
}

// AppendFrame appends the wire form of f, header and payload, to dst and
// returns the extended slice. The length written is always HeaderSize plus
// len(f.Payload), whatever f.Len says, so that no frame can announce a size
// other than what it carries; CheckClientFrame refuses frames where the two
// disagree, to catch the mistake in the caller.
func AppendFrame(dst []byte, f Frame) []byte {
	h := f.Header
	h.Len = HeaderSize + uint64(len(f.Payload))

	dst = append(dst, make([]byte, HeaderSize)...)
	putHeader(dst[len(dst)-HeaderSize:], h)
	return append(dst, f.Payload...)
}

// WriteFrame writes f to w as one contiguous buffer in a single Write call,
// so that a socket carries it in one send and writers sharing w under a
// lock held per call never interleave inside a frame. The error wraps w's.
func WriteFrame(w io.Writer, f Frame) error {
	buf := AppendFrame(make([]byte, 0, HeaderSize+len(f.Payload)), f)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write frame %v: %w", f, err)
	}
	return nil
}
