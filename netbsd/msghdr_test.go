package netbsd

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestMsghdrLayoutFollowsD10(t *testing.T) {
	m := Msghdr{Name: 0x1111, Namelen: 16, Iov: 0x2222, Iovlen: 3, Control: 0x3333,
		Controllen: 64, Flags: MSG_TRUNC}
	b := m.Encode()
	if len(b) != 48 {
		t.Fatalf("NetBSD msghdr is %d bytes, D.10 says 48", len(b))
	}
	le := binary.LittleEndian
	for _, f := range []struct {
		name      string
		off, size int
		want      uint64
	}{
		{"msg_name", 0, 8, 0x1111}, {"msg_namelen", 8, 4, 16}, {"msg_iov", 16, 8, 0x2222},
		{"msg_iovlen", 24, 4, 3}, {"msg_control", 32, 8, 0x3333},
		{"msg_controllen", 40, 4, 64}, {"msg_flags", 44, 4, MSG_TRUNC},
	} {
		var got uint64
		if f.size == 4 {
			got = uint64(le.Uint32(b[f.off:]))
		} else {
			got = le.Uint64(b[f.off:])
		}
		if got != f.want {
			t.Errorf("NetBSD %s at %d = %#x, want %#x", f.name, f.off, got, f.want)
		}
	}

	l := m.ToLinux()
	lb := l.Encode()
	if len(lb) != 56 {
		t.Fatalf("Linux msghdr is %d bytes, D.10 says 56", len(lb))
	}
	ref := unix.Msghdr{Namelen: 16, Iovlen: 3, Controllen: 64, Flags: unix.MSG_TRUNC}
	want := rawBytes(&ref)
	le.PutUint64(want[0:], 0x1111)
	le.PutUint64(want[16:], 0x2222)
	le.PutUint64(want[32:], 0x3333)
	if diff := cmp.Diff(want, lb); diff != "" {
		t.Errorf("Linux msghdr differs from unix.Msghdr in memory (-want +got):\n%s", diff)
	}
}

