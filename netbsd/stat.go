package netbsd

import (
	"encoding/binary"
	"math"

	"golang.org/x/sys/unix"
)

// Sizes of struct stat (__stat50 on NetBSD amd64, struct stat on Linux
// x86-64) and of Linux's struct statx.
const (
	StatSize       = 152
	LinuxStatSize  = 144
	LinuxStatxSize = 256
)

// NetBSD file type bits. The permission bits and every type but S_IFWHT have
// the same values on Linux.
const (
	S_IFMT   = 0o170000
	S_IFIFO  = 0o010000
	S_IFCHR  = 0o020000
	S_IFDIR  = 0o040000
	S_IFBLK  = 0o060000
	S_IFREG  = 0o100000
	S_IFLNK  = 0o120000
	S_IFSOCK = 0o140000
	S_IFWHT  = 0o160000
)

// NODEV is NetBSD's "no device", which its kernel reports as st_rdev of every
// file that is not a device, where Linux reports 0.
const NODEV = math.MaxUint64

// Stat mirrors NetBSD's struct stat.
//
// Device numbers need no conversion: NetBSD's encoding (major in bits 8–19,
// minor in bits 0–7 and 20–31) is bit for bit Linux's 32-bit encoding, and
// the 64-bit values an embedded server takes from the host pass through both
// directions unchanged.
type Stat struct {
	Dev      uint64
	Mode     uint32
	Ino      uint64
	Nlink    uint32
	Uid      uint32
	Gid      uint32
	Rdev     uint64
	Atim     unix.Timespec
	Mtim     unix.Timespec
	Ctim     unix.Timespec
	Birthtim unix.Timespec
	Size     int64
	Blocks   int64
	Blksize  uint32
	Flags    uint32
	Gen      uint32
}

// DecodeStat reads a NetBSD struct stat.
func DecodeStat(b []byte) (Stat, error) {
	if len(b) < StatSize {
		return Stat{}, shortError("netbsd stat", StatSize, len(b))
	}
	le := binary.LittleEndian
	ts := func(off int) unix.Timespec {
		return unix.Timespec{Sec: int64(le.Uint64(b[off:])), Nsec: int64(le.Uint64(b[off+8:]))}
	}
	return Stat{
		Dev:      le.Uint64(b[0:]),
		Mode:     le.Uint32(b[8:]),
		Ino:      le.Uint64(b[16:]),
		Nlink:    le.Uint32(b[24:]),
		Uid:      le.Uint32(b[28:]),
		Gid:      le.Uint32(b[32:]),
		Rdev:     le.Uint64(b[40:]),
		Atim:     ts(48),
		Mtim:     ts(64),
		Ctim:     ts(80),
		Birthtim: ts(96),
		Size:     int64(le.Uint64(b[112:])),
		Blocks:   int64(le.Uint64(b[120:])),
		Blksize:  le.Uint32(b[128:]),
		Flags:    le.Uint32(b[132:]),
		Gen:      le.Uint32(b[136:]),
	}, nil
}

// Encode returns the NetBSD struct stat bytes, padding and spares zeroed.
func (s Stat) Encode() []byte {
	b := make([]byte, StatSize)
	le := binary.LittleEndian
	ts := func(off int, t unix.Timespec) {
		le.PutUint64(b[off:], uint64(t.Sec))
		le.PutUint64(b[off+8:], uint64(t.Nsec))
	}
	le.PutUint64(b[0:], s.Dev)
	le.PutUint32(b[8:], s.Mode)
	le.PutUint64(b[16:], s.Ino)
	le.PutUint32(b[24:], s.Nlink)
	le.PutUint32(b[28:], s.Uid)
	le.PutUint32(b[32:], s.Gid)
	le.PutUint64(b[40:], s.Rdev)
	ts(48, s.Atim)
	ts(64, s.Mtim)
	ts(80, s.Ctim)
	ts(96, s.Birthtim)
	le.PutUint64(b[112:], uint64(s.Size))
	le.PutUint64(b[120:], uint64(s.Blocks))
	le.PutUint32(b[128:], s.Blksize)
	le.PutUint32(b[132:], s.Flags)
	le.PutUint32(b[136:], s.Gen)
	return b
}

// isDevice reports whether a mode is a character or block device, the only
// files whose st_rdev means something.
func isDevice(mode uint32) bool {
	t := mode & S_IFMT
	return t == S_IFCHR || t == S_IFBLK
}

