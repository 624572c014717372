package netbsd

import (
	"encoding/binary"
	"fmt"
	"math"

	"golang.org/x/sys/unix"
)

// Sizes of the time structures. struct timespec is {int64, long} on both, so
// one codec serves both sides; struct timeval is 16 bytes on both, but
// NetBSD's tv_usec is 32 bits followed by 4 bytes of padding.
const (
	TimespecSize = 16
	TimevalSize  = 16
)

// UTIME_NOW and UTIME_OMIT have the same values on Linux.
const (
	UTIME_NOW  = (1 << 30) - 1
	UTIME_OMIT = (1 << 30) - 2
)

// DecodeTimespec reads a struct timespec of either ABI.
func DecodeTimespec(b []byte) (unix.Timespec, error) {
	if len(b) < TimespecSize {
		return unix.Timespec{}, shortError("timespec", TimespecSize, len(b))
	}
	le := binary.LittleEndian
	return unix.Timespec{Sec: int64(le.Uint64(b)), Nsec: int64(le.Uint64(b[8:]))}, nil
}

// EncodeTimespec returns the bytes of a struct timespec of either ABI.
func EncodeTimespec(ts unix.Timespec) []byte {
	b := make([]byte, TimespecSize)
	binary.LittleEndian.PutUint64(b, uint64(ts.Sec))
	binary.LittleEndian.PutUint64(b[8:], uint64(ts.Nsec))
	return b
}

// Timeval mirrors NetBSD's struct timeval.
type Timeval struct {
	Sec  int64
	Usec int32
}

// DecodeTimeval reads a NetBSD struct timeval. The padding after tv_usec is
// ignored: it is whatever the kernel's stack held.
func DecodeTimeval(b []byte) (Timeval, error) {
	if len(b) < TimevalSize {
		return Timeval{}, shortError("netbsd timeval", TimevalSize, len(b))
	}
	le := binary.LittleEndian
	return Timeval{Sec: int64(le.Uint64(b)), Usec: int32(le.Uint32(b[8:]))}, nil
}

// Encode returns the NetBSD struct timeval bytes, padding zeroed.
func (t Timeval) Encode() []byte {
	b := make([]byte, TimevalSize)
	binary.LittleEndian.PutUint64(b, uint64(t.Sec))
	binary.LittleEndian.PutUint32(b[8:], uint32(t.Usec))
	return b
}

// TimevalFromLinux narrows a Linux timeval. A tv_usec that does not fit 32
// bits wraps ErrInvalid rather than being truncated, which could turn a value
// the kernel must reject into one it accepts.
func TimevalFromLinux(tv unix.Timeval) (Timeval, error) {
	if tv.Usec < math.MinInt32 || tv.Usec > math.MaxInt32 {
		return Timeval{}, fmt.Errorf("timeval usec %d: %w", tv.Usec, ErrInvalid)
	}
	return Timeval{Sec: tv.Sec, Usec: int32(tv.Usec)}, nil
}

// ToLinux widens the timeval, sign-extending tv_usec.
func (t Timeval) ToLinux() unix.Timeval {
	return unix.Timeval{Sec: t.Sec, Usec: int64(t.Usec)}
}

// DecodeLinuxTimeval reads a Linux x86-64 struct timeval.
func DecodeLinuxTimeval(b []byte) (unix.Timeval, error) {
	if len(b) < TimevalSize {
		return unix.Timeval{}, shortError("linux timeval", TimevalSize, len(b))
	}
	le := binary.LittleEndian
	return unix.Timeval{Sec: int64(le.Uint64(b)), Usec: int64(le.Uint64(b[8:]))}, nil
}

// EncodeLinuxTimeval returns the Linux x86-64 struct timeval bytes.
func EncodeLinuxTimeval(tv unix.Timeval) []byte {
	b := make([]byte, TimevalSize)
	binary.LittleEndian.PutUint64(b, uint64(tv.Sec))
	binary.LittleEndian.PutUint64(b[8:], uint64(tv.Usec))
	return b
}

