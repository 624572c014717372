package netbsd

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// NetBSD open(2) and F_GETFL/F_SETFL flags (sys/fcntl.h).
const (
	O_RDONLY    = 0x00000000
	O_WRONLY    = 0x00000001
	O_RDWR      = 0x00000002
	O_ACCMODE   = 0x00000003
	O_NONBLOCK  = 0x00000004
	O_APPEND    = 0x00000008
	O_SHLOCK    = 0x00000010
	O_EXLOCK    = 0x00000020
	O_ASYNC     = 0x00000040
	O_SYNC      = 0x00000080
	O_NOFOLLOW  = 0x00000100
	O_CREAT     = 0x00000200
	O_TRUNC     = 0x00000400
	O_EXCL      = 0x00000800
	O_NOCTTY    = 0x00008000
	O_DSYNC     = 0x00010000
	O_RSYNC     = 0x00020000
	O_ALT_IO    = 0x00040000
	O_DIRECT    = 0x00080000
	O_DIRECTORY = 0x00200000
	O_CLOEXEC   = 0x00400000
	O_SEARCH    = 0x00800000
	O_NOSIGPIPE = 0x01000000
)

// Linux open flag bits that x/sys/unix does not name on amd64: the kernel
// value of O_LARGEFILE (unix.O_LARGEFILE is glibc's 0), and the single bits
// hidden inside O_SYNC and O_TMPFILE.
const (
	LinuxO_LARGEFILE = 0x8000
	Linux__O_SYNC    = 0x100000
	Linux__O_TMPFILE = 0x400000
)

var openFlagPairs = []flagPair{
	{unix.O_CREAT, O_CREAT},
	{unix.O_EXCL, O_EXCL},
	{unix.O_NOCTTY, O_NOCTTY},
	{unix.O_TRUNC, O_TRUNC},
	{unix.O_APPEND, O_APPEND},
	{unix.O_NONBLOCK, O_NONBLOCK},
	{unix.O_SYNC, O_SYNC}, // both Linux bits, before O_DSYNC
	{unix.O_DSYNC, O_DSYNC},
	{unix.O_ASYNC, O_ASYNC},
	{unix.O_DIRECT, O_DIRECT},
	{unix.O_DIRECTORY, O_DIRECTORY},
	{unix.O_NOFOLLOW, O_NOFOLLOW},
	{unix.O_CLOEXEC, O_CLOEXEC},
}

// OpenFlagsFromLinux translates Linux open(2) or F_SETFL flags. The access
// mode bits are the same on both. O_LARGEFILE is dropped because NetBSD's
// off_t is always 64 bits, so the flag's behaviour is already the default.
// O_PATH, O_TMPFILE, O_NOATIME and unknown bits have no NetBSD counterpart
// and give a *BitsError; the result then holds the bits that did map.
func OpenFlagsFromLinux(flags uint32) (uint32, error) {
	v := uint64(flags) &^ (unix.O_ACCMODE | LinuxO_LARGEFILE)
	out, rest := translate(v, openFlagPairs, true)
	out |= uint64(flags & unix.O_ACCMODE)
	return uint32(out), bitsError("linux open flags", rest)
}

// OpenFlagsToLinux translates NetBSD open or F_GETFL flags and returns the
// bits Linux cannot express (O_SHLOCK, O_EXLOCK, O_RSYNC, O_ALT_IO,
// O_SEARCH, O_NOSIGPIPE and unknown bits) in dropped.
func OpenFlagsToLinux(flags uint32) (linux, dropped uint32) {
	out, rest := translate(uint64(flags)&^O_ACCMODE, openFlagPairs, false)
	return uint32(out) | flags&O_ACCMODE, uint32(rest)
}

// linuxSetflFlags are the status flags Linux's F_SETFL changes; it ignores
// every other bit of its argument.
const linuxSetflFlags = unix.O_APPEND | unix.O_ASYNC | unix.O_DIRECT | unix.O_NOATIME |
	unix.O_NONBLOCK

// setflKept are the flags NetBSD's F_SETFL sets from its argument although
// Linux's F_SETFL cannot change them.
const setflKept = O_SYNC | O_DSYNC | O_RSYNC | O_ALT_IO | O_NOSIGPIPE

// SetflFromLinux returns the argument of NetBSD F_SETFL that makes the change
// Linux F_SETFL with flags makes, for a file whose NetBSD F_GETFL flags are
// current. NetBSD sets every status flag from the argument, O_SYNC and
// O_DSYNC too, so the flags Linux leaves alone are carried over from
// current. O_NOATIME is dropped: NetBSD has no such flag.
func SetflFromLinux(flags, current uint32) uint32 {
	set, _ := translate(uint64(flags&(linuxSetflFlags&^unix.O_NOATIME)), openFlagPairs, true)
	return uint32(set) | current&setflKept
}

