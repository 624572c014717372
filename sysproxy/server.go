package sysproxy

import (
	"bytes"
	"fmt"
)

// ServerMessage is a message a server sends to a client: the response to a
// client's request, an ERROR frame, or a request of its own that a system
// call in progress makes (COPYIN, COPYINSTR, COPYOUT, ANONMMAP, RAISE).
type ServerMessage interface {
	// Frame encodes the message. It never fails.
	Frame() Frame
	serverMessage()
}

// HandshakeResponse completes a GUEST, FORK or EXEC handshake.
type HandshakeResponse struct {
	Reqno uint64
	// Error is always 0 from the reference server, which reports failures
	// with ERROR frames or by closing the connection.
	Error int32
}

// Frame encodes m as RESP/HANDSHAKE with a 4-byte error.
func (m HandshakeResponse) Frame() Frame {
	return newFrame(m.Reqno, ClassResp, TypeHandshake, 0, le.AppendUint32(nil, uint32(m.Error)))
}

// SyscallResponse carries the result of a SYSCALL request. A server sends
// every COPYOUT of a call before its response, so a client that handles
// frames in order has written all of the call's output when it sees this.
type SyscallResponse struct {
	Reqno  uint64
	Result SyscallResult
}

// Frame encodes m as RESP/SYSCALL with a 24-byte result, padding zeroed.
func (m SyscallResponse) Frame() Frame {
	return newFrame(m.Reqno, ClassResp, TypeSyscall, 0, appendSyscallResult(nil, m.Result))
}

// PreforkResponse hands out the cookie of a preforked process. The cookie is
// valid once, on any connection, until the server exits.
type PreforkResponse struct {
	Reqno  uint64
	Cookie Cookie
}

// Frame encodes m as RESP/PREFORK with the 16-byte cookie.
func (m PreforkResponse) Frame() Frame {
	return newFrame(m.Reqno, ClassResp, TypePrefork, 0, append([]byte(nil), m.Cookie[:]...))
}

// CopyinRequest asks the client for Len bytes of its memory at Addr.
type CopyinRequest struct {
	Reqno uint64
	CopyDesc
}

// Frame encodes m as REQ/COPYIN with a 16-byte descriptor.
func (m CopyinRequest) Frame() Frame {
	return newFrame(m.Reqno, ClassReq, TypeCopyin, 0, appendCopyDesc(nil, m.CopyDesc))
}

// Reply returns the response carrying data, which must be exactly m.Len
// bytes: the server copies m.Len bytes out of whatever arrives, so a shorter
// reply makes it read past its buffer. The error wraps ErrRefused. A client
// that cannot read the memory has no way to say so (ERROR frames leave the
// server waiting); it sends m.Len zero bytes and fails the call itself.
func (m CopyinRequest) Reply(data []byte) (CopyinResponse, error) {
	if uint64(len(data)) != m.Len {
		return CopyinResponse{}, fmt.Errorf("reply to copyin %d: %w: %d bytes, want exactly %d",
			m.Reqno, ErrRefused, len(data), m.Len)
	}
	return CopyinResponse{Reqno: m.Reqno, Data: data}, nil
}

// CopyinstrRequest asks the client for a NUL-terminated string at Addr, at
// most Len bytes with its NUL.
type CopyinstrRequest struct {
	Reqno uint64
	CopyDesc
}

// Frame encodes m as REQ/COPYINSTR with a 16-byte descriptor.
func (m CopyinstrRequest) Frame() Frame {
	return newFrame(m.Reqno, ClassReq, TypeCopyinstr, 0, appendCopyDesc(nil, m.CopyDesc))
}

// Reply returns the response for the string at the start of mem: its bytes
// up to and including the first NUL, cut to m.Len bytes, as rumpclient
// sends. A reply without NUL, because the string is too long or mem is
// empty, fails the call with ENAMETOOLONG, which is also the only way to
// report unreadable memory: reply to an empty mem and fail the call
// yourself.
func (m CopyinstrRequest) Reply(mem []byte) CopyinResponse {
	if i := bytes.IndexByte(mem, 0); i >= 0 {
		mem = mem[:i+1]
	}
	if uint64(len(mem)) > m.Len {
		mem = mem[:m.Len]
	}
	return CopyinResponse{Reqno: m.Reqno, Data: mem}
}

// CopyoutRequest gives the client len(Data) bytes to write to its memory at
// Addr. It has no reply, so a client that cannot write them must remember
// that and fail the call itself.
type CopyoutRequest struct {
	Reqno uint64
	Addr  uint64
	Data  []byte
	// Str marks the COPYOUTSTR type, which servers do not send (copyoutstr
	// goes out as COPYOUT) and clients treat like COPYOUT.
	Str bool
}

// Frame encodes m as REQ/COPYOUT (or COPYOUTSTR) with a descriptor and the
// data.
func (m CopyoutRequest) Frame() Frame {
	typ := TypeCopyout
	if m.Str {
		typ = TypeCopyoutstr
	}
	p := appendCopyDesc(make([]byte, 0, copyDescSize+len(m.Data)),
		CopyDesc{Len: uint64(len(m.Data)), Addr: m.Addr})
	return newFrame(m.Reqno, ClassReq, typ, 0, append(p, m.Data...))
}

// AnonmmapRequest asks the client to map Size bytes of anonymous private
// read-write memory in its address space.
type AnonmmapRequest struct {
	Reqno uint64
	Size  uint64
}

// Frame encodes m as REQ/ANONMMAP with an 8-byte size.
func (m AnonmmapRequest) Frame() Frame {
	return newFrame(m.Reqno, ClassReq, TypeAnonmmap, 0, le.AppendUint64(nil, m.Size))
}

