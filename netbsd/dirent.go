package netbsd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// Directory entry types, the same numbers on Linux.
const (
	DT_UNKNOWN = 0
	DT_FIFO    = 1
	DT_CHR     = 2
	DT_DIR     = 4
	DT_BLK     = 6
	DT_REG     = 8
	DT_LNK     = 10
	DT_SOCK    = 12
	DT_WHT     = 14
)

// MAXNAMLEN is the longest name a NetBSD dirent holds. Linux's NAME_MAX is
// 255, but its records have room for any length.
const MAXNAMLEN = 511

// Fixed parts of the three record formats: the offset of d_name.
const (
	direntName        = 13 // NetBSD: fileno u64, reclen u16, namlen u16, type u8
	linuxDirent64Name = 19 // ino u64, off s64, reclen u16, type u8
	linuxDirentName   = 18 // ino, off, reclen u16; d_type is the record's last byte
)

// Dirent is one directory entry of either system. NetBSD records carry no
// offset, so Off is zero after ParseDirents; d_off of Linux records has to be
// synthesised by the caller, for instance from lseek(fd, 0, SEEK_CUR) after
// a batch.
// UNVERIFIED: whether per-entry seekdir positions can be reproduced exactly.
type Dirent struct {
	Ino  uint64
	Off  int64
	Type uint8
	Name string
}

// DirentSize is the NetBSD record length for a name of n bytes: header, name,
// NUL, padded to 8.
func DirentSize(n int) int { return align8(direntName + n + 1) }

// LinuxDirent64Size is the linux_dirent64 record length for a name of n bytes.
func LinuxDirent64Size(n int) int { return align8(linuxDirent64Name + n + 1) }

// LinuxDirentSize is the old linux_dirent record length for a name of n
// bytes: header, name, NUL and the trailing d_type byte, padded to 8.
func LinuxDirentSize(n int) int { return align8(linuxDirentName + n + 2) }

// ParseDirents splits what NetBSD's __getdents30 filled in. A record whose
// length is zero, runs past the buffer, or cannot hold its name wraps
// ErrInvalid; a trailing fragment too short for a header wraps ErrShort.
func ParseDirents(b []byte) ([]Dirent, error) {
	var out []Dirent
	le := binary.LittleEndian
	for off := 0; off < len(b); {
		rec := b[off:]
		if len(rec) < direntName {
			return nil, shortError("netbsd dirent", direntName, len(rec))
		}
		reclen, namlen := int(le.Uint16(rec[8:])), int(le.Uint16(rec[10:]))
		if reclen < direntName+namlen+1 || reclen > len(rec) || namlen > MAXNAMLEN {
			return nil, fmt.Errorf("netbsd dirent at %d: reclen %d, namlen %d in %d bytes: %w",
				off, reclen, namlen, len(rec), ErrInvalid)
		}
		out = append(out, Dirent{
			Ino:  le.Uint64(rec),
			Type: rec[12],
			Name: string(rec[direntName : direntName+namlen]),
		})
		off += reclen
	}
	return out, nil
}

// checkName refuses names no directory can hold: empty ones, and ones with a
// NUL or a slash, which would corrupt a record or a path.
func checkName(name string, limit int) error {
	if name == "" || len(name) > limit || strings.ContainsAny(name, "\x00/") {
		return fmt.Errorf("dirent name %q: %w", name, ErrInvalid)
	}
	return nil
}

// AppendDirent appends the NetBSD record of d to b, as an embedded server
// answers __getdents30.
func AppendDirent(b []byte, d Dirent) ([]byte, error) {
	if err := checkName(d.Name, MAXNAMLEN); err != nil {
		return b, err
	}
	rec := make([]byte, DirentSize(len(d.Name)))
	le := binary.LittleEndian
	le.PutUint64(rec, d.Ino)
	le.PutUint16(rec[8:], uint16(len(rec)))
	le.PutUint16(rec[10:], uint16(len(d.Name)))
	rec[12] = d.Type
	copy(rec[direntName:], d.Name)
	return append(b, rec...), nil
}

// AppendLinuxDirent64 appends the linux_dirent64 record of d to b.
func AppendLinuxDirent64(b []byte, d Dirent) ([]byte, error) {
	if err := checkName(d.Name, MAXNAMLEN); err != nil {
		return b, err
	}
	rec := make([]byte, LinuxDirent64Size(len(d.Name)))
	le := binary.LittleEndian
	le.PutUint64(rec, d.Ino)
	le.PutUint64(rec[8:], uint64(d.Off))
	le.PutUint16(rec[16:], uint16(len(rec)))
	rec[18] = d.Type
	copy(rec[linuxDirent64Name:], d.Name)
	return append(b, rec...), nil
}

// AppendLinuxDirent appends the old linux_dirent record of d to b, d_type in
// the record's last byte.
func AppendLinuxDirent(b []byte, d Dirent) ([]byte, error) {
	if err := checkName(d.Name, MAXNAMLEN); err != nil {
		return b, err
	}
	rec := make([]byte, LinuxDirentSize(len(d.Name)))
	le := binary.LittleEndian
	le.PutUint64(rec, d.Ino)
	le.PutUint64(rec[8:], uint64(d.Off))
	le.PutUint16(rec[16:], uint16(len(rec)))
	copy(rec[linuxDirentName:], d.Name)
	rec[len(rec)-1] = d.Type
	return append(b, rec...), nil
}

// ParseLinuxDirents64 splits what Linux getdents64 filled in, as an embedded
// server reads host directories. The name ends at its NUL within the record.
func ParseLinuxDirents64(b []byte) ([]Dirent, error) {
	return parseLinux(b, linuxDirent64Name, false)
}

// ParseLinuxDirents splits what the old Linux getdents filled in.
func ParseLinuxDirents(b []byte) ([]Dirent, error) {
	return parseLinux(b, linuxDirentName, true)
}

// parseLinux reads records whose name starts at nameOff; typeLast says the
// type is the record's last byte (old format) instead of the byte at 18.
func parseLinux(b []byte, nameOff int, typeLast bool) ([]Dirent, error) {
	trailer := 0
	if typeLast {
		trailer = 1
	}
	var out []Dirent
	le := binary.LittleEndian
	for off := 0; off < len(b); {
		rec := b[off:]
		if len(rec) < nameOff {
			return nil, shortError("linux dirent", nameOff, len(rec))
		}
		reclen := int(le.Uint16(rec[16:]))
		if reclen <= nameOff+trailer || reclen > len(rec) {
			return nil, fmt.Errorf("linux dirent at %d: reclen %d in %d bytes: %w",
				off, reclen, len(rec), ErrInvalid)
		}
		rec = rec[:reclen]
		name, typ := rec[nameOff:], rec[18]
		if typeLast {
			name, typ = rec[nameOff:reclen-1], rec[reclen-1]
		}
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		out = append(out, Dirent{
			Ino:  le.Uint64(rec),
			Off:  int64(le.Uint64(rec[8:])),
			Type: typ,
			Name: string(name),
		})
		off += reclen
	}
	return out, nil
}