// NetBSD fcntl(2) commands and values.
const (
	F_DUPFD         = 0
	F_GETFD         = 1
	F_SETFD         = 2
	F_GETFL         = 3
	F_SETFL         = 4
	F_GETOWN        = 5
	F_SETOWN        = 6
	F_GETLK         = 7
	F_SETLK         = 8
	F_SETLKW        = 9
	F_CLOSEM        = 10
	F_MAXFD         = 11
	F_DUPFD_CLOEXEC = 12
	F_GETNOSIGPIPE  = 13
	F_SETNOSIGPIPE  = 14

	FD_CLOEXEC = 1

	F_RDLCK = 1
	F_UNLCK = 2
	F_WRLCK = 3

	LOCK_SH = 0x1
	LOCK_EX = 0x2
	LOCK_NB = 0x4
	LOCK_UN = 0x8
)

var fcntlCmdPairs = []numPair{
	{unix.F_DUPFD, F_DUPFD},
	{unix.F_GETFD, F_GETFD},
	{unix.F_SETFD, F_SETFD},
	{unix.F_GETFL, F_GETFL},
	{unix.F_SETFL, F_SETFL},
	{unix.F_GETLK, F_GETLK},
	{unix.F_SETLK, F_SETLK},
	{unix.F_SETLKW, F_SETLKW},
	{unix.F_SETOWN, F_SETOWN},
	{unix.F_GETOWN, F_GETOWN},
	{unix.F_DUPFD_CLOEXEC, F_DUPFD_CLOEXEC},
}

// FcntlCmdFromLinux translates a Linux fcntl command. Commands NetBSD lacks
// (F_SETSIG, leases, pipe sizes, seals, OFD locks) wrap ErrNoEquivalent; in
// particular Linux F_SETSIG and F_GETSIG (10, 11) must never reach NetBSD,
// where those numbers are F_CLOSEM and F_MAXFD.
func FcntlCmdFromLinux(cmd int) (int, error) {
	if v, ok := lookup(fcntlCmdPairs, int64(cmd), true); ok {
		return int(v), nil
	}
	return 0, fmt.Errorf("linux fcntl command %d: %w", cmd, ErrNoEquivalent)
}

// FcntlCmdToLinux translates a NetBSD fcntl command; F_CLOSEM, F_MAXFD and
// the NOSIGPIPE commands wrap ErrNoEquivalent.
func FcntlCmdToLinux(cmd int) (int, error) {
	if v, ok := lookup(fcntlCmdPairs, int64(cmd), false); ok {
		return int(v), nil
	}
	return 0, fmt.Errorf("netbsd fcntl command %d: %w", cmd, ErrNoEquivalent)
}

var lockTypePairs = []numPair{
	{unix.F_RDLCK, F_RDLCK},
	{unix.F_WRLCK, F_WRLCK},
	{unix.F_UNLCK, F_UNLCK},
}

// Struct flock sizes; the field order differs, not only the widths.
const (
	FlockSize      = 24
	LinuxFlockSize = 32
)

// Flock mirrors NetBSD's struct flock; Type holds NetBSD F_RDLCK/F_WRLCK/
// F_UNLCK values.
type Flock struct {
	Start  int64
	Len    int64
	Pid    int32
	Type   int16
	Whence int16
}

// DecodeFlock reads a NetBSD struct flock.
func DecodeFlock(b []byte) (Flock, error) {
	if len(b) < FlockSize {
		return Flock{}, shortError("netbsd flock", FlockSize, len(b))
	}
	le := binary.LittleEndian
	return Flock{
		Start:  int64(le.Uint64(b[0:])),
		Len:    int64(le.Uint64(b[8:])),
		Pid:    int32(le.Uint32(b[16:])),
		Type:   int16(le.Uint16(b[20:])),
		Whence: int16(le.Uint16(b[22:])),
	}, nil
}

// Encode returns the NetBSD struct flock bytes.
func (f Flock) Encode() []byte {
	b := make([]byte, FlockSize)
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(f.Start))
	le.PutUint64(b[8:], uint64(f.Len))
	le.PutUint32(b[16:], uint32(f.Pid))
	le.PutUint16(b[20:], uint16(f.Type))
	le.PutUint16(b[22:], uint16(f.Whence))
	return b
}

