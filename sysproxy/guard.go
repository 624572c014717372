package sysproxy

import "fmt"

// CheckClientFrame reports whether a client may send f. The reference server
// trusts its clients, so a frame it cannot handle crashes it, corrupts its
// memory, kills the connection's process or leaves a kernel thread waiting
// forever. CheckClientFrame returns nil only for frames of the forms the
// constructors of this package produce, and otherwise an error wrapping
// ErrRefused that says which harm the frame would do:
//
//   - a length other than HeaderSize plus the payload (the server drops the
//     connection below HeaderSize and allocates whatever it is told above);
//   - a class other than REQ or RESP: an ERROR frame is answered with an
//     error and never completes the server request it answers;
//   - a GUEST or EXEC handshake with an empty payload (the server
//     dereferences NULL) or a name without a final NUL;
//   - a FORK handshake whose payload is not 20 bytes, an AUTH handshake or an
//     unknown kind, after each of which the server closes the connection;
//   - a SYSCALL numbered MaxSyscall or above, since the server does not
//     reject the numbers that are negative as an int, or whose argument
//     block is not whole 8-byte slots;
//   - a PREFORK with a payload;
//   - a request of a type only servers send;
//   - a response of a type other than COPYIN or ANONMMAP, which the server
//     would hand to whichever of its waiters has that reqno, or an ANONMMAP
//     response that is not 8 bytes.
//
// What a frame alone cannot show is left to others: CheckReply checks the
// size of a copyin reply, the caller that knows the call checks that its
// argument block has every slot the call declares, and the connection pool
// keeps no more than MaxWorkers calls blocking on one server.
func CheckClientFrame(f Frame) error {
	if err := checkClientFrame(f); err != nil {
		return fmt.Errorf("check %v: %w: %s", f, ErrRefused, err)
	}
	return nil
}

// refusal is why a frame may not be sent. The exported checks format it
// into their error rather than wrap it, so that ErrRefused stays the only
// sentinel in the chain.
type refusal string

func (r refusal) Error() string { return string(r) }

func checkClientFrame(f Frame) error {
	if f.Len != HeaderSize+uint64(len(f.Payload)) {
		return refusal(fmt.Sprintf("length %d does not match a payload of %d bytes",
			f.Len, len(f.Payload)))
	}

	switch f.Class {
	case ClassReq:
		return checkClientRequest(f)
	case ClassResp:
		return checkClientResponse(f)
	case ClassError:
		return refusal("a server answers an ERROR frame with an error " +
			"and keeps its request waiting")
	}
	return refusal("unknown class")
}

func checkClientRequest(f Frame) error {
	switch f.Type {
	case TypeHandshake:
		return checkHandshake(f)

	case TypeSyscall:
		if f.U >= MaxSyscall {
			return refusal(fmt.Sprintf("syscall number %d is not below %d",
				f.U, MaxSyscall))
		}
		if len(f.Payload)%SlotSize != 0 {
			return refusal(fmt.Sprintf("argument block of %d bytes is not whole slots",
				len(f.Payload)))
		}
		return nil

	case TypePrefork:
		if len(f.Payload) != 0 {
			return refusal("prefork request with a payload")
		}
		return nil
	}
	return refusal(fmt.Sprintf("%v requests flow from server to client", f.Type))
}

func checkHandshake(f Frame) error {
	switch HandshakeKind(f.U) {
	case HandshakeGuest, HandshakeExec:
		if len(f.Payload) == 0 {
			return refusal("empty process name payload makes the server " +
				"dereference NULL")
		}
		if f.Payload[len(f.Payload)-1] != 0 {
			return refusal("process name is not NUL-terminated")
		}
		return nil

	case HandshakeFork:
		if len(f.Payload) != forkPayloadSize {
			return refusal(fmt.Sprintf("fork handshake of %d bytes, want %d",
				len(f.Payload), forkPayloadSize))
		}
		return nil

	case HandshakeAuth:
		return refusal("servers answer AUTH handshakes with an error and hang up")
	}
	return refusal(fmt.Sprintf("unknown handshake kind %d", f.U))
}

func checkClientResponse(f Frame) error {
	switch f.Type {
	case TypeCopyin:
		return nil
	case TypeAnonmmap:
		if len(f.Payload) != addrSize {
			return refusal(fmt.Sprintf("anonmmap response of %d bytes, want %d",
				len(f.Payload), addrSize))
		}
		return nil
	}
	return refusal(fmt.Sprintf("a server would hand this %v response to its copyin "+
		"or anonmmap waiter", f.Type))
}

// CheckReply reports whether a client may send f as its reply to the server
// request req. It applies CheckClientFrame, then requires a response of the
// right type with req's reqno, and sizes the server can take: exactly Len
// bytes for a COPYIN (the server reads Len bytes whatever arrives, and an
// empty reply crashes it), at most Len bytes for a COPYINSTR (the server
// copies all it receives into a Len-byte buffer). A request that takes no
// reply (COPYOUT, RAISE) or is no request refuses every frame. The error
// wraps ErrRefused.
func CheckReply(req ServerMessage, f Frame) error {
	if err := CheckClientFrame(f); err != nil {
		return err
	}
	if err := checkReply(req, f); err != nil {
		return fmt.Errorf("check reply %v: %w: %s", f, ErrRefused, err)
	}
	return nil
}

func checkReply(req ServerMessage, f Frame) error {
	var reqno uint64
	var typ Type
	switch r := req.(type) {
	case CopyinRequest:
		reqno, typ = r.Reqno, TypeCopyin
		if uint64(len(f.Payload)) != r.Len {
			return refusal(fmt.Sprintf("copyin reply of %d bytes, want exactly %d",
				len(f.Payload), r.Len))
		}
	case CopyinstrRequest:
		reqno, typ = r.Reqno, TypeCopyin
		if uint64(len(f.Payload)) > r.Len {
			return refusal(fmt.Sprintf("copyinstr reply of %d bytes, want at most %d",
				len(f.Payload), r.Len))
		}
	case AnonmmapRequest:
		reqno, typ = r.Reqno, TypeAnonmmap
	default:
		return refusal(fmt.Sprintf("%T takes no reply", req))
	}

	if f.Class != ClassResp || f.Type != typ {
		return refusal(fmt.Sprintf("reply must be %v/%v", ClassResp, typ))
	}
	if f.Reqno != reqno {
		return refusal(fmt.Sprintf("reply carries reqno %d, request has %d", f.Reqno, reqno))
	}
	return nil
}
