package netbsd

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestTimeStructuresFollowD13(t *testing.T) {
	t.Run("a timespec is laid out as unix.Timespec on both", func(t *testing.T) {
		ts := unix.Timespec{Sec: -5, Nsec: 999999999}
		b := EncodeTimespec(ts)
		if diff := cmp.Diff(rawBytes(&ts), b); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		got, err := DecodeTimespec(b)
		mustNot(t, err)
		if got != ts {
			t.Errorf("round trip = %+v", got)
		}
	})
	t.Run("a NetBSD timeval has a 32-bit tv_usec at 8 and zero padding", func(t *testing.T) {
		b := Timeval{Sec: 1, Usec: -2}.Encode()
		want := []byte{1, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0, 0, 0, 0}
		if diff := cmp.Diff(want, b); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("NetBSD to Linux sign-extends tv_usec and ignores the padding", func(t *testing.T) {
		b := []byte{1, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x8f, 0x7f, 0, 0}
		tv, err := DecodeTimeval(b)
		mustNot(t, err)
		if got := tv.ToLinux(); got != (unix.Timeval{Sec: 1, Usec: -2}) {
			t.Errorf("= %+v", got)
		}
	})
	t.Run("a Linux timeval survives NetBSD and back", func(t *testing.T) {
		l := unix.Timeval{Sec: 1700000000, Usec: 999999}
		lb := EncodeLinuxTimeval(l)
		if diff := cmp.Diff(rawBytes(&l), lb); diff != "" {
			t.Errorf("layout (-want +got):\n%s", diff)
		}
		dl, err := DecodeLinuxTimeval(lb)
		mustNot(t, err)
		nb, err := TimevalFromLinux(dl)
		mustNot(t, err)
		back, err := DecodeTimeval(nb.Encode())
		mustNot(t, err)
		if diff := cmp.Diff(l, back.ToLinux()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("a tv_usec beyond 32 bits is refused, not truncated", func(t *testing.T) {
		if _, err := TimevalFromLinux(unix.Timeval{Usec: 1 << 32}); !errors.Is(err, ErrInvalid) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("UTIME_NOW and UTIME_OMIT are the same on both", func(t *testing.T) {
		checkConsts(t, []constCheck{{"UTIME_NOW", UTIME_NOW, unix.UTIME_NOW},
			{"UTIME_OMIT", UTIME_OMIT, unix.UTIME_OMIT}, {"UTIME_NOW value", UTIME_NOW, 1<<30 - 1}})
	})
}

func TestClocksFollowD13(t *testing.T) {
	for _, tt := range []struct {
		name          string
		linux, netbsd int32
	}{{"CLOCK_REALTIME", unix.CLOCK_REALTIME, 0}, {"CLOCK_MONOTONIC", unix.CLOCK_MONOTONIC, 3}} {
		t.Run("Linux "+tt.name+" maps both ways", func(t *testing.T) {
			if got, err := ClockFromLinux(tt.linux); err != nil || got != tt.netbsd {
				t.Errorf("ClockFromLinux = %d, %v", got, err)
			}
			if got, err := ClockToLinux(tt.netbsd); err != nil || got != tt.linux {
				t.Errorf("ClockToLinux = %d, %v", got, err)
			}
		})
	}
	checkConsts(t, []constCheck{{"Linux CLOCK_MONOTONIC", unix.CLOCK_MONOTONIC, 1},
		{"CLOCK_VIRTUAL", CLOCK_VIRTUAL, 1}, {"CLOCK_PROF", CLOCK_PROF, 2}})
	t.Run("Linux 1 is not NetBSD's CLOCK_VIRTUAL", func(t *testing.T) {
		if _, err := ClockToLinux(CLOCK_VIRTUAL); !errors.Is(err, ErrNoEquivalent) {
			t.Errorf("err = %v", err)
		}
		_, err := ClockFromLinux(unix.CLOCK_PROCESS_CPUTIME_ID)
		if !errors.Is(err, ErrNoEquivalent) {
			t.Errorf("cputime: %v", err)
		}
	})
}

func TestSigsetFollowsD13(t *testing.T) {
	t.Run("signal s sits at bit s-1 of word (s-1)/32", func(t *testing.T) {
		var s Sigset
		s.Add(SIGHUP)
		s.Add(SIGPWR)
		s.Add(33)
		if diff := cmp.Diff(Sigset{1 | 1<<31, 1, 0, 0}, s); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		got, err := DecodeSigset(s.Encode())
		mustNot(t, err)
		if got != s || len(s.Encode()) != 16 {
			t.Errorf("round trip = %#x", got)
		}
	})
	t.Run("a Linux mask survives NetBSD and back with numbers translated", func(t *testing.T) {
		mask := uint64(1)<<(unix.SIGUSR1-1) | 1<<(unix.SIGCHLD-1) | 1<<(unix.SIGBUS-1)
		s, err := SigsetFromLinux(mask)
		mustNot(t, err)
		for _, sig := range []Signal{SIGUSR1, SIGCHLD, SIGBUS} {
			if !s.Has(sig) {
				t.Errorf("NetBSD %v missing from %#x", sig, s)
			}
		}
		back, dropped := s.ToLinux()
		if back != mask || dropped != (Sigset{}) {
			t.Errorf("back = %#x, dropped %#x", back, dropped)
		}
	})
	t.Run("SIGSTKFLT and real-time signals are reported", func(t *testing.T) {
		mask := uint64(1)<<(unix.SIGSTKFLT-1) | 1<<(34-1) | 1<<(unix.SIGINT-1)
		s, err := SigsetFromLinux(mask)
		var be *BitsError
		if !errors.As(err, &be) || be.Bits != mask&^(1<<(unix.SIGINT-1)) || !s.Has(SIGINT) {
			t.Errorf("= %#x, %v", s, err)
		}
	})
	t.Run("SIGINFO and SIGEMT are dropped on the way to Linux", func(t *testing.T) {
		var s Sigset
		s.Add(SIGINFO)
		s.Add(SIGEMT)
		mask, dropped := s.ToLinux()
		if mask != 0 || dropped != s {
			t.Errorf("mask %#x, dropped %#x", mask, dropped)
		}
	})
}
