package netbsd

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Sizes of the message structures. NetBSD's msg_iovlen is an int and its
// msg_controllen a socklen_t where Linux has size_t for both, so NetBSD's
// msghdr is 8 bytes shorter and msg_flags sits at 44 instead of 48.
const (
	MsghdrSize       = 48
	LinuxMsghdrSize  = 56
	MmsghdrSize      = 56
	LinuxMmsghdrSize = 64
	IovecSize        = 16
)

// Msghdr mirrors NetBSD's struct msghdr. Name, Iov and Control are addresses
// in the client's address space.
type Msghdr struct {
	Name       uint64
	Namelen    uint32
	Iov        uint64
	Iovlen     int32
	Control    uint64
	Controllen uint32
	Flags      int32
}

// LinuxMsghdr mirrors Linux's x86-64 struct msghdr, with addresses in the
// traced process instead of Go pointers.
type LinuxMsghdr struct {
	Name       uint64
	Namelen    uint32
	Iov        uint64
	Iovlen     uint64
	Control    uint64
	Controllen uint64
	Flags      int32
}

// DecodeMsghdr reads a NetBSD struct msghdr.
func DecodeMsghdr(b []byte) (Msghdr, error) {
	if len(b) < MsghdrSize {
		return Msghdr{}, shortError("netbsd msghdr", MsghdrSize, len(b))
	}
	le := binary.LittleEndian
	return Msghdr{
		Name:       le.Uint64(b[0:]),
		Namelen:    le.Uint32(b[8:]),
		Iov:        le.Uint64(b[16:]),
		Iovlen:     int32(le.Uint32(b[24:])),
		Control:    le.Uint64(b[32:]),
		Controllen: le.Uint32(b[40:]),
		Flags:      int32(le.Uint32(b[44:])),
	}, nil
}

// Encode returns the NetBSD struct msghdr bytes.
func (m Msghdr) Encode() []byte {
	b := make([]byte, MsghdrSize)
	m.put(b)
	return b
}

func (m Msghdr) put(b []byte) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], m.Name)
	le.PutUint32(b[8:], m.Namelen)
	le.PutUint64(b[16:], m.Iov)
	le.PutUint32(b[24:], uint32(m.Iovlen))
	le.PutUint64(b[32:], m.Control)
	le.PutUint32(b[40:], m.Controllen)
	le.PutUint32(b[44:], uint32(m.Flags))
}

// DecodeLinuxMsghdr reads a Linux x86-64 struct msghdr.
func DecodeLinuxMsghdr(b []byte) (LinuxMsghdr, error) {
	if len(b) < LinuxMsghdrSize {
		return LinuxMsghdr{}, shortError("linux msghdr", LinuxMsghdrSize, len(b))
	}
	le := binary.LittleEndian
	return LinuxMsghdr{
		Name:       le.Uint64(b[0:]),
		Namelen:    le.Uint32(b[8:]),
		Iov:        le.Uint64(b[16:]),
		Iovlen:     le.Uint64(b[24:]),
		Control:    le.Uint64(b[32:]),
		Controllen: le.Uint64(b[40:]),
		Flags:      int32(le.Uint32(b[48:])),
	}, nil
}

// Encode returns the Linux x86-64 struct msghdr bytes.
func (m LinuxMsghdr) Encode() []byte {
	b := make([]byte, LinuxMsghdrSize)
	m.put(b)
	return b
}

func (m LinuxMsghdr) put(b []byte) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], m.Name)
	le.PutUint32(b[8:], m.Namelen)
	le.PutUint64(b[16:], m.Iov)
	le.PutUint64(b[24:], m.Iovlen)
	le.PutUint64(b[32:], m.Control)
	le.PutUint64(b[40:], m.Controllen)
	le.PutUint32(b[48:], uint32(m.Flags))
}

// MsghdrFromLinux narrows a Linux msghdr. An iovec count or control length
// that does not fit NetBSD's fields wraps ErrInvalid (Linux itself refuses
// more than 1024 iovecs). msg_flags is an output of both kernels, ignored on
// input, so only its bits with a NetBSD meaning are carried.
func MsghdrFromLinux(m LinuxMsghdr) (Msghdr, error) {
	if m.Iovlen > math.MaxInt32 {
		return Msghdr{}, fmt.Errorf("msghdr iovlen %d: %w", m.Iovlen, ErrInvalid)
	}
	if m.Controllen > math.MaxUint32 {
		return Msghdr{}, fmt.Errorf("msghdr controllen %d: %w", m.Controllen, ErrInvalid)
	}
	flags, _ := MsgFlagsFromLinux(int(m.Flags))
	return Msghdr{
		Name: m.Name, Namelen: m.Namelen,
		Iov: m.Iov, Iovlen: int32(m.Iovlen),
		Control: m.Control, Controllen: uint32(m.Controllen),
		Flags: int32(flags),
	}, nil
}

