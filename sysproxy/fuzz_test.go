package sysproxy

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fuzzBound is the payload bound the fuzz targets read with: small, so that
// the fuzzer reaches it, and so that a length it invents costs little.
const fuzzBound = 4096

// maxFuzzFrames caps the frames read from one input, so that a long input of
// empty frames stays fast.
const maxFuzzFrames = 64

func addClientSeeds(f *testing.F) {
	var all []byte
	for _, tt := range clientLayouts {
		wire := unhex(f, tt.wire)
		f.Add(wire)
		all = append(all, wire...)
	}
	f.Add(all)
}

func addServerSeeds(f *testing.F, banner []byte) {
	all := append([]byte(nil), banner...)
	for _, tt := range serverLayouts {
		wire := unhex(f, tt.wire)
		f.Add(append(append([]byte(nil), banner...), wire...))
		all = append(all, wire...)
	}
	f.Add(all)
}

// FuzzReadFrame reads arbitrary bytes as a stream of frames: ReadFrame must
// never panic, never hand out a payload above its bound, fail only with its
// documented errors, and return frames that re-encode to exactly the bytes
// they were read from.
func FuzzReadFrame(f *testing.F) {
	addClientSeeds(f)
	addServerSeeds(f, nil)
	f.Add(make([]byte, 23))
	f.Add(unhex(f, "ffffffffffffffff 0000000000000000 0000 0000 00000000"))

	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for range maxFuzzFrames {
			start := len(data) - r.Len()
			fr, err := ReadFrame(r, fuzzBound)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) &&
					!errors.Is(err, ErrShortFrame) && !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("ReadFrame: undocumented error %v", err)
				}
				return
			}
			if cap(fr.Payload) > fuzzBound {
				t.Fatalf("payload capacity %d above the bound %d", cap(fr.Payload), fuzzBound)
			}
			read := data[start : len(data)-r.Len()]
			if got := AppendFrame(nil, fr); !bytes.Equal(got, read) {
				t.Fatalf("frame re-encodes to\n%x\nread from\n%x", got, read)
			}
		}
	})
}

// FuzzDecodeServerMessage feeds a client what a server could send, a banner
// and frames, through the client-side decoders. A decoded message must
// encode to a frame that decodes to the same message, and the replies a
// client builds for a server request must pass CheckReply. Handshake reads
// the same bytes as the opening of a connection and must not panic either.
func FuzzDecodeServerMessage(f *testing.F) {
	addServerSeeds(f, FormatBanner("NetBSD", "7.99.34", "amd64"))

	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Handshake(&fakeConn{in: bytes.NewReader(data)}, GuestHandshake{Reqno: 1})

		r := bytes.NewReader(data)
		if _, err := ReadBanner(r); err != nil {
			return
		}
		for range maxFuzzFrames {
			fr, err := ReadFrame(r, fuzzBound)
			if err != nil {
				return
			}
			m, err := DecodeServerMessage(fr)
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnexpected) {
					t.Fatalf("DecodeServerMessage(%v): undocumented error %v", fr, err)
				}
				continue
			}

			again, err := DecodeServerMessage(m.Frame())
			if err != nil {
				t.Fatalf("re-encoded %#v does not decode: %v", m, err)
			}
			if diff := cmp.Diff(m, again, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("decode(encode(m)) differs (-m +again):\n%s", diff)
			}
			if got := m.Frame(); len(got.Payload) != len(fr.Payload) {
				t.Fatalf("re-encoded payload of %d bytes, read %d", len(got.Payload),
					len(fr.Payload))
			}
			checkClientReplies(t, m, fr.Payload)
		}
	})
}

