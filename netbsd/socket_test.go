package netbsd

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// numRow is a row of a D.9 table: the Linux value from the document, the same
// name in x/sys/unix, and the NetBSD value from the document.
type numRow struct {
	name          string
	linux, unixed int
	netbsd        int
}

func TestFamiliesFollowD9(t *testing.T) {
	for _, tt := range []numRow{
		{"AF_UNSPEC", 0, unix.AF_UNSPEC, 0}, {"AF_UNIX", 1, unix.AF_UNIX, 1},
		{"AF_INET", 2, unix.AF_INET, 2}, {"AF_INET6", 10, unix.AF_INET6, 24},
		{"AF_ROUTE", 16, unix.AF_NETLINK, 34}, {"AF_APPLETALK", 5, unix.AF_APPLETALK, 16},
		{"AF_IPX", 4, unix.AF_IPX, 23}, {"AF_BLUETOOTH", 31, unix.AF_BLUETOOTH, 31},
		{"AF_MPLS", 28, unix.AF_MPLS, 33},
	} {
		t.Run(fmt.Sprintf("Linux %s %d is NetBSD %d", tt.name, tt.linux, tt.netbsd),
			func(t *testing.T) {
				if tt.linux != tt.unixed {
					t.Fatalf("x/sys/unix has %d", tt.unixed)
				}
				if got, err := FamilyFromLinux(tt.linux); err != nil || got != tt.netbsd {
					t.Errorf("FamilyFromLinux = %d, %v", got, err)
				}
				if got, err := FamilyToLinux(tt.netbsd); err != nil || got != tt.linux {
					t.Errorf("FamilyToLinux = %d, %v", got, err)
				}
			})
	}
	t.Run("AF_PACKET has no NetBSD family and AF_LINK no Linux one", func(t *testing.T) {
		if _, err := FamilyFromLinux(unix.AF_PACKET); !errors.Is(err, ErrNoEquivalent) {
			t.Errorf("AF_PACKET: %v", err)
		}
		if _, err := FamilyToLinux(AF_LINK); !errors.Is(err, ErrNoEquivalent) {
			t.Errorf("AF_LINK: %v", err)
		}
	})
	checkConsts(t, []constCheck{{"AF_MAX", AF_MAX, 35}, {"Linux AF_MAX", unix.AF_MAX, 46},
		{"AF_LINK", AF_LINK, 18}})
}

func TestSocketTypesFollowD9(t *testing.T) {
	tests := []struct {
		name   string
		linux  int
		netbsd int
	}{
		{"SOCK_STREAM keeps its number", unix.SOCK_STREAM, 1},
		{"SOCK_SEQPACKET keeps its number", unix.SOCK_SEQPACKET, 5},
		{"SOCK_NONBLOCK 0x800 becomes 0x20000000", unix.SOCK_DGRAM | 0x800, 2 | 0x20000000},
		{"SOCK_CLOEXEC 0x80000 becomes 0x10000000", unix.SOCK_STREAM | 0x80000, 1 | 0x10000000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SocketTypeFromLinux(tt.linux)
			if err != nil || got != tt.netbsd {
				t.Errorf("SocketTypeFromLinux(%#x) = %#x, %v", tt.linux, got, err)
			}
			back, dropped := SocketTypeToLinux(tt.netbsd)
			if back != tt.linux || dropped != 0 {
				t.Errorf("SocketTypeToLinux = %#x, dropped %#x", back, dropped)
			}
		})
	}
	checkConsts(t, []constCheck{
		{"Linux SOCK_NONBLOCK", unix.SOCK_NONBLOCK, 0x800},
		{"Linux SOCK_CLOEXEC", unix.SOCK_CLOEXEC, 0x80000},
		{"SOCK_NOSIGPIPE", SOCK_NOSIGPIPE, 0x40000000}, {"SOCK_DCCP", SOCK_DCCP, 6},
		{"Linux SOCK_DCCP", unix.SOCK_DCCP, 6},
	})
	t.Run("SOCK_PACKET and unknown flags are reported", func(t *testing.T) {
		var be *BitsError
		if _, err := SocketTypeFromLinux(unix.SOCK_PACKET); !errors.As(err, &be) {
			t.Errorf("SOCK_PACKET: %v", err)
		}
		if _, err := SocketTypeFromLinux(1 | 0x100); !errors.As(err, &be) || be.Bits != 0x100 {
			t.Errorf("0x100: %v", err)
		}
	})
	t.Run("NetBSD's SOCK_NOSIGPIPE is dropped on the way back", func(t *testing.T) {
		got, dropped := SocketTypeToLinux(SOCK_STREAM | SOCK_NOSIGPIPE)
		if got != unix.SOCK_STREAM || dropped != SOCK_NOSIGPIPE {
			t.Errorf("= %#x, dropped %#x", got, dropped)
		}
	})
	t.Run("accept4 flags translate alone", func(t *testing.T) {
		got, err := SocketFlagsFromLinux(unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC)
		if err != nil || got != SOCK_NONBLOCK|SOCK_CLOEXEC {
			t.Errorf("= %#x, %v", got, err)
		}
	})
}