// ToLinux widens the msghdr, translating msg_flags; NetBSD-only flags
// (MSG_BCAST, MSG_MCAST) are dropped, as a Linux program has no use for them.
// A negative iovec count, which no kernel writes, becomes 0.
func (m Msghdr) ToLinux() LinuxMsghdr {
	flags, _ := MsgFlagsToLinux(int(m.Flags))
	return LinuxMsghdr{
		Name: m.Name, Namelen: m.Namelen,
		Iov: m.Iov, Iovlen: uint64(max(m.Iovlen, 0)),
		Control: m.Control, Controllen: uint64(m.Controllen),
		Flags: int32(flags),
	}
}

// Mmsghdr mirrors NetBSD's struct mmsghdr of recvmmsg and sendmmsg.
type Mmsghdr struct {
	Hdr Msghdr
	Len uint32
}

// LinuxMmsghdr mirrors Linux's struct mmsghdr.
type LinuxMmsghdr struct {
	Hdr LinuxMsghdr
	Len uint32
}

// DecodeMmsghdr reads a NetBSD struct mmsghdr.
func DecodeMmsghdr(b []byte) (Mmsghdr, error) {
	if len(b) < MmsghdrSize {
		return Mmsghdr{}, shortError("netbsd mmsghdr", MmsghdrSize, len(b))
	}
	h, err := DecodeMsghdr(b)
	if err != nil {
		return Mmsghdr{}, err
	}
	return Mmsghdr{Hdr: h, Len: binary.LittleEndian.Uint32(b[MsghdrSize:])}, nil
}

// Encode returns the NetBSD struct mmsghdr bytes.
func (m Mmsghdr) Encode() []byte {
	b := make([]byte, MmsghdrSize)
	m.Hdr.put(b)
	binary.LittleEndian.PutUint32(b[MsghdrSize:], m.Len)
	return b
}

// DecodeLinuxMmsghdr reads a Linux struct mmsghdr.
func DecodeLinuxMmsghdr(b []byte) (LinuxMmsghdr, error) {
	if len(b) < LinuxMmsghdrSize {
		return LinuxMmsghdr{}, shortError("linux mmsghdr", LinuxMmsghdrSize, len(b))
	}
	h, err := DecodeLinuxMsghdr(b)
	if err != nil {
		return LinuxMmsghdr{}, err
	}
	return LinuxMmsghdr{Hdr: h, Len: binary.LittleEndian.Uint32(b[LinuxMsghdrSize:])}, nil
}

// Encode returns the Linux struct mmsghdr bytes.
func (m LinuxMmsghdr) Encode() []byte {
	b := make([]byte, LinuxMmsghdrSize)
	m.Hdr.put(b)
	binary.LittleEndian.PutUint32(b[LinuxMsghdrSize:], m.Len)
	return b
}

// Iovec is struct iovec, laid out the same on both systems.
type Iovec struct {
	Base uint64
	Len  uint64
}

// DecodeIovecs reads n consecutive struct iovec.
func DecodeIovecs(b []byte, n int) ([]Iovec, error) {
	if n < 0 {
		return nil, fmt.Errorf("iovec count %d: %w", n, ErrInvalid)
	}
	if n > len(b)/IovecSize {
		return nil, shortError(fmt.Sprintf("%d iovecs", n), n*IovecSize, len(b))
	}
	out := make([]Iovec, n)
	for i := range out {
		out[i].Base = binary.LittleEndian.Uint64(b[IovecSize*i:])
		out[i].Len = binary.LittleEndian.Uint64(b[IovecSize*i+8:])
	}
	return out, nil
}

// EncodeIovecs returns the bytes of consecutive struct iovec.
func EncodeIovecs(iov []Iovec) []byte {
	b := make([]byte, 0, IovecSize*len(iov))
	for _, v := range iov {
		b = binary.LittleEndian.AppendUint64(b, v.Base)
		b = binary.LittleEndian.AppendUint64(b, v.Len)
	}
	return b
}
