package systemdtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The variables through which Command hands a program to the trampoline.
const (
	// execVar names the program the trampoline execs.
	execVar = "HIJACK_SYSTEMDTEST_EXEC"

	// pidVarsVar lists, comma-separated, the variables the trampoline sets
	// to its own pid, which the program keeps across exec.
	pidVarsVar = "HIJACK_SYSTEMDTEST_PID_VARS"
)

// managed are the variables a Manager sets; Command removes the test's own
// values of them before adding its own.
var managed = []string{
	"NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES",
	"WATCHDOG_USEC", "WATCHDOG_PID", execVar, pidVarsVar,
}

// init is the trampoline. systemd sets $LISTEN_PID and $WATCHDOG_PID to the
// pid of the service between fork and exec, which os/exec cannot do, so
// Command starts the test binary itself, which arrives here before any test
// runs, sets them to its pid and execs the program in its place, keeping the
// pid and the descriptors from 3 on.
func init() {
	target, ok := os.LookupEnv(execVar)
	if !ok {
		return
	}
	pid := strconv.Itoa(os.Getpid())
	for _, name := range strings.Split(os.Getenv(pidVarsVar), ",") {
		if name != "" {
			os.Setenv(name, pid)
		}
	}
	os.Unsetenv(execVar)
	os.Unsetenv(pidVarsVar)

	err := syscall.Exec(target, os.Args, os.Environ())
	fmt.Fprintf(os.Stderr, "systemdtest: exec %s: %v\n", target, err)
	os.Exit(127)
}

// Command returns a command that runs name with arg the way systemd runs the
// service's main process: with $NOTIFY_SOCKET, the watchdog variables if
// enabled, and the socket units' descriptors followed by the fd store's as
// descriptors 3 and up, described by $LISTEN_FDS, $LISTEN_FDNAMES and
// $LISTEN_PID. Starting it again after the previous process exited is a
// restart: what that process stored comes back.
//
// The command first runs the test binary, which therefore must import this
// package: its init, before any test, sets $LISTEN_PID (and $WATCHDOG_PID) to
// its own pid, as systemd does between fork and exec, and execs name in its
// place. name may be the test binary itself (os.Executable), to run one of
// its own tests as the service. The caller may add to cmd.Env
// and set the standard streams; the descriptors passed are duplicates that
// the Manager closes when the test ends. Start the command with Start, or
// it runs without the Manager knowing its pid (NotifyAccess=all, in effect).
func (m *Manager) Command(name string, arg ...string) *exec.Cmd {
	m.t.Helper()
	self, err := os.Executable()
	if err != nil {
		m.t.Fatalf("systemdtest: %v", err)
	}
	if !strings.Contains(name, "/") {
		if name, err = exec.LookPath(name); err != nil {
			m.t.Fatalf("systemdtest: %v", err)
		}
	}
	if name, err = filepath.Abs(name); err != nil {
		m.t.Fatalf("systemdtest: %v", err)
	}

	cmd := exec.Command(self)
	cmd.Args = append([]string{name}, arg...)
	cmd.Env = append(environ(), m.Env()...)
	pidVars := []string{"LISTEN_PID"}
	if m.cfg.watchdog > 0 {
		pidVars = append(pidVars, "WATCHDOG_PID")
	}
	cmd.Env = append(cmd.Env, execVar+"="+name, pidVarsVar+"="+strings.Join(pidVars, ","))

	m.mu.Lock()
	m.pollStoreLocked()
	passed := append(append([]stored(nil), m.sockets...), m.store...)
	m.mu.Unlock()

	names := make([]string, len(passed))
	for i, s := range passed {
		names[i] = s.name
		cmd.ExtraFiles = append(cmd.ExtraFiles, m.dup(s))
	}
	cmd.Env = append(cmd.Env, fmt.Sprintf("LISTEN_FDS=%d", len(passed)))
	if len(passed) > 0 {
		cmd.Env = append(cmd.Env, "LISTEN_FDNAMES="+strings.Join(names, ":"))
	}
	return cmd
}

// dup returns a duplicate of s's descriptor that lives until the test ends,
// so that the store keeps its own whatever the caller does with the command.
func (m *Manager) dup(s stored) *os.File {
	m.t.Helper()
	fd, err := unix.FcntlInt(uintptr(s.fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		m.t.Fatalf("systemdtest: duplicate %q: %v", s.name, err)
	}
	f := os.NewFile(uintptr(fd), s.name)
	m.t.Cleanup(func() { f.Close() })
	return f
}

// Start starts cmd, made by Command, and makes its process the service's
// main process: from then on, as with NotifyAccess=main, datagrams from any
// other process are ignored. A datagram the process sends at once is not
// mistaken for a stranger's: it is handled only after the pid is recorded.
func (m *Manager) Start(cmd *exec.Cmd) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("systemdtest: start %s: %w", cmd.Args[0], err)
	}
	m.mainPID = cmd.Process.Pid
	return nil
}

// environ returns the test's environment without the variables a Manager
// sets.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(managed, name) {
			env = append(env, kv)
		}
	}
	return env
}