func TestMsgFlagsFollowD9(t *testing.T) {
	for _, tt := range []numRow{
		{"MSG_OOB", 1, unix.MSG_OOB, 1}, {"MSG_PEEK", 2, unix.MSG_PEEK, 2},
		{"MSG_DONTROUTE", 4, unix.MSG_DONTROUTE, 4}, {"MSG_CTRUNC", 0x8, unix.MSG_CTRUNC, 0x20},
		{"MSG_TRUNC", 0x20, unix.MSG_TRUNC, 0x10}, {"MSG_DONTWAIT", 0x40, unix.MSG_DONTWAIT, 0x80},
		{"MSG_EOR", 0x80, unix.MSG_EOR, 0x8}, {"MSG_WAITALL", 0x100, unix.MSG_WAITALL, 0x40},
		{"MSG_NOSIGNAL", 0x4000, unix.MSG_NOSIGNAL, 0x400},
		{"MSG_CMSG_CLOEXEC", 0x40000000, unix.MSG_CMSG_CLOEXEC, 0x800},
		{"MSG_WAITFORONE", 0x10000, unix.MSG_WAITFORONE, 0x2000},
	} {
		t.Run(fmt.Sprintf("Linux %s %#x is NetBSD %#x", tt.name, tt.linux, tt.netbsd),
			func(t *testing.T) {
				if tt.linux != tt.unixed {
					t.Fatalf("x/sys/unix has %#x", tt.unixed)
				}
				if got, err := MsgFlagsFromLinux(tt.linux); err != nil || got != tt.netbsd {
					t.Errorf("MsgFlagsFromLinux = %#x, %v", got, err)
				}
				if got, dropped := MsgFlagsToLinux(tt.netbsd); got != tt.linux || dropped != 0 {
					t.Errorf("MsgFlagsToLinux = %#x, dropped %#x", got, dropped)
				}
			})
	}
	for _, tt := range []numRow{
		{"MSG_MORE", 0x8000, unix.MSG_MORE, 0}, {"MSG_CONFIRM", 0x800, unix.MSG_CONFIRM, 0},
		{"MSG_ERRQUEUE", 0x2000, unix.MSG_ERRQUEUE, 0},
		{"MSG_FASTOPEN", 0x20000000, unix.MSG_FASTOPEN, 0},
	} {
		t.Run(fmt.Sprintf("Linux %s %#x is reported, not passed on", tt.name, tt.linux),
			func(t *testing.T) {
				if tt.linux != tt.unixed {
					t.Fatalf("x/sys/unix has %#x", tt.unixed)
				}
				got, err := MsgFlagsFromLinux(tt.linux | unix.MSG_PEEK)
				var be *BitsError
				if got != MSG_PEEK || !errors.As(err, &be) || be.Bits != uint64(tt.linux) {
					t.Errorf("= %#x, %v", got, err)
				}
			})
	}
	t.Run("NetBSD-only flags are dropped on the way back", func(t *testing.T) {
		only := MSG_BCAST | MSG_MCAST | MSG_NBIO | MSG_NOTIFICATION
		got, dropped := MsgFlagsToLinux(only | MSG_TRUNC)
		if got != unix.MSG_TRUNC || dropped != only {
			t.Errorf("= %#x, dropped %#x", got, dropped)
		}
		checkConsts(t, []constCheck{{"MSG_BCAST", MSG_BCAST, 0x100},
			{"MSG_MCAST", MSG_MCAST, 0x200}, {"MSG_NBIO", MSG_NBIO, 0x1000},
			{"MSG_NOTIFICATION", MSG_NOTIFICATION, 0x4000}})
	})
}

