package systemd_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/internal/systemd"
	"github.com/hijack-project/hijack/internal/systemd/systemdtest"
)

func TestStoreFDs(t *testing.T) {
	tests := []struct {
		name         string
		fds          int
		wantMessages []int // descriptors in each FDSTORE=1 datagram
	}{
		{"stores one descriptor under its name", 1, []int{1}},
		{"stores several descriptors under one name in one datagram", 3, []int{3}},
		{"sends more descriptors than SCM_RIGHTS carries in several datagrams", 300,
			[]int{253, 47}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := systemdtest.NewManager(t)
			t.Setenv("NOTIFY_SOCKET", m.Addr())
			fds := memfds(t, tt.fds)

			if err := systemd.StoreFDs("session-1", fds...); err != nil {
				t.Fatal(err)
			}

			barrier(t, m)
			var got []int
			for _, msg := range m.Messages() {
				if msg.Ignored != "" {
					t.Errorf("datagram %q ignored: %s", msg.State, msg.Ignored)
				}
				if msg.State == "FDSTORE=1\nFDNAME=session-1" {
					got = append(got, msg.FDs)
				}
			}
			if diff := cmp.Diff(tt.wantMessages, got); diff != "" {
				t.Errorf("descriptors per datagram (-want +got):\n%s", diff)
			}
			stored := m.Stored()
			if len(stored) != tt.fds {
				t.Fatalf("the store holds %d descriptors, want %d", len(stored), tt.fds)
			}
			// systemd 252 keeps the store newest first.
			for i, f := range stored {
				if f.Name != "session-1" {
					t.Errorf("stored descriptor %d is named %q, want session-1", i, f.Name)
				}
				if !sameFile(t, f.FD, fds[len(fds)-1-i]) {
					t.Errorf("stored descriptor %d is not the one sent %d-th from last", i, i+1)
				}
			}
		})
	}
}

func TestStoreFDsRefusesWhatSystemdWouldMisread(t *testing.T) {
	tests := []struct {
		name    string
		fdName  string
		fd      int
		wantErr string
	}{
		{"an empty name is refused", "", 0, "empty descriptor name"},
		{"a name with ':' is refused", "session:1", 0, "not printable ASCII other than ':'"},
		{"a name with a newline is refused", "session\nFDSTOREREMOVE=1", 0, "not printable"},
		{"a name with a non-ASCII byte is refused", "séance", 0, "not printable"},
		{"a name of 256 bytes is refused", strings.Repeat("s", 256), 0, "longer than 255"},
		{"a negative descriptor is refused", "session-1", -1, "invalid descriptor -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := systemdtest.NewManager(t)
			t.Setenv("NOTIFY_SOCKET", m.Addr())

			err := systemd.StoreFDs(tt.fdName, tt.fd)

			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("StoreFDs: %v, want an error containing %q", err, tt.wantErr)
			}
			if msgs := m.Messages(); len(msgs) > 0 {
				t.Errorf("StoreFDs sent %+v despite the error", msgs)
			}
		})
	}
}

func TestStoreFDsAcceptsEveryNameSystemdKeeps(t *testing.T) {
	m := systemdtest.NewManager(t)
	t.Setenv("NOTIFY_SOCKET", m.Addr())
	names := []string{"control", "session 1 listener", strings.Repeat("s", 255), " !~"}
	fds := memfds(t, len(names))

	for i, name := range names {
		if err := systemd.StoreFDs(name, fds[i]); err != nil {
			t.Fatalf("StoreFDs(%q): %v", name, err)
		}
	}
	barrier(t, m)

	var got []string
	for _, f := range m.Stored() {
		got = append([]string{f.Name}, got...)
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("stored names, oldest first (-want +got):\n%s", diff)
	}
}

func TestRemoveFDs(t *testing.T) {
	tests := []struct {
		name   string
		remove string
		want   []string // names left, newest first
	}{
		{"removes every descriptor stored under the name", "session-1",
			[]string{"session-2"}},
		{"leaves the store alone for a name not stored", "session-3",
			[]string{"session-2", "session-1", "session-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := systemdtest.NewManager(t)
			t.Setenv("NOTIFY_SOCKET", m.Addr())
			fds := memfds(t, 3)
			if err := systemd.StoreFDs("session-1", fds[0], fds[1]); err != nil {
				t.Fatal(err)
			}
			if err := systemd.StoreFDs("session-2", fds[2]); err != nil {
				t.Fatal(err)
			}

			if err := systemd.RemoveFDs(tt.remove); err != nil {
				t.Fatal(err)
			}

			barrier(t, m)
			var got []string
			for _, f := range m.Stored() {
				got = append(got, f.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stored names (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRemoveFDsRefusesAnInvalidName(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "@unused")
	if err := systemd.RemoveFDs("a:b"); err == nil {
		t.Error("RemoveFDs(\"a:b\") succeeded, want an error")
	}
}

// barrier returns once m has handled every datagram this process sent it
// before: each send is queued before it returns and m receives in queue
// order, so it sends one more and waits for that.
func barrier(t *testing.T, m *systemdtest.Manager) {
	t.Helper()
	barriers++
	state := fmt.Sprintf("X_BARRIER=%d", barriers)
	if err := systemd.Notify(state); err != nil {
		t.Fatal(err)
	}
	m.WaitFor(os.Getpid(), state)
}

var barriers int

// memfds returns n open memory files, each a file of its own with an inode
// of its own, closed when the test ends.
func memfds(t *testing.T, n int) []int {
	t.Helper()
	fds := make([]int, n)
	for i := range fds {
		fd, err := unix.MemfdCreate(fmt.Sprintf("systemd-test-%d", i), unix.MFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		fds[i] = fd
	}
	return fds
}

// sameFile reports whether descriptors a and b of this process refer to the
// same open file.
func sameFile(t *testing.T, a, b int) bool {
	t.Helper()
	const kcmpFile = 0
	pid := uintptr(os.Getpid())
	r, _, errno := unix.Syscall6(unix.SYS_KCMP, pid, pid, kcmpFile, uintptr(a), uintptr(b), 0)
	if errno != 0 {
		t.Fatalf("kcmp: %v", errno)
	}
	return r == 0
}
