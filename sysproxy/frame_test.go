package sysproxy

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestFrameHeaderLayout(t *testing.T) {
	f := raw(0x0102030405060708, ClassError, 0x0a0b, 0xdeadbeef, []byte{0xaa, 0xbb})
	want := unhex(t, `
		1a00000000000000 | 0807060504030201 | 0200 | 0b0a | efbeadde | aabb`)

	got := AppendFrame(nil, f)
	if !bytes.Equal(got, want) {
		t.Errorf("AppendFrame() =\n%x\nwant\n%x", got, want)
	}
}

func TestAppendFrameWritesTheLengthOfThePayload(t *testing.T) {
	f := Frame{Header: Header{Len: 7, Class: ClassReq, Type: TypePrefork}}
	want := unhex(t, "1800000000000000 0000000000000000 0000 0700 00000000")

	if got := AppendFrame(nil, f); !bytes.Equal(got, want) {
		t.Errorf("AppendFrame() = %x, want %x", got, want)
	}
	prefix := []byte("keep")
	if got := AppendFrame(prefix, f); !bytes.Equal(got, append([]byte("keep"), want...)) {
		t.Errorf("AppendFrame(prefix) = %x, want the prefix kept", got)
	}
}

func TestReadFrameReadsConsecutiveFrames(t *testing.T) {
	stream := unhex(t, `
		1800000000000000 0200000000000000 0000 0100 14000000
		1a00000000000000 0000000000000000 0100 0200 00000000 | 2f00`)
	want := []Frame{
		{Header: Header{Len: 24, Reqno: 2, Class: ClassReq, Type: TypeSyscall, U: 20}},
		{Header: Header{Len: 26, Class: ClassResp, Type: TypeCopyin}, Payload: []byte("/\x00")},
	}

	r := bytes.NewReader(stream)
	var got []Frame
	for {
		f, err := ReadFrame(r, DefaultMaxPayload)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("ReadFrame: %v", err)
		}
		got = append(got, f)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
}

func TestReadFrameRefusesBrokenStreams(t *testing.T) {
	withLen := func(n uint64, rest ...byte) []byte {
		b := make([]byte, HeaderSize)
		le.PutUint64(b, n)
		return append(b, rest...)
	}
	tests := []struct {
		name  string
		input []byte
		bound int
		want  error
	}{
		{"a half header", withLen(24)[:10], DefaultMaxPayload, io.ErrUnexpectedEOF},
		{"a length of 0", withLen(0), DefaultMaxPayload, ErrShortFrame},
		{"a length of 23", withLen(23), DefaultMaxPayload, ErrShortFrame},
		{"a payload above the bound", withLen(24+17, zeros(17)...), 16, ErrFrameTooLarge},
		{"the largest length", withLen(^uint64(0)), DefaultMaxPayload, ErrFrameTooLarge},
		{"a length that wraps int", withLen(1 << 63), DefaultMaxPayload, ErrFrameTooLarge},
		{"a payload under a negative bound", withLen(25, 0), -1, ErrFrameTooLarge},
		{"a truncated payload", withLen(24+4, 1, 2), DefaultMaxPayload, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadFrame(bytes.NewReader(tt.input), tt.bound)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReadFrame() = %v, %v; want an error wrapping %v", f, err, tt.want)
			}
		})
	}
}

func TestReadFrameAcceptsPayloadsUpToTheBound(t *testing.T) {
	tests := []struct {
		name  string
		len   uint64
		bound int
	}{
		{"a header-only frame under a zero bound", 24, 0},
		{"a header-only frame under a negative bound", 24, -5},
		{"a payload of exactly the bound", 24 + 16, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := make([]byte, tt.len)
			le.PutUint64(in, tt.len)
			f, err := ReadFrame(bytes.NewReader(in), tt.bound)
			if err != nil {
				t.Fatalf("ReadFrame: %v", err)
			}
			if uint64(len(f.Payload)) != tt.len-HeaderSize {
				t.Errorf("payload of %d bytes, want %d", len(f.Payload), tt.len-HeaderSize)
			}
		})
	}
}

func TestReadFrameDoesNotAllocateAnOversizeClaim(t *testing.T) {
	in := make([]byte, HeaderSize)
	le.PutUint64(in, 1<<40)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadFrame(bytes.NewReader(in), DefaultMaxPayload)
	runtime.ReadMemStats(&after)

	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("ReadFrame: %v, want ErrFrameTooLarge", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("ReadFrame allocated %d bytes for a refused frame", grew)
	}
}

// countingWriter records each Write call.
type countingWriter struct {
	writes [][]byte
	err    error
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, append([]byte(nil), p...))
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

func TestWriteFrameIssuesOneWrite(t *testing.T) {
	f := SyscallRequest{Reqno: 3, Sysnum: 5, Args: []uint64{0x10000, 0, 0}}.Frame()
	want := unhex(t, `3000000000000000 0300000000000000 0000 0100 05000000 |
		0000010000000000 0000000000000000 0000000000000000`)

	var w countingWriter
	if err := WriteFrame(&w, f); err != nil {
		t.Fatalf("WriteFrame: %v", err)
	}
	if len(w.writes) != 1 {
		t.Fatalf("WriteFrame made %d writes, want 1", len(w.writes))
	}
	if !bytes.Equal(w.writes[0], want) {
		t.Errorf("wrote %x, want %x", w.writes[0], want)
	}
}

func TestWriteFrameWrapsTheWritersError(t *testing.T) {
	w := countingWriter{err: io.ErrClosedPipe}
	if err := WriteFrame(&w, PreforkRequest{Reqno: 1}.Frame()); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("WriteFrame: %v, want an error wrapping io.ErrClosedPipe", err)
	}
}