// ToLinux translates the stat. NODEV becomes 0, as Linux reports it; the
// birth time, st_flags and st_gen have no place in a Linux stat (birth time
// is in Statx). An S_IFWHT whiteout keeps its type bits, which Linux
// programs see as an unknown file type. A symbolic link has mode 0777, as
// every link has on Linux; NetBSD's carry their creator's umask.
func (s Stat) ToLinux() unix.Stat_t {
	rdev := s.Rdev
	if rdev == NODEV {
		rdev = 0
	}
	return unix.Stat_t{
		Dev:     s.Dev,
		Ino:     s.Ino,
		Nlink:   uint64(s.Nlink),
		Mode:    linuxMode(s.Mode),
		Uid:     s.Uid,
		Gid:     s.Gid,
		Rdev:    rdev,
		Size:    s.Size,
		Blksize: int64(s.Blksize),
		Blocks:  s.Blocks,
		Atim:    s.Atim,
		Mtim:    s.Mtim,
		Ctim:    s.Ctim,
	}
}

func linuxMode(mode uint32) uint32 {
	if mode&S_IFMT == S_IFLNK {
		return mode | 0o777
	}
	return mode
}

// StatFromLinux builds the NetBSD stat an embedded server reports for a host
// file. Link counts and block sizes beyond 32 bits saturate; st_rdev of a
// non-device becomes NODEV, as a NetBSD kernel reports it; the birth time is
// unknown (zero), as a Linux stat does not carry it.
func StatFromLinux(st *unix.Stat_t) Stat {
	rdev := st.Rdev
	if rdev == 0 && !isDevice(st.Mode) {
		rdev = NODEV
	}
	return Stat{
		Dev:     st.Dev,
		Mode:    st.Mode,
		Ino:     st.Ino,
		Nlink:   saturate32(st.Nlink),
		Uid:     st.Uid,
		Gid:     st.Gid,
		Rdev:    rdev,
		Atim:    st.Atim,
		Mtim:    st.Mtim,
		Ctim:    st.Ctim,
		Size:    st.Size,
		Blocks:  st.Blocks,
		Blksize: saturate32(uint64(max(st.Blksize, 0))),
	}
}

func saturate32(v uint64) uint32 {
	return uint32(min(v, math.MaxUint32))
}

// DecodeLinuxStat reads a Linux x86-64 struct stat.
func DecodeLinuxStat(b []byte) (unix.Stat_t, error) {
	if len(b) < LinuxStatSize {
		return unix.Stat_t{}, shortError("linux stat", LinuxStatSize, len(b))
	}
	le := binary.LittleEndian
	ts := func(off int) unix.Timespec {
		return unix.Timespec{Sec: int64(le.Uint64(b[off:])), Nsec: int64(le.Uint64(b[off+8:]))}
	}
	return unix.Stat_t{
		Dev:     le.Uint64(b[0:]),
		Ino:     le.Uint64(b[8:]),
		Nlink:   le.Uint64(b[16:]),
		Mode:    le.Uint32(b[24:]),
		Uid:     le.Uint32(b[28:]),
		Gid:     le.Uint32(b[32:]),
		Rdev:    le.Uint64(b[40:]),
		Size:    int64(le.Uint64(b[48:])),
		Blksize: int64(le.Uint64(b[56:])),
		Blocks:  int64(le.Uint64(b[64:])),
		Atim:    ts(72),
		Mtim:    ts(88),
		Ctim:    ts(104),
	}, nil
}

// EncodeLinuxStat returns the Linux x86-64 struct stat bytes, reserved words
// zeroed.
func EncodeLinuxStat(st *unix.Stat_t) []byte {
	b := make([]byte, LinuxStatSize)
	le := binary.LittleEndian
	ts := func(off int, t unix.Timespec) {
		le.PutUint64(b[off:], uint64(t.Sec))
		le.PutUint64(b[off+8:], uint64(t.Nsec))
	}
	le.PutUint64(b[0:], st.Dev)
	le.PutUint64(b[8:], st.Ino)
	le.PutUint64(b[16:], st.Nlink)
	le.PutUint32(b[24:], st.Mode)
	le.PutUint32(b[28:], st.Uid)
	le.PutUint32(b[32:], st.Gid)
	le.PutUint64(b[40:], st.Rdev)
	le.PutUint64(b[48:], uint64(st.Size))
	le.PutUint64(b[56:], uint64(st.Blksize))
	le.PutUint64(b[64:], uint64(st.Blocks))
	ts(72, st.Atim)
	ts(88, st.Mtim)
	ts(104, st.Ctim)
	return b
}

