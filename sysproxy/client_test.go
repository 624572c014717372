package sysproxy

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var testCookie = Cookie{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// clientLayouts are the frames a client sends, with their bytes written out
// by hand. The first ones are the captures of a session with a real
// rump_server.
var clientLayouts = []struct {
	name string
	msg  ClientMessage
	wire string
	// decoded is what a server decodes, when it differs from msg.
	decoded ClientMessage
}{
	{
		name: "a guest handshake sends the name with its NUL",
		msg:  GuestHandshake{Reqno: 1, Name: "probe"},
		wire: "1e00000000000000 0100000000000000 0000 0000 00000000 | 70726f626500",
	},
	{
		name: "a guest handshake with no name sends one NUL",
		msg:  GuestHandshake{Reqno: 1},
		wire: "1900000000000000 0100000000000000 0000 0000 00000000 | 00",
	},
	{
		name:    "a guest handshake cuts the name at its first NUL",
		msg:     GuestHandshake{Reqno: 1, Name: "a\x00b"},
		wire:    "1a00000000000000 0100000000000000 0000 0000 00000000 | 6100",
		decoded: GuestHandshake{Reqno: 1, Name: "a"},
	},
	{
		name: "a fork handshake sends the cookie and a zero cancel flag",
		msg:  ForkHandshake{Reqno: 1, Cookie: testCookie},
		wire: `2c00000000000000 0100000000000000 0000 0000 02000000 |
			000102030405060708090a0b0c0d0e0f 00000000`,
	},
	{
		name: "a cancelled fork handshake sends a cancel flag of 1",
		msg:  ForkHandshake{Reqno: 7, Cookie: testCookie, Cancel: true},
		wire: `2c00000000000000 0700000000000000 0000 0000 02000000 |
			000102030405060708090a0b0c0d0e0f 01000000`,
	},
	{
		name: "an exec handshake sends the new name with its NUL",
		msg:  ExecHandshake{Reqno: 9, Name: "sh"},
		wire: "1b00000000000000 0900000000000000 0000 0000 03000000 | 736800",
	},
	{
		name: "a syscall without arguments is header only",
		msg:  SyscallRequest{Reqno: 2, Sysnum: 20},
		wire: "1800000000000000 0200000000000000 0000 0100 14000000",
	},
	{
		name: "a syscall sends one 8-byte slot per argument",
		msg:  SyscallRequest{Reqno: 3, Sysnum: 5, Args: []uint64{0x10000, 0, 0}},
		wire: `3000000000000000 0300000000000000 0000 0100 05000000 |
			0000010000000000 0000000000000000 0000000000000000`,
	},
	{
		name: "a syscall keeps a zero-extended negative int in its low half",
		msg:  SyscallRequest{Reqno: 4, Sysnum: 468, Args: []uint64{0xffffff9c, 0x10000, 0, 0}},
		wire: `3800000000000000 0400000000000000 0000 0100 d4010000 |
			9cffffff00000000 0000010000000000 0000000000000000 0000000000000000`,
	},
	{
		name: "a prefork is header only",
		msg:  PreforkRequest{Reqno: 4},
		wire: "1800000000000000 0400000000000000 0000 0700 00000000",
	},
	{
		name: "a copyinstr reply uses the copyin type",
		msg:  CopyinResponse{Reqno: 0, Data: []byte("/\x00")},
		wire: "1a00000000000000 0000000000000000 0100 0200 00000000 | 2f00",
	},
	{
		name: "an empty copyin reply is header only",
		msg:  CopyinResponse{Reqno: 5},
		wire: "1800000000000000 0500000000000000 0100 0200 00000000",
	},
	{
		name: "an anonmmap reply sends the 8-byte address",
		msg:  AnonmmapResponse{Reqno: 7, Addr: 0x7f0000001000},
		wire: "2000000000000000 0700000000000000 0100 0600 00000000 | 0010000000 7f0000",
	},
}

func TestClientMessagesHaveTheWireLayout(t *testing.T) {
	for _, tt := range clientLayouts {
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

func TestServersDecodeClientMessages(t *testing.T) {
	for _, tt := range clientLayouts {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadFrame(bytes.NewReader(unhex(t, tt.wire)), DefaultMaxPayload)
			if err != nil {
				t.Fatalf("ReadFrame: %v", err)
			}
			got, err := DecodeClientMessage(f)
			if err != nil {
				t.Fatalf("DecodeClientMessage: %v", err)
			}
			want := tt.decoded
			if want == nil {
				want = tt.msg
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServersDecodeWhatRumpclientMaySend(t *testing.T) {
	tests := []struct {
		name string
		f    Frame
		want ClientMessage
	}{
		{
			name: "a name without NUL is taken whole",
			f:    raw(1, ClassReq, TypeHandshake, uint32(HandshakeExec), []byte("sh")),
			want: ExecHandshake{Reqno: 1, Name: "sh"},
		},
		{
			name: "any nonzero cancel flag cancels",
			f: raw(1, ClassReq, TypeHandshake, uint32(HandshakeFork),
				append(testCookie[:], 5, 0, 0, 0)),
			want: ForkHandshake{Reqno: 1, Cookie: testCookie, Cancel: true},
		},
		{
			name: "a copyinstr reply of its own type",
			f:    raw(3, ClassResp, TypeCopyinstr, 0, []byte("x\x00")),
			want: CopyinResponse{Reqno: 3, Data: []byte("x\x00")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeClientMessage(tt.f)
			if err != nil {
				t.Fatalf("DecodeClientMessage: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServersRefuseMalformedClientMessages(t *testing.T) {
	guest, fork, exec := uint32(HandshakeGuest), uint32(HandshakeFork), uint32(HandshakeExec)
	tests := []struct {
		name string
		f    Frame
		want error
	}{
		{"a guest handshake without payload", raw(1, ClassReq, TypeHandshake, guest, nil),
			ErrMalformed},
		{"an exec handshake without payload", raw(1, ClassReq, TypeHandshake, exec, nil),
			ErrMalformed},
		{"a short fork handshake", raw(1, ClassReq, TypeHandshake, fork, zeros(16)),
			ErrMalformed},
		{"a long fork handshake", raw(1, ClassReq, TypeHandshake, fork, zeros(21)),
			ErrMalformed},
		{"an auth handshake", raw(1, ClassReq, TypeHandshake, uint32(HandshakeAuth), zeros(4)),
			ErrUnexpected},
		{"an unknown handshake kind", raw(1, ClassReq, TypeHandshake, 4, zeros(4)),
			ErrUnexpected},
		{"a syscall with a partial slot", raw(1, ClassReq, TypeSyscall, 3, zeros(7)),
			ErrMalformed},
		{"a syscall with a slot and a half", raw(1, ClassReq, TypeSyscall, 3, zeros(12)),
			ErrMalformed},
		{"a prefork with a payload", raw(1, ClassReq, TypePrefork, 0, zeros(1)), ErrMalformed},
		{"a short anonmmap reply", raw(1, ClassResp, TypeAnonmmap, 0, zeros(7)), ErrMalformed},
		{"a long anonmmap reply", raw(1, ClassResp, TypeAnonmmap, 0, zeros(9)), ErrMalformed},
		{"an empty anonmmap reply", raw(1, ClassResp, TypeAnonmmap, 0, nil), ErrMalformed},
		{"a copyin request", raw(1, ClassReq, TypeCopyin, 0, zeros(16)), ErrUnexpected},
		{"a raise request", raw(1, ClassReq, TypeRaise, 13, nil), ErrUnexpected},
		{"an unknown request type", raw(1, ClassReq, 9, 0, nil), ErrUnexpected},
		{"a syscall response", raw(1, ClassResp, TypeSyscall, 0, zeros(24)), ErrUnexpected},
		{"a copyout response", raw(1, ClassResp, TypeCopyout, 0, nil), ErrUnexpected},
		{"an error frame", raw(1, ClassError, 0, uint32(CodeNoMem), nil), ErrUnexpected},
		{"an unknown class", raw(1, 3, TypeSyscall, 20, nil), ErrUnexpected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeClientMessage(tt.f)
			if !errors.Is(err, tt.want) {
				t.Fatalf("DecodeClientMessage() = %#v, %v; want an error wrapping %v",
					m, err, tt.want)
			}
		})
	}
}
