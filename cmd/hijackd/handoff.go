package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/internal/systemd"
	"github.com/hijack-project/hijack/session"
)

// stateName is the name in systemd's descriptor store of the memory file
// holding the handed-over sessions' state.
const stateName = "handoff-state"

// handoff stores the sessions of srv, and the embedded kernel's lifeline,
// in systemd's descriptor store for the next hijackd.
func handoff(srv *session.Server, kernel *embedded, log *slog.Logger) error {
	state, fds, err := srv.Handoff()
	if err != nil {
		return err
	}
	mfd, err := unix.MemfdCreate(stateName, unix.MFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("handoff state: %w", err)
	}
	if _, err := unix.Write(mfd, state); err != nil {
		return fmt.Errorf("handoff state: %w", err)
	}
	// Sockets are stored unpolled: a socket shadow that reports end of
	// file does so on purpose, and must not be dropped from the store.
	for _, f := range fds {
		if err := systemd.StoreFDsUnpolled(f.Name, f.FD); err != nil {
			return err
		}
	}
	if kernel != nil {
		if err := systemd.StoreFDs(lifelineName, int(kernel.lifeline.Fd())); err != nil {
			return err
		}
	}
	// The state last: a successor that finds it finds everything it names.
	if err := systemd.StoreFDs(stateName, mfd); err != nil {
		return err
	}
	log.Info("sessions handed over", "descriptors", len(fds), "state_bytes", len(state))
	return nil
}

// resume takes back what a predecessor stored and empties the store: from
// now on the sessions are this hijackd's, and a later handoff stores them
// anew.
func resume(srv *session.Server, stored map[string]int, log *slog.Logger) error {
	if len(stored) == 0 {
		return nil
	}
	for name := range stored {
		systemd.RemoveFDs(name)
	}
	systemd.RemoveFDs(lifelineName)
	fd, ok := stored[stateName]
	if !ok {
		for _, fd := range stored {
			unix.Close(fd)
		}
		return errors.New("descriptors stored without their state (" + stateName + ")")
	}
	delete(stored, stateName)
	f := os.NewFile(uintptr(fd), stateName)
	defer f.Close()
	state, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<30))
	if err != nil {
		for _, fd := range stored {
			unix.Close(fd)
		}
		return fmt.Errorf("read handoff state: %w", err)
	}
	n := len(stored)
	if err := srv.Resume(state, stored); err != nil {
		return err
	}
	log.Info("sessions resumed", "sessions", srv.Sessions(), "descriptors", n)
	return nil
}
