package netbsd

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// d15 is the signal table of D.15; linux 0 marks a NetBSD signal Linux lacks.
var d15 = []struct {
	netbsd Signal
	name   string
	linux  int
	unixed unix.Signal
}{
	{1, "SIGHUP", 1, unix.SIGHUP}, {2, "SIGINT", 2, unix.SIGINT}, {3, "SIGQUIT", 3, unix.SIGQUIT},
	{4, "SIGILL", 4, unix.SIGILL}, {5, "SIGTRAP", 5, unix.SIGTRAP}, {6, "SIGABRT", 6, unix.SIGABRT},
	{7, "SIGEMT", 0, 0}, {8, "SIGFPE", 8, unix.SIGFPE}, {9, "SIGKILL", 9, unix.SIGKILL},
	{10, "SIGBUS", 7, unix.SIGBUS}, {11, "SIGSEGV", 11, unix.SIGSEGV},
	{12, "SIGSYS", 31, unix.SIGSYS}, {13, "SIGPIPE", 13, unix.SIGPIPE},
	{14, "SIGALRM", 14, unix.SIGALRM}, {15, "SIGTERM", 15, unix.SIGTERM},
	{16, "SIGURG", 23, unix.SIGURG}, {17, "SIGSTOP", 19, unix.SIGSTOP},
	{18, "SIGTSTP", 20, unix.SIGTSTP}, {19, "SIGCONT", 18, unix.SIGCONT},
	{20, "SIGCHLD", 17, unix.SIGCHLD}, {21, "SIGTTIN", 21, unix.SIGTTIN},
	{22, "SIGTTOU", 22, unix.SIGTTOU}, {23, "SIGIO", 29, unix.SIGIO},
	{24, "SIGXCPU", 24, unix.SIGXCPU}, {25, "SIGXFSZ", 25, unix.SIGXFSZ},
	{26, "SIGVTALRM", 26, unix.SIGVTALRM}, {27, "SIGPROF", 27, unix.SIGPROF},
	{28, "SIGWINCH", 28, unix.SIGWINCH}, {29, "SIGINFO", 0, 0},
	{30, "SIGUSR1", 10, unix.SIGUSR1}, {31, "SIGUSR2", 12, unix.SIGUSR2},
	{32, "SIGPWR", 30, unix.SIGPWR},
}

func TestSignalsFollowD15(t *testing.T) {
	for _, tt := range d15 {
		t.Run(fmt.Sprintf("NetBSD %s %d is Linux %d", tt.name, tt.netbsd, tt.linux),
			func(t *testing.T) {
				if int(tt.unixed) != tt.linux {
					t.Fatalf("x/sys/unix has %d", tt.unixed)
				}
				got, ok := SignalToLinux(tt.netbsd)
				if ok != (tt.linux != 0) || got != tt.unixed {
					t.Errorf("SignalToLinux = %d, %v", got, ok)
				}
				if tt.linux != 0 {
					if back, ok := SignalFromLinux(tt.unixed); !ok || back != tt.netbsd {
						t.Errorf("SignalFromLinux = %d, %v", back, ok)
					}
				}
				if got := tt.netbsd.String(); got != tt.name {
					t.Errorf("String = %q", got)
				}
			})
	}
	for _, tt := range []struct {
		name string
		sig  unix.Signal
	}{{"SIGSTKFLT", unix.SIGSTKFLT}, {"SIGRTMIN", 34}, {"signal 64", 64}, {"signal 65", 65}} {
		t.Run(fmt.Sprintf("Linux %s has no NetBSD number", tt.name), func(t *testing.T) {
			if got, ok := SignalFromLinux(tt.sig); ok {
				t.Errorf("= %d", got)
			}
		})
	}
	for _, s := range []Signal{33, 63, -1, 200} {
		t.Run(fmt.Sprintf("NetBSD signal %d has no Linux number", s), func(t *testing.T) {
			if got, ok := SignalToLinux(s); ok {
				t.Errorf("= %d", got)
			}
		})
	}
	t.Run("the null signal is the null signal", func(t *testing.T) {
		if l, ok := SignalToLinux(0); !ok || l != 0 {
			t.Errorf("to Linux = %d, %v", l, ok)
		}
		if n, ok := SignalFromLinux(0); !ok || n != 0 {
			t.Errorf("from Linux = %d, %v", n, ok)
		}
	})
}