// FlockFromLinux translates a Linux struct flock. SEEK_* whence values are the
// same on both; a lock type other than the three Linux ones wraps ErrInvalid,
// since the Linux kernel would reject it too.
func FlockFromLinux(l *unix.Flock_t) (Flock, error) {
	t, ok := lookup(lockTypePairs, int64(l.Type), true)
	if !ok {
		return Flock{}, fmt.Errorf("linux lock type %d: %w", l.Type, ErrInvalid)
	}
	return Flock{Start: l.Start, Len: l.Len, Pid: l.Pid, Type: int16(t), Whence: l.Whence}, nil
}

// ToLinux translates the lock, for F_GETLK answers. An unknown lock type wraps
// ErrInvalid.
func (f Flock) ToLinux() (unix.Flock_t, error) {
	t, ok := lookup(lockTypePairs, int64(f.Type), false)
	if !ok {
		return unix.Flock_t{}, fmt.Errorf("netbsd lock type %d: %w", f.Type, ErrInvalid)
	}
	return unix.Flock_t{Type: int16(t), Whence: f.Whence, Start: f.Start, Len: f.Len,
		Pid: f.Pid}, nil
}

// DecodeLinuxFlock reads a Linux x86-64 struct flock.
func DecodeLinuxFlock(b []byte) (unix.Flock_t, error) {
	if len(b) < LinuxFlockSize {
		return unix.Flock_t{}, shortError("linux flock", LinuxFlockSize, len(b))
	}
	le := binary.LittleEndian
	return unix.Flock_t{
		Type:   int16(le.Uint16(b[0:])),
		Whence: int16(le.Uint16(b[2:])),
		Start:  int64(le.Uint64(b[8:])),
		Len:    int64(le.Uint64(b[16:])),
		Pid:    int32(le.Uint32(b[24:])),
	}, nil
}

// EncodeLinuxFlock returns the Linux x86-64 struct flock bytes.
func EncodeLinuxFlock(l *unix.Flock_t) []byte {
	b := make([]byte, LinuxFlockSize)
	le := binary.LittleEndian
	le.PutUint16(b[0:], uint16(l.Type))
	le.PutUint16(b[2:], uint16(l.Whence))
	le.PutUint64(b[8:], uint64(l.Start))
	le.PutUint64(b[16:], uint64(l.Len))
	le.PutUint32(b[24:], uint32(l.Pid))
	return b
}

// NetBSD *at(2) values. AT_FDCWD is the same on Linux.
const (
	AT_FDCWD            = -100
	AT_EACCESS          = 0x100
	AT_SYMLINK_NOFOLLOW = 0x200
	AT_SYMLINK_FOLLOW   = 0x400
	AT_REMOVEDIR        = 0x800
)

var atFlagPairs = []flagPair{
	{unix.AT_SYMLINK_NOFOLLOW, AT_SYMLINK_NOFOLLOW},
	{unix.AT_REMOVEDIR, AT_REMOVEDIR},
	{unix.AT_SYMLINK_FOLLOW, AT_SYMLINK_FOLLOW},
}

// Linux reuses 0x200 for AT_EACCESS in faccessat alone, so that call has its
// own table.
var faccessatFlagPairs = []flagPair{
	{unix.AT_SYMLINK_NOFOLLOW, AT_SYMLINK_NOFOLLOW},
	{unix.AT_EACCESS, AT_EACCESS},
}

// AtFlagsFromLinux translates the flag argument of the *at calls other than
// faccessat. AT_NO_AUTOMOUNT is dropped because NetBSD lookups never trigger
// automounts, so the flag's behaviour is already the default. AT_EMPTY_PATH
// gives a *BitsError like any bit without a counterpart: the caller emulates
// it with the fd-based call (fstat, fchown, ...).
func AtFlagsFromLinux(flags uint32) (uint32, error) {
	out, rest := translate(uint64(flags)&^unix.AT_NO_AUTOMOUNT, atFlagPairs, true)
	return uint32(out), bitsError("linux at flags", rest)
}

// AtFlagsToLinux translates NetBSD *at flags, as an embedded server receives
// them. NetBSD AT_EACCESS and AT_REMOVEDIR both become Linux 0x200, which is
// right because no call accepts both.
func AtFlagsToLinux(flags uint32) (linux, dropped uint32) {
	out, rest := translate(uint64(flags), atFlagPairs, false)
	eacc, rest := translate(rest, faccessatFlagPairs, false)
	return uint32(out | eacc), uint32(rest)
}

// FaccessatFlagsFromLinux translates the flag argument of faccessat2.
func FaccessatFlagsFromLinux(flags uint32) (uint32, error) {
	out, rest := translate(uint64(flags), faccessatFlagPairs, true)
	return uint32(out), bitsError("linux faccessat flags", rest)
}
