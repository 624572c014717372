package sysproxy

import "fmt"

// ClientMessage is a message a client sends to a server: a HANDSHAKE,
// SYSCALL or PREFORK request, or the reply to a server's COPYIN, COPYINSTR or
// ANONMMAP request.
type ClientMessage interface {
	// Frame encodes the message. It never fails and checks nothing: a
	// client passes the result through CheckClientFrame before sending it.
	Frame() Frame
	clientMessage()
}

// GuestHandshake asks the server to create a new process for this
// connection. It is the first request on a connection that is not a fork
// child.
type GuestHandshake struct {
	Reqno uint64
	// Name becomes the process's command name, cut by the server to 16
	// bytes. It is sent up to its first NUL, and NUL-terminated.
	Name string
}

// Frame encodes m as REQ/HANDSHAKE with kind GUEST.
func (m GuestHandshake) Frame() Frame {
	return newFrame(m.Reqno, ClassReq, TypeHandshake, uint32(HandshakeGuest),
		appendName(nil, m.Name))
}

// ForkHandshake binds a new connection to the process a PREFORK on the
// parent's connection created. It is the first request on that connection.
type ForkHandshake struct {
	Reqno  uint64
	Cookie Cookie
	// Cancel releases the preforked process instead; the server then closes
	// the connection without a reply.
	Cancel bool
}

// Frame encodes m as REQ/HANDSHAKE with kind FORK and a 20-byte payload.
func (m ForkHandshake) Frame() Frame {
	return newFrame(m.Reqno, ClassReq, TypeHandshake, uint32(HandshakeFork),
		appendForkPayload(nil, m.Cookie, m.Cancel))
}

// ExecHandshake tells the server that the client process has executed a new
// program: the server closes the process's close-on-exec descriptors and
// renames it, and answers only once every call in flight has finished.
type ExecHandshake struct {
	Reqno uint64
	// Name is the new command name, encoded as GuestHandshake.Name.
	Name string
}

// Frame encodes m as REQ/HANDSHAKE with kind EXEC.
func (m ExecHandshake) Frame() Frame {
	return newFrame(m.Reqno, ClassReq, TypeHandshake, uint32(HandshakeExec),
		appendName(nil, m.Name))
}

// SyscallRequest performs one system call in the connection's process.
type SyscallRequest struct {
	Reqno uint64
	// Sysnum is the NetBSD system call number.
	Sysnum uint32
	// Args holds one value per slot of the kernel's argument structure,
	// padding slots included. The kernel reads each slot at its argument's
	// C width from offset 0, so narrower arguments go zero-extended, as in
	// rumpclient's zero-filled block. Addresses are the client's own.
	Args []uint64
}

// Frame encodes m as REQ/SYSCALL with the number in U and 8 bytes per slot.
func (m SyscallRequest) Frame() Frame {
	return newFrame(m.Reqno, ClassReq, TypeSyscall, m.Sysnum, appendArgs(nil, m.Args))
}

// PreforkRequest asks the server to fork the connection's process ahead of a
// host fork; the child claims the copy with a ForkHandshake.
type PreforkRequest struct {
	Reqno uint64
}

// Frame encodes m as a header-only REQ/PREFORK.
func (m PreforkRequest) Frame() Frame {
	return newFrame(m.Reqno, ClassReq, TypePrefork, 0, nil)
}

// CopyinResponse carries client memory to a server: the reply to a COPYIN
// or a COPYINSTR request. Build it with CopyinRequest.Reply or
// CopyinstrRequest.Reply, which keep its size within what the server can
// take.
type CopyinResponse struct {
	Reqno uint64
	Data  []byte
}

// Frame encodes m as RESP/COPYIN. COPYINSTR replies use the COPYIN type too,
// as rumpclient does; servers do not look at it.
func (m CopyinResponse) Frame() Frame {
	return newFrame(m.Reqno, ClassResp, TypeCopyin, 0, m.Data)
}