// NetBSD clock ids. Only CLOCK_REALTIME has the same number on Linux.
const (
	CLOCK_REALTIME  = 0
	CLOCK_VIRTUAL   = 1
	CLOCK_PROF      = 2
	CLOCK_MONOTONIC = 3
)

var clockPairs = []numPair{
	{unix.CLOCK_REALTIME, CLOCK_REALTIME},
	{unix.CLOCK_MONOTONIC, CLOCK_MONOTONIC},
}

// ClockFromLinux translates a Linux clock id. Only CLOCK_REALTIME and
// CLOCK_MONOTONIC are translated; the CPU-time clocks would measure the rump
// kernel's process, not the caller, and the coarse, raw and boot-time clocks
// have no exact NetBSD match, so they wrap ErrNoEquivalent.
func ClockFromLinux(id int32) (int32, error) {
	if v, ok := lookup(clockPairs, int64(id), true); ok {
		return int32(v), nil
	}
	return 0, fmt.Errorf("linux clock %d: %w", id, ErrNoEquivalent)
}

// ClockToLinux translates a NetBSD clock id; CLOCK_VIRTUAL and CLOCK_PROF,
// which are itimer clocks on Linux rather than clock ids, wrap
// ErrNoEquivalent.
func ClockToLinux(id int32) (int32, error) {
	if v, ok := lookup(clockPairs, int64(id), false); ok {
		return int32(v), nil
	}
	return 0, fmt.Errorf("netbsd clock %d: %w", id, ErrNoEquivalent)
}

// SigsetSize is the size of NetBSD's sigset_t: four 32-bit words, signal s at
// bit (s-1)%32 of word (s-1)/32.
const SigsetSize = 16

// Sigset mirrors NetBSD's sigset_t.
type Sigset [4]uint32

// DecodeSigset reads a NetBSD sigset_t.
func DecodeSigset(b []byte) (Sigset, error) {
	if len(b) < SigsetSize {
		return Sigset{}, shortError("netbsd sigset", SigsetSize, len(b))
	}
	var s Sigset
	for i := range s {
		s[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return s, nil
}

// Encode returns the NetBSD sigset_t bytes.
func (s Sigset) Encode() []byte {
	b := make([]byte, SigsetSize)
	for i, w := range s {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b
}

// sigsetBits is the capacity of a Sigset, larger than NSIG: the spare bits
// exist in the kernel's structure and may come back set.
const sigsetBits = 8 * SigsetSize

// Has reports whether signal sig is in the set.
func (s Sigset) Has(sig Signal) bool {
	if sig < 1 || sig > sigsetBits {
		return false
	}
	return s[(sig-1)/32]&(1<<((sig-1)%32)) != 0
}

// Add puts signal sig in the set; numbers outside 1..128 are ignored, since
// a sigset has no room for them.
func (s *Sigset) Add(sig Signal) {
	if sig >= 1 && sig <= sigsetBits {
		s[(sig-1)/32] |= 1 << ((sig - 1) % 32)
	}
}

// SigsetFromLinux translates a Linux kernel sigset (64 bits, signal s at bit
// s-1). Signals with no NetBSD counterpart (SIGSTKFLT, the real-time ones)
// give a *BitsError holding their Linux bits; the set then holds the rest.
func SigsetFromLinux(mask uint64) (Sigset, error) {
	var s Sigset
	var rest uint64
	for sig := unix.Signal(1); sig <= 64; sig++ {
		bit := uint64(1) << (sig - 1)
		if mask&bit == 0 {
			continue
		}
		if nb, ok := SignalFromLinux(sig); ok {
			s.Add(nb)
		} else {
			rest |= bit
		}
	}
	return s, bitsError("linux sigset", rest)
}

// ToLinux translates the set to a Linux kernel sigset and returns the signals
// Linux cannot express (SIGEMT, SIGINFO, real-time, spare bits) in dropped.
func (s Sigset) ToLinux() (mask uint64, dropped Sigset) {
	for sig := Signal(1); sig <= sigsetBits; sig++ {
		if !s.Has(sig) {
			continue
		}
		if l, ok := SignalToLinux(sig); ok {
			mask |= 1 << (l - 1)
		} else {
			dropped.Add(sig)
		}
	}
	return mask, dropped
}
