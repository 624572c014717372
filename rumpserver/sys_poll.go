package rumpserver

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// maxPollFds bounds the descriptors of one poll.
const maxPollFds = 4096

// poll(fds, nfds, timeout); a negative timeout (INFTIM) waits forever.
func (cl *call) sysPoll() (int64, netbsd.Errno) {
	timeout := time.Duration(-1)
	if ms := cl.int(2); ms >= 0 {
		timeout = time.Duration(ms) * time.Millisecond
	}
	return cl.doPoll(cl.ptr(0), cl.uint(1), timeout)
}

// __pollts50(fds, nfds, ts, mask); a NULL ts waits forever. The signal mask,
// which would apply while the call sleeps, is ignored: this kernel posts no
// signals to a sleeping process.
func (cl *call) sysPollts() (int64, netbsd.Errno) {
	timeout := time.Duration(-1)
	if cl.ptr(2) != 0 {
		b, errno := cl.copyin(cl.ptr(2), netbsd.TimespecSize)
		if errno != 0 {
			return 0, errno
		}
		ts, err := netbsd.DecodeTimespec(b)
		if err != nil || ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= 1e9 {
			return 0, netbsd.EINVAL
		}
		timeout = time.Duration(ts.Nsec)
		if ts.Sec < int64(1<<62/time.Second) {
			timeout += time.Duration(ts.Sec) * time.Second
		} else {
			timeout = -1
		}
	}
	return cl.doPoll(cl.ptr(0), cl.uint(1), timeout)
}

// pollSet is one round of a poll: the host descriptors to wait on, which
// pollfd each stands for, and what the round holds.
type pollSet struct {
	host    []unix.PollFd
	index   []int
	entries []*fdEntry
	files   []*file
	ready   int
}

func (ps *pollSet) release() {
	for _, f := range ps.files {
		f.release()
	}
}

// doPoll waits until one of the pollfds at addr is ready or timeout passes.
// Descriptors are looked up afresh after every wake-up, so one closed while
// the call waits reports POLLNVAL, as a NetBSD poll sees it on its next scan.
func (cl *call) doPoll(addr uint64, nfds uint32, timeout time.Duration) (int64, netbsd.Errno) {
	if nfds > maxPollFds {
		return 0, netbsd.EINVAL
	}
	b, errno := cl.copyin(addr, int(nfds)*netbsd.PollFdSize)
	if errno != 0 {
		return 0, errno
	}
	fds, err := netbsd.DecodePollFds(b, int(nfds))
	if err != nil {
		return 0, netbsd.EINVAL
	}
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}

	for {
		ps := cl.pollRound(fds)
		wait := time.Duration(-1)
		if timeout >= 0 {
			wait = max(time.Until(deadline), 0)
		}
		if ps.ready > 0 {
			wait = 0
		}
		ok, errno := true, netbsd.Errno(0)
		if wait == 0 {
			_, err := unix.Poll(ps.host, 0)
			errno = toErrno(err)
		} else {
			ok, errno = cl.block(ps.host, ps.entries, wait)
		}
		ps.release()
		if errno == netbsd.EBADF {
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		if ok {
			for j, hp := range ps.host {
				i := ps.index[j]
				rev, _ := netbsd.PollEventsFromLinux(hp.Revents)
				rev &= fds[i].Events | netbsd.POLLERR | netbsd.POLLHUP | netbsd.POLLNVAL
				if rev != 0 {
					fds[i].Revents = rev
					ps.ready++
				}
			}
		}
		if ps.ready > 0 || wait == 0 {
			return int64(ps.ready), cl.copyout(addr, netbsd.EncodePollFds(fds))
		}
	}
}

// pollRound looks up the descriptors of fds. The console, always writable,
// and unknown descriptors, POLLNVAL, are answered at once.
func (cl *call) pollRound(fds []unix.PollFd) *pollSet {
	ps := &pollSet{}
	for i := range fds {
		p := &fds[i]
		p.Revents = 0
		if p.Fd < 0 {
			continue
		}
		e, f, errno := cl.p.getFile(p.Fd)
		if errno != 0 {
			p.Revents = netbsd.POLLNVAL
			ps.ready++
			continue
		}
		ps.files = append(ps.files, f)
		if f.kind == kindConsole {
			if p.Revents = p.Events & netbsd.POLLOUT; p.Revents != 0 {
				ps.ready++
			}
			continue
		}
		events, _ := netbsd.PollEventsToLinux(p.Events)
		ps.host = append(ps.host, unix.PollFd{Fd: int32(f.fd), Events: events})
		ps.index = append(ps.index, i)
		ps.entries = append(ps.entries, e)
	}
	return ps
}
