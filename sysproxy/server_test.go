package sysproxy

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// serverLayouts are the frames a server sends, with their bytes written out
// by hand. The first ones are the captures of a session with a real
// rump_server, where they differ only in the padding a real server leaves
// uninitialised.
var serverLayouts = []struct {
	name string
	msg  ServerMessage
	wire string
}{
	{
		name: "a handshake response carries an int 0",
		msg:  HandshakeResponse{Reqno: 1},
		wire: "1c00000000000000 0100000000000000 0100 0000 00000000 | 00000000",
	},
	{
		name: "a syscall response carries error, zeroed padding and two retvals",
		msg:  SyscallResponse{Reqno: 2, Result: SyscallResult{Retval: [2]int64{2, 1}}},
		wire: `3000000000000000 0200000000000000 0100 0100 00000000 |
			00000000 00000000 0200000000000000 0100000000000000`,
	},
	{
		name: "a failed syscall response carries the NetBSD errno",
		msg:  SyscallResponse{Reqno: 3, Result: SyscallResult{Error: 2, Retval: [2]int64{-1, 0}}},
		wire: `3000000000000000 0300000000000000 0100 0100 00000000 |
			02000000 00000000 ffffffffffffffff 0000000000000000`,
	},
	{
		name: "a prefork response carries the cookie",
		msg:  PreforkResponse{Reqno: 4, Cookie: testCookie},
		wire: `2800000000000000 0400000000000000 0100 0700 00000000 |
			000102030405060708090a0b0c0d0e0f`,
	},
	{
		name: "a copyinstr request carries the buffer size and address",
		msg:  CopyinstrRequest{Reqno: 0, CopyDesc: CopyDesc{Len: 1024, Addr: 0x10000}},
		wire: `2800000000000000 0000000000000000 0000 0300 00000000 |
			0004000000000000 0000010000000000`,
	},
	{
		name: "a copyin request carries the length and address",
		msg:  CopyinRequest{Reqno: 5, CopyDesc: CopyDesc{Len: 4, Addr: 0x2000}},
		wire: `2800000000000000 0500000000000000 0000 0200 00000000 |
			0400000000000000 0020000000000000`,
	},
	{
		name: "a copyout request carries a descriptor and the data",
		msg:  CopyoutRequest{Reqno: 6, Addr: 0x3000, Data: []byte("hi")},
		wire: `2a00000000000000 0600000000000000 0000 0400 00000000 |
			0200000000000000 0030000000000000 6869`,
	},
	{
		name: "an empty copyout request carries only the descriptor",
		msg:  CopyoutRequest{Reqno: 6, Addr: 0x3000},
		wire: `2800000000000000 0600000000000000 0000 0400 00000000 |
			0000000000000000 0030000000000000`,
	},
	{
		name: "a copyoutstr request has its own type",
		msg:  CopyoutRequest{Reqno: 6, Addr: 0x3000, Data: []byte("/\x00"), Str: true},
		wire: `2a00000000000000 0600000000000000 0000 0500 00000000 |
			0200000000000000 0030000000000000 2f00`,
	},
	{
		name: "an anonmmap request carries the size",
		msg:  AnonmmapRequest{Reqno: 8, Size: 0x1000},
		wire: "2000000000000000 0800000000000000 0000 0600 00000000 | 0010000000000000",
	},
	{
		name: "a raise request carries the signal in u",
		msg:  RaiseRequest{Signo: 13},
		wire: "1800000000000000 0000000000000000 0000 0800 0d000000",
	},
	{
		name: "an error frame carries the code in u and type 0",
		msg:  ErrorResponse{Reqno: 3, Code: CodeAuth},
		wire: "1800000000000000 0300000000000000 0200 0000 02000000",
	},
}

func TestServerMessagesHaveTheWireLayout(t *testing.T) {
	for _, tt := range serverLayouts {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.wire)
			if got := AppendFrame(nil, tt.msg.Frame()); !bytes.Equal(got, want) {
				t.Errorf("encoded\n%x\nwant\n%x", got, want)
			}
			if f := tt.msg.Frame(); f.Len != uint64(len(want)) {
				t.Errorf("Frame().Len = %d, want %d", f.Len, len(want))
			}
		})
	}
}

