package systemdtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/internal/systemd"
	"github.com/hijack-project/hijack/internal/systemd/systemdtest"
)

// roleVar makes the test binary, started by a Manager, play a service; the
// value names the role.
const roleVar = "HIJACK_SYSTEMDTEST_ROLE"

func TestMain(m *testing.M) {
	if role, ok := os.LookupEnv(roleVar); ok {
		if err := play(role); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// pipeMessage is what the first run of the service leaves in the pipe it
// stores, for the second run to read.
const pipeMessage = "kept across the restart"

// restored is what the "restore" role prints.
type restored struct {
	Names            []string
	Read             string
	ControlListening bool
}

func play(role string) error {
	switch role {
	case "ready":
		return systemd.Ready()

	case "store":
		// The state of the first run: a pipe holding a message, both ends
		// stored so that neither hangs up while the service is away.
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			return err
		}
		if _, err := unix.Write(p[1], []byte(pipeMessage)); err != nil {
			return err
		}
		if err := systemd.StoreFDs("pipe-read", p[0]); err != nil {
			return err
		}
		if err := systemd.StoreFDs("pipe-write", p[1]); err != nil {
			return err
		}
		return systemd.Ready()

	case "restore":
		files, err := systemd.ListenFDs()
		if err != nil {
			return err
		}
		var r restored
		for _, f := range files {
			r.Names = append(r.Names, f.Name)
			switch f.Name {
			case "pipe-read":
				buf := make([]byte, 100)
				n, err := unix.Read(f.FD, buf)
				if err != nil {
					return err
				}
				r.Read = string(buf[:n])
			case "control":
				v, err := unix.GetsockoptInt(f.FD, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
				r.ControlListening = err == nil && v == 1
			}
		}
		if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
			return err
		}
		return systemd.Ready()
	}
	return fmt.Errorf("unknown role %q", role)
}

func TestARestartedServiceGetsBackWhatItStored(t *testing.T) {
	m := systemdtest.NewManager(t)
	m.AddSocket("control", listener(t))

	first := service(t, m, "store")
	if err := m.Start(first); err != nil {
		t.Fatal(err)
	}
	m.WaitFor(first.Process.Pid, "READY=1")
	if err := first.Wait(); err != nil {
		t.Fatalf("first run: %v\n%s", err, first.Stderr)
	}

	second := service(t, m, "restore")
	if err := m.Start(second); err != nil {
		t.Fatal(err)
	}
	m.WaitFor(second.Process.Pid, "READY=1")
	if err := second.Wait(); err != nil {
		t.Fatalf("second run: %v\n%s", err, second.Stderr)
	}

	var got restored
	if err := json.Unmarshal(second.Stdout.(*bytes.Buffer).Bytes(), &got); err != nil {
		t.Fatalf("second run printed %q: %v", second.Stdout, err)
	}
	want := restored{
		Names:            []string{"control", "pipe-write", "pipe-read"},
		Read:             pipeMessage,
		ControlListening: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("what the second run got (-want +got):\n%s", diff)
	}
}

func TestOnlyTheMainProcessIsListenedTo(t *testing.T) {
	m := systemdtest.NewManager(t)
	svc := service(t, m, "ready")
	if err := m.Start(svc); err != nil {
		t.Fatal(err)
	}
	m.WaitFor(svc.Process.Pid, "READY=1")
	if err := svc.Wait(); err != nil {
		t.Fatalf("service: %v\n%s", err, svc.Stderr)
	}

	send(t, m, "STATUS=not the main process")

	got := m.Wait(func(msg systemdtest.Message) bool { return msg.PID == os.Getpid() })
	want := systemdtest.Message{PID: os.Getpid(), State: "STATUS=not the main process",
		Ignored: fmt.Sprintf("not from the main process %d (NotifyAccess=main)",
			svc.Process.Pid)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("datagram from another process (-want +got):\n%s", diff)
	}
}

func TestTheStoreKeepsWhatSystemdKeeps(t *testing.T) {
	tests := []struct {
		name string
		opts []systemdtest.Option
		// act sends datagrams carrying descriptors from fds, distinct
		// files, after which the test closes its own copies of them.
		act  func(t *testing.T, m *systemdtest.Manager, fds []int)
		want []string // names stored, newest first
	}{
		{name: "stores descriptors under their FDNAME, newest first",
			act: func(t *testing.T, m *systemdtest.Manager, fds []int) {
				send(t, m, "FDSTORE=1\nFDNAME=a", fds[0])
				send(t, m, "FDSTORE=1\nFDNAME=b", fds[1], fds[2])
			},
			want: []string{"b", "b", "a"}},
		{name: "stores a descriptor sent twice once, under its first name",
			act: func(t *testing.T, m *systemdtest.Manager, fds []int) {
				send(t, m, "FDSTORE=1\nFDNAME=a", fds[0])
				send(t, m, "FDSTORE=1\nFDNAME=b", dup(t, fds[0]))
			},
			want: []string{"a"}},
		{name: "stores under \"stored\" when FDNAME is missing or invalid",
			act: func(t *testing.T, m *systemdtest.Manager, fds []int) {
				send(t, m, "FDSTORE=1", fds[0])
				send(t, m, "FDSTORE=1\nFDNAME=a:b", fds[1])
			},
			want: []string{"stored", "stored"}},
		{name: "stores nothing that comes without FDSTORE=1",
			act: func(t *testing.T, m *systemdtest.Manager, fds []int) {
				send(t, m, "READY=1\nFDNAME=a", fds[0])
			}},
		{name: "closes what exceeds FileDescriptorStoreMax",
			opts: []systemdtest.Option{systemdtest.FDStoreMax(2)},
			act: func(t *testing.T, m *systemdtest.Manager, fds []int) {
				send(t, m, "FDSTORE=1\nFDNAME=a", fds[0], fds[1], fds[2])
			},
			want: []string{"a", "a"}},
		{name: "stores nothing when FileDescriptorStoreMax is 0",
			opts: []systemdtest.Option{systemdtest.FDStoreMax(0)},
			act: func(t *testing.T, m *systemdtest.Manager, fds []int) {
				send(t, m, "FDSTORE=1\nFDNAME=a", fds[0])
			}},
		{name: "removes and does not store when a datagram asks for both",
			act: func(t *testing.T, m *systemdtest.Manager, fds []int) {
				send(t, m, "FDSTORE=1\nFDNAME=a", fds[0])
				send(t, m, "FDSTOREREMOVE=1\nFDSTORE=1\nFDNAME=a", fds[1])
			}},
		{name: "ignores FDSTOREREMOVE=1 without a name",
			act: func(t *testing.T, m *systemdtest.Manager, fds []int) {
				send(t, m, "FDSTORE=1\nFDNAME=a", fds[0])
				send(t, m, "FDSTOREREMOVE=1")
			},
			want: []string{"a"}},
		{name: "ignores a datagram longer than 4096 bytes",
			act: func(t *testing.T, m *systemdtest.Manager, fds []int) {
				send(t, m, "FDSTORE=1\nFDNAME=a\nSTATUS="+strings.Repeat("x", 4096), fds[0])
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := systemdtest.NewManager(t, tt.opts...)
			readEnds, writeEnds := pipes(t, 3)

			tt.act(t, m, writeEnds)
			closeAll(writeEnds)
			barrier(t, m)

			var got []string
			for _, f := range m.Stored() {
				got = append(got, f.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stored names (-want +got):\n%s", diff)
			}
			// A pipe whose write end the Manager did not keep has no
			// writer left.
			kept := map[uint64]bool{}
			for _, f := range m.Stored() {
				kept[inode(t, f.FD)] = true
			}
			for i, r := range readEnds {
				if hungUp(t, r) == kept[inode(t, r)] {
					t.Errorf("pipe %d: hung up %v, but stored %v", i, hungUp(t, r),
						kept[inode(t, r)])
				}
			}
		})
	}
}

func TestTheStoreDropsWhatHangsUp(t *testing.T) {
	tests := []struct {
		name  string
		state string
		want  []string
	}{
		{"drops a stored descriptor that hangs up", "FDSTORE=1\nFDNAME=w", nil},
		{"keeps one stored with FDPOLL=0", "FDSTORE=1\nFDNAME=w\nFDPOLL=0", []string{"w"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := systemdtest.NewManager(t)
			readEnds, writeEnds := pipes(t, 1)
			send(t, m, tt.state, writeEnds[0])
			barrier(t, m)

			closeAll(readEnds)

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

func TestCommandPassesTheWatchdogAndNotifySocket(t *testing.T) {
	m := systemdtest.NewManager(t, systemdtest.Abstract(), systemdtest.Watchdog(3*time.Second))
	cmd := m.Command("sh", "-c",
		`echo "$NOTIFY_SOCKET $WATCHDOG_USEC $WATCHDOG_PID $LISTEN_PID $LISTEN_FDS $$"`)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}

	var socket, usec, watchdogPID, listenPID, fds, pid string
	fmt.Sscan(string(out), &socket, &usec, &watchdogPID, &listenPID, &fds, &pid)
	got := []string{socket, usec, watchdogPID, listenPID, fds}
	want := []string{m.Addr(), "3000000", pid, pid, "0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID, LISTEN_PID, LISTEN_FDS "+
			"(-want +got):\n%s", diff)
	}
}

// service returns a command that runs this test binary as m's service in
// role, with its output collected.
func service(t *testing.T, m *systemdtest.Manager, role string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := m.Command(self, "-test.run=^$")
	cmd.Env = append(cmd.Env, roleVar+"="+role)
	cmd.Stdout, cmd.Stderr = new(bytes.Buffer), new(bytes.Buffer)
	return cmd
}

// send sends one datagram with fds to m, as a service would.
func send(t *testing.T, m *systemdtest.Manager, state string, fds ...int) {
	t.Helper()
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sock)
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if err := unix.Sendmsg(sock, []byte(state), oob, &unix.SockaddrUnix{Name: m.Addr()},
		0); err != nil {
		t.Fatal(err)
	}
}

var barriers int

// barrier returns once m has handled every datagram sent before.
func barrier(t *testing.T, m *systemdtest.Manager) {
	t.Helper()
	barriers++
	state := fmt.Sprintf("X_BARRIER=%d", barriers)
	send(t, m, state)
	m.WaitFor(os.Getpid(), state)
}

// pipes returns the ends of n pipes, closed when the test ends if still open.
func pipes(t *testing.T, n int) (readEnds, writeEnds []int) {
	t.Helper()
	for range n {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		readEnds, writeEnds = append(readEnds, p[0]), append(writeEnds, p[1])
	}
	t.Cleanup(func() {
		closeAll(readEnds)
		closeAll(writeEnds)
	})
	return readEnds, writeEnds
}

// closeAll closes the descriptors in fds that are still open and marks them
// closed with -1, so that no number is closed twice: by then it may be one
// the Manager received.
func closeAll(fds []int) {
	for i, fd := range fds {
		if fd >= 0 {
			unix.Close(fd)
			fds[i] = -1
		}
	}
}

func dup(t *testing.T, fd int) int {
	t.Helper()
	d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(d) })
	return d
}

func inode(t *testing.T, fd int) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func hungUp(t *testing.T, fd int) bool {
	t.Helper()
	pfd := []unix.PollFd{{Fd: int32(fd)}}
	if _, err := unix.Poll(pfd, 0); err != nil {
		t.Fatal(err)
	}
	return pfd[0].Revents&unix.POLLHUP != 0
}

// listener returns a listening SOCK_SEQPACKET socket, closed when the test
// ends.
func listener(t *testing.T) *os.File {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "control")
	t.Cleanup(func() { f.Close() })
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: "@hijack-systemdtest-control/" +
		t.Name()}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 16); err != nil {
		t.Fatal(err)
	}
	return f
}
