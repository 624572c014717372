package netbsd

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// Control message types at SOL_SOCKET. SCM_CREDS carries a struct sockcred,
// not Linux's struct ucred.
const (
	SCM_RIGHTS    = 0x01
	SCM_TIMESTAMP = 0x08
	SCM_CREDS     = 0x10
)

// cmsgHeader is where the data of a control message starts on both systems:
// Linux's header is 16 bytes, NetBSD's is 12 bytes aligned to 8. So
// CMSG_LEN(n) = 16+n and CMSG_SPACE(n) = 16+align8(n) on both, but the
// fields inside the header are at different offsets and widths.
const cmsgHeader = 16

// ControlSpace is CMSG_SPACE of both systems: the room one control message
// with n data bytes takes in a control buffer.
func ControlSpace(n int) int { return cmsgHeader + align8(n) }

func align8(n int) int { return (n + 7) &^ 7 }

// Cmsg is one control message. Which system's numbers Level and Type hold
// depends on where it came from; CmsgFromLinux and CmsgToLinux translate.
// Data is a subslice of the parsed buffer.
type Cmsg struct {
	Level int32
	Type  int32
	Data  []byte
}

// ParseLinuxControl splits a Linux control buffer, as sendmsg receives it.
// Like the Linux kernel it refuses a message whose length is below the
// header or past the buffer (ErrInvalid), and ignores trailing bytes too few
// for a header.
func ParseLinuxControl(b []byte) ([]Cmsg, error) {
	var out []Cmsg
	le := binary.LittleEndian
	for len(b) >= cmsgHeader {
		n := le.Uint64(b)
		if n < cmsgHeader || n > uint64(len(b)) {
			return nil, fmt.Errorf("linux cmsg_len %d in %d bytes: %w", n, len(b), ErrInvalid)
		}
		out = append(out, Cmsg{
			Level: int32(le.Uint32(b[8:])),
			Type:  int32(le.Uint32(b[12:])),
			Data:  b[cmsgHeader:n],
		})
		b = b[min(uint64(align8(int(n))), uint64(len(b))):]
	}
	return out, nil
}

// ParseControl splits a NetBSD control buffer, as recvmsg fills it. When the
// kernel truncates the last message (setting MSG_CTRUNC) it leaves cmsg_len
// at the full length, so a final message running past the buffer is
// returned with the data that is there rather than refused. A length below
// the header wraps ErrInvalid.
func ParseControl(b []byte) ([]Cmsg, error) {
	var out []Cmsg
	le := binary.LittleEndian
	for len(b) >= cmsgHeader {
		n := int(le.Uint32(b))
		if n < cmsgHeader {
			return nil, fmt.Errorf("netbsd cmsg_len %d: %w", n, ErrInvalid)
		}
		end := min(n, len(b))
		out = append(out, Cmsg{
			Level: int32(le.Uint32(b[4:])),
			Type:  int32(le.Uint32(b[8:])),
			Data:  b[cmsgHeader:end],
		})
		b = b[min(align8(n), len(b)):]
	}
	return out, nil
}

// EncodeLinuxControl lays out Linux control messages, each padded to 8 bytes
// as CMSG_SPACE requires, the last one included.
func EncodeLinuxControl(msgs []Cmsg) []byte {
	var b []byte
	for _, m := range msgs {
		h := make([]byte, ControlSpace(len(m.Data)))
		binary.LittleEndian.PutUint64(h, uint64(cmsgHeader+len(m.Data)))
		binary.LittleEndian.PutUint32(h[8:], uint32(m.Level))
		binary.LittleEndian.PutUint32(h[12:], uint32(m.Type))
		copy(h[cmsgHeader:], m.Data)
		b = append(b, h...)
	}
	return b
}

// AppendLinuxCmsg appends control message m to the Linux control data b of
// a received message, in a buffer of room bytes in all, as the Linux
// kernel's put_cmsg writes it: a message longer than what is left is cut to
// what is left, its cmsg_len saying so, and is left out when not even its
// header fits; the padding after it is only what room leaves. It reports
// whether m was cut or left out, which Linux reports as MSG_CTRUNC.
func AppendLinuxCmsg(b []byte, room int, m Cmsg) ([]byte, bool) {
	left := room - len(b)
	if left < cmsgHeader {
		return b, true
	}
	n := min(cmsgHeader+len(m.Data), left)
	h := make([]byte, min(ControlSpace(len(m.Data)), left))
	binary.LittleEndian.PutUint64(h, uint64(n))
	binary.LittleEndian.PutUint32(h[8:], uint32(m.Level))
	binary.LittleEndian.PutUint32(h[12:], uint32(m.Type))
	copy(h[cmsgHeader:n], m.Data)
	return append(b, h...), n < cmsgHeader+len(m.Data)
}

// LinuxRightsFit returns how many descriptors of a received SCM_RIGHTS
// message Linux delivers into room bytes of control buffer: those whose
// numbers fit after the header. The others it closes, setting MSG_CTRUNC.
func LinuxRightsFit(room int) int {
	if room <= cmsgHeader {
		return 0
	}
	return (room - cmsgHeader) / 4
}

// EncodeControl lays out NetBSD control messages, each padded to 8 bytes.
func EncodeControl(msgs []Cmsg) []byte {
	var b []byte
	for _, m := range msgs {
		h := make([]byte, ControlSpace(len(m.Data)))
		binary.LittleEndian.PutUint32(h, uint32(cmsgHeader+len(m.Data)))
		binary.LittleEndian.PutUint32(h[4:], uint32(m.Level))
		binary.LittleEndian.PutUint32(h[8:], uint32(m.Type))
		copy(h[cmsgHeader:], m.Data)
		b = append(b, h...)
	}
	return b
}

