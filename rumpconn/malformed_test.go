package rumpconn

import (
	"encoding/binary"
	"io"
	"testing"

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/sysproxy"
)

// header returns a raw frame header, for frames no encoder would make.
func header(length, reqno uint64, class sysproxy.Class, typ sysproxy.Type, u uint32) []byte {
	b := make([]byte, sysproxy.HeaderSize)
	binary.LittleEndian.PutUint64(b[0:], length)
	binary.LittleEndian.PutUint64(b[8:], reqno)
	binary.LittleEndian.PutUint16(b[16:], uint16(class))
	binary.LittleEndian.PutUint16(b[18:], uint16(typ))
	binary.LittleEndian.PutUint32(b[20:], u)
	return b
}

func frame(m sysproxy.ServerMessage) []byte { return sysproxy.AppendFrame(nil, m.Frame()) }

func TestMalformedServerFramesEndTheConnection(t *testing.T) {
	const maxCopy = 1024
	tests := []struct {
		name  string
		bytes func(reqno uint64) []byte
		want  error
	}{
		{"garbage instead of a frame", func(uint64) []byte {
			return []byte("this is not a sysproxy frame, nor anything else at all")
		}, ErrProtocol},
		{"a length below the header size", func(reqno uint64) []byte {
			return header(10, reqno, sysproxy.ClassResp, sysproxy.TypeSyscall, 0)
		}, sysproxy.ErrShortFrame},
		{"a length of zero", func(reqno uint64) []byte {
			return header(0, reqno, sysproxy.ClassResp, sysproxy.TypeSyscall, 0)
		}, sysproxy.ErrShortFrame},
		{"a frame above the client's bound", func(reqno uint64) []byte {
			return header(1<<62, reqno, sysproxy.ClassReq, sysproxy.TypeCopyout, 0)
		}, sysproxy.ErrFrameTooLarge},
		{"a copyout larger than the copy bound", func(uint64) []byte {
			return frame(sysproxy.CopyoutRequest{Addr: 0x1000, Data: make([]byte, maxCopy+100)})
		}, sysproxy.ErrFrameTooLarge},
		{"a copyin asking for more than the copy bound", func(uint64) []byte {
			return frame(sysproxy.CopyinRequest{CopyDesc: sysproxy.CopyDesc{Len: maxCopy + 1,
				Addr: 0x1000}})
		}, ErrProtocol},
		{"a copyin with a short descriptor", func(uint64) []byte {
			return append(header(32, 0, sysproxy.ClassReq, sysproxy.TypeCopyin, 0), 0, 0, 0, 0,
				0, 0, 0, 0)
		}, sysproxy.ErrMalformed},
		{"a copyout whose length disagrees with its data", func(uint64) []byte {
			b := frame(sysproxy.CopyoutRequest{Addr: 0x1000, Data: make([]byte, 8)})
			binary.LittleEndian.PutUint64(b[24:], 9)
			return b
		}, sysproxy.ErrMalformed},
		{"an ERROR frame with a payload", func(reqno uint64) []byte {
			return append(header(28, reqno, sysproxy.ClassError, 0, 1), 1, 2, 3, 4)
		}, sysproxy.ErrMalformed},
		{"an unknown class", func(reqno uint64) []byte {
			return header(24, reqno, 7, sysproxy.TypeSyscall, 0)
		}, sysproxy.ErrUnexpected},
		{"a request of a type only clients send", func(reqno uint64) []byte {
			return header(24, reqno, sysproxy.ClassReq, sysproxy.TypeSyscall, 20)
		}, sysproxy.ErrUnexpected},
		{"a syscall result of the wrong size", func(reqno uint64) []byte {
			return append(header(28, reqno, sysproxy.ClassResp, sysproxy.TypeSyscall, 0),
				0, 0, 0, 0)
		}, sysproxy.ErrMalformed},
		{"a handshake answer to a system call", func(reqno uint64) []byte {
			return frame(sysproxy.HandshakeResponse{Reqno: reqno})
		}, ErrProtocol},
		{"a prefork answer to a system call", func(reqno uint64) []byte {
			return frame(sysproxy.PreforkResponse{Reqno: reqno})
		}, ErrProtocol},
		{"a frame cut off by the end of the stream", func(reqno uint64) []byte {
			return append(header(100, reqno, sysproxy.ClassResp, sysproxy.TypeSyscall, 0),
				make([]byte, 10)...)
		}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			fs := newFakeServer(t)
			fs.setHandler(func(s *fakeSession, req sysproxy.SyscallRequest) (sysproxy.SyscallResult,
				bool) {
				s.writeRaw(tt.bytes(req.Reqno))
				if tt.want == io.ErrUnexpectedEOF {
					return sysproxy.SyscallResult{}, false
				}
				s.waitEnd()
				return sysproxy.SyscallResult{}, false
			})
			c := dialFake(t, fs, Options{Memory: newFakeMemory(), MaxCopy: maxCopy})

			_, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID)
			wantErr(t, err, ErrNotConnected, tt.want)
			_, err = c.Syscall(testCtx(t), netbsd.SYS_GETPID)
			wantErr(t, err, ErrNotConnected)
			c.Close()
		})
	}
}