// sockoptRow is a row of D.9's option tables at one level.
type sockoptRow struct {
	level         int
	name          string
	linux, unixed int
	netbsd        int
}

var d9Options = []sockoptRow{
	{unix.SOL_SOCKET, "SO_DEBUG", 1, unix.SO_DEBUG, 0x0001},
	{unix.SOL_SOCKET, "SO_REUSEADDR", 2, unix.SO_REUSEADDR, 0x0004},
	{unix.SOL_SOCKET, "SO_TYPE", 3, unix.SO_TYPE, 0x1008},
	{unix.SOL_SOCKET, "SO_ERROR", 4, unix.SO_ERROR, 0x1007},
	{unix.SOL_SOCKET, "SO_DONTROUTE", 5, unix.SO_DONTROUTE, 0x0010},
	{unix.SOL_SOCKET, "SO_BROADCAST", 6, unix.SO_BROADCAST, 0x0020},
	{unix.SOL_SOCKET, "SO_SNDBUF", 7, unix.SO_SNDBUF, 0x1001},
	{unix.SOL_SOCKET, "SO_RCVBUF", 8, unix.SO_RCVBUF, 0x1002},
	{unix.SOL_SOCKET, "SO_KEEPALIVE", 9, unix.SO_KEEPALIVE, 0x0008},
	{unix.SOL_SOCKET, "SO_OOBINLINE", 10, unix.SO_OOBINLINE, 0x0100},
	{unix.SOL_SOCKET, "SO_LINGER", 13, unix.SO_LINGER, 0x0080},
	{unix.SOL_SOCKET, "SO_REUSEPORT", 15, unix.SO_REUSEPORT, 0x0200},
	{unix.SOL_SOCKET, "SO_RCVLOWAT", 18, unix.SO_RCVLOWAT, 0x1004},
	{unix.SOL_SOCKET, "SO_SNDLOWAT", 19, unix.SO_SNDLOWAT, 0x1003},
	{unix.SOL_SOCKET, "SO_RCVTIMEO", 20, unix.SO_RCVTIMEO, 0x100c},
	{unix.SOL_SOCKET, "SO_SNDTIMEO", 21, unix.SO_SNDTIMEO, 0x100b},
	{unix.SOL_SOCKET, "SO_TIMESTAMP", 29, unix.SO_TIMESTAMP, 0x2000},
	{unix.SOL_SOCKET, "SO_ACCEPTCONN", 30, unix.SO_ACCEPTCONN, 0x0002},
	{unix.IPPROTO_IP, "IP_OPTIONS", 4, unix.IP_OPTIONS, 1},
	{unix.IPPROTO_IP, "IP_HDRINCL", 3, unix.IP_HDRINCL, 2},
	{unix.IPPROTO_IP, "IP_TOS", 1, unix.IP_TOS, 3},
	{unix.IPPROTO_IP, "IP_TTL", 2, unix.IP_TTL, 4},
	{unix.IPPROTO_IP, "IP_RECVOPTS", 6, unix.IP_RECVOPTS, 5},
	{unix.IPPROTO_IP, "IP_RETOPTS", 7, unix.IP_RETOPTS, 8},
	{unix.IPPROTO_IP, "IP_PKTINFO", 8, unix.IP_PKTINFO, 25},
	{unix.IPPROTO_IP, "IP_MULTICAST_IF", 32, unix.IP_MULTICAST_IF, 9},
	{unix.IPPROTO_IP, "IP_MULTICAST_TTL", 33, unix.IP_MULTICAST_TTL, 10},
	{unix.IPPROTO_IP, "IP_MULTICAST_LOOP", 34, unix.IP_MULTICAST_LOOP, 11},
	{unix.IPPROTO_IP, "IP_ADD_MEMBERSHIP", 35, unix.IP_ADD_MEMBERSHIP, 12},
	{unix.IPPROTO_IP, "IP_DROP_MEMBERSHIP", 36, unix.IP_DROP_MEMBERSHIP, 13},
	{unix.IPPROTO_IP, "IP_RECVTTL", 12, unix.IP_RECVTTL, 23},
	{unix.IPPROTO_IP, "IP_MINTTL", 21, unix.IP_MINTTL, 24},
	{unix.IPPROTO_IPV6, "IPV6_UNICAST_HOPS", 16, unix.IPV6_UNICAST_HOPS, 4},
	{unix.IPPROTO_IPV6, "IPV6_MULTICAST_IF", 17, unix.IPV6_MULTICAST_IF, 9},
	{unix.IPPROTO_IPV6, "IPV6_MULTICAST_HOPS", 18, unix.IPV6_MULTICAST_HOPS, 10},
	{unix.IPPROTO_IPV6, "IPV6_MULTICAST_LOOP", 19, unix.IPV6_MULTICAST_LOOP, 11},
	{unix.IPPROTO_IPV6, "IPV6_JOIN_GROUP", 20, unix.IPV6_JOIN_GROUP, 12},
	{unix.IPPROTO_IPV6, "IPV6_LEAVE_GROUP", 21, unix.IPV6_LEAVE_GROUP, 13},
	{unix.IPPROTO_IPV6, "IPV6_V6ONLY", 26, unix.IPV6_V6ONLY, 27},
	{unix.IPPROTO_IPV6, "IPV6_CHECKSUM", 7, unix.IPV6_CHECKSUM, 26},
	{unix.IPPROTO_IPV6, "IPV6_RECVPKTINFO", 49, unix.IPV6_RECVPKTINFO, 36},
	{unix.IPPROTO_IPV6, "IPV6_PKTINFO", 50, unix.IPV6_PKTINFO, 46},
	{unix.IPPROTO_IPV6, "IPV6_TCLASS", 67, unix.IPV6_TCLASS, 61},
	{unix.IPPROTO_TCP, "TCP_NODELAY", 1, unix.TCP_NODELAY, 1},
	{unix.IPPROTO_TCP, "TCP_MAXSEG", 2, unix.TCP_MAXSEG, 2},
	{unix.IPPROTO_TCP, "TCP_KEEPIDLE", 4, unix.TCP_KEEPIDLE, 3},
	{unix.IPPROTO_TCP, "TCP_KEEPINTVL", 5, unix.TCP_KEEPINTVL, 5},
	{unix.IPPROTO_TCP, "TCP_KEEPCNT", 6, unix.TCP_KEEPCNT, 6},
	{unix.IPPROTO_TCP, "TCP_CONGESTION", 13, unix.TCP_CONGESTION, 0x20},
}

