package netbsd

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestReceivedControlIsLaidOutAsLinuxLaysItOut(t *testing.T) {
	rights := Cmsg{Level: unix.SOL_SOCKET, Type: unix.SCM_RIGHTS, Data: EncodeRights([]int32{7})}
	tests := []struct {
		name    string
		room    int
		wantLen int // bytes appended
		cmsgLen uint64
		cut     bool
	}{
		{"a message with room for its padding takes CMSG_SPACE", 64, 24, 20, false},
		{"a message filling the buffer takes CMSG_LEN, without padding", 20, 20, 20, false},
		{"a message longer than the room is cut to it", 18, 18, 18, true},
		{"a message without room for its header is left out", 15, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, cut := AppendLinuxCmsg(nil, tt.room, rights)
			if len(b) != tt.wantLen || cut != tt.cut {
				t.Fatalf("appended %d bytes, cut %v; want %d, %v", len(b), cut, tt.wantLen, tt.cut)
			}
			if len(b) == 0 {
				return
			}
			if got := binary.LittleEndian.Uint64(b); got != tt.cmsgLen {
				t.Errorf("cmsg_len = %d, want %d", got, tt.cmsgLen)
			}
			if len(b) == 24 {
				if diff := cmp.Diff(unix.UnixRights(7), b); diff != "" {
					t.Errorf("differs from unix.UnixRights (-want +got):\n%s", diff)
				}
			}
		})
	}
	t.Run("a second message gets the room the first left", func(t *testing.T) {
		b, cut := AppendLinuxCmsg(nil, 40, rights)
		b, cut2 := AppendLinuxCmsg(b, 40, rights)
		if cut || !cut2 || len(b) != 40 || binary.LittleEndian.Uint64(b[24:]) != 16 {
			t.Errorf("%d bytes, cut %v then %v, second cmsg_len %d; want 40 bytes, the "+
				"second cut to its header", len(b), cut, cut2, binary.LittleEndian.Uint64(b[24:]))
		}
	})
}

func TestRightsFitAsLinuxCountsThem(t *testing.T) {
	// What Linux's recvmsg delivers of a message of three descriptors
	// into a control buffer of each size.
	for room, want := range map[int]int{0: 0, 16: 0, 18: 0, 20: 1, 24: 2, 27: 2, 28: 3} {
		if got := min(LinuxRightsFit(room), 3); got != want {
			t.Errorf("LinuxRightsFit(%d) delivers %d of 3, want %d", room, got, want)
		}
	}
}
