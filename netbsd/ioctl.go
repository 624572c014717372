package netbsd

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// NetBSD ioctl command encoding (sys/ioccom.h): direction bits, a 13-bit
// parameter length, a group letter and a number. The NetBSD kernel copies
// the parameter in and out itself according to these bits, so a command with
// the wrong length moves the wrong amount of the caller's memory.
const (
	IOC_VOID     = 0x20000000
	IOC_OUT      = 0x40000000
	IOC_IN       = 0x80000000
	IOC_INOUT    = IOC_IN | IOC_OUT
	IOC_DIRMASK  = 0xe0000000
	IOCPARM_MASK = 0x1fff
)

// IOC builds a NetBSD ioctl command. A length that does not fit the 13-bit
// field is cut, as the C macro cuts it.
func IOC(dir uint32, group byte, num byte, size int) uint32 {
	return dir | (uint32(size)&IOCPARM_MASK)<<16 | uint32(group)<<8 | uint32(num)
}

// IO builds a command without parameter, as _IO does.
func IO(group, num byte) uint32 { return IOC(IOC_VOID, group, num, 0) }

// IOR builds a command whose parameter the kernel writes, as _IOR does.
func IOR(group, num byte, size int) uint32 { return IOC(IOC_OUT, group, num, size) }

// IOW builds a command whose parameter the kernel reads, as _IOW does.
func IOW(group, num byte, size int) uint32 { return IOC(IOC_IN, group, num, size) }

// IOWR builds a command whose parameter goes both ways, as _IOWR does.
func IOWR(group, num byte, size int) uint32 { return IOC(IOC_INOUT, group, num, size) }

// IoctlDir returns the direction bits of a NetBSD command.
func IoctlDir(cmd uint32) uint32 { return cmd & IOC_DIRMASK }

// IoctlLen returns the parameter length of a NetBSD command.
func IoctlLen(cmd uint32) int { return int(cmd>>16) & IOCPARM_MASK }

// IoctlGroup returns the group letter of a NetBSD command.
func IoctlGroup(cmd uint32) byte { return byte(cmd >> 8) }

// IoctlNum returns the number of a NetBSD command within its group.
func IoctlNum(cmd uint32) byte { return byte(cmd) }

// Sizes of the NetBSD structures some commands below carry; Linux's ifreq is
// 40 bytes and its termios 60, which is why those commands cannot simply be
// renumbered.
const (
	IfreqSize   = 144
	IfconfSize  = 16
	TermiosSize = 44
)

// NetBSD ioctl commands of interest to a Linux client, spelled out as IOC
// would build them so that they stay constants.
const (
	FIOCLEX        = IOC_VOID | 'f'<<8 | 1
	FIONCLEX       = IOC_VOID | 'f'<<8 | 2
	FIONSPACE      = IOC_OUT | 4<<16 | 'f'<<8 | 120
	FIONWRITE      = IOC_OUT | 4<<16 | 'f'<<8 | 121
	FIOASYNC       = IOC_IN | 4<<16 | 'f'<<8 | 125
	FIONBIO        = IOC_IN | 4<<16 | 'f'<<8 | 126
	FIONREAD       = IOC_OUT | 4<<16 | 'f'<<8 | 127
	SIOCATMARK     = IOC_OUT | 4<<16 | 's'<<8 | 7
	SIOCSIFFLAGS   = IOC_IN | IfreqSize<<16 | 'i'<<8 | 16
	SIOCGIFFLAGS   = IOC_INOUT | IfreqSize<<16 | 'i'<<8 | 17
	SIOCGIFADDR    = IOC_INOUT | IfreqSize<<16 | 'i'<<8 | 33
	SIOCGIFNETMASK = IOC_INOUT | IfreqSize<<16 | 'i'<<8 | 37
	SIOCGIFCONF    = IOC_INOUT | IfconfSize<<16 | 'i'<<8 | 38
	SIOCGIFMTU     = IOC_INOUT | IfreqSize<<16 | 'i'<<8 | 126
	SIOCGIFINDEX   = IOC_INOUT | IfreqSize<<16 | 'i'<<8 | 140
	TIOCGETA       = IOC_OUT | TermiosSize<<16 | 't'<<8 | 19
)

// Linux ioctl numbers that x/sys/unix does not name on amd64; they are legacy
// numbers without direction or size bits.
const (
	LinuxFIONREAD = 0x541b
	LinuxFIONBIO  = 0x5421
	LinuxFIONCLEX = 0x5450
	LinuxFIOCLEX  = 0x5451
	LinuxFIOASYNC = 0x5452
)

// ioctlPairs lists the commands whose parameter is nothing or one int on both
// systems, so that renumbering is the whole translation.
var ioctlPairs = []numPair{
	{LinuxFIONREAD, FIONREAD},
	{LinuxFIONBIO, FIONBIO},
	{LinuxFIOASYNC, FIOASYNC},
	{LinuxFIOCLEX, FIOCLEX},
	{LinuxFIONCLEX, FIONCLEX},
	{unix.SIOCATMARK, SIOCATMARK},
}

// IoctlFromLinux translates a Linux ioctl command whose parameter needs no
// translation: FIONREAD, FIONBIO, FIOASYNC, FIOCLEX, FIONCLEX and
// SIOCATMARK. Everything else wraps ErrNoEquivalent, including TCGETS: rump
// descriptors are files, sockets and the console, never terminals, so the
// right answer to a program's isatty probe is ENOTTY, which is also what
// Linux answers for an ioctl a file does not know. The interface ioctls
// (SIOCGIF*) need their ifreq rewritten and are not translated here.
// The result fills an ArgLong slot: pass it as uint64(cmd), never
// sign-extended, since the kernel reads the whole u_long.
func IoctlFromLinux(cmd uint64) (uint32, error) {
	// Linux declares the command an unsigned int and ignores the upper half
	// of the register.
	if v, ok := lookup(ioctlPairs, int64(cmd&0xffffffff), true); ok {
		return uint32(v), nil
	}
	return 0, fmt.Errorf("linux ioctl %#x: %w", cmd, ErrNoEquivalent)
}

// IoctlToLinux translates a NetBSD command of the same set, for an embedded
// server.
func IoctlToLinux(cmd uint32) (uint64, error) {
	if v, ok := lookup(ioctlPairs, int64(cmd), false); ok {
		return uint64(v), nil
	}
	return 0, fmt.Errorf("netbsd ioctl %#x: %w", cmd, ErrNoEquivalent)
}