func TestSocketOptionsFollowD9(t *testing.T) {
	for _, tt := range d9Options {
		nlevel := tt.level
		if tt.level == unix.SOL_SOCKET {
			nlevel = 0xffff
		}
		t.Run(fmt.Sprintf("Linux %s %d/%d is NetBSD %#x/%#x", tt.name, tt.level, tt.linux,
			nlevel, tt.netbsd), func(t *testing.T) {
			if tt.linux != tt.unixed {
				t.Fatalf("x/sys/unix has %d", tt.unixed)
			}
			l, n, err := SockoptFromLinux(tt.level, tt.linux)
			if err != nil || l != nlevel || n != tt.netbsd {
				t.Errorf("SockoptFromLinux = %#x/%#x, %v", l, n, err)
			}
			l, n, err = SockoptToLinux(nlevel, tt.netbsd)
			if err != nil || l != tt.level || n != tt.linux {
				t.Errorf("SockoptToLinux = %d/%d, %v", l, n, err)
			}
		})
	}
	for _, tt := range []struct {
		name       string
		level, opt int
	}{
		{"TCP_CORK, whose number is NetBSD's TCP_KEEPIDLE", unix.IPPROTO_TCP, unix.TCP_CORK},
		{"TCP_INFO, whose structure differs", unix.IPPROTO_TCP, unix.TCP_INFO},
		{"SO_PEERCRED", unix.SOL_SOCKET, unix.SO_PEERCRED},
		{"SO_DOMAIN", unix.SOL_SOCKET, unix.SO_DOMAIN},
		{"SO_PROTOCOL", unix.SOL_SOCKET, unix.SO_PROTOCOL},
		{"an option of an unknown level", unix.SOL_PACKET, 1},
	} {
		t.Run(fmt.Sprintf("Linux %s has no NetBSD option", tt.name), func(t *testing.T) {
			if _, _, err := SockoptFromLinux(tt.level, tt.opt); !errors.Is(err, ErrNoEquivalent) {
				t.Errorf("err = %v", err)
			}
		})
	}
	t.Run("NetBSD level 1 is IPPROTO_ICMP, not the socket level", func(t *testing.T) {
		if _, _, err := SockoptToLinux(1, SO_DEBUG); !errors.Is(err, ErrNoEquivalent) {
			t.Errorf("err = %v", err)
		}
	})
	checkConsts(t, []constCheck{
		{"SOL_SOCKET", SOL_SOCKET, 0xffff}, {"Linux SOL_SOCKET", unix.SOL_SOCKET, 1},
		{"SOMAXCONN", SOMAXCONN, 128}, {"Linux SOMAXCONN", unix.SOMAXCONN, 4096},
		{"SHUT_RD", SHUT_RD, unix.SHUT_RD}, {"SHUT_WR", SHUT_WR, unix.SHUT_WR},
		{"SHUT_RDWR", SHUT_RDWR, unix.SHUT_RDWR}, {"SHUT_RDWR value", SHUT_RDWR, 2},
		{"IPPROTO_IP", IPPROTO_IP, unix.IPPROTO_IP}, {"IPPROTO_ICMP", IPPROTO_ICMP, 1},
		{"IPPROTO_IGMP", IPPROTO_IGMP, unix.IPPROTO_IGMP}, {"IPPROTO_TCP", IPPROTO_TCP, 6},
		{"IPPROTO_UDP", IPPROTO_UDP, unix.IPPROTO_UDP}, {"IPPROTO_IPV6", IPPROTO_IPV6, 41},
		{"IPPROTO_ICMPV6", IPPROTO_ICMPV6, unix.IPPROTO_ICMPV6},
		{"IPPROTO_RAW", IPPROTO_RAW, unix.IPPROTO_RAW}, {"IPPROTO_SCTP", IPPROTO_SCTP, 132},
		{"Linux IPPROTO_SCTP", unix.IPPROTO_SCTP, 132},
		{"SO_USELOOPBACK", SO_USELOOPBACK, 0x40}, {"SO_NOSIGPIPE", SO_NOSIGPIPE, 0x800},
		{"SO_ACCEPTFILTER", SO_ACCEPTFILTER, 0x1000}, {"SO_OVERFLOWED", SO_OVERFLOWED, 0x1009},
		{"SO_NOHEADER", SO_NOHEADER, 0x100a}, {"TCP_KEEPINIT", TCP_KEEPINIT, 7},
		{"TCP_NOOPT", TCP_NOOPT, 8}, {"TCP_INFO", TCP_INFO, 9},
		{"IP_RECVRETOPTS", IP_RECVRETOPTS, 6}, {"IP_RECVDSTADDR", IP_RECVDSTADDR, 7},
		{"IP_PORTRANGE", IP_PORTRANGE, 19}, {"IP_RECVIF", IP_RECVIF, 20},
		{"IP_ERRORMTU", IP_ERRORMTU, 21}, {"IP_IPSEC_POLICY", IP_IPSEC_POLICY, 22},
		{"IP_RECVPKTINFO", IP_RECVPKTINFO, 26},
	})
}

