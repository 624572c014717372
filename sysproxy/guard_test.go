package sysproxy

import (
	"errors"
	"testing"
)

func TestCheckClientFrameRefusesWhatHarmsAServer(t *testing.T) {
	guest, exec := uint32(HandshakeGuest), uint32(HandshakeExec)
	withLen := func(f Frame, n uint64) Frame {
		f.Len = n
		return f
	}
	tests := []struct {
		name string
		f    Frame
	}{
		// A.13: a length below the header, or a huge one.
		{"a length below the header", withLen(PreforkRequest{Reqno: 1}.Frame(), 23)},
		{"a length of 0", withLen(PreforkRequest{Reqno: 1}.Frame(), 0)},
		{"a huge length", withLen(PreforkRequest{Reqno: 1}.Frame(), 1<<62)},
		{"a length one past the payload",
			withLen(GuestHandshake{Reqno: 1, Name: "x"}.Frame(), 27)},

		// A.13: a GUEST or EXEC handshake without payload or NUL.
		{"a guest handshake without payload", raw(1, ClassReq, TypeHandshake, guest, nil)},
		{"an exec handshake without payload", raw(1, ClassReq, TypeHandshake, exec, nil)},
		{"a guest name without NUL",
			raw(1, ClassReq, TypeHandshake, guest, []byte("probe"))},
		{"an exec name without NUL", raw(1, ClassReq, TypeHandshake, exec, []byte("sh"))},

		// A.13: a syscall number out of the table, a short argument block.
		{"syscall 512", raw(1, ClassReq, TypeSyscall, 512, nil)},
		{"a syscall number negative as an int", raw(1, ClassReq, TypeSyscall, 0xffffffff, nil)},
		{"syscall 2^31", raw(1, ClassReq, TypeSyscall, 1<<31, nil)},
		{"an argument block of 7 bytes", raw(1, ClassReq, TypeSyscall, 3, zeros(7))},
		{"an argument block of 20 bytes", raw(1, ClassReq, TypeSyscall, 3, zeros(20))},

		// A.13: ERROR-class frames, which never complete a server request.
		{"an error frame", ErrorResponse{Reqno: 1, Code: CodeNone}.Frame()},
		{"an error frame answering a copyin", raw(0, ClassError, TypeCopyin, 0, nil)},
		{"class 3", raw(1, 3, TypeSyscall, 20, nil)},
		{"class 0xffff", raw(1, 0xffff, TypeCopyin, 0, nil)},

		// A.6: handshakes after which the server hangs up.
		{"an auth handshake",
			raw(1, ClassReq, TypeHandshake, uint32(HandshakeAuth), []byte("x\x00"))},
		{"an unknown handshake kind", raw(1, ClassReq, TypeHandshake, 4, []byte("x\x00"))},
		{"a 16-byte fork handshake",
			raw(1, ClassReq, TypeHandshake, uint32(HandshakeFork), zeros(16))},
		{"a 21-byte fork handshake",
			raw(1, ClassReq, TypeHandshake, uint32(HandshakeFork), zeros(21))},

		// A.6: requests only servers send, payloads a request has not.
		{"a prefork with a payload", raw(1, ClassReq, TypePrefork, 0, zeros(8))},
		{"a copyin request", raw(1, ClassReq, TypeCopyin, 0, zeros(16))},
		{"a copyout request", CopyoutRequest{Reqno: 1, Addr: 1, Data: []byte("x")}.Frame()},
		{"a raise request", RaiseRequest{Signo: 9}.Frame()},
		{"an unknown request type", raw(1, ClassReq, 9, 0, nil)},

		// A.6: responses the server would feed to a copyin or anonmmap waiter.
		{"a syscall response", SyscallResponse{Reqno: 1}.Frame()},
		{"a handshake response", HandshakeResponse{Reqno: 1}.Frame()},
		{"a copyinstr-typed reply", raw(1, ClassResp, TypeCopyinstr, 0, []byte("/\x00"))},
		{"a short anonmmap reply", raw(1, ClassResp, TypeAnonmmap, 0, zeros(4))},
		{"an empty anonmmap reply", raw(1, ClassResp, TypeAnonmmap, 0, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckClientFrame(tt.f); !errors.Is(err, ErrRefused) {
				t.Errorf("CheckClientFrame(%v) = %v, want ErrRefused", tt.f, err)
			}
		})
	}
}

func TestCheckClientFramePassesEveryClientMessage(t *testing.T) {
	for _, tt := range clientLayouts {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckClientFrame(tt.msg.Frame()); err != nil {
				t.Errorf("CheckClientFrame: %v", err)
			}
		})
	}
	last := SyscallRequest{Reqno: 1, Sysnum: MaxSyscall - 1}
	if err := CheckClientFrame(last.Frame()); err != nil {
		t.Errorf("CheckClientFrame(syscall 511): %v", err)
	}
}

func TestCheckReplyHoldsCopyinRepliesToTheRequestedSize(t *testing.T) {
	copyin := CopyinRequest{Reqno: 5, CopyDesc: CopyDesc{Len: 4, Addr: 0x2000}}
	copyinstr := CopyinstrRequest{Reqno: 6, CopyDesc: CopyDesc{Len: 4, Addr: 0x2000}}
	anonmmap := AnonmmapRequest{Reqno: 7, Size: 4096}
	reply := func(reqno uint64, n int) Frame {
		return CopyinResponse{Reqno: reqno, Data: zeros(n)}.Frame()
	}
	tests := []struct {
		name string
		req  ServerMessage
		f    Frame
		ok   bool
	}{
		{"a copyin reply of exactly the length", copyin, reply(5, 4), true},
		{"an empty copyin reply, which crashes the server", copyin, reply(5, 0), false},
		{"a short copyin reply", copyin, reply(5, 3), false},
		{"a long copyin reply", copyin, reply(5, 5), false},
		{"a copyinstr reply of the whole buffer", copyinstr, reply(6, 4), true},
		{"a shorter copyinstr reply", copyinstr, reply(6, 2), true},
		{"an empty copyinstr reply", copyinstr, reply(6, 0), true},
		{"a copyinstr reply longer than the buffer", copyinstr, reply(6, 5), false},
		{"an anonmmap reply", anonmmap, anonmmap.Reply(0x7000).Frame(), true},
		{"a reply with another reqno", copyin, reply(4, 4), false},
		{"an anonmmap-typed reply to a copyin", copyin,
			raw(5, ClassResp, TypeAnonmmap, 0, zeros(8)), false},
		{"a copyin-typed reply to an anonmmap", anonmmap, reply(7, 8), false},
		{"an error frame instead of a reply", copyin,
			ErrorResponse{Reqno: 5, Code: CodeMalformedRequest}.Frame(), false},
		{"a request instead of a reply", copyin, raw(5, ClassReq, TypeCopyin, 0, zeros(4)),
			false},
		{"a reply to a copyout", CopyoutRequest{Reqno: 5}, reply(5, 0), false},
		{"a reply to a raise", RaiseRequest{Signo: 13}, reply(0, 0), false},
		{"a reply to a response", SyscallResponse{Reqno: 5}, reply(5, 0), false},
		{"a reply to nothing", nil, reply(5, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckReply(tt.req, tt.f)
			if tt.ok && err != nil {
				t.Errorf("CheckReply: %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrRefused) {
				t.Errorf("CheckReply = %v, want ErrRefused", err)
			}
		})
	}
}
