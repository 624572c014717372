package test

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hijack-project/hijack/internal/systemd/systemdtest"
)

// restartedProgram holds a rump file, a rump working directory, a connected
// pair of rump sockets and a thread blocked in accept while the test
// restarts hijackd, and then uses them all.
const restartedProgram = `
import os, socket, sys, threading
d = "/rump/restart-%d" % os.getpid()
os.mkdir(d)
open(d + "/f", "w").write("first line\nsecond line\n")
f = open(d + "/f")
print("read", f.readline().strip(), flush=True)
ln = socket.socket()
ln.bind(("127.0.0.1", 0))
ln.listen()
a = socket.create_connection(ln.getsockname())
b, _ = ln.accept()
os.chdir(d)
accepted = []
def serve():
    c, _ = ln.accept()
    accepted.append(c.recv(10))
t = threading.Thread(target=serve)
t.start()
print("ready", ln.getsockname()[1], flush=True)
sys.stdin.readline()
print("read", f.readline().strip(), flush=True)
a.send(b"ping")
print("pair", b.recv(10), flush=True)
print("cwd", os.path.basename(os.getcwd()) == os.path.basename(d), sorted(os.listdir(".")),
      flush=True)
t.join(30)
print("accepted", accepted, flush=True)
`

// service is hijackd started by a systemdtest Manager.
type service struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

func startService(t *testing.T, m *systemdtest.Manager, args ...string) *service {
	t.Helper()
	s := &service{log: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = m.Command(filepath.Join(bin, "hijackd"), args...)
	s.cmd.Stderr = s.log
	// The embedded kernel a first hijackd starts keeps its stderr open
	// after it exits: it outlives a restart by design.
	s.cmd.WaitDelay = time.Second
	if err := m.Start(s.cmd); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("hijackd %d log:\n%s", s.cmd.Process.Pid, s.log)
		}
	})
	m.WaitFor(s.cmd.Process.Pid, "READY=1")
	return s
}

// stop sends SIGTERM, as systemctl stop and restart do, and waits.
func (s *service) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("hijackd still running 30 s after SIGTERM:\n%s", s.log)
	}
}

// controlSocket makes the control socket a Manager holds, as hijackd.socket.
func controlSocket(t *testing.T, m *systemdtest.Manager) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "control.sock")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	m.AddSocket("control", f)
	return sock
}

func TestRestartKeepsProgramsRunning(t *testing.T) {
	python := requireProgram(t, "python3", "python3")
	m := systemdtest.NewManager(t)
	sock := controlSocket(t, m)
	state := stateDir(t)
	args := []string{"--metrics-addr", "", "--state-dir", state}
	first := startService(t, m, args...)
	d := &daemon{socket: sock}

	prog := startBackground(t, hijackedCommand(d, nil, python, "-c", restartedProgram))
	if got := prog.line(t); got != "read first line" {
		t.Fatalf("before the restart the program printed %q", got)
	}
	ready := prog.line(t)
	port, ok := strings.CutPrefix(ready, "ready ")
	if !ok {
		t.Fatalf("before the restart the program printed %q", ready)
	}
	// A shell's redirections below fdoff are pumped shadows, streams
	// hijackd moves to and from the rump files.
	bash := requireProgram(t, "bash", "bash")
	shell := startBackground(t, hijackedCommand(d, nil, bash, "-c", `
d=/rump/restart-sh-$$; mkdir $d; printf 'one\ntwo\n' > $d/x
exec 3<$d/x 4>$d/y
read -r a <&3; echo "read $a"; echo before >&4
read -r go
read -r b <&3; echo "read $b"; echo after >&4; exec 4>&-
cat $d/y`))
	if got := shell.line(t); got != "read one" {
		t.Fatalf("before the restart the shell printed %q", got)
	}
	// The thread's accept is in the rump kernel now.
	time.Sleep(200 * time.Millisecond)

	first.stop(t)
	if !strings.Contains(first.log.String(), "sessions handed over") {
		t.Fatalf("hijackd did not hand its sessions over:\n%s", first.log)
	}
	second := startService(t, m, args...)
	if !strings.Contains(second.log.String(), "session resumed") {
		t.Errorf("the new hijackd resumed no session:\n%s", second.log)
	}

	io.WriteString(prog.stdin.(io.Writer), "go\n")
	client := run(t, d, nil, python, "-c", fmt.Sprintf(`
import socket
socket.create_connection(("127.0.0.1", %s)).send(b"hello")
`, port))
	if client.code != 0 {
		t.Errorf("a client after the restart: %+v", client)
	}
	want := []string{
		"read second line",
		"pair b'ping'",
		"cwd True ['f']",
		"accepted [b'hello']",
	}
	for _, w := range want {
		if got := prog.line(t); got != w {
			t.Errorf("after the restart the program printed %q, want %q", got, w)
		}
	}
	if st := prog.wait(t, 30*time.Second); !st.Success() {
		t.Errorf("the program exited with %v", st)
	}
	io.WriteString(shell.stdin.(io.Writer), "go\n")
	for _, w := range []string{"read two", "before", "after"} {
		if got := shell.line(t); got != w {
			t.Errorf("after the restart the shell printed %q, want %q", got, w)
		}
	}
	if st := shell.wait(t, 30*time.Second); !st.Success() {
		t.Errorf("the shell exited with %v", st)
	}
	second.stop(t)
}
