package systemd_test

import (
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/internal/systemd"
	"github.com/hijack-project/hijack/internal/systemd/systemdtest"
)

func TestListenFDsInAServiceStartedByTheManager(t *testing.T) {
	tests := []struct {
		name string
		// sockets and stored name the socket units' descriptors and the
		// stored ones, in the order they are added.
		sockets, stored []string
		// withoutNames drops $LISTEN_FDNAMES from the service's
		// environment.
		withoutNames bool
		want         []string // names the service sees, in descriptor order
	}{
		{name: "passes nothing when nothing is stored"},
		{name: "passes the socket unit's descriptor under its name",
			sockets: []string{"control"}, want: []string{"control"}},
		{name: "passes stored descriptors after the sockets, newest first",
			sockets: []string{"control"}, stored: []string{"session-1", "session-2"},
			want: []string{"control", "session-2", "session-1"}},
		{name: "names descriptors unknown without LISTEN_FDNAMES",
			stored: []string{"session-1"}, withoutNames: true, want: []string{"unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := systemdtest.NewManager(t)
			t.Setenv("NOTIFY_SOCKET", m.Addr())
			files := map[string]int{} // name → this process's descriptor
			for _, name := range tt.sockets {
				f := listener(t)
				m.AddSocket(name, f)
				files[name] = int(f.Fd())
			}
			for _, name := range tt.stored {
				fd := memfds(t, 1)[0]
				if err := systemd.StoreFDs(name, fd); err != nil {
					t.Fatal(err)
				}
				files[name] = fd
			}
			barrier(t, m)

			cmd := m.Command(testBinary(t), "-test.run=^$")
			cmd.Env = append(cmd.Env, roleVar+"=listen")
			if tt.withoutNames {
				cmd.Env = slices.DeleteFunc(cmd.Env, func(kv string) bool {
					return strings.HasPrefix(kv, "LISTEN_FDNAMES=")
				})
			}
			var got listenReport
			runRole(t, m, cmd, &got)

			// systemd passes the sockets first, then the store newest first.
			newestFirst := slices.Clone(tt.stored)
			slices.Reverse(newestFirst)
			order := slices.Concat(tt.sockets, newestFirst)
			want := listenReport{}
			for i, source := range order {
				var st unix.Stat_t
				if err := unix.Fstat(files[source], &st); err != nil {
					t.Fatal(err)
				}
				want.Files = append(want.Files, passedFile{FD: 3 + i, Name: tt.want[i],
					Dev: st.Dev, Ino: st.Ino, CloseOnExec: true})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("what the service got (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListenFDsIgnoresOrRejectsTheEnvironment(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	tests := []struct {
		name             string
		pid, fds, fdName string // "-" leaves the variable unset
		wantErr          string // "" for no error and no descriptors
	}{
		{"returns nothing without LISTEN_PID", "-", "1", "control", ""},
		{"returns nothing when LISTEN_PID is another process", "1", "1", "control", ""},
		{"returns nothing for LISTEN_FDS=0", self, "0", "-", ""},
		{"rejects a malformed LISTEN_PID", "self", "1", "-", `LISTEN_PID="self"`},
		{"rejects a malformed LISTEN_FDS", self, "two", "-", `LISTEN_FDS="two"`},
		{"rejects a negative LISTEN_FDS", self, "-1", "-", `LISTEN_FDS="-1"`},
		{"rejects names that do not match the count", self, "2", "control",
			"names 1 descriptors, LISTEN_FDS=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setOrUnset(t, "LISTEN_PID", tt.pid)
			setOrUnset(t, "LISTEN_FDS", tt.fds)
			setOrUnset(t, "LISTEN_FDNAMES", tt.fdName)

			files, err := systemd.ListenFDs()

			if len(files) > 0 {
				t.Errorf("ListenFDs returned %v, want none", files)
			}
			if tt.wantErr == "" && err != nil {
				t.Errorf("ListenFDs: %v, want no error", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("ListenFDs: %v, want an error containing %q", err, tt.wantErr)
			}
			for _, name := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
				if v, ok := os.LookupEnv(name); ok {
					t.Errorf("%s=%q is still set", name, v)
				}
			}
		})
	}
}

func TestListenFDsReportsADescriptorThatIsNotOpen(t *testing.T) {
	m := systemdtest.NewManager(t)
	cmd := m.Command(testBinary(t), "-test.run=^$")
	// Far more than were passed (none): some of them cannot be open.
	cmd.Env = append(cmd.Env, roleVar+"=listen", "LISTEN_FDS=1000")

	var got listenReport
	runRole(t, m, cmd, &got)

	if !strings.Contains(got.Err, "bad file descriptor") || len(got.Files) > 0 {
		t.Errorf("ListenFDs returned %v, %q; want an error about a bad file descriptor",
			got.Files, got.Err)
	}
}

// listener returns a listening SOCK_SEQPACKET socket such as hijackd.socket
// makes, closed when the test ends.
func listener(t *testing.T) *os.File {
	t.Helper()
	dir, err := os.MkdirTemp("", "systemd-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: dir + "/control.sock",
		Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