func TestSocketOptionValues(t *testing.T) {
	t.Run("a receive timeout narrows tv_usec to 32 bits", func(t *testing.T) {
		linux := EncodeLinuxTimeval(unix.Timeval{Sec: 5, Usec: 250000})
		got, err := SockoptValueFromLinux(unix.SOL_SOCKET, unix.SO_RCVTIMEO, linux)
		mustNot(t, err)
		want := Timeval{Sec: 5, Usec: 250000}.Encode()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("a send timeout from NetBSD ignores the padding garbage", func(t *testing.T) {
		nb := []byte{7, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x27, 0, 0, 0xde, 0xad, 0xbe, 0xef}
		got, err := SockoptValueToLinux(unix.SOL_SOCKET, unix.SO_SNDTIMEO, nb)
		mustNot(t, err)
		want := EncodeLinuxTimeval(unix.Timeval{Sec: 7, Usec: 10000})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("SO_ERROR carries a translated errno", func(t *testing.T) {
		nb := intBytes(int32(ECONNREFUSED))
		got, err := SockoptValueToLinux(unix.SOL_SOCKET, unix.SO_ERROR, nb)
		mustNot(t, err)
		if diff := cmp.Diff(intBytes(int32(unix.ECONNREFUSED)), got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		back, err := SockoptValueFromLinux(unix.SOL_SOCKET, unix.SO_ERROR, got)
		mustNot(t, err)
		if diff := cmp.Diff(intBytes(int32(ECONNREFUSED)), back); diff != "" {
			t.Errorf("back (-want +got):\n%s", diff)
		}
	})
	t.Run("struct linger passes unchanged", func(t *testing.T) {
		linger := []byte{1, 0, 0, 0, 30, 0, 0, 0}
		got, err := SockoptValueFromLinux(unix.SOL_SOCKET, unix.SO_LINGER, linger)
		if err != nil || !cmp.Equal(linger, got) {
			t.Errorf("= %v, %v", got, err)
		}
	})
	t.Run("a multicast TTL int becomes the u_char NetBSD reads", func(t *testing.T) {
		got, err := SockoptValueFromLinux(unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, intBytes(4))
		if err != nil || !cmp.Equal([]byte{4}, got) {
			t.Errorf("= %v, %v", got, err)
		}
		got, err = SockoptValueFromLinux(unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, intBytes(-1))
		if err != nil || !cmp.Equal([]byte{1}, got) {
			t.Errorf("-1 = %v, %v", got, err)
		}
		if _, err := SockoptValueFromLinux(unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP,
			intBytes(256)); !errors.Is(err, ErrInvalid) {
			t.Errorf("256: %v", err)
		}
		back, err := SockoptValueToLinux(unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, []byte{4})
		if err != nil || !cmp.Equal(intBytes(4), back) {
			t.Errorf("back = %v, %v", back, err)
		}
	})
	t.Run("a short timeout value is an error", func(t *testing.T) {
		if _, err := SockoptValueFromLinux(unix.SOL_SOCKET, unix.SO_RCVTIMEO,
			make([]byte, 8)); !errors.Is(err, ErrShort) {
			t.Errorf("err = %v", err)
		}
	})
}