func TestClientsDecodeServerMessages(t *testing.T) {
	for _, tt := range serverLayouts {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadFrame(bytes.NewReader(unhex(t, tt.wire)), DefaultMaxPayload)
			if err != nil {
				t.Fatalf("ReadFrame: %v", err)
			}
			got, err := DecodeServerMessage(f)
			if err != nil {
				t.Fatalf("DecodeServerMessage: %v", err)
			}
			if diff := cmp.Diff(tt.msg, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientsDecodeWhatARealServerSends(t *testing.T) {
	tests := []struct {
		name string
		wire string
		want ServerMessage
	}{
		{
			name: "padding garbage in a syscall response is ignored",
			wire: `3000000000000000 0300000000000000 0100 0100 00000000 |
				00000000 8f7f0000 0300000000000000 0000000000000000`,
			want: SyscallResponse{Reqno: 3, Result: SyscallResult{Retval: [2]int64{3, 0}}},
		},
		{
			name: "the stale reqno of a raise request is ignored",
			wire: "1800000000000000 efbeadde00000000 0000 0800 0d000000",
			want: RaiseRequest{Signo: 13},
		},
		{
			name: "the type of an error frame is ignored",
			wire: "1800000000000000 0900000000000000 0200 0100 07000000",
			want: ErrorResponse{Reqno: 9, Code: CodeMalformedRequest},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadFrame(bytes.NewReader(unhex(t, tt.wire)), DefaultMaxPayload)
			if err != nil {
				t.Fatalf("ReadFrame: %v", err)
			}
			got, err := DecodeServerMessage(f)
			if err != nil {
				t.Fatalf("DecodeServerMessage: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientsRefuseMalformedServerMessages(t *testing.T) {
	desc := func(n uint64, data ...byte) []byte {
		return append(appendCopyDesc(nil, CopyDesc{Len: n, Addr: 0x1000}), data...)
	}
	tests := []struct {
		name string
		f    Frame
		want error
	}{
		{"a short handshake response", raw(1, ClassResp, TypeHandshake, 0, zeros(3)), ErrMalformed},
		{"a long handshake response", raw(1, ClassResp, TypeHandshake, 0, zeros(5)), ErrMalformed},
		{"an empty handshake response", raw(1, ClassResp, TypeHandshake, 0, nil), ErrMalformed},
		{"a short syscall response", raw(1, ClassResp, TypeSyscall, 0, zeros(23)), ErrMalformed},
		{"a long syscall response", raw(1, ClassResp, TypeSyscall, 0, zeros(25)), ErrMalformed},
		{"an empty syscall response", raw(1, ClassResp, TypeSyscall, 0, nil), ErrMalformed},
		{"a short prefork response", raw(1, ClassResp, TypePrefork, 0, zeros(15)), ErrMalformed},
		{"a long prefork response", raw(1, ClassResp, TypePrefork, 0, zeros(17)), ErrMalformed},
		{"a short copyin request", raw(1, ClassReq, TypeCopyin, 0, zeros(15)), ErrMalformed},
		{"a long copyin request", raw(1, ClassReq, TypeCopyin, 0, desc(1, 0)), ErrMalformed},
		{"a short copyinstr request", raw(1, ClassReq, TypeCopyinstr, 0, zeros(8)), ErrMalformed},
		{"a copyout without descriptor", raw(1, ClassReq, TypeCopyout, 0, zeros(15)),
			ErrMalformed},
		{"a copyout with less data than it claims", raw(1, ClassReq, TypeCopyout, 0,
			desc(3, 'h', 'i')), ErrMalformed},
		{"a copyout with more data than it claims", raw(1, ClassReq, TypeCopyout, 0,
			desc(1, 'h', 'i')), ErrMalformed},
		{"a copyout claiming 2^64-1 bytes", raw(1, ClassReq, TypeCopyoutstr, 0,
			desc(^uint64(0))), ErrMalformed},
		{"a short anonmmap request", raw(1, ClassReq, TypeAnonmmap, 0, zeros(7)), ErrMalformed},
		{"a long anonmmap request", raw(1, ClassReq, TypeAnonmmap, 0, zeros(9)), ErrMalformed},
		{"a raise with a payload", raw(1, ClassReq, TypeRaise, 13, zeros(1)), ErrMalformed},
		{"an error frame with a payload", raw(1, ClassError, 0, 7, zeros(4)), ErrMalformed},
		{"a handshake request", raw(1, ClassReq, TypeHandshake, 0, []byte("x\x00")),
			ErrUnexpected},
		{"a syscall request", raw(1, ClassReq, TypeSyscall, 20, nil), ErrUnexpected},
		{"a prefork request", raw(1, ClassReq, TypePrefork, 0, nil), ErrUnexpected},
		{"an unknown request type", raw(1, ClassReq, 9, 0, nil), ErrUnexpected},
		{"a copyin response", raw(1, ClassResp, TypeCopyin, 0, zeros(4)), ErrUnexpected},
		{"an anonmmap response", raw(1, ClassResp, TypeAnonmmap, 0, zeros(8)), ErrUnexpected},
		{"an unknown response type", raw(1, ClassResp, 0xffff, 0, nil), ErrUnexpected},
		{"an unknown class", raw(1, 0xffff, TypeSyscall, 0, zeros(24)), ErrUnexpected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeServerMessage(tt.f)
			if !errors.Is(err, tt.want) {
				t.Fatalf("DecodeServerMessage() = %#v, %v; want an error wrapping %v",
					m, err, tt.want)
			}
		})
	}
}

func TestCopyinReplyMustBeExactlyTheRequestedLength(t *testing.T) {
	req := CopyinRequest{Reqno: 5, CopyDesc: CopyDesc{Len: 4, Addr: 0x2000}}

	got, err := req.Reply([]byte("abcd"))
	if err != nil {
		t.Fatalf("Reply(4 bytes): %v", err)
	}
	if diff := cmp.Diff(CopyinResponse{Reqno: 5, Data: []byte("abcd")}, got); diff != "" {
		t.Errorf("Reply (-want +got):\n%s", diff)
	}
	for _, data := range [][]byte{nil, []byte("abc"), []byte("abcde")} {
		if _, err := req.Reply(data); !errors.Is(err, ErrRefused) {
			t.Errorf("Reply(%d bytes) = %v, want ErrRefused", len(data), err)
		}
	}
}

func TestCopyinstrReplySendsTheStringWithinTheBuffer(t *testing.T) {
	tests := []struct {
		name string
		len  uint64
		mem  string
		want string
	}{
		{"the string up to its NUL", 1024, "/etc\x00junk", "/etc\x00"},
		{"a string that just fits", 5, "/etc\x00", "/etc\x00"},
		{"a string too long for the buffer, cut without NUL", 4, "/etc\x00", "/etc"},
		{"memory without NUL, cut to the buffer", 3, "abcdef", "abc"},
		{"unreadable memory, as an empty reply", 1024, "", ""},
		{"a zero-sized buffer", 0, "a\x00", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := CopyinstrRequest{Reqno: 2, CopyDesc: CopyDesc{Len: tt.len, Addr: 0x10000}}
			got := req.Reply([]byte(tt.mem))
			if got.Reqno != 2 || string(got.Data) != tt.want {
				t.Errorf("Reply(%q) = %d %q, want 2 %q", tt.mem, got.Reqno, got.Data, tt.want)
			}
			if err := CheckReply(req, got.Frame()); err != nil {
				t.Errorf("CheckReply: %v", err)
			}
		})
	}
}

func TestAnonmmapReplyEchoesTheReqno(t *testing.T) {
	got := AnonmmapRequest{Reqno: 8, Size: 4096}.Reply(0x7000)
	if diff := cmp.Diff(AnonmmapResponse{Reqno: 8, Addr: 0x7000}, got); diff != "" {
		t.Errorf("Reply (-want +got):\n%s", diff)
	}
}
