package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/hijack-project/hijack/rumpconn"
	"github.com/hijack-project/hijack/rumpserver"
)

// embedded is hijackd's embedded rump kernel: hijack-rumpserver, confined,
// accepting on a socket in the state directory that hijackd made for it.
// It lives as long as its lifeline, a pipe whose read end it holds: it ends
// once every write end is closed. hijackd holds one and, when it hands its
// sessions to a successor, stores another with systemd, so that the kernel
// and the rump processes in it outlive a restart of hijackd and end with
// the service.
type embedded struct {
	cmd      *exec.Cmd // nil for a kernel a predecessor started
	ln       *net.UnixListener
	sock     string
	lifeline *os.File // the write end
	done     chan struct{}
}

// lifelineName is the lifeline's name in systemd's descriptor store.
const lifelineName = "embedded-lifeline"

// embeddedSocket is where the embedded kernel of stateDir accepts.
func embeddedSocket(stateDir string) string {
	return filepath.Join(stateDir, "rump", "rump.sock")
}

// adoptEmbedded takes over the embedded kernel a predecessor started, whose
// lifeline it handed over.
func adoptEmbedded(stateDir string, lifeline *os.File, log *slog.Logger) (*embedded,
	*rumpconn.Server, error) {
	sock := embeddedSocket(stateDir)
	srv, err := rumpconn.ParseServer("unix://"+sock, "/")
	if err != nil {
		lifeline.Close()
		return nil, nil, err
	}
	log.Info("embedded rump kernel taken over", "server", srv.String())
	return &embedded{sock: sock, lifeline: lifeline, done: make(chan struct{})}, &srv, nil
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
	sock := embeddedSocket(stateDir)
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

	r, w, err := os.Pipe()
	if err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("embedded kernel lifeline: %w", err)
	}
	defer r.Close()
	cmd, err := rumpserver.ConfinedCommand(rumpserver.SpawnConfig{
		Path: bin, Root: root, User: user, Stderr: os.Stderr,
		Args: []string{"--lifeline"},
	}, f)
	if err != nil {
		ln.Close()
		w.Close()
		return nil, nil, err
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, r) // descriptor 4
	if err := cmd.Start(); err != nil {
		ln.Close()
		w.Close()
		return nil, nil, fmt.Errorf("start embedded kernel %s: %w "+
			"(--rump-server-bin names it; --no-embedded runs without it)", bin, err)
	}
	e := &embedded{cmd: cmd, ln: ln, sock: sock, lifeline: w, done: make(chan struct{})}
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

// stop ends the embedded kernel and removes its socket. A kernel a
// predecessor started ends once its lifeline is closed everywhere.
func (e *embedded) stop() {
	if e.ln != nil {
		e.ln.Close()
	}
	os.Remove(e.sock)
	e.lifeline.Close()
	if e.cmd == nil {
		return
	}
	e.cmd.Process.Signal(os.Interrupt)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		e.cmd.Process.Kill()
		<-e.done
	}
}
