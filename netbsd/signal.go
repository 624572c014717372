package netbsd

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// Signal is a NetBSD signal number, as carried by a sysproxy RAISE request.
type Signal int32

// NetBSD signal numbers (sys/signal.h). NetBSD's real-time signals 33–63 are
// not translated: the rump kernel's own signal translation stops at 32 too.
const (
	SIGHUP    Signal = 1
	SIGINT    Signal = 2
	SIGQUIT   Signal = 3
	SIGILL    Signal = 4
	SIGTRAP   Signal = 5
	SIGABRT   Signal = 6
	SIGEMT    Signal = 7
	SIGFPE    Signal = 8
	SIGKILL   Signal = 9
	SIGBUS    Signal = 10
	SIGSEGV   Signal = 11
	SIGSYS    Signal = 12
	SIGPIPE   Signal = 13
	SIGALRM   Signal = 14
	SIGTERM   Signal = 15
	SIGURG    Signal = 16
	SIGSTOP   Signal = 17
	SIGTSTP   Signal = 18
	SIGCONT   Signal = 19
	SIGCHLD   Signal = 20
	SIGTTIN   Signal = 21
	SIGTTOU   Signal = 22
	SIGIO     Signal = 23
	SIGXCPU   Signal = 24
	SIGXFSZ   Signal = 25
	SIGVTALRM Signal = 26
	SIGPROF   Signal = 27
	SIGWINCH  Signal = 28
	SIGINFO   Signal = 29
	SIGUSR1   Signal = 30
	SIGUSR2   Signal = 31
	SIGPWR    Signal = 32
)

// NSIG is one more than the highest NetBSD signal number, real-time ones
// included.
const NSIG = 64

// signalTable maps NetBSD signals to names and Linux numbers. SIGEMT and
// SIGINFO have no Linux signal; their entries hold 0.
var signalTable = [...]struct {
	name  string
	linux unix.Signal
}{
	SIGHUP:    {"SIGHUP", unix.SIGHUP},
	SIGINT:    {"SIGINT", unix.SIGINT},
	SIGQUIT:   {"SIGQUIT", unix.SIGQUIT},
	SIGILL:    {"SIGILL", unix.SIGILL},
	SIGTRAP:   {"SIGTRAP", unix.SIGTRAP},
	SIGABRT:   {"SIGABRT", unix.SIGABRT},
	SIGEMT:    {"SIGEMT", 0},
	SIGFPE:    {"SIGFPE", unix.SIGFPE},
	SIGKILL:   {"SIGKILL", unix.SIGKILL},
	SIGBUS:    {"SIGBUS", unix.SIGBUS},
	SIGSEGV:   {"SIGSEGV", unix.SIGSEGV},
	SIGSYS:    {"SIGSYS", unix.SIGSYS},
	SIGPIPE:   {"SIGPIPE", unix.SIGPIPE},
	SIGALRM:   {"SIGALRM", unix.SIGALRM},
	SIGTERM:   {"SIGTERM", unix.SIGTERM},
	SIGURG:    {"SIGURG", unix.SIGURG},
	SIGSTOP:   {"SIGSTOP", unix.SIGSTOP},
	SIGTSTP:   {"SIGTSTP", unix.SIGTSTP},
	SIGCONT:   {"SIGCONT", unix.SIGCONT},
	SIGCHLD:   {"SIGCHLD", unix.SIGCHLD},
	SIGTTIN:   {"SIGTTIN", unix.SIGTTIN},
	SIGTTOU:   {"SIGTTOU", unix.SIGTTOU},
	SIGIO:     {"SIGIO", unix.SIGIO},
	SIGXCPU:   {"SIGXCPU", unix.SIGXCPU},
	SIGXFSZ:   {"SIGXFSZ", unix.SIGXFSZ},
	SIGVTALRM: {"SIGVTALRM", unix.SIGVTALRM},
	SIGPROF:   {"SIGPROF", unix.SIGPROF},
	SIGWINCH:  {"SIGWINCH", unix.SIGWINCH},
	SIGINFO:   {"SIGINFO", 0},
	SIGUSR1:   {"SIGUSR1", unix.SIGUSR1},
	SIGUSR2:   {"SIGUSR2", unix.SIGUSR2},
	SIGPWR:    {"SIGPWR", unix.SIGPWR},
}

// String returns the NetBSD name of the signal.
func (s Signal) String() string {
	if s > 0 && int(s) < len(signalTable) {
		return signalTable[s].name
	}
	return "signal(" + strconv.Itoa(int(s)) + ")"
}

// SignalToLinux translates a NetBSD signal. ok is false for SIGEMT, SIGINFO,
// real-time and unknown signals, which a Linux process cannot be sent as
// such; 0 (the null signal) translates to 0.
func SignalToLinux(s Signal) (sig unix.Signal, ok bool) {
	if s == 0 {
		return 0, true
	}
	if s < 0 || int(s) >= len(signalTable) || signalTable[s].linux == 0 {
		return 0, false
	}
	return signalTable[s].linux, true
}

// SignalFromLinux translates a Linux signal. ok is false for SIGSTKFLT,
// real-time and unknown signals.
func SignalFromLinux(sig unix.Signal) (s Signal, ok bool) {
	if sig == 0 {
		return 0, true
	}
	for nb := SIGHUP; nb <= SIGPWR; nb++ {
		if signalTable[nb].linux == sig {
			return nb, true
		}
	}
	return 0, false
}
