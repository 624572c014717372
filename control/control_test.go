package control

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMessagesRoundTrip(t *testing.T) {
	reg := Register{Policy: "path=/rump", PolicySet: true, RumpServer: "unix:///s",
		RumpServerSet: true, Retry: "once", RetrySet: true, Argv: []string{"ls", "-l"},
		Cwd: "/tmp"}
	msg, err := Marshal(TypeRegister, reg)
	if err != nil {
		t.Fatal(err)
	}
	var got Register
	if err := Unmarshal(msg, TypeRegister, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(reg, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestUnmarshalRefuses(t *testing.T) {
	good, _ := Marshal(TypeAck, Ack{Session: 1})
	refusal, _ := Marshal(TypeError, Error{Message: "bad policy"})
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"an empty packet", nil, "no protocol header"},
		{"a short packet", good[:5], "no protocol header"},
		{"a wrong magic", append([]byte("XJAK"), good[4:]...), "no protocol header"},
		{"another version", append(append([]byte{}, good[:4]...), append([]byte{2, 0},
			good[6:]...)...), "protocol version 2"},
		{"another type", mustMarshal(t, TypeFilter, Filter{}), "got filter, want ack"},
		{"an unknown field", append(append([]byte{}, good[:8]...),
			[]byte(`{"session":1,"x":2}`)...), "unknown field"},
		{"trailing data", append(append([]byte{}, good...), []byte(`{}`)...),
			"trailing data"},
		{"a body that is not JSON", append(append([]byte{}, good[:8]...), 0xff),
			"invalid character"},
		{"the peer's error", refusal, "bad policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Ack
			err := Unmarshal(tt.msg, TypeAck, &a)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Unmarshal = %v, want an error containing %q", err, tt.want)
			}
			var r *RefusedError
			if isRefusal := errors.As(err, &r); isRefusal != (tt.name == "the peer's error") {
				t.Errorf("RefusedError = %v for %s", isRefusal, tt.name)
			}
		})
	}
}

func mustMarshal(t *testing.T, typ Type, body any) []byte {
	t.Helper()
	b, err := Marshal(typ, body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReceiveClosesDescriptorsOfRefusedPackets(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sc, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	server := NewConn(sc)
	defer server.Close()

	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A listener message where registration is due is out of order; its
	// descriptor must not stay open in the receiver.
	if err := client.Send(TypeListener, Listener{}, int(f.Fd())); err != nil {
		t.Fatal(err)
	}
	before := openFDs(t)
	if _, err := server.Receive(TypeRegister, &Register{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Receive = %v, want ErrMalformed", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open after the refusal, %d before", after, before)
	}
}

func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func FuzzUnmarshal(f *testing.F) {
	for _, seed := range [][]byte{
		mustMarshalF(f, TypeRegister, Register{Argv: []string{"a"}}),
		mustMarshalF(f, TypeError, Error{Message: "x"}),
		[]byte("HJAK\x01\x00\x01\x00{"),
		nil,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var r Register
		if err := Unmarshal(msg, TypeRegister, &r); err == nil {
			if _, err := Marshal(TypeRegister, r); err != nil && len(msg) <= MaxMessage {
				t.Errorf("accepted %q but cannot encode it again: %v", msg, err)
			}
		}
	})
}

func mustMarshalF(f *testing.F, typ Type, body any) []byte {
	b, err := Marshal(typ, body)
	if err != nil {
		f.Fatal(err)
	}
	return b
}
