package netbsd

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestSockaddrFromLinuxFollowsD8(t *testing.T) {
	loop6 := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	tests := []struct {
		name  string
		linux []byte
		want  []byte
	}{
		{"an inet address gets sa_len 16 and family 2",
			[]byte{2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
			[]byte{16, 2, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"an inet address longer than 16 bytes is cut to 16",
			append([]byte{2, 0, 0, 80, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, 9, 9),
			[]byte{16, 2, 0, 80, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"an inet6 address gets sa_len 28 and family 24",
			cat([]byte{10, 0, 0x1f, 0x90, 0, 0, 0, 5}, loop6, []byte{3, 0, 0, 0}),
			cat([]byte{28, 24, 0x1f, 0x90, 0, 0, 0, 5}, loop6, []byte{3, 0, 0, 0})},
		{"an RFC 2133 inet6 address of 24 bytes gets a zero scope id",
			cat([]byte{10, 0, 0, 80, 0, 0, 0, 0}, loop6),
			cat([]byte{28, 24, 0, 80, 0, 0, 0, 0}, loop6, []byte{0, 0, 0, 0})},
		{"a unix path is terminated and sa_len counts the NUL",
			cat([]byte{1, 0}, []byte("/tmp/s"), []byte{0}),
			cat([]byte{9, 1}, []byte("/tmp/s"), []byte{0})},
		{"a unix path without NUL gets one",
			cat([]byte{1, 0}, []byte("/x")), cat([]byte{5, 1}, []byte("/x"), []byte{0})},
		{"a unix path of Linux's full 108 bytes still fits NetBSD",
			cat([]byte{1, 0}, repeat('a', 108)), cat([]byte{111, 1}, repeat('a', 108), []byte{0})},
		{"a unix address stops at the first NUL",
			cat([]byte{1, 0}, []byte("/a"), []byte{0, 'z', 'z'}),
			cat([]byte{5, 1}, []byte("/a\x00"))},
		{"AF_UNSPEC keeps its bytes",
			[]byte{0, 0, 1, 2, 3, 4}, []byte{6, 0, 1, 2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SockaddrFromLinux(tt.linux)
			mustNot(t, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSockaddrFromLinuxRefuses(t *testing.T) {
	tests := []struct {
		name  string
		linux []byte
		want  error
	}{
		{"a one-byte address is short", []byte{2}, ErrShort},
		{"an inet address of 15 bytes is invalid", make15(unix.AF_INET), ErrInvalid},
		{"an inet6 address of 23 bytes is invalid", cat([]byte{10, 0}, make([]byte, 21)),
			ErrInvalid},
		{"the unnamed unix address has no NetBSD form", []byte{1, 0}, ErrNoEquivalent},
		{"an abstract unix address has no NetBSD form", []byte{1, 0, 0, 'x'}, ErrNoEquivalent},
		{"a unix address over 110 bytes is invalid", cat([]byte{1, 0}, repeat('a', 109)),
			ErrInvalid},
		{"AF_PACKET has no NetBSD form", []byte{17, 0, 0, 0}, ErrNoEquivalent},
		{"AF_NETLINK addresses have no NetBSD form", []byte{16, 0, 0, 0}, ErrNoEquivalent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := SockaddrFromLinux(tt.linux); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSockaddrToLinuxFollowsD8(t *testing.T) {
	tests := []struct {
		name   string
		netbsd []byte
		want   []byte
	}{
		{"the getsockname answer of section F becomes a Linux inet address",
			[]byte{0x10, 0x02, 0x1f, 0x90, 0x7f, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0},
			[]byte{0x02, 0x00, 0x1f, 0x90, 0x7f, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"an inet6 address gets the two-byte family 10",
			cat([]byte{28, 24, 0, 80, 0, 0, 0, 1}, repeat(1, 16), []byte{2, 0, 0, 0}),
			cat([]byte{10, 0, 0, 80, 0, 0, 0, 1}, repeat(1, 16), []byte{2, 0, 0, 0})},
		{"a bound unix address keeps its path and gains a NUL",
			cat([]byte{8, 1}, []byte("/tmp/s")), cat([]byte{1, 0}, []byte("/tmp/s\x00"))},
		{"sa_len bounds the address inside a larger buffer",
			cat([]byte{5, 1}, []byte("/a\x00zzzz")), cat([]byte{1, 0}, []byte("/a\x00"))},
		{"the unnamed unix address is two bytes on Linux", []byte{2, 1}, []byte{1, 0}},
		{"an unnamed address padded by the kernel is still unnamed",
			cat([]byte{2, 1}, make([]byte, 104)), []byte{1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SockaddrToLinux(tt.netbsd)
			mustNot(t, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("AF_LINK has no Linux form", func(t *testing.T) {
		if _, err := SockaddrToLinux([]byte{20, AF_LINK, 1, 0}); !errors.Is(err, ErrNoEquivalent) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a cut inet address is short", func(t *testing.T) {
		if _, err := SockaddrToLinux([]byte{16, 2, 0, 80}); !errors.Is(err, ErrShort) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestSockaddrRoundTrips(t *testing.T) {
	for _, sa := range []unix.Sockaddr{
		&unix.SockaddrInet4{Port: 8080, Addr: [4]byte{127, 0, 0, 1}},
		&unix.SockaddrInet6{Port: 443, ZoneId: 2, Addr: [16]byte{15: 1}},
		&unix.SockaddrUnix{Name: "/run/x.sock"},
		&unix.SockaddrUnix{},
	} {
		t.Run("a host address survives NetBSD and back", func(t *testing.T) {
			b, err := EncodeSockaddr(sa)
			mustNot(t, err)
			got, err := ParseSockaddr(b)
			mustNot(t, err)
			opt := cmp.AllowUnexported(unix.SockaddrInet4{}, unix.SockaddrInet6{},
				unix.SockaddrUnix{})
			if diff := cmp.Diff(sa, got, opt); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("Linux bytes survive NetBSD and back", func(t *testing.T) {
		for _, linux := range [][]byte{
			{2, 0, 0, 22, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0},
			cat([]byte{10, 0, 0, 22, 0, 0, 0, 7}, repeat(9, 16), []byte{0, 0, 0, 0}),
			cat([]byte{1, 0}, []byte("/var/run/sock\x00")),
		} {
			nb, err := SockaddrFromLinux(linux)
			mustNot(t, err)
			back, err := SockaddrToLinux(nb)
			mustNot(t, err)
			if diff := cmp.Diff(linux, back); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		}
	})
	t.Run("an abstract host address has no NetBSD form", func(t *testing.T) {
		_, err := EncodeSockaddr(&unix.SockaddrUnix{Name: "@x"})
		if !errors.Is(err, ErrNoEquivalent) {
			t.Errorf("err = %v", err)
		}
	})
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func repeat(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}

func make15(family byte) []byte {
	b := make([]byte, 15)
	b[0] = family
	return b
}