// Credential structures: Linux's struct ucred {pid, uid, gid} and NetBSD's
// struct sockcred {pid, uid, euid, gid, egid, ngroups, groups[]}, whose size
// with no groups is still 28 bytes (SOCKCREDSIZE(0)).
const (
	LinuxUcredSize = 12
	SockcredSize   = 28
	sockcredGroups = 24
)

// CmsgFromLinux translates a Linux control message to send it through NetBSD.
// SCM_RIGHTS keeps its data: the descriptor numbers in it are the caller's to
// translate. SCM_CREDENTIALS wraps ErrNoEquivalent because NetBSD refuses
// credentials from the sender (EINVAL) and attaches verified ones itself to
// receivers that set LOCAL_CREDS; a caller may drop the message and send the
// rest. Other levels and types wrap ErrNoEquivalent too.
func CmsgFromLinux(c Cmsg) (Cmsg, error) {
	if c.Level != unix.SOL_SOCKET {
		return Cmsg{}, fmt.Errorf("linux cmsg level %d: %w", c.Level, ErrNoEquivalent)
	}
	switch c.Type {
	case unix.SCM_RIGHTS:
		return Cmsg{Level: SOL_SOCKET, Type: SCM_RIGHTS, Data: c.Data}, nil
	case unix.SCM_TIMESTAMP:
		tv, err := DecodeLinuxTimeval(c.Data)
		if err != nil {
			return Cmsg{}, fmt.Errorf("scm_timestamp: %w", err)
		}
		nb, err := TimevalFromLinux(tv)
		if err != nil {
			return Cmsg{}, fmt.Errorf("scm_timestamp: %w", err)
		}
		return Cmsg{Level: SOL_SOCKET, Type: SCM_TIMESTAMP, Data: nb.Encode()}, nil
	}
	return Cmsg{}, fmt.Errorf("linux cmsg type %d: %w", c.Type, ErrNoEquivalent)
}

// CmsgToLinux translates a control message NetBSD delivered. SCM_CREDS
// becomes SCM_CREDENTIALS with the sender's pid and effective ids, which is
// what Linux reports; the supplementary groups have no place in a ucred.
// Other levels and types, including the IP ones whose structures differ,
// wrap ErrNoEquivalent.
func CmsgToLinux(c Cmsg) (Cmsg, error) {
	if c.Level != SOL_SOCKET {
		return Cmsg{}, fmt.Errorf("netbsd cmsg level %d: %w", c.Level, ErrNoEquivalent)
	}
	le := binary.LittleEndian
	switch c.Type {
	case SCM_RIGHTS:
		return Cmsg{Level: unix.SOL_SOCKET, Type: unix.SCM_RIGHTS, Data: c.Data}, nil
	case SCM_TIMESTAMP:
		tv, err := DecodeTimeval(c.Data)
		if err != nil {
			return Cmsg{}, fmt.Errorf("scm_timestamp: %w", err)
		}
		data := EncodeLinuxTimeval(tv.ToLinux())
		return Cmsg{Level: unix.SOL_SOCKET, Type: unix.SCM_TIMESTAMP, Data: data}, nil
	case SCM_CREDS:
		if len(c.Data) < sockcredGroups {
			return Cmsg{}, shortError("sockcred", sockcredGroups, len(c.Data))
		}
		data := make([]byte, LinuxUcredSize)
		le.PutUint32(data[0:], le.Uint32(c.Data[0:]))  // pid
		le.PutUint32(data[4:], le.Uint32(c.Data[8:]))  // euid
		le.PutUint32(data[8:], le.Uint32(c.Data[16:])) // egid
		return Cmsg{Level: unix.SOL_SOCKET, Type: unix.SCM_CREDENTIALS, Data: data}, nil
	}
	return Cmsg{}, fmt.Errorf("netbsd cmsg type %d: %w", c.Type, ErrNoEquivalent)
}

// ParseRights returns the descriptor numbers of SCM_RIGHTS data; trailing
// bytes too few for an int are ignored, as both kernels ignore them.
func ParseRights(data []byte) []int32 {
	fds := make([]int32, len(data)/4)
	for i := range fds {
		fds[i] = int32(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return fds
}

// EncodeRights returns SCM_RIGHTS data for the descriptor numbers.
func EncodeRights(fds []int32) []byte {
	b := make([]byte, 0, 4*len(fds))
	for _, fd := range fds {
		b = binary.LittleEndian.AppendUint32(b, uint32(fd))
	}
	return b
}

// SockcredFromLinux builds NetBSD SCM_CREDS data from a Linux ucred, for an
// embedded server passing on credentials the host attached. The real and
// effective ids are both the ucred's, which holds the effective ones, and
// the group list is empty.
func SockcredFromLinux(ucred []byte) ([]byte, error) {
	if len(ucred) < LinuxUcredSize {
		return nil, shortError("linux ucred", LinuxUcredSize, len(ucred))
	}
	le := binary.LittleEndian
	pid, uid, gid := le.Uint32(ucred), le.Uint32(ucred[4:]), le.Uint32(ucred[8:])
	b := make([]byte, SockcredSize)
	le.PutUint32(b[0:], pid)
	le.PutUint32(b[4:], uid)
	le.PutUint32(b[8:], uid)
	le.PutUint32(b[12:], gid)
	le.PutUint32(b[16:], gid)
	return b, nil
}
