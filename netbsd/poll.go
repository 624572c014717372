package netbsd

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// NetBSD poll events (sys/poll.h). POLLWRNORM is POLLOUT on NetBSD, a bit of
// its own on Linux.
const (
	POLLIN     = 0x0001
	POLLPRI    = 0x0002
	POLLOUT    = 0x0004
	POLLERR    = 0x0008
	POLLHUP    = 0x0010
	POLLNVAL   = 0x0020
	POLLRDNORM = 0x0040
	POLLRDBAND = 0x0080
	POLLWRNORM = POLLOUT
	POLLWRBAND = 0x0100
	INFTIM     = -1
)

// Linux poll bits x/sys/unix does not name on amd64.
const (
	LinuxPOLLRDNORM = 0x0040
	LinuxPOLLRDBAND = 0x0080
	LinuxPOLLWRNORM = 0x0100
	LinuxPOLLWRBAND = 0x0200
	LinuxPOLLMSG    = 0x0400
)

// PollFdSize is the size of struct pollfd {int fd; short events; short
// revents}, the same on both systems.
const PollFdSize = 8

var pollPairs = []flagPair{
	{unix.POLLIN, POLLIN},
	{unix.POLLPRI, POLLPRI},
	{unix.POLLOUT, POLLOUT},
	{unix.POLLERR, POLLERR},
	{unix.POLLHUP, POLLHUP},
	{unix.POLLNVAL, POLLNVAL},
	{LinuxPOLLRDNORM, POLLRDNORM},
	{LinuxPOLLRDBAND, POLLRDBAND},
	{LinuxPOLLWRNORM, POLLWRNORM},
	{LinuxPOLLWRBAND, POLLWRBAND},
}

// PollEventsFromLinux translates requested Linux events (or a host's revents,
// for an embedded server). POLLRDHUP and POLLMSG, which NetBSD never
// reports, give a *BitsError; a caller that drops them only loses early
// notice of a peer's shutdown, which POLLHUP or a zero read still give.
func PollEventsFromLinux(events int16) (int16, error) {
	out, rest := translate(uint64(uint16(events)), pollPairs, true)
	return int16(out), bitsError("linux poll events", rest)
}

// PollEventsToLinux translates NetBSD events. NetBSD POLLOUT stands for both
// Linux POLLOUT and POLLWRNORM, so both are set; use PollReventsToLinux to
// answer a Linux poll, which reports only what was asked.
func PollEventsToLinux(events int16) (linux, dropped int16) {
	out, rest := translate(uint64(uint16(events)), pollPairs, false)
	return int16(out), int16(rest)
}

// PollReventsToLinux translates the revents NetBSD returned for a pollfd whose
// Linux events were requested, keeping, as Linux does, only requested events
// and the three that are always reported.
func PollReventsToLinux(revents, requested int16) int16 {
	out, _ := PollEventsToLinux(revents)
	return out & (requested | unix.POLLERR | unix.POLLHUP | unix.POLLNVAL)
}

// DecodePollFds reads n consecutive struct pollfd of either system.
func DecodePollFds(b []byte, n int) ([]unix.PollFd, error) {
	if n < 0 {
		return nil, fmt.Errorf("pollfd count %d: %w", n, ErrInvalid)
	}
	if n > len(b)/PollFdSize {
		return nil, shortError(fmt.Sprintf("%d pollfds", n), n*PollFdSize, len(b))
	}
	le := binary.LittleEndian
	fds := make([]unix.PollFd, n)
	for i := range fds {
		p := b[PollFdSize*i:]
		fds[i] = unix.PollFd{
			Fd:      int32(le.Uint32(p)),
			Events:  int16(le.Uint16(p[4:])),
			Revents: int16(le.Uint16(p[6:])),
		}
	}
	return fds, nil
}

// EncodePollFds returns the bytes of consecutive struct pollfd.
func EncodePollFds(fds []unix.PollFd) []byte {
	b := make([]byte, 0, PollFdSize*len(fds))
	for _, p := range fds {
		b = binary.LittleEndian.AppendUint32(b, uint32(p.Fd))
		b = binary.LittleEndian.AppendUint16(b, uint16(p.Events))
		b = binary.LittleEndian.AppendUint16(b, uint16(p.Revents))
	}
	return b
}

// FdSetSize is the number of bytes the NetBSD kernel reads and writes of each
// fd_set of a select with nd descriptors: whole 32-bit words. The bit of fd n
// is bit n%8 of byte n/8 on both systems, so the bitmaps copy as they are.
func FdSetSize(nd int) int { return (max(nd, 0) + 31) / 32 * 4 }

// LinuxFdSetSize is the number of bytes a Linux program expects in each
// fd_set of a select with nd descriptors: whole 64-bit words. The bytes past
// FdSetSize must be cleared on the way back.
func LinuxFdSetSize(nd int) int { return (max(nd, 0) + 63) / 64 * 8 }
