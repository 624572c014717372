package systemd_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hijack-project/hijack/internal/systemd"
	"github.com/hijack-project/hijack/internal/systemd/systemdtest"
)

// sockets are the two forms $NOTIFY_SOCKET takes.
var sockets = []struct {
	name string
	opts []systemdtest.Option
}{
	{"on a socket path", nil},
	{"on an abstract socket", []systemdtest.Option{systemdtest.Abstract()}},
}

func TestNotifySendsState(t *testing.T) {
	tests := []struct {
		name   string
		notify func() error
		want   string
	}{
		{"Ready says READY=1", systemd.Ready, "READY=1"},
		{"Stopping says STOPPING=1", systemd.Stopping, "STOPPING=1"},
		{"Watchdog says WATCHDOG=1", systemd.Watchdog, "WATCHDOG=1"},
		{"Notify sends several assignments in one datagram",
			func() error { return systemd.Notify("STATUS=serving 3 sessions\nREADY=1") },
			"STATUS=serving 3 sessions\nREADY=1"},
	}
	for _, sock := range sockets {
		for _, tt := range tests {
			t.Run(tt.name+" "+sock.name, func(t *testing.T) {
				m := systemdtest.NewManager(t, sock.opts...)
				t.Setenv("NOTIFY_SOCKET", m.Addr())

				if err := tt.notify(); err != nil {
					t.Fatal(err)
				}

				got := m.WaitFor(os.Getpid(), strings.Split(tt.want, "\n")[0])
				want := systemdtest.Message{PID: os.Getpid(), State: tt.want}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("message (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestNotifyWithoutSocketDoesNothing(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	os.Unsetenv("NOTIFY_SOCKET")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()

	calls := []struct {
		name string
		call func() error
	}{
		{"Notify", func() error { return systemd.Notify("READY=1") }},
		{"Ready", systemd.Ready},
		{"Stopping", systemd.Stopping},
		{"Watchdog", systemd.Watchdog},
		{"StoreFDs", func() error { return systemd.StoreFDs("pipe", int(w.Fd())) }},
		{"RemoveFDs", func() error { return systemd.RemoveFDs("pipe") }},
	}
	for _, c := range calls {
		t.Run(c.name+" succeeds without NOTIFY_SOCKET", func(t *testing.T) {
			if err := c.call(); err != nil {
				t.Errorf("%s: %v, want nil", c.name, err)
			}
		})
	}
}

func TestNotifyErrors(t *testing.T) {
	tests := []struct {
		name    string
		socket  string
		state   string
		wantErr string
	}{
		{"a relative socket path is refused", "run/notify", "READY=1",
			"want an absolute path or @name"},
		{"a socket path longer than a socket address is refused",
			"/" + strings.Repeat("x", 107), "READY=1", "longer than the 107 bytes"},
		{"a missing socket is reported", "/nonexistent/notify", "READY=1",
			"no such file or directory"},
		{"an empty state is refused", "@unused", "", "empty state"},
		{"a state longer than systemd accepts is refused", "@unused",
			strings.Repeat("X", 4097), "longer than the 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NOTIFY_SOCKET", tt.socket)
			err := systemd.Notify(tt.state)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Notify: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNotifyAcceptsTheLongestState(t *testing.T) {
	m := systemdtest.NewManager(t)
	t.Setenv("NOTIFY_SOCKET", m.Addr())
	state := "STATUS=" + strings.Repeat("x", 4096-len("STATUS="))

	if err := systemd.Notify(state); err != nil {
		t.Fatal(err)
	}

	if got := m.WaitFor(os.Getpid(), state); got.Ignored != "" {
		t.Errorf("a 4096-byte state was ignored: %s", got.Ignored)
	}
}

func TestWatchdogInterval(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	tests := []struct {
		name         string
		usec, pid    string // "-" leaves the variable unset
		wantInterval time.Duration
		wantEnabled  bool
	}{
		{"is off without WATCHDOG_USEC", "-", "-", 0, false},
		{"is on for WATCHDOG_USEC alone", "30000000", "-", 30 * time.Second, true},
		{"is on when WATCHDOG_PID is this process", "1500", self, 1500 * time.Microsecond, true},
		{"is off when WATCHDOG_PID is another process", "30000000", "1", 0, false},
		{"is off for a malformed WATCHDOG_PID", "30000000", "me", 0, false},
		{"is off for a zero WATCHDOG_USEC", "0", "-", 0, false},
		{"is off for a malformed WATCHDOG_USEC", "30s", "-", 0, false},
		{"is off for a negative WATCHDOG_USEC", "-5", "-", 0, false},
		{"is off for an interval too long to represent", "18446744073709551615", "-", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setOrUnset(t, "WATCHDOG_USEC", tt.usec)
			setOrUnset(t, "WATCHDOG_PID", tt.pid)

			d, ok := systemd.WatchdogInterval()

			if d != tt.wantInterval || ok != tt.wantEnabled {
				t.Errorf("WatchdogInterval() = %v, %v; want %v, %v",
					d, ok, tt.wantInterval, tt.wantEnabled)
			}
		})
	}
}

func TestWatchdogIntervalInAServiceStartedByTheManager(t *testing.T) {
	m := systemdtest.NewManager(t, systemdtest.Watchdog(30*time.Second))
	cmd := m.Command(testBinary(t), "-test.run=^$")
	cmd.Env = append(cmd.Env, roleVar+"=watchdog")

	var got watchdogReport
	runRole(t, m, cmd, &got)

	want := watchdogReport{Interval: 30 * time.Second, Enabled: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("watchdog seen by the service (-want +got):\n%s", diff)
	}
}

// setOrUnset sets the variable name to value for the test, or removes it if
// value is "-".
func setOrUnset(t *testing.T, name, value string) {
	t.Helper()
	t.Setenv(name, value)
	if value == "-" {
		os.Unsetenv(name)
	}
}

func testBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

// runRole starts cmd as the manager's service, waits for it to exit and
// decodes what it printed into report.
func runRole(t *testing.T, m *systemdtest.Manager, cmd *exec.Cmd, report any) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := m.Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("service: %v\n%s", err, stderr.Bytes())
	}
	if err := json.Unmarshal(stdout.Bytes(), report); err != nil {
		t.Fatalf("service printed %q: %v", stdout.Bytes(), err)
	}
}