// Statx translates the stat to the fields of a Linux statx. The mask claims
// the basic fields, and the birth time when the file system recorded one
// (NetBSD leaves it zero or -1 otherwise). Attributes and the mount id are
// not known and stay zero.
func (s Stat) Statx() unix.Statx_t {
	st := s.ToLinux()
	stamp := func(t unix.Timespec) unix.StatxTimestamp {
		return unix.StatxTimestamp{Sec: t.Sec, Nsec: uint32(t.Nsec)}
	}
	x := unix.Statx_t{
		Mask:       unix.STATX_BASIC_STATS,
		Blksize:    s.Blksize,
		Nlink:      s.Nlink,
		Uid:        s.Uid,
		Gid:        s.Gid,
		Mode:       uint16(linuxMode(s.Mode)),
		Ino:        s.Ino,
		Size:       uint64(s.Size),
		Blocks:     uint64(s.Blocks),
		Atime:      stamp(s.Atim),
		Ctime:      stamp(s.Ctim),
		Mtime:      stamp(s.Mtim),
		Rdev_major: unix.Major(st.Rdev),
		Rdev_minor: unix.Minor(st.Rdev),
		Dev_major:  unix.Major(st.Dev),
		Dev_minor:  unix.Minor(st.Dev),
	}
	if b := s.Birthtim; b.Sec > 0 || (b.Sec == 0 && b.Nsec > 0) {
		x.Mask |= unix.STATX_BTIME
		x.Btime = stamp(b)
	}
	return x
}

// Offsets in struct statx of the fields EncodeLinuxStatx writes.
const (
	statxAtime = 64
	statxBtime = 80
	statxCtime = 96
	statxMtime = 112
)

// EncodeLinuxStatx returns the Linux struct statx bytes of the fields this
// package fills (everything up to the device numbers), the rest zeroed.
func EncodeLinuxStatx(x *unix.Statx_t) []byte {
	b := make([]byte, LinuxStatxSize)
	le := binary.LittleEndian
	stamp := func(off int, t unix.StatxTimestamp) {
		le.PutUint64(b[off:], uint64(t.Sec))
		le.PutUint32(b[off+8:], t.Nsec)
	}
	le.PutUint32(b[0:], x.Mask)
	le.PutUint32(b[4:], x.Blksize)
	le.PutUint64(b[8:], x.Attributes)
	le.PutUint32(b[16:], x.Nlink)
	le.PutUint32(b[20:], x.Uid)
	le.PutUint32(b[24:], x.Gid)
	le.PutUint16(b[28:], x.Mode)
	le.PutUint64(b[32:], x.Ino)
	le.PutUint64(b[40:], x.Size)
	le.PutUint64(b[48:], x.Blocks)
	le.PutUint64(b[56:], x.Attributes_mask)
	stamp(statxAtime, x.Atime)
	stamp(statxBtime, x.Btime)
	stamp(statxCtime, x.Ctime)
	stamp(statxMtime, x.Mtime)
	le.PutUint32(b[128:], x.Rdev_major)
	le.PutUint32(b[132:], x.Rdev_minor)
	le.PutUint32(b[136:], x.Dev_major)
	le.PutUint32(b[140:], x.Dev_minor)
	le.PutUint64(b[144:], x.Mnt_id)
	return b
}

// DecodeLinuxStatx reads the fields of a Linux struct statx that
// EncodeLinuxStatx writes.
func DecodeLinuxStatx(b []byte) (unix.Statx_t, error) {
	if len(b) < LinuxStatxSize {
		return unix.Statx_t{}, shortError("linux statx", LinuxStatxSize, len(b))
	}
	le := binary.LittleEndian
	stamp := func(off int) unix.StatxTimestamp {
		return unix.StatxTimestamp{Sec: int64(le.Uint64(b[off:])), Nsec: le.Uint32(b[off+8:])}
	}
	return unix.Statx_t{
		Mask:            le.Uint32(b[0:]),
		Blksize:         le.Uint32(b[4:]),
		Attributes:      le.Uint64(b[8:]),
		Nlink:           le.Uint32(b[16:]),
		Uid:             le.Uint32(b[20:]),
		Gid:             le.Uint32(b[24:]),
		Mode:            le.Uint16(b[28:]),
		Ino:             le.Uint64(b[32:]),
		Size:            le.Uint64(b[40:]),
		Blocks:          le.Uint64(b[48:]),
		Attributes_mask: le.Uint64(b[56:]),
		Atime:           stamp(statxAtime),
		Btime:           stamp(statxBtime),
		Ctime:           stamp(statxCtime),
		Mtime:           stamp(statxMtime),
		Rdev_major:      le.Uint32(b[128:]),
		Rdev_minor:      le.Uint32(b[132:]),
		Dev_major:       le.Uint32(b[136:]),
		Dev_minor:       le.Uint32(b[140:]),
		Mnt_id:          le.Uint64(b[144:]),
	}, nil
}