// Reply returns the response with the mapping's address, or 0 for failure.
func (m AnonmmapRequest) Reply(addr uint64) AnonmmapResponse {
	return AnonmmapResponse{Reqno: m.Reqno, Addr: addr}
}

// RaiseRequest tells the client that the kernel posted signal Signo, a
// NetBSD signal number, to its process. It has no reply, and no reqno: the
// reference server leaves that field uninitialised.
type RaiseRequest struct {
	Signo uint32
}

// Frame encodes m as a header-only REQ/RAISE with the signal in U and reqno
// 0.
func (m RaiseRequest) Frame() Frame {
	return newFrame(0, ClassReq, TypeRaise, m.Signo, nil)
}

// ErrorResponse is a server's refusal of the request Reqno. After most codes
// the server closes the connection (see the ErrorCode constants).
type ErrorResponse struct {
	Reqno uint64
	Code  ErrorCode
}

// Frame encodes m as a header-only ERROR frame of type 0 with the code in U.
func (m ErrorResponse) Frame() Frame {
	return newFrame(m.Reqno, ClassError, 0, uint32(m.Code), nil)
}

func (HandshakeResponse) serverMessage() {}
func (SyscallResponse) serverMessage()   {}
func (PreforkResponse) serverMessage()   {}
func (CopyinRequest) serverMessage()     {}
func (CopyinstrRequest) serverMessage()  {}
func (CopyoutRequest) serverMessage()    {}
func (AnonmmapRequest) serverMessage()   {}
func (RaiseRequest) serverMessage()      {}
func (ErrorResponse) serverMessage()     {}

// DecodeServerMessage decodes a frame a server sent; a client uses it. It
// reads f's header fields and payload and ignores f.Len, which ReadFrame has
// already matched to the payload. Slices in the result alias f.Payload.
//
// A frame whose class and type a client accepts from a server but whose
// payload does not have the size the protocol fixes returns an error
// wrapping ErrMalformed; any other class or type returns one wrapping
// ErrUnexpected. Header fields the protocol leaves unused are ignored, and
// so is the type of an ERROR frame, as rumpclient does. Whether a response
// answers a request the client made is for the client to decide.
func DecodeServerMessage(f Frame) (ServerMessage, error) {
	m, err := decodeServerMessage(f)
	if err != nil {
		return nil, fmt.Errorf("decode server %v: %w", f, err)
	}
	return m, nil
}

func decodeServerMessage(f Frame) (ServerMessage, error) {
	switch f.Class {
	case ClassReq:
		return decodeServerRequest(f)
	case ClassResp:
		return decodeServerResponse(f)
	case ClassError:
		if len(f.Payload) != 0 {
			return nil, sizeError("error frame", len(f.Payload), 0)
		}
		return ErrorResponse{Reqno: f.Reqno, Code: ErrorCode(f.U)}, nil
	}
	return nil, fmt.Errorf("%w: class %v", ErrUnexpected, f.Class)
}

func decodeServerRequest(f Frame) (ServerMessage, error) {
	switch f.Type {
	case TypeCopyin, TypeCopyinstr:
		if len(f.Payload) != copyDescSize {
			return nil, sizeError(f.Type.String()+" request", len(f.Payload), copyDescSize)
		}
		d, _ := parseCopyDesc(f.Payload)
		if f.Type == TypeCopyinstr {
			return CopyinstrRequest{Reqno: f.Reqno, CopyDesc: d}, nil
		}
		return CopyinRequest{Reqno: f.Reqno, CopyDesc: d}, nil

	case TypeCopyout, TypeCopyoutstr:
		d, err := parseCopyDesc(f.Payload)
		if err != nil {
			return nil, err
		}
		data := f.Payload[copyDescSize:]
		if d.Len != uint64(len(data)) {
			return nil, fmt.Errorf("%w: copyout of %d bytes carries %d",
				ErrMalformed, d.Len, len(data))
		}
		return CopyoutRequest{Reqno: f.Reqno, Addr: d.Addr, Data: data,
			Str: f.Type == TypeCopyoutstr}, nil

	case TypeAnonmmap:
		size, err := parseU64("anonmmap request", f.Payload)
		if err != nil {
			return nil, err
		}
		return AnonmmapRequest{Reqno: f.Reqno, Size: size}, nil

	case TypeRaise:
		if len(f.Payload) != 0 {
			return nil, sizeError("raise request", len(f.Payload), 0)
		}
		return RaiseRequest{Signo: f.U}, nil
	}
	return nil, fmt.Errorf("%w: a client never accepts a %v request from a server",
		ErrUnexpected, f.Type)
}

func decodeServerResponse(f Frame) (ServerMessage, error) {
	switch f.Type {
	case TypeHandshake:
		if len(f.Payload) != handshakeRespSize {
			return nil, sizeError("handshake response", len(f.Payload), handshakeRespSize)
		}
		return HandshakeResponse{Reqno: f.Reqno, Error: int32(le.Uint32(f.Payload))}, nil

	case TypeSyscall:
		r, err := parseSyscallResult(f.Payload)
		if err != nil {
			return nil, err
		}
		return SyscallResponse{Reqno: f.Reqno, Result: r}, nil

	case TypePrefork:
		if len(f.Payload) != CookieSize {
			return nil, sizeError("prefork response", len(f.Payload), CookieSize)
		}
		var c Cookie
		copy(c[:], f.Payload)
		return PreforkResponse{Reqno: f.Reqno, Cookie: c}, nil
	}
	return nil, fmt.Errorf("%w: a client never accepts a %v response from a server",
		ErrUnexpected, f.Type)
}
