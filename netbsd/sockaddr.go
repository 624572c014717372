package netbsd

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// Socket address sizes. NetBSD addresses begin with a length byte and a
// one-byte family where Linux has a two-byte family; for inet and inet6 the
// bytes after those two are laid out the same.
const (
	SockaddrInSize       = 16
	SockaddrIn6Size      = 28
	SockaddrUnSize       = 106 // NetBSD's sun_path is 104 bytes
	LinuxSockaddrUnSize  = 110 // Linux's sun_path is 108 bytes
	SockaddrStorageSize  = 128
	linuxSockaddrIn6Min  = 24  // Linux accepts the RFC 2133 size without scope id
	maxNetBSDSockaddrLen = 255 // sa_len is one byte
)

// SockaddrFromLinux rewrites a Linux socket address, exactly as many bytes as
// the caller's address length, into the NetBSD form for bind, connect,
// sendto and sendmsg. The result's length is the length to pass to the
// NetBSD call.
//
// The NetBSD kernel accepts a raw Linux AF_INET address by accident of
// byte order, but reads a raw AF_INET6 one as family 10 (AF_CCITT), so every
// address is rewritten. Lengths Linux would refuse wrap ErrInvalid. Unnamed
// and abstract AF_UNIX addresses wrap ErrNoEquivalent: NetBSD has no
// abstract namespace and refuses addresses of two bytes or fewer.
func SockaddrFromLinux(sa []byte) ([]byte, error) {
	if len(sa) < 2 {
		return nil, shortError("linux sockaddr", 2, len(sa))
	}
	family := binary.LittleEndian.Uint16(sa)
	switch family {
	case unix.AF_INET:
		if len(sa) < SockaddrInSize {
			return nil, fmt.Errorf("linux sockaddr_in of %d bytes: %w", len(sa), ErrInvalid)
		}
		out := make([]byte, SockaddrInSize)
		copy(out[2:], sa[2:SockaddrInSize])
		out[0], out[1] = SockaddrInSize, AF_INET
		return out, nil

	case unix.AF_INET6:
		if len(sa) < linuxSockaddrIn6Min {
			return nil, fmt.Errorf("linux sockaddr_in6 of %d bytes: %w", len(sa), ErrInvalid)
		}
		out := make([]byte, SockaddrIn6Size)
		copy(out[2:], sa[2:min(len(sa), SockaddrIn6Size)])
		out[0], out[1] = SockaddrIn6Size, AF_INET6
		return out, nil

	case unix.AF_UNIX:
		return sockaddrUnFromLinux(sa)

	case unix.AF_UNSPEC:
		// connect(AF_UNSPEC) asks to dissolve an association; only the
		// family matters, so the bytes after it are kept as they are.
		n := min(len(sa), SockaddrStorageSize)
		out := bytes.Clone(sa[:n])
		out[0], out[1] = byte(n), AF_UNSPEC
		return out, nil
	}
	return nil, fmt.Errorf("linux address family %d: %w", family, ErrNoEquivalent)
}

func sockaddrUnFromLinux(sa []byte) ([]byte, error) {
	if len(sa) > LinuxSockaddrUnSize {
		return nil, fmt.Errorf("linux sockaddr_un of %d bytes: %w", len(sa), ErrInvalid)
	}
	path := sa[2:]
	if len(path) == 0 {
		return nil, fmt.Errorf("unnamed linux sockaddr_un: %w", ErrNoEquivalent)
	}
	if path[0] == 0 {
		return nil, fmt.Errorf("abstract linux sockaddr_un: %w", ErrNoEquivalent)
	}
	if i := bytes.IndexByte(path, 0); i >= 0 {
		path = path[:i]
	}

	// The NetBSD kernel takes the path length from sa_len and terminates
	// the path itself, so paths up to Linux's 108 bytes fit although
	// NetBSD's own structure declares 104.
	out := make([]byte, 2+len(path)+1)
	out[0], out[1] = byte(len(out)), AF_LOCAL
	copy(out[2:], path)
	return out, nil
}

