package netbsd

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// NetBSD address families (sys/socket.h); PF_* equal AF_*.
const (
	AF_UNSPEC    = 0
	AF_LOCAL     = 1
	AF_UNIX      = AF_LOCAL
	AF_INET      = 2
	AF_APPLETALK = 16
	AF_LINK      = 18
	AF_IPX       = 23
	AF_INET6     = 24
	AF_BLUETOOTH = 31
	AF_MPLS      = 33
	AF_ROUTE     = 34
	AF_MAX       = 35
)

// familyPairs maps address families. Linux AF_NETLINK (16) is paired with
// NetBSD's routing socket, which serves the same purpose with a different
// protocol; translating that protocol is the caller's business.
var familyPairs = []numPair{
	{unix.AF_UNSPEC, AF_UNSPEC},
	{unix.AF_UNIX, AF_LOCAL},
	{unix.AF_INET, AF_INET},
	{unix.AF_INET6, AF_INET6},
	{unix.AF_NETLINK, AF_ROUTE},
	{unix.AF_APPLETALK, AF_APPLETALK},
	{unix.AF_IPX, AF_IPX},
	{unix.AF_BLUETOOTH, AF_BLUETOOTH},
	{unix.AF_MPLS, AF_MPLS},
}

// FamilyFromLinux translates a Linux address family, as passed to socket and
// socketpair. Families NetBSD lacks (AF_PACKET, AF_VSOCK, ...) wrap
// ErrNoEquivalent.
func FamilyFromLinux(family int) (int, error) {
	if v, ok := lookup(familyPairs, int64(family), true); ok {
		return int(v), nil
	}
	return 0, fmt.Errorf("linux address family %d: %w", family, ErrNoEquivalent)
}

// FamilyToLinux translates a NetBSD address family; AF_LINK and the other
// NetBSD-only families wrap ErrNoEquivalent.
func FamilyToLinux(family int) (int, error) {
	if v, ok := lookup(familyPairs, int64(family), false); ok {
		return int(v), nil
	}
	return 0, fmt.Errorf("netbsd address family %d: %w", family, ErrNoEquivalent)
}

// NetBSD socket types and the flags socket, socketpair and paccept accept.
// Types 1–6 have the same numbers on Linux (6 is DCCP on both).
const (
	SOCK_STREAM     = 1
	SOCK_DGRAM      = 2
	SOCK_RAW        = 3
	SOCK_RDM        = 4
	SOCK_SEQPACKET  = 5
	SOCK_CONN_DGRAM = 6
	SOCK_DCCP       = SOCK_CONN_DGRAM
	SOCK_CLOEXEC    = 0x10000000
	SOCK_NONBLOCK   = 0x20000000
	SOCK_NOSIGPIPE  = 0x40000000
	sockFlagsMask   = 0xf0000000
)

var sockFlagPairs = []flagPair{
	{unix.SOCK_NONBLOCK, SOCK_NONBLOCK},
	{unix.SOCK_CLOEXEC, SOCK_CLOEXEC},
}

// linuxSockTypeMask holds the type bits of a Linux socket type word; the rest
// are flags.
const linuxSockTypeMask = 0xf

// SocketTypeFromLinux translates a Linux socket type with its SOCK_NONBLOCK
// and SOCK_CLOEXEC flags. Unknown flags and SOCK_PACKET give a *BitsError.
func SocketTypeFromLinux(t int) (int, error) {
	base := t & linuxSockTypeMask
	flags, rest := translate(uint64(t&^linuxSockTypeMask), sockFlagPairs, true)
	if base < SOCK_STREAM || base > SOCK_DCCP {
		rest |= uint64(base)
		base = 0
	}
	return base | int(flags), bitsError("linux socket type", rest)
}

