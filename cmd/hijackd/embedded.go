package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hijack-project/hijack/rumpconn"
	"github.com/hijack-project/hijack/rumpserver"
)

// embedded is hijackd's embedded rump kernel: hijack-rumpserver, confined,
// accepting on a socket in the state directory that hijackd made for it.
type embedded struct {
	cmd  *exec.Cmd
	ln   *net.UnixListener
	sock string
	done chan struct{}
}

// startEmbedded starts the embedded kernel with its root under stateDir,
// serving as user when hijackd runs as root.
func startEmbedded(bin, stateDir, user string, log *slog.Logger) (*embedded,
	*rumpconn.Server, error) {
	root := filepath.Join(stateDir, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, nil, fmt.Errorf("embedded kernel root: %w", err)
	}
	if os.Geteuid() == 0 {
		// The server serves as user and must be able to write its root.
		uid, gid, err := rumpserver.LookupUser(user)
		if err != nil {
			return nil, nil, err
		}
		if err := os.Chown(root, uid, gid); err != nil {
			return nil, nil, fmt.Errorf("embedded kernel root: %w", err)
		}
	}
	// The socket lives in a directory only hijackd can enter: the
	// embedded kernel is hijackd's, not its users'.
	sockDir := filepath.Join(stateDir, "rump")
	if err := os.MkdirAll(sockDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("embedded kernel socket directory: %w", err)
	}
	sock := filepath.Join(sockDir, "rump.sock")
	os.Remove(sock)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return nil, nil, fmt.Errorf("embedded kernel socket: %w", err)
	}
	f, err := ln.File()
	if err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("embedded kernel socket: %w", err)
	}
	defer f.Close()

	cmd, err := rumpserver.ConfinedCommand(rumpserver.SpawnConfig{
		Path: bin, Root: root, User: user, Stderr: os.Stderr,
		Args: []string{"--die-with-parent"},
	}, f)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// The embedded kernel is hijackd's: it must not outlive it, even when
	// hijackd is killed.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("start embedded kernel %s: %w "+
			"(--rump-server-bin names it; --no-embedded runs without it)", bin, err)
	}
	e := &embedded{cmd: cmd, ln: ln, sock: sock, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		close(e.done)
		log.Warn("embedded rump kernel exited", "error", err)
	}()
	srv, err := rumpconn.ParseServer("unix://"+sock, "/")
	if err != nil {
		e.stop()
		return nil, nil, err
	}
	log.Info("embedded rump kernel started", "pid", cmd.Process.Pid, "root", root,
		"server", srv.String())
	return e, &srv, nil
}

// stop ends the embedded kernel and removes its socket.
func (e *embedded) stop() {
	e.ln.Close()
	os.Remove(e.sock)
	e.cmd.Process.Signal(os.Interrupt)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		e.cmd.Process.Kill()
		<-e.done
	}
}