// SockaddrToLinux rewrites a NetBSD socket address, as returned by accept,
// getsockname, getpeername, recvfrom or recvmsg, into the Linux form. sa holds
// the bytes the kernel wrote; a shorter sa_len inside it bounds the address.
// The result may be longer than the caller's buffer: like the Linux kernel,
// the caller copies what fits and reports the full length. An AF_LOCAL
// address without a path comes back as Linux's two-byte unnamed address.
// Families other than inet, inet6, local and unspec wrap ErrNoEquivalent.
func SockaddrToLinux(sa []byte) ([]byte, error) {
	if len(sa) < 2 {
		return nil, shortError("netbsd sockaddr", 2, len(sa))
	}
	if n := int(sa[0]); n >= 2 && n < len(sa) {
		sa = sa[:n]
	}
	family := sa[1]
	switch family {
	case AF_INET:
		if len(sa) < SockaddrInSize {
			return nil, shortError("netbsd sockaddr_in", SockaddrInSize, len(sa))
		}
		out := make([]byte, SockaddrInSize)
		copy(out[2:], sa[2:SockaddrInSize])
		binary.LittleEndian.PutUint16(out, unix.AF_INET)
		return out, nil

	case AF_INET6:
		if len(sa) < SockaddrIn6Size {
			return nil, shortError("netbsd sockaddr_in6", SockaddrIn6Size, len(sa))
		}
		out := make([]byte, SockaddrIn6Size)
		copy(out[2:], sa[2:SockaddrIn6Size])
		binary.LittleEndian.PutUint16(out, unix.AF_INET6)
		return out, nil

	case AF_LOCAL:
		path := sa[2:]
		if i := bytes.IndexByte(path, 0); i >= 0 {
			path = path[:i]
		}
		if len(path) == 0 {
			out := make([]byte, 2)
			binary.LittleEndian.PutUint16(out, unix.AF_UNIX)
			return out, nil
		}
		out := make([]byte, 2+len(path)+1)
		binary.LittleEndian.PutUint16(out, unix.AF_UNIX)
		copy(out[2:], path)
		return out, nil

	case AF_UNSPEC:
		out := bytes.Clone(sa)
		out[0], out[1] = 0, 0
		return out, nil
	}
	return nil, fmt.Errorf("netbsd address family %d: %w", family, ErrNoEquivalent)
}

// ParseSockaddr decodes a NetBSD socket address into the x/sys/unix form an
// embedded server hands to the host. IPv6 flow information is lost, as
// unix.SockaddrInet6 has no field for it. A path beginning with '@', which
// x/sys/unix would send to Linux's abstract namespace, is given a leading
// "./": it is relative, since it does not begin with '/', so it names the
// same file.
func ParseSockaddr(sa []byte) (unix.Sockaddr, error) {
	linux, err := SockaddrToLinux(sa)
	if err != nil {
		return nil, err
	}
	switch binary.LittleEndian.Uint16(linux) {
	case unix.AF_INET:
		s := &unix.SockaddrInet4{Port: int(binary.BigEndian.Uint16(linux[2:]))}
		copy(s.Addr[:], linux[4:8])
		return s, nil
	case unix.AF_INET6:
		s := &unix.SockaddrInet6{
			Port:   int(binary.BigEndian.Uint16(linux[2:])),
			ZoneId: binary.LittleEndian.Uint32(linux[24:]),
		}
		copy(s.Addr[:], linux[8:24])
		return s, nil
	case unix.AF_UNIX:
		name := cString(linux[2:])
		if name != "" && name[0] == '@' {
			name = "./" + name
		}
		return &unix.SockaddrUnix{Name: name}, nil
	}
	return nil, fmt.Errorf("netbsd address family %d: %w", sa[1], ErrNoEquivalent)
}

// EncodeSockaddr encodes an x/sys/unix address, as a host call returned it,
// in the NetBSD form. Abstract Linux names (a leading '@' in
// unix.SockaddrUnix) wrap ErrNoEquivalent.
func EncodeSockaddr(sa unix.Sockaddr) ([]byte, error) {
	switch s := sa.(type) {
	case *unix.SockaddrInet4:
		out := make([]byte, SockaddrInSize)
		out[0], out[1] = SockaddrInSize, AF_INET
		binary.BigEndian.PutUint16(out[2:], uint16(s.Port))
		copy(out[4:], s.Addr[:])
		return out, nil
	case *unix.SockaddrInet6:
		out := make([]byte, SockaddrIn6Size)
		out[0], out[1] = SockaddrIn6Size, AF_INET6
		binary.BigEndian.PutUint16(out[2:], uint16(s.Port))
		copy(out[8:], s.Addr[:])
		binary.LittleEndian.PutUint32(out[24:], s.ZoneId)
		return out, nil
	case *unix.SockaddrUnix:
		if s.Name == "" {
			return []byte{2, AF_LOCAL}, nil
		}
		if s.Name[0] == '@' || s.Name[0] == 0 {
			return nil, fmt.Errorf("abstract unix address: %w", ErrNoEquivalent)
		}
		if len(s.Name)+3 > maxNetBSDSockaddrLen {
			return nil, fmt.Errorf("unix address of %d bytes: %w", len(s.Name), ErrInvalid)
		}
		out := make([]byte, 2+len(s.Name)+1)
		out[0], out[1] = byte(len(out)), AF_LOCAL
		copy(out[2:], s.Name)
		return out, nil
	}
	return nil, fmt.Errorf("address %T: %w", sa, ErrNoEquivalent)
}
