package test

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hijack-project/hijack/internal/systemd/systemdtest"
)

func TestHijackdUnderSystemd(t *testing.T) {
	m := systemdtest.NewManager(t, systemdtest.Watchdog(2*time.Second))
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

	log := &syncBuffer{}
	cmd := m.Command(filepath.Join(bin, "hijackd"), "--metrics-addr", freePort(t))
	cmd.Stderr = log
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
