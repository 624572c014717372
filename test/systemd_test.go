package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hijack-project/hijack/internal/systemd/systemdtest"
)

func TestHijackdUnderSystemd(t *testing.T) {
	m := systemdtest.NewManager(t, systemdtest.Watchdog(2*time.Second))
	sock := controlSocket(t, m)

	log := &syncBuffer{}
	cmd := m.Command(filepath.Join(bin, "hijackd"), "--metrics-addr", freePort(t),
		"--state-dir", stateDir(t))
	cmd.Stderr = log
	// The embedded kernel outlives hijackd, with its stderr, until the
	// Manager lets go of its lifeline.
	cmd.WaitDelay = time.Second
	if err := m.Start(cmd); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("hijackd log:\n%s", log)
		}
	})

	m.WaitFor(cmd.Process.Pid, "READY=1")
	d := &daemon{socket: sock}
	if got := run(t, d, nil, "echo", "activated"); got.stdout != "activated\n" || got.code != 0 {
		t.Errorf("a program through the socket systemd passed: %+v", got)
	}
	m.WaitFor(cmd.Process.Pid, "WATCHDOG=1")

	cmd.Process.Signal(syscall.SIGTERM)
	m.WaitFor(cmd.Process.Pid, "STOPPING=1")
	<-done
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("hijackd removed the socket systemd owns: %v", err)
	}
}

func TestHijackdSocketActivated(t *testing.T) {
	activate, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate not installed (Debian package systemd)")
	}
	// systemd-socket-activate holds the control socket and starts hijackd
	// with it at the first connection, as hijackd.socket does.
	sock := filepath.Join(t.TempDir(), "control.sock")
	log := &syncBuffer{}
	cmd := exec.Command(activate, "--seqpacket", "--listen="+sock, "--fdname=control",
		filepath.Join(bin, "hijackd"), "--metrics-addr", freePort(t), "--state-dir", stateDir(t))
	cmd.Stderr = log
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The activator execs hijackd in its own place.
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("log:\n%s", log)
		}
	})
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i == 200 {
			t.Fatalf("no control socket after 10 s:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	d := &daemon{socket: sock}
	got := run(t, d, nil, "sh", "-c", "echo activated > /rump/a && cat /rump/a")
	if got.code != 0 || got.stdout != "activated\n" {
		t.Errorf("a program through a socket-activated hijackd: %+v\n%s", got, log)
	}
	if !strings.Contains(log.String(), "socket_activated=true") {
		t.Errorf("hijackd did not take the activator's socket:\n%s", log)
	}
}