// checkClientReplies builds the replies a client would send to m and checks
// that the guard lets them through.
func checkClientReplies(t *testing.T, m ServerMessage, mem []byte) {
	t.Helper()
	var reply ClientMessage
	switch req := m.(type) {
	case CopyinRequest:
		if req.Len > fuzzBound {
			return
		}
		r, err := req.Reply(make([]byte, req.Len))
		if err != nil {
			t.Fatalf("Reply to %#v: %v", req, err)
		}
		reply = r
	case CopyinstrRequest:
		reply = req.Reply(mem)
	case AnonmmapRequest:
		reply = req.Reply(req.Size)
	default:
		return
	}
	if err := CheckReply(m, reply.Frame()); err != nil {
		t.Fatalf("the reply the package built is refused: %v", err)
	}
}

// FuzzDecodeClientMessage feeds a server what a client could send through the
// server-side decoders. A decoded message must encode to a frame that decodes
// to the same message; every frame CheckClientFrame lets a client send must
// decode; and re-encoding a decoded message gives a frame the guard refuses
// only for a syscall number out of the table.
func FuzzDecodeClientMessage(f *testing.F) {
	addClientSeeds(f)

	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for range maxFuzzFrames {
			fr, err := ReadFrame(r, fuzzBound)
			if err != nil {
				return
			}
			m, err := DecodeClientMessage(fr)
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnexpected) {
					t.Fatalf("DecodeClientMessage(%v): undocumented error %v", fr, err)
				}
				if CheckClientFrame(fr) == nil {
					t.Fatalf("the guard passes %v, which a server cannot decode: %v", fr, err)
				}
				continue
			}

			again, err := DecodeClientMessage(m.Frame())
			if err != nil {
				t.Fatalf("re-encoded %#v does not decode: %v", m, err)
			}
			if diff := cmp.Diff(m, again, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("decode(encode(m)) differs (-m +again):\n%s", diff)
			}
			if err := CheckClientFrame(m.Frame()); err != nil {
				if s, ok := m.(SyscallRequest); !ok || s.Sysnum < MaxSyscall {
					t.Fatalf("the guard refuses re-encoded %#v: %v", m, err)
				}
			}
		}
	})
}

// FuzzReadBanner reads arbitrary bytes as a banner: ReadBanner must never
// panic, never read past the first newline or the size limit, fail only with
// its documented errors, and return fields that format back to a banner with
// the same fields.
func FuzzReadBanner(f *testing.F) {
	f.Add([]byte("RUMPSP-0.4-NetBSD-7.99.34/amd64\n\x1c\x00"))
	f.Add([]byte("RUMPSP-0.4-NetBSD-10.0/evbarm\n"))
	f.Add([]byte("RUMPSP-1.0-NetBSD-11.0/amd64\n"))
	f.Add([]byte("RUMPSP-0.4--/\n"))
	f.Add([]byte("RUMPSP-0.4\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		b, err := ReadBanner(r)
		read := len(data) - r.Len()
		if read > MaxBanner-1 {
			t.Fatalf("read %d bytes, more than %d", read, MaxBanner-1)
		}
		if err != nil {
			if !errors.Is(err, ErrBanner) && !errors.Is(err, ErrVersion) &&
				!errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("ReadBanner: undocumented error %v", err)
			}
			return
		}

		if nl := bytes.IndexByte(data, '\n'); nl != read-1 {
			t.Fatalf("read %d bytes, first newline at %d", read, nl)
		}
		if b.Major != ProtoMajor {
			t.Fatalf("accepted major %d", b.Major)
		}
		again, err := ParseBanner([]byte(b.String() + "\n"))
		if err != nil || again != b {
			t.Fatalf("ParseBanner(String()) = %+v, %v; want %+v", again, err, b)
		}
		formatted, err := ParseBanner(FormatBanner(b.OSType, b.OSRelease, b.Machine))
		if err != nil {
			t.Fatalf("FormatBanner(%+v) does not parse: %v", b, err)
		}
		if printable(b.OSType+b.OSRelease+b.Machine) && (formatted.OSType != b.OSType ||
			formatted.OSRelease != b.OSRelease || formatted.Machine != b.Machine) {
			t.Fatalf("FormatBanner(%+v) gives %+v", b, formatted)
		}
	})
}

func printable(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