// AnonmmapResponse answers an ANONMMAP request with the address of the
// mapping in client memory, or 0, which fails the kernel's request with
// ENOMEM.
type AnonmmapResponse struct {
	Reqno uint64
	Addr  uint64
}

// Frame encodes m as RESP/ANONMMAP with an 8-byte address.
func (m AnonmmapResponse) Frame() Frame {
	return newFrame(m.Reqno, ClassResp, TypeAnonmmap, 0, le.AppendUint64(nil, m.Addr))
}

func (GuestHandshake) clientMessage()   {}
func (ForkHandshake) clientMessage()    {}
func (ExecHandshake) clientMessage()    {}
func (SyscallRequest) clientMessage()   {}
func (PreforkRequest) clientMessage()   {}
func (CopyinResponse) clientMessage()   {}
func (AnonmmapResponse) clientMessage() {}

// DecodeClientMessage decodes a frame a client sent; a server uses it. It
// reads f's header fields and payload and ignores f.Len, which ReadFrame has
// already matched to the payload. Slices in the result alias f.Payload.
//
// A frame whose class and type a server accepts from a client but whose
// payload does not fit returns an error wrapping ErrMalformed; any other
// class, type or handshake kind, including HANDSHAKE_AUTH, which no server
// implements, returns one wrapping ErrUnexpected. Whether the message is
// valid in the connection's state (a SYSCALL before the handshake, a second
// GUEST) is for the server to decide.
func DecodeClientMessage(f Frame) (ClientMessage, error) {
	m, err := decodeClientMessage(f)
	if err != nil {
		return nil, fmt.Errorf("decode client %v: %w", f, err)
	}
	return m, nil
}

func decodeClientMessage(f Frame) (ClientMessage, error) {
	switch {
	case f.Class == ClassReq && f.Type == TypeHandshake:
		return decodeHandshake(f)

	case f.Class == ClassReq && f.Type == TypeSyscall:
		args, err := parseArgs(f.Payload)
		if err != nil {
			return nil, err
		}
		return SyscallRequest{Reqno: f.Reqno, Sysnum: f.U, Args: args}, nil

	case f.Class == ClassReq && f.Type == TypePrefork:
		if len(f.Payload) != 0 {
			return nil, sizeError("prefork request", len(f.Payload), 0)
		}
		return PreforkRequest{Reqno: f.Reqno}, nil

	// Servers match replies to their requests by reqno alone; rumpclient
	// answers COPYINSTR with the COPYIN type, others might use its own.
	case f.Class == ClassResp && (f.Type == TypeCopyin || f.Type == TypeCopyinstr):
		return CopyinResponse{Reqno: f.Reqno, Data: f.Payload}, nil

	case f.Class == ClassResp && f.Type == TypeAnonmmap:
		addr, err := parseU64("anonmmap response", f.Payload)
		if err != nil {
			return nil, err
		}
		return AnonmmapResponse{Reqno: f.Reqno, Addr: addr}, nil
	}
	return nil, fmt.Errorf("%w: a server never accepts %v/%v from a client",
		ErrUnexpected, f.Class, f.Type)
}

func decodeHandshake(f Frame) (ClientMessage, error) {
	switch HandshakeKind(f.U) {
	case HandshakeGuest:
		name, err := parseName(f.Payload)
		if err != nil {
			return nil, err
		}
		return GuestHandshake{Reqno: f.Reqno, Name: name}, nil

	case HandshakeFork:
		cookie, cancel, err := parseForkPayload(f.Payload)
		if err != nil {
			return nil, err
		}
		return ForkHandshake{Reqno: f.Reqno, Cookie: cookie, Cancel: cancel}, nil

	case HandshakeExec:
		name, err := parseName(f.Payload)
		if err != nil {
			return nil, err
		}
		return ExecHandshake{Reqno: f.Reqno, Name: name}, nil
	}
	return nil, fmt.Errorf("%w: handshake kind %v", ErrUnexpected, HandshakeKind(f.U))
}
