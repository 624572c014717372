package sysproxy

import (
	"syscall"
	"testing"
)

func TestErrorCodeErrnoMatchesRumpclientOnLinux(t *testing.T) {
	tests := []struct {
		code  ErrorCode
		name  string
		errno syscall.Errno
		linux uintptr
	}{
		{CodeNone, "NONE", 0, 0},
		{CodeTryAgain, "TRYAGAIN", syscall.EAGAIN, 11},
		{CodeAuth, "AUTH", syscall.EPERM, 1},
		{CodeInvalidPrefork, "INVALID_PREFORK", syscall.ESRCH, 3},
		{CodeRforkFailed, "RFORK_FAILED", syscall.EIO, 5},
		{CodeInExec, "INEXEC", syscall.EBUSY, 16},
		{CodeNoMem, "NOMEM", syscall.ENOMEM, 12},
		{CodeMalformedRequest, "MALFORMED_REQUEST", syscall.EINVAL, 22},
		{8, "error(8)", syscall.EIO, 5},
		{0xffffffff, "error(4294967295)", syscall.EIO, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.code.Errno(); got != tt.errno || uintptr(got) != tt.linux {
				t.Errorf("Errno() = %d (%v), want %d (%v)", uintptr(got), got, tt.linux, tt.errno)
			}
			if got := tt.code.String(); got != tt.name {
				t.Errorf("String() = %q, want %q", got, tt.name)
			}
		})
	}
}

func TestConstantsHaveTheirWireValues(t *testing.T) {
	tests := []struct {
		name      string
		got, want uint64
	}{
		{"REQ", uint64(ClassReq), 0},
		{"RESP", uint64(ClassResp), 1},
		{"ERROR", uint64(ClassError), 2},
		{"HANDSHAKE", uint64(TypeHandshake), 0},
		{"SYSCALL", uint64(TypeSyscall), 1},
		{"COPYIN", uint64(TypeCopyin), 2},
		{"COPYINSTR", uint64(TypeCopyinstr), 3},
		{"COPYOUT", uint64(TypeCopyout), 4},
		{"COPYOUTSTR", uint64(TypeCopyoutstr), 5},
		{"ANONMMAP", uint64(TypeAnonmmap), 6},
		{"PREFORK", uint64(TypePrefork), 7},
		{"RAISE", uint64(TypeRaise), 8},
		{"GUEST", uint64(HandshakeGuest), 0},
		{"AUTH", uint64(HandshakeAuth), 1},
		{"FORK", uint64(HandshakeFork), 2},
		{"EXEC", uint64(HandshakeExec), 3},
		{"major", ProtoMajor, 0},
		{"minor", ProtoMinor, 4},
		{"banner buffer", MaxBanner, 96},
		{"header", HeaderSize, 24},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

func TestNamesOfUnknownValuesShowTheNumber(t *testing.T) {
	tests := []struct{ got, want string }{
		{Class(3).String(), "class(3)"},
		{Type(9).String(), "type(9)"},
		{TypeRaise.String(), "RAISE"},
		{HandshakeKind(4).String(), "handshake(4)"},
		{HandshakeExec.String(), "EXEC"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