// SocketTypeToLinux translates a NetBSD socket type word and returns the
// flags Linux lacks (SOCK_NOSIGPIPE) in dropped. A type outside 1–6 is
// dropped too, as SocketTypeFromLinux drops it: passed on, its bits would
// read on Linux as SOCK_NONBLOCK, SOCK_CLOEXEC or SOCK_PACKET, turning a
// type NetBSD refuses into one Linux accepts.
func SocketTypeToLinux(t int) (linux, dropped int) {
	base := t &^ sockFlagsMask
	flags, rest := translate(uint64(t&sockFlagsMask), sockFlagPairs, false)
	if base < SOCK_STREAM || base > SOCK_DCCP {
		rest |= uint64(base)
		base = 0
	}
	return base | int(flags), int(rest)
}

// SocketFlagsFromLinux translates the flags of accept4 for paccept, or of any
// call that takes SOCK_NONBLOCK and SOCK_CLOEXEC alone.
func SocketFlagsFromLinux(flags int) (int, error) {
	out, rest := translate(uint64(flags), sockFlagPairs, true)
	return int(out), bitsError("linux socket flags", rest)
}

// NetBSD send and receive flags.
const (
	MSG_OOB          = 0x0001
	MSG_PEEK         = 0x0002
	MSG_DONTROUTE    = 0x0004
	MSG_EOR          = 0x0008
	MSG_TRUNC        = 0x0010
	MSG_CTRUNC       = 0x0020
	MSG_WAITALL      = 0x0040
	MSG_DONTWAIT     = 0x0080
	MSG_BCAST        = 0x0100
	MSG_MCAST        = 0x0200
	MSG_NOSIGNAL     = 0x0400
	MSG_CMSG_CLOEXEC = 0x0800
	MSG_NBIO         = 0x1000
	MSG_WAITFORONE   = 0x2000
	MSG_NOTIFICATION = 0x4000
)

var msgFlagPairs = []flagPair{
	{unix.MSG_OOB, MSG_OOB},
	{unix.MSG_PEEK, MSG_PEEK},
	{unix.MSG_DONTROUTE, MSG_DONTROUTE},
	{unix.MSG_CTRUNC, MSG_CTRUNC},
	{unix.MSG_TRUNC, MSG_TRUNC},
	{unix.MSG_DONTWAIT, MSG_DONTWAIT},
	{unix.MSG_EOR, MSG_EOR},
	{unix.MSG_WAITALL, MSG_WAITALL},
	{unix.MSG_NOSIGNAL, MSG_NOSIGNAL},
	{unix.MSG_CMSG_CLOEXEC, MSG_CMSG_CLOEXEC},
	{unix.MSG_WAITFORONE, MSG_WAITFORONE},
}

// MsgFlagsFromLinux translates the flags of a Linux send or receive call.
// MSG_MORE and MSG_CONFIRM are hints, MSG_ERRQUEUE and MSG_FASTOPEN are
// features; none exists on NetBSD, so they give a *BitsError and the caller
// decides whether a hint may go. Note that Linux MSG_CONFIRM has the value
// of NetBSD MSG_CMSG_CLOEXEC, so passing flags through untranslated is wrong.
func MsgFlagsFromLinux(flags int) (int, error) {
	out, rest := translate(uint64(uint32(flags)), msgFlagPairs, true)
	return int(out), bitsError("linux message flags", rest)
}

// MsgFlagsToLinux translates NetBSD flags, such as a received msg_flags, and
// returns MSG_BCAST, MSG_MCAST, MSG_NBIO, MSG_NOTIFICATION and unknown bits in
// dropped.
func MsgFlagsToLinux(flags int) (linux, dropped int) {
	out, rest := translate(uint64(uint32(flags)), msgFlagPairs, false)
	return int(out), int(rest)
}

