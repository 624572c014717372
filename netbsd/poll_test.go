package netbsd

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestPollBitsFollowD12(t *testing.T) {
	for _, tt := range []struct {
		name          string
		linux, unixed int16
		netbsd        int16
	}{
		{"POLLIN", 0x1, unix.POLLIN, 0x1}, {"POLLPRI", 0x2, unix.POLLPRI, 0x2},
		{"POLLOUT", 0x4, unix.POLLOUT, 0x4}, {"POLLERR", 0x8, unix.POLLERR, 0x8},
		{"POLLHUP", 0x10, unix.POLLHUP, 0x10}, {"POLLNVAL", 0x20, unix.POLLNVAL, 0x20},
		{"POLLRDNORM", 0x40, LinuxPOLLRDNORM, 0x40}, {"POLLRDBAND", 0x80, LinuxPOLLRDBAND, 0x80},
		{"POLLWRNORM", 0x100, LinuxPOLLWRNORM, 0x4}, {"POLLWRBAND", 0x200, LinuxPOLLWRBAND, 0x100},
	} {
		t.Run(fmt.Sprintf("Linux %s %#x is NetBSD %#x", tt.name, tt.linux, tt.netbsd),
			func(t *testing.T) {
				if tt.linux != tt.unixed {
					t.Fatalf("the Linux constant is %#x", tt.unixed)
				}
				if got, err := PollEventsFromLinux(tt.linux); err != nil || got != tt.netbsd {
					t.Errorf("PollEventsFromLinux = %#x, %v", got, err)
				}
				if got := PollReventsToLinux(tt.netbsd, tt.linux); got != tt.linux {
					t.Errorf("PollReventsToLinux = %#x", got)
				}
			})
	}
	t.Run("POLLRDHUP and POLLMSG are reported", func(t *testing.T) {
		got, err := PollEventsFromLinux(unix.POLLIN | unix.POLLRDHUP | LinuxPOLLMSG)
		var be *BitsError
		if got != POLLIN || !errors.As(err, &be) || be.Bits != 0x2400 {
			t.Errorf("= %#x, %v", got, err)
		}
	})
	t.Run("revents report only what was asked, plus ERR, HUP and NVAL", func(t *testing.T) {
		got := PollReventsToLinux(POLLOUT|POLLIN|POLLHUP, unix.POLLOUT)
		if got != unix.POLLOUT|unix.POLLHUP {
			t.Errorf("= %#x", got)
		}
		got = PollReventsToLinux(POLLOUT, LinuxPOLLWRNORM)
		if got != LinuxPOLLWRNORM {
			t.Errorf("WRNORM only = %#x", got)
		}
	})
	t.Run("NetBSD POLLOUT asks the host for both write bits", func(t *testing.T) {
		got, dropped := PollEventsToLinux(POLLOUT | POLLWRBAND)
		if got != unix.POLLOUT|LinuxPOLLWRNORM|LinuxPOLLWRBAND || dropped != 0 {
			t.Errorf("= %#x, dropped %#x", got, dropped)
		}
	})
	checkConsts(t, []constCheck{{"INFTIM", INFTIM, -1}})
}

func TestPollFdsRoundTrip(t *testing.T) {
	fds := []unix.PollFd{{Fd: 3, Events: unix.POLLIN}, {Fd: -1, Events: 0, Revents: 0x20}}
	b := EncodePollFds(fds)
	if len(b) != 16 {
		t.Fatalf("%d bytes, want 8 per pollfd", len(b))
	}
	if diff := cmp.Diff(rawBytes(&fds[0]), b[:8]); diff != "" {
		t.Errorf("differs from unix.PollFd in memory (-want +got):\n%s", diff)
	}
	got, err := DecodePollFds(b, 2)
	mustNot(t, err)
	if diff := cmp.Diff(fds, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFdSetSizes(t *testing.T) {
	for _, tt := range []struct{ nd, netbsd, linux int }{
		{0, 0, 0}, {1, 4, 8}, {32, 4, 8}, {33, 8, 8}, {64, 8, 8}, {65, 12, 16}, {1024, 128, 128},
	} {
		t.Run(fmt.Sprintf("select with %d descriptors moves %d bytes on NetBSD and %d on Linux",
			tt.nd, tt.netbsd, tt.linux), func(t *testing.T) {
			if got := FdSetSize(tt.nd); got != tt.netbsd {
				t.Errorf("FdSetSize = %d", got)
			}
			if got := LinuxFdSetSize(tt.nd); got != tt.linux {
				t.Errorf("LinuxFdSetSize = %d", got)
			}
		})
	}
}
