package systemd_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/internal/systemd"
	// Services started by a Manager run through this binary, and so need
	// the trampoline that importing systemdtest installs.
	_ "github.com/hijack-project/hijack/internal/systemd/systemdtest"
)

// roleVar makes the test binary, started again by a test, play a service
// instead of running tests; the value names the role.
const roleVar = "HIJACK_SYSTEMD_TEST_ROLE"

func TestMain(m *testing.M) {
	if role, ok := os.LookupEnv(roleVar); ok {
		os.Exit(play(role))
	}
	os.Exit(m.Run())
}

// passedFile is what a service learned about one descriptor ListenFDs
// returned.
type passedFile struct {
	FD          int
	Name        string
	Dev, Ino    uint64
	CloseOnExec bool
}

// listenReport is what the "listen" role prints.
type listenReport struct {
	Files []passedFile
	Err   string
	// Left holds the LISTEN_* variables still set after ListenFDs.
	Left []string
	// Again is how many descriptors a second ListenFDs returned.
	Again int
}

// watchdogReport is what the "watchdog" role prints.
type watchdogReport struct {
	Interval time.Duration
	Enabled  bool
}

// play runs role and returns the exit status. Results go to standard output
// as JSON, for the test that started the process to compare.
func play(role string) int {
	var report any
	switch role {
	case "listen":
		report = listen()
	case "watchdog":
		d, ok := systemd.WatchdogInterval()
		report = watchdogReport{Interval: d, Enabled: ok}
	default:
		fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
		return 2
	}
	if err := json.NewEncoder(os.Stdout).Encode(report); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func listen() listenReport {
	var r listenReport
	files, err := systemd.ListenFDs()
	if err != nil {
		r.Err = err.Error()
	}
	for _, f := range files {
		p := passedFile{FD: f.FD, Name: f.Name}
		var st unix.Stat_t
		if err := unix.Fstat(f.FD, &st); err == nil {
			p.Dev, p.Ino = st.Dev, st.Ino
		}
		if flags, err := unix.FcntlInt(uintptr(f.FD), unix.F_GETFD, 0); err == nil {
			p.CloseOnExec = flags&unix.FD_CLOEXEC != 0
		}
		r.Files = append(r.Files, p)
	}
	for _, name := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		if _, ok := os.LookupEnv(name); ok {
			r.Left = append(r.Left, name)
		}
	}
	again, _ := systemd.ListenFDs()
	r.Again = len(again)
	return r
}