func TestMsghdrRoundTrips(t *testing.T) {
	l := LinuxMsghdr{Name: 0x7f0000001000, Namelen: 28, Iov: 0x7f0000002000, Iovlen: 2,
		Control: 0x7f0000003000, Controllen: 48, Flags: unix.MSG_CTRUNC | unix.MSG_EOR}
	t.Run("a Linux msghdr survives encode and decode", func(t *testing.T) {
		got, err := DecodeLinuxMsghdr(l.Encode())
		mustNot(t, err)
		if diff := cmp.Diff(l, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("it survives NetBSD and back, flags translated", func(t *testing.T) {
		nb, err := MsghdrFromLinux(l)
		mustNot(t, err)
		if nb.Flags != MSG_CTRUNC|MSG_EOR {
			t.Errorf("NetBSD flags = %#x", nb.Flags)
		}
		got, err := DecodeMsghdr(nb.Encode())
		mustNot(t, err)
		if diff := cmp.Diff(nb, got); diff != "" {
			t.Errorf("NetBSD (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(l, got.ToLinux()); diff != "" {
			t.Errorf("back (-want +got):\n%s", diff)
		}
	})
	t.Run("mmsghdr lengths and msg_len offsets follow D.10", func(t *testing.T) {
		nb, _ := MsghdrFromLinux(l)
		mm := Mmsghdr{Hdr: nb, Len: 99}
		b := mm.Encode()
		if len(b) != 56 || binary.LittleEndian.Uint32(b[48:]) != 99 {
			t.Errorf("NetBSD mmsghdr: %d bytes, msg_len %d", len(b),
				binary.LittleEndian.Uint32(b[48:]))
		}
		got, err := DecodeMmsghdr(b)
		mustNot(t, err)
		if diff := cmp.Diff(mm, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		lm := LinuxMmsghdr{Hdr: l, Len: 77}
		lb := lm.Encode()
		if len(lb) != 64 || binary.LittleEndian.Uint32(lb[56:]) != 77 {
			t.Errorf("Linux mmsghdr: %d bytes", len(lb))
		}
		lgot, err := DecodeLinuxMmsghdr(lb)
		mustNot(t, err)
		if diff := cmp.Diff(lm, lgot); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("counts too large for NetBSD's fields are refused", func(t *testing.T) {
		if _, err := MsghdrFromLinux(LinuxMsghdr{Iovlen: 1 << 31}); !errors.Is(err, ErrInvalid) {
			t.Errorf("iovlen: %v", err)
		}
		_, err := MsghdrFromLinux(LinuxMsghdr{Controllen: 1 << 32})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("controllen: %v", err)
		}
	})
	t.Run("iovecs are the same on both and survive encode and decode", func(t *testing.T) {
		iov := []Iovec{{0x1000, 10}, {0x2000, 20}}
		b := EncodeIovecs(iov)
		ref := []unix.Iovec{{Len: 10}, {Len: 20}}
		if len(b) != 32 || len(rawBytes(&ref[0])) != 16 {
			t.Fatalf("%d bytes", len(b))
		}
		got, err := DecodeIovecs(b, 2)
		mustNot(t, err)
		if diff := cmp.Diff(iov, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if _, err := DecodeIovecs(b, -1); !errors.Is(err, ErrInvalid) {
			t.Errorf("negative count: %v", err)
		}
	})
}

func TestControlMessagesFollowD10(t *testing.T) {
	fds := EncodeRights([]int32{5, 6})
	t.Run("a NetBSD SCM_RIGHTS header has its fields at 0, 4 and 8", func(t *testing.T) {
		b := EncodeControl([]Cmsg{{Level: SOL_SOCKET, Type: SCM_RIGHTS, Data: fds}})
		want := []byte{24, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
			5, 0, 0, 0, 6, 0, 0, 0}
		if diff := cmp.Diff(want, b); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("a Linux SCM_RIGHTS header has its fields at 0, 8 and 12", func(t *testing.T) {
		b := EncodeLinuxControl([]Cmsg{{Level: unix.SOL_SOCKET, Type: unix.SCM_RIGHTS,
			Data: fds}})
		if diff := cmp.Diff(unix.UnixRights(5, 6), b); diff != "" {
			t.Errorf("differs from unix.UnixRights (-want +got):\n%s", diff)
		}
	})
	t.Run("CMSG_SPACE is 16 plus the data aligned to 8 on both", func(t *testing.T) {
		for n, want := range map[int]int{0: 16, 1: 24, 4: 24, 8: 24, 12: 32} {
			if got := ControlSpace(n); got != want || unix.CmsgSpace(n) != want {
				t.Errorf("ControlSpace(%d) = %d, unix %d, want %d", n, got, unix.CmsgSpace(n), want)
			}
		}
	})
	t.Run("several messages survive both layouts and both translations", func(t *testing.T) {
		linux := []Cmsg{
			{Level: unix.SOL_SOCKET, Type: unix.SCM_RIGHTS, Data: EncodeRights([]int32{3})},
			{Level: unix.SOL_SOCKET, Type: unix.SCM_TIMESTAMP,
				Data: EncodeLinuxTimeval(unix.Timeval{Sec: 9, Usec: 8})},
		}
		parsed, err := ParseLinuxControl(EncodeLinuxControl(linux))
		mustNot(t, err)
		if diff := cmp.Diff(linux, parsed); diff != "" {
			t.Fatalf("Linux (-want +got):\n%s", diff)
		}
		var nb []Cmsg
		for _, c := range parsed {
			n, err := CmsgFromLinux(c)
			mustNot(t, err)
			nb = append(nb, n)
		}
		if nb[1].Type != SCM_TIMESTAMP || nb[0].Level != SOL_SOCKET {
			t.Errorf("NetBSD headers %+v", nb)
		}
		nbParsed, err := ParseControl(EncodeControl(nb))
		mustNot(t, err)
		var back []Cmsg
		for _, c := range nbParsed {
			l, err := CmsgToLinux(c)
			mustNot(t, err)
			back = append(back, l)
		}
		if diff := cmp.Diff(linux, back); diff != "" {
			t.Errorf("back (-want +got):\n%s", diff)
		}
	})
	t.Run("SCM_CREDS becomes SCM_CREDENTIALS with the effective ids", func(t *testing.T) {
		cred := make([]byte, SockcredSize)
		le := binary.LittleEndian
		for i, v := range []uint32{77, 1000, 1001, 2000, 2001, 0} {
			le.PutUint32(cred[4*i:], v)
		}
		got, err := CmsgToLinux(Cmsg{Level: SOL_SOCKET, Type: SCM_CREDS, Data: cred})
		mustNot(t, err)
		ucred := unix.Ucred{Pid: 77, Uid: 1001, Gid: 2001}
		want := Cmsg{Level: unix.SOL_SOCKET, Type: unix.SCM_CREDENTIALS, Data: rawBytes(&ucred)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		nb, err := SockcredFromLinux(got.Data)
		mustNot(t, err)
		if le.Uint32(nb) != 77 || le.Uint32(nb[8:]) != 1001 || le.Uint32(nb[16:]) != 2001 {
			t.Errorf("sockcred %v", nb)
		}
	})
	t.Run("sending credentials is refused, as NetBSD refuses it", func(t *testing.T) {
		c := Cmsg{Level: unix.SOL_SOCKET, Type: unix.SCM_CREDENTIALS, Data: make([]byte, 12)}
		if _, err := CmsgFromLinux(c); !errors.Is(err, ErrNoEquivalent) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("IP-level messages are not translated", func(t *testing.T) {
		c := Cmsg{Level: unix.IPPROTO_IP, Type: unix.IP_PKTINFO, Data: make([]byte, 12)}
		if _, err := CmsgFromLinux(c); !errors.Is(err, ErrNoEquivalent) {
			t.Errorf("from Linux: %v", err)
		}
		if _, err := CmsgToLinux(c); !errors.Is(err, ErrNoEquivalent) {
			t.Errorf("to Linux: %v", err)
		}
	})
	t.Run("a Linux cmsg_len past the buffer is refused", func(t *testing.T) {
		b := EncodeLinuxControl([]Cmsg{{Level: 1, Type: 1, Data: fds}})
		binary.LittleEndian.PutUint64(b, 64)
		if _, err := ParseLinuxControl(b); !errors.Is(err, ErrInvalid) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a truncated last NetBSD message keeps the data that arrived", func(t *testing.T) {
		b := EncodeControl([]Cmsg{{Level: SOL_SOCKET, Type: SCM_RIGHTS,
			Data: EncodeRights([]int32{1, 2, 3, 4})}})
		got, err := ParseControl(b[:20])
		mustNot(t, err)
		if len(got) != 1 || !cmp.Equal(ParseRights(got[0].Data), []int32{1}) {
			t.Errorf("= %+v", got)
		}
	})
	t.Run("a cmsg_len below the header is refused", func(t *testing.T) {
		b := make([]byte, 16)
		b[0] = 12
		if _, err := ParseControl(b); !errors.Is(err, ErrInvalid) {
			t.Errorf("NetBSD: %v", err)
		}
		if _, err := ParseLinuxControl(b); !errors.Is(err, ErrInvalid) {
			t.Errorf("Linux: %v", err)
		}
	})
	checkConsts(t, []constCheck{{"SCM_RIGHTS", SCM_RIGHTS, 1},
		{"Linux SCM_RIGHTS", unix.SCM_RIGHTS, 1}, {"SCM_CREDS", SCM_CREDS, 0x10},
		{"Linux SCM_CREDENTIALS", unix.SCM_CREDENTIALS, 2},
		{"SCM_TIMESTAMP", SCM_TIMESTAMP, 0x08}, {"Linux SCM_TIMESTAMP", unix.SCM_TIMESTAMP, 29}})
}
