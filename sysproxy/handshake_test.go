package sysproxy

import (
	"bytes"
	"errors"
	"io"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeConn reads a scripted server stream and records what the client writes.
type fakeConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *fakeConn) Read(p []byte) (int, error)  { return c.in.Read(p) }
func (c *fakeConn) Write(p []byte) (int, error) { return c.out.Write(p) }

func newFakeConn(t *testing.T, parts ...[]byte) *fakeConn {
	t.Helper()
	return &fakeConn{in: bytes.NewReader(bytes.Join(parts, nil))}
}

var banner7 = FormatBanner("NetBSD", "7.99.34", "amd64")

func TestHandshakeOpensAConnection(t *testing.T) {
	tests := []struct {
		name   string
		hs     ClientMessage
		server [][]byte
	}{
		{
			name:   "a guest handshake",
			hs:     GuestHandshake{Reqno: 1, Name: "probe"},
			server: [][]byte{banner7, AppendFrame(nil, HandshakeResponse{Reqno: 1}.Frame())},
		},
		{
			name:   "a fork handshake",
			hs:     ForkHandshake{Reqno: 9, Cookie: testCookie},
			server: [][]byte{banner7, AppendFrame(nil, HandshakeResponse{Reqno: 9}.Frame())},
		},
		{
			name:   "a cancelled fork handshake, which gets no answer",
			hs:     ForkHandshake{Reqno: 9, Cookie: testCookie, Cancel: true},
			server: [][]byte{banner7},
		},
	}
	want := Banner{Major: 0, Minor: 4, OSType: "NetBSD", OSRelease: "7.99.34", Machine: "amd64"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeConn(t, tt.server...)
			got, err := Handshake(c, tt.hs)
			if err != nil {
				t.Fatalf("Handshake: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("banner (-want +got):\n%s", diff)
			}
			if sent := AppendFrame(nil, tt.hs.Frame()); !bytes.Equal(c.out.Bytes(), sent) {
				t.Errorf("client wrote %x, want %x", c.out.Bytes(), sent)
			}
			if c.in.Len() != 0 {
				t.Errorf("%d bytes of the server stream left unread", c.in.Len())
			}
		})
	}
}

func TestHandshakeReportsWhyItFailed(t *testing.T) {
	frame := func(m ServerMessage) []byte { return AppendFrame(nil, m.Frame()) }
	oversize := make([]byte, HeaderSize)
	le.PutUint64(oversize, 1<<30)
	fork := ForkHandshake{Reqno: 1, Cookie: testCookie}
	tests := []struct {
		name   string
		hs     ClientMessage
		server [][]byte
		want   error
		sends  bool
	}{
		{"no banner at all", fork, nil, io.EOF, false},
		{"a major version 1 banner", fork, [][]byte{[]byte("RUMPSP-1.0-NetBSD-11/amd64\n")},
			ErrVersion, false},
		{"a closed connection instead of an answer", GuestHandshake{Reqno: 1},
			[][]byte{banner7}, io.ErrUnexpectedEOF, true},
		{"an unknown cookie", fork,
			[][]byte{banner7, frame(ErrorResponse{Reqno: 1, Code: CodeInvalidPrefork})},
			syscall.ESRCH, true},
		{"a failed fork", fork,
			[][]byte{banner7, frame(ErrorResponse{Reqno: 1, Code: CodeRforkFailed})},
			syscall.EIO, true},
		{"an answer to another reqno", fork,
			[][]byte{banner7, frame(HandshakeResponse{Reqno: 2})}, ErrUnexpected, true},
		{"an answer with an error", fork,
			[][]byte{banner7, frame(HandshakeResponse{Reqno: 1, Error: 1})}, ErrUnexpected, true},
		{"a server request before the answer", fork,
			[][]byte{banner7, frame(CopyinRequest{CopyDesc: CopyDesc{Len: 1, Addr: 1}})},
			ErrUnexpected, true},
		{"a short answer", fork,
			[][]byte{banner7, frame(ErrorResponse{Reqno: 1})[:20]}, io.ErrUnexpectedEOF, true},
		{"a malformed answer", fork,
			[][]byte{banner7, AppendFrame(nil, raw(1, ClassResp, TypeHandshake, 0, zeros(3)))},
			ErrMalformed, true},
		{"an answer claiming a gigabyte", fork, [][]byte{banner7, oversize},
			ErrFrameTooLarge, true},
		{"an exec handshake", ExecHandshake{Reqno: 1, Name: "sh"}, [][]byte{banner7},
			ErrRefused, false},
		{"a syscall", SyscallRequest{Reqno: 1, Sysnum: 20}, [][]byte{banner7},
			ErrRefused, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeConn(t, tt.server...)
			_, err := Handshake(c, tt.hs)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Handshake: %v, want an error wrapping %v", err, tt.want)
			}
			if sent := c.out.Len() > 0; sent != tt.sends {
				t.Errorf("client sent %d bytes; want sending: %v", c.out.Len(), tt.sends)
			}
		})
	}
}