// NetBSD socket-level values: the level, its options, and listen's limit.
const (
	SOL_SOCKET      = 0xffff
	SO_DEBUG        = 0x0001
	SO_ACCEPTCONN   = 0x0002
	SO_REUSEADDR    = 0x0004
	SO_KEEPALIVE    = 0x0008
	SO_DONTROUTE    = 0x0010
	SO_BROADCAST    = 0x0020
	SO_USELOOPBACK  = 0x0040
	SO_LINGER       = 0x0080
	SO_OOBINLINE    = 0x0100
	SO_REUSEPORT    = 0x0200
	SO_NOSIGPIPE    = 0x0800
	SO_ACCEPTFILTER = 0x1000
	SO_TIMESTAMP    = 0x2000
	SO_SNDBUF       = 0x1001
	SO_RCVBUF       = 0x1002
	SO_SNDLOWAT     = 0x1003
	SO_RCVLOWAT     = 0x1004
	SO_ERROR        = 0x1007
	SO_TYPE         = 0x1008
	SO_OVERFLOWED   = 0x1009
	SO_NOHEADER     = 0x100a
	SO_SNDTIMEO     = 0x100b
	SO_RCVTIMEO     = 0x100c
	SOMAXCONN       = 128
)

// Options of AF_LOCAL sockets, at level SOL_LOCAL (sys/un.h). Linux's
// SO_PEERCRED and SO_PASSCRED live at SOL_SOCKET and are not translated by
// SockoptFromLinux; these are their nearest NetBSD relatives. LOCAL_PEEREID
// answers a struct unpcbid {pid, euid, egid}, the layout of Linux's struct
// ucred; LOCAL_CREDS makes the kernel attach SCM_CREDS, but only to the first
// message of a stream socket.
const (
	SOL_LOCAL     = 0
	LOCAL_PEEREID = 0x0003
	LOCAL_CREDS   = 0x0004
)

// Shutdown directions, the same on Linux.
const (
	SHUT_RD   = 0
	SHUT_WR   = 1
	SHUT_RDWR = 2
)

// IPPROTO_* numbers are IANA's on both systems, so protocol arguments and
// option levels other than SOL_SOCKET pass unchanged.
const (
	IPPROTO_IP     = 0
	IPPROTO_ICMP   = 1
	IPPROTO_IGMP   = 2
	IPPROTO_TCP    = 6
	IPPROTO_UDP    = 17
	IPPROTO_IPV6   = 41
	IPPROTO_ICMPV6 = 58
	IPPROTO_SCTP   = 132
	IPPROTO_RAW    = 255
)

// NetBSD IPPROTO_IP options (netinet/in.h).
const (
	IP_OPTIONS         = 1
	IP_HDRINCL         = 2
	IP_TOS             = 3
	IP_TTL             = 4
	IP_RECVOPTS        = 5
	IP_RECVRETOPTS     = 6
	IP_RECVDSTADDR     = 7
	IP_RETOPTS         = 8
	IP_MULTICAST_IF    = 9
	IP_MULTICAST_TTL   = 10
	IP_MULTICAST_LOOP  = 11
	IP_ADD_MEMBERSHIP  = 12
	IP_DROP_MEMBERSHIP = 13
	IP_PORTRANGE       = 19
	IP_RECVIF          = 20
	IP_ERRORMTU        = 21
	IP_IPSEC_POLICY    = 22
	IP_RECVTTL         = 23
	IP_MINTTL          = 24
	IP_PKTINFO         = 25
	IP_RECVPKTINFO     = 26
)

// NetBSD IPPROTO_IPV6 options (netinet6/in6.h).
const (
	IPV6_UNICAST_HOPS   = 4
	IPV6_MULTICAST_IF   = 9
	IPV6_MULTICAST_HOPS = 10
	IPV6_MULTICAST_LOOP = 11
	IPV6_JOIN_GROUP     = 12
	IPV6_LEAVE_GROUP    = 13
	IPV6_CHECKSUM       = 26
	IPV6_V6ONLY         = 27
	IPV6_RECVPKTINFO    = 36
	IPV6_PKTINFO        = 46
	IPV6_TCLASS         = 61
)

// NetBSD IPPROTO_TCP options (netinet/tcp.h).
const (
	TCP_NODELAY   = 1
	TCP_MAXSEG    = 2
	TCP_KEEPIDLE  = 3
	TCP_NOPUSH    = 4
	TCP_KEEPINTVL = 5
	TCP_KEEPCNT   = 6
	TCP_KEEPINIT  = 7
	TCP_NOOPT     = 8
	TCP_INFO      = 9
	TCP_CONGCTL   = 0x20
)
