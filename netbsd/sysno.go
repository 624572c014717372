package netbsd

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
)

// Sysno is a NetBSD system call number, the u field of a sysproxy SYSCALL
// request. NetBSD never renumbers a call; a changed ABI gets a new number.
type Sysno uint32

// String returns the syscalls.master name, so logs and metrics name calls the
// way NetBSD documentation does.
func (n Sysno) String() string {
	if c, ok := syscalls[n]; ok {
		return c.Name
	}
	return "sysno(" + strconv.FormatUint(uint64(n), 10) + ")"
}

// MaxSysno bounds the numbers a server accepts: rump_server answers ENOSYS for
// numbers at or above it, but casts the number to int first, so a client must
// never send one outside [0, MaxSysno) at all.
const MaxSysno Sysno = 512

// ArgKind is the C type class of one argument slot. Every slot is 8 bytes
// (register_t); the kind says how much of it the kernel reads and whether the
// value is an address in the client's address space.
type ArgKind uint8

const (
	// ArgInt is a 32-bit integer (int, u_int, mode_t, uid_t, pid_t,
	// socklen_t, clockid_t). The kernel reads only the low 4 bytes; ArgBlock
	// zeroes the others, as rumpclient does.
	ArgInt ArgKind = iota + 1
	// ArgLong is a 64-bit integer (size_t, off_t, u_long, dev_t, long).
	ArgLong
	// ArgPtr is an address in the client's address space. The kernel never
	// dereferences it: it asks for the memory with COPYIN/COPYOUT requests.
	ArgPtr
	// ArgPad is a slot syscalls.master inserts so that 64-bit arguments are
	// aligned on 32-bit machines. It exists on amd64 too and must be sent.
	ArgPad
)

// Arg describes one slot of a call's argument block.
type Arg struct {
	Name string
	Kind ArgKind
}

// Component is the rump library that must be linked into the server for a
// call to exist; without it the call fails with ENOSYS.
type Component uint8

const (
	// NotInRump marks calls a rump kernel never implements (exit, fork,
	// execve, mmap, ...). They are listed so that nobody sends them.
	NotInRump Component = iota
	// Librump is the base kernel, always present.
	Librump
	// Librumpvfs provides file systems and the VFS calls.
	Librumpvfs
	// Librumpnet provides sockets.
	Librumpnet
)

// Call describes one NetBSD system call as a rump client sends it.
type Call struct {
	// Name is the syscalls.master name, e.g. "__stat50".
	Name string
	// Args lists every slot of the argument block in order, PAD included.
	Args []Arg
	// Component is the library that provides the call.
	Component Component
	// NoErr marks calls whose response error field is not meaningful: the
	// outcome is in retval[0] and the reference client ignores error.
	NoErr bool
	// ErrnoResult marks NoErr calls whose retval[0] is a NetBSD errno, as
	// POSIX specifies for posix_fadvise, posix_fallocate and clock_nanosleep.
	ErrnoResult bool
	// TwoResults marks calls that return a second value in retval[1]:
	// getpid (ppid), getuid (euid), getgid (egid) and pipe (write end).
	TwoResults bool
}

// Declared returns the number of real arguments, PAD slots excluded: the
// number of values ArgBlock expects.
func (c Call) Declared() int {
	n := 0
	for _, a := range c.Args {
		if a.Kind != ArgPad {
			n++
		}
	}
	return n
}

// ArgBlock lays out the sysproxy payload of the call: one 8-byte
// little-endian slot per argument in declaration order, PAD slots zero. args
// holds the declared arguments only, without the PADs. The server does not
// check the payload length, so a block of the wrong size would make the
// kernel read past it; ArgBlock therefore insists on the exact count.
func (c Call) ArgBlock(args ...uint64) ([]byte, error) {
	if len(args) != c.Declared() {
		return nil, fmt.Errorf("%s: %d arguments given, %d declared: %w",
			c.Name, len(args), c.Declared(), ErrInvalid)
	}
	b := make([]byte, 8*len(c.Args))
	i := 0
	for slot, a := range c.Args {
		if a.Kind == ArgPad {
			continue
		}
		v := args[i]
		i++
		if a.Kind == ArgInt {
			v &= 0xffffffff
		}
		binary.LittleEndian.PutUint64(b[8*slot:], v)
	}
	return b, nil
}

// Lookup returns the description of NetBSD call nr. The Args slice is a copy,
// so callers may keep or change it.
func Lookup(nr Sysno) (Call, bool) {
	c, ok := syscalls[nr]
	c.Args = slices.Clone(c.Args)
	return c, ok
}

// ArgBlock is Lookup followed by Call.ArgBlock.
func ArgBlock(nr Sysno, args ...uint64) ([]byte, error) {
	c, ok := syscalls[nr]
	if !ok {
		return nil, fmt.Errorf("%v: %w", nr, ErrInvalid)
	}
	return c.ArgBlock(args...)
}

// Sysnos returns every number this package describes, in ascending order.
func Sysnos() []Sysno {
	out := make([]Sysno, 0, len(syscalls))
	for n := range syscalls {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Helpers that keep the table in syscalls.go one line per call.
func i32(name string) Arg { return Arg{name, ArgInt} }
func i64(name string) Arg { return Arg{name, ArgLong} }
func ptr(name string) Arg { return Arg{name, ArgPtr} }

var pad = Arg{"PAD", ArgPad}

func args(a ...Arg) []Arg { return a }
