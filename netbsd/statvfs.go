package netbsd

import (
	"bytes"
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Sizes of NetBSD's struct statvfs and Linux's struct statfs, and of the name
// fields of the former.
const (
	StatvfsSize     = 2256
	LinuxStatfsSize = 120
	VFS_NAMELEN     = 32
	VFS_MNAMELEN    = 1024
)

// Flags of statvfs1, fstatvfs1 and getvfsstat. Zero, which the Linux statfs
// mapping sends, refreshes the statistics like ST_WAIT.
const (
	ST_WAIT   = 1
	ST_NOWAIT = 2
)

// NetBSD mount flags as statvfs reports them in f_flag (sys/fstypes.h).
const (
	MNT_RDONLY      = 0x00000001
	MNT_SYNCHRONOUS = 0x00000002
	MNT_NOEXEC      = 0x00000004
	MNT_NOSUID      = 0x00000008
	MNT_NODEV       = 0x00000010
	MNT_UNION       = 0x00000020
	MNT_ASYNC       = 0x00000040
	MNT_NOCOREDUMP  = 0x00008000
	MNT_RELATIME    = 0x00020000
	MNT_IGNORE      = 0x00100000
	MNT_LOCAL       = 0x00001000
	MNT_NOATIME     = 0x04000000
	MNT_FORCE       = 0x00080000
)

// LinuxST_VALID is the statfs f_flags bit saying the flags are filled in;
// Linux sets it on every answer, and x/sys/unix does not name it.
const LinuxST_VALID = 0x20

var mountFlagPairs = []flagPair{
	{unix.ST_RDONLY, MNT_RDONLY},
	{unix.ST_NOSUID, MNT_NOSUID},
	{unix.ST_NODEV, MNT_NODEV},
	{unix.ST_NOEXEC, MNT_NOEXEC},
	{unix.ST_SYNCHRONOUS, MNT_SYNCHRONOUS},
	{unix.ST_NOATIME, MNT_NOATIME},
	{unix.ST_RELATIME, MNT_RELATIME},
}

// Statvfs mirrors NetBSD's struct statvfs.
type Statvfs struct {
	Flag        uint64 // MNT_* bits
	Bsize       uint64
	Frsize      uint64 // the unit of the block counts
	Iosize      uint64
	Blocks      uint64
	Bfree       uint64
	Bavail      uint64
	Bresvd      uint64
	Files       uint64
	Ffree       uint64
	Favail      uint64
	Fresvd      uint64
	SyncReads   uint64
	SyncWrites  uint64
	AsyncReads  uint64
	AsyncWrites uint64
	Fsidx       [2]int32
	Fsid        uint64
	Namemax     uint64
	Owner       uint32
	Fstypename  string
	Mntonname   string
	Mntfromname string
}

// words returns the 64-bit fields from f_flag to f_asyncwrites in declaration
// order; they sit back to back from offset 0, so field i is at 8*i.
func (s *Statvfs) words() []*uint64 {
	return []*uint64{&s.Flag, &s.Bsize, &s.Frsize, &s.Iosize,
		&s.Blocks, &s.Bfree, &s.Bavail, &s.Bresvd,
		&s.Files, &s.Ffree, &s.Favail, &s.Fresvd,
		&s.SyncReads, &s.SyncWrites, &s.AsyncReads, &s.AsyncWrites}
}

// Offsets of the fields after the counters.
const (
	statvfsFsidx       = 128
	statvfsFsid        = 136
	statvfsNamemax     = 144
	statvfsOwner       = 152
	statvfsFstypename  = 172
	statvfsMntonname   = statvfsFstypename + VFS_NAMELEN
	statvfsMntfromname = statvfsMntonname + VFS_MNAMELEN
)

// DecodeStatvfs reads a NetBSD struct statvfs. The names end at their first
// NUL, or at the end of their field.
func DecodeStatvfs(b []byte) (Statvfs, error) {
	if len(b) < StatvfsSize {
		return Statvfs{}, shortError("netbsd statvfs", StatvfsSize, len(b))
	}
	le := binary.LittleEndian
	var s Statvfs
	for i, w := range s.words() {
		*w = le.Uint64(b[8*i:])
	}
	s.Fsidx[0] = int32(le.Uint32(b[statvfsFsidx:]))
	s.Fsidx[1] = int32(le.Uint32(b[statvfsFsidx+4:]))
	s.Fsid = le.Uint64(b[statvfsFsid:])
	s.Namemax = le.Uint64(b[statvfsNamemax:])
	s.Owner = le.Uint32(b[statvfsOwner:])
	s.Fstypename = cString(b[statvfsFstypename:statvfsMntonname])
	s.Mntonname = cString(b[statvfsMntonname:statvfsMntfromname])
	s.Mntfromname = cString(b[statvfsMntfromname : statvfsMntfromname+VFS_MNAMELEN])
	return s, nil
}

// Encode returns the NetBSD struct statvfs bytes. Names longer than their
// field minus the NUL are cut, as the NetBSD kernel cuts them.
func (s Statvfs) Encode() []byte {
	b := make([]byte, StatvfsSize)
	le := binary.LittleEndian
	for i, w := range s.words() {
		le.PutUint64(b[8*i:], *w)
	}
	le.PutUint32(b[statvfsFsidx:], uint32(s.Fsidx[0]))
	le.PutUint32(b[statvfsFsidx+4:], uint32(s.Fsidx[1]))
	le.PutUint64(b[statvfsFsid:], s.Fsid)
	le.PutUint64(b[statvfsNamemax:], s.Namemax)
	le.PutUint32(b[statvfsOwner:], s.Owner)
	putCString(b[statvfsFstypename:statvfsMntonname], s.Fstypename)
	putCString(b[statvfsMntonname:statvfsMntfromname], s.Mntonname)
	putCString(b[statvfsMntfromname:statvfsMntfromname+VFS_MNAMELEN], s.Mntfromname)
	return b
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// putCString writes s NUL-terminated into field, cutting it to fit.
func putCString(field []byte, s string) {
	n := copy(field[:len(field)-1], s)
	field[n] = 0
}

// linuxFSMagic gives the Linux f_type of the NetBSD file systems that have a
// Linux twin. rumpfs, the rump kernel's memory file system, is reported as
// ramfs, the closest Linux kind. Others get 0, which Linux programs treat as
// an unknown type.
var linuxFSMagic = map[string]int64{
	"ffs":    0x00011954, // UFS_MAGIC, not in x/sys/unix
	"ext2fs": unix.EXT2_SUPER_MAGIC,
	"tmpfs":  unix.TMPFS_MAGIC,
	"rumpfs": unix.RAMFS_MAGIC,
	"msdos":  unix.MSDOS_SUPER_MAGIC,
	"cd9660": unix.ISOFS_SUPER_MAGIC,
	"nfs":    unix.NFS_SUPER_MAGIC,
	"procfs": unix.PROC_SUPER_MAGIC,
	"ptyfs":  unix.DEVPTS_SUPER_MAGIC,
}

// ToLinux synthesises a Linux statfs. Linux programs compute sizes as
// f_bsize × f_blocks (statfs) or f_frsize × f_blocks (statvfs), so both are
// set to NetBSD's f_frsize, the unit of the counts. Mount flags without a
// Linux ST_* bit are dropped, ST_VALID is set as Linux does.
func (s Statvfs) ToLinux() unix.Statfs_t {
	flags, _ := translate(s.Flag, mountFlagPairs, false)
	return unix.Statfs_t{
		Type:    linuxFSMagic[s.Fstypename],
		Bsize:   int64(s.Frsize),
		Blocks:  s.Blocks,
		Bfree:   s.Bfree,
		Bavail:  s.Bavail,
		Files:   s.Files,
		Ffree:   s.Ffree,
		Fsid:    unix.Fsid{Val: s.Fsidx},
		Namelen: int64(s.Namemax),
		Frsize:  int64(s.Frsize),
		Flags:   int64(flags) | LinuxST_VALID,
	}
}

// StatvfsFromLinux builds the NetBSD statvfs an embedded server reports for a
// host file system. The names are not in a statfs: Fstypename is derived from
// the magic number where one is known, and the mount names are left for the
// caller. Blocks free to root but not to others count as reserved. Linux
// flags with no MNT_* bit (ST_VALID, ST_MANDLOCK, ...) are dropped: f_flag
// only informs.
func StatvfsFromLinux(st *unix.Statfs_t) Statvfs {
	flags, _ := translate(uint64(st.Flags), mountFlagPairs, true)
	frsize := st.Frsize
	if frsize == 0 {
		frsize = st.Bsize
	}
	var name string
	for n, magic := range linuxFSMagic {
		if magic == st.Type {
			name = n
		}
	}
	return Statvfs{
		Flag:       flags,
		Bsize:      uint64(st.Bsize),
		Frsize:     uint64(frsize),
		Iosize:     uint64(st.Bsize),
		Blocks:     st.Blocks,
		Bfree:      st.Bfree,
		Bavail:     st.Bavail,
		Bresvd:     st.Bfree - min(st.Bavail, st.Bfree),
		Files:      st.Files,
		Ffree:      st.Ffree,
		Favail:     st.Ffree,
		Fsidx:      st.Fsid.Val,
		Fsid:       uint64(uint32(st.Fsid.Val[0])),
		Namemax:    uint64(st.Namelen),
		Fstypename: name,
	}
}

// DecodeLinuxStatfs reads a Linux x86-64 struct statfs.
func DecodeLinuxStatfs(b []byte) (unix.Statfs_t, error) {
	if len(b) < LinuxStatfsSize {
		return unix.Statfs_t{}, shortError("linux statfs", LinuxStatfsSize, len(b))
	}
	le := binary.LittleEndian
	return unix.Statfs_t{
		Type:    int64(le.Uint64(b[0:])),
		Bsize:   int64(le.Uint64(b[8:])),
		Blocks:  le.Uint64(b[16:]),
		Bfree:   le.Uint64(b[24:]),
		Bavail:  le.Uint64(b[32:]),
		Files:   le.Uint64(b[40:]),
		Ffree:   le.Uint64(b[48:]),
		Fsid:    unix.Fsid{Val: [2]int32{int32(le.Uint32(b[56:])), int32(le.Uint32(b[60:]))}},
		Namelen: int64(le.Uint64(b[64:])),
		Frsize:  int64(le.Uint64(b[72:])),
		Flags:   int64(le.Uint64(b[80:])),
	}, nil
}

// EncodeLinuxStatfs returns the Linux x86-64 struct statfs bytes, spares
// zeroed.
func EncodeLinuxStatfs(st *unix.Statfs_t) []byte {
	b := make([]byte, LinuxStatfsSize)
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(st.Type))
	le.PutUint64(b[8:], uint64(st.Bsize))
	le.PutUint64(b[16:], st.Blocks)
	le.PutUint64(b[24:], st.Bfree)
	le.PutUint64(b[32:], st.Bavail)
	le.PutUint64(b[40:], st.Files)
	le.PutUint64(b[48:], st.Ffree)
	le.PutUint32(b[56:], uint32(st.Fsid.Val[0]))
	le.PutUint32(b[60:], uint32(st.Fsid.Val[1]))
	le.PutUint64(b[64:], uint64(st.Namelen))
	le.PutUint64(b[72:], uint64(st.Frsize))
	le.PutUint64(b[80:], uint64(st.Flags))
	return b
}

// UnmountFlagsFromLinux translates the flags of Linux umount2 for NetBSD
// unmount. MNT_DETACH, MNT_EXPIRE and UMOUNT_NOFOLLOW have no counterpart and
// give a *BitsError.
func UnmountFlagsFromLinux(flags uint32) (uint32, error) {
	out, rest := translate(uint64(flags), []flagPair{{unix.MNT_FORCE, MNT_FORCE}}, true)
	return uint32(out), bitsError("linux umount2 flags", rest)
}
