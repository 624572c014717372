package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/rumpserver"
)

// serveStage is the last stage of a confined start: descriptor 3 is the
// socket to serve and the root is open at --internal-root-fd.
func serveStage(opts options, log *slog.Logger) error {
	if err := checkUnprivileged(opts.userns); err != nil {
		return err
	}
	// Dropping privileges cleared any parent-death signal: ask for it
	// here, so that a server hijackd started ends with hijackd even when
	// hijackd is killed.
	if opts.dieWithParent {
		parent := unix.Getppid()
		err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
		if err != nil {
			return fmt.Errorf("set parent-death signal: %w", err)
		}
		if unix.Getppid() != parent || parent == 1 {
			return errors.New("the process that started the server is gone")
		}
	}
	if opts.rootFd < 0 {
		return errors.New("serve stage without --internal-root-fd")
	}
	unix.CloseOnExec(opts.rootFd)
	root := os.NewFile(uintptr(opts.rootFd), opts.root)
	defer root.Close()
	serving := os.NewFile(servedFd, "served")
	if serving == nil {
		return fmt.Errorf("serve stage without descriptor %d", servedFd)
	}
	defer serving.Close()
	return serve(opts, serving, root, log)
}

// serve runs a rump server on serving until it is done: a listener until
// SIGINT or SIGTERM; a descriptor-passing socket until the parent closes it;
// a single connection until it ends.
func serve(opts options, serving, root *os.File, log *slog.Logger) error {
	unix.CloseOnExec(int(serving.Fd()))
	// Each rump process's umask applies to the files it creates; the
	// server's own must not apply a second one.
	unix.Umask(0)
	s, err := rumpserver.New(rumpserver.Config{Root: opts.root, RootDir: root,
		Console: os.Stderr, Log: log})
	if err != nil {
		return err
	}
	defer s.Close()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if sig, ok := <-sigs; ok {
			log.Info("rump server stopping", "signal", sig.String())
			s.Close()
		}
	}()
	if opts.lifeline {
		line := os.NewFile(lifelineFd, "lifeline")
		if line == nil {
			return fmt.Errorf("--lifeline without descriptor %d", lifelineFd)
		}
		unix.CloseOnExec(lifelineFd)
		go func() {
			// Nothing is ever written: the read ends when the last
			// write end is closed.
			var b [1]byte
			for {
				if _, err := line.Read(b[:]); err != nil {
					break
				}
			}
			log.Info("rump server stopping", "reason", "lifeline closed")
			s.Close()
		}()
	}

	fd := int(serving.Fd())
	listening, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("descriptor %d is not a socket: %w", fd, err)
	}
	log.Info("rump server serving", "root", opts.root, "uid", os.Getuid(),
		"confined", !opts.noConfine)

	switch {
	case listening == 1:
		ln, err := net.FileListener(serving)
		if err != nil {
			return fmt.Errorf("serve listener: %w", err)
		}
		if err := s.Serve(ln); !errors.Is(err, rumpserver.ErrServerClosed) {
			return err
		}
		return nil
	case typ == unix.SOCK_SEQPACKET:
		return serveHandoffs(s, serving, log)
	default:
		nc, err := net.FileConn(serving)
		if err != nil {
			return fmt.Errorf("serve connection: %w", err)
		}
		s.ServeConn(nc)
		return nil
	}
}

// serveHandoffs serves every connected socket that arrives over ctl, one per
// message, until ctl is closed, when it stops the server.
func serveHandoffs(s *rumpserver.Server, ctl *os.File, log *slog.Logger) error {
	fc, err := net.FileConn(ctl)
	if err != nil {
		return fmt.Errorf("serve handoffs: %w", err)
	}
	uc, ok := fc.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("serve handoffs: descriptor %d is not a unix socket", servedFd)
	}
	defer uc.Close()

	buf, oob := make([]byte, 16), make([]byte, unix.CmsgSpace(4*8))
	for {
		n, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 && oobn == 0 {
			if err != nil && !errors.Is(err, io.EOF) {
				log.Warn("rump server handoff socket failed", "error", err)
			}
			s.Close()
			return nil
		}
		for _, fd := range receivedFds(oob[:oobn]) {
			f := os.NewFile(uintptr(fd), "rump connection")
			nc, err := net.FileConn(f)
			f.Close()
			if err != nil {
				log.Warn("rump server handoff is not a connection", "error", err)
				continue
			}
			go s.ServeConn(nc)
		}
	}
}

// receivedFds returns the descriptors of SCM_RIGHTS messages in oob.
func receivedFds(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if rights, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, rights...)
		}
	}
	return fds
}
