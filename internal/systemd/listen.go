package systemd

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// listenFDsStart is the first descriptor systemd passes (SD_LISTEN_FDS_START):
// the ones after standard input, output and error.
const listenFDsStart = 3

// File is a descriptor systemd passed to this process.
type File struct {
	// FD is the descriptor number, 3 or more.
	FD int

	// Name is the socket unit's FileDescriptorName= (its own name by
	// default), or the FDNAME= the descriptor was stored under, or "unknown"
	// when systemd passed no names.
	Name string
}

// ListenFDs returns the descriptors systemd passed to this process: first
// those of its socket units, then those of its file descriptor store, as
// $LISTEN_PID, $LISTEN_FDS and $LISTEN_FDNAMES describe them
// (sd_listen_fds(3)).
// It returns none, and no error, when the variables are unset or meant for
// another process, one that exec'd this one without clearing them.
//
// Each returned descriptor is made close-on-exec, so that children do not
// inherit it, and belongs to the caller. The three variables are removed from
// the environment whatever the outcome, so children are not misled and a
// second call returns nothing.
func ListenFDs() ([]File, error) {
	defer func() {
		os.Unsetenv("LISTEN_PID")
		os.Unsetenv("LISTEN_FDS")
		os.Unsetenv("LISTEN_FDNAMES")
	}()

	pidVar := os.Getenv("LISTEN_PID")
	if pidVar == "" {
		return nil, nil
	}
	pid, err := strconv.Atoi(pidVar)
	if err != nil || pid <= 0 {
		return nil, fmt.Errorf("socket activation: LISTEN_PID=%q: not a process id", pidVar)
	}
	if pid != os.Getpid() {
		return nil, nil
	}

	countVar := os.Getenv("LISTEN_FDS")
	n, err := strconv.Atoi(countVar)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("socket activation: LISTEN_FDS=%q: not a descriptor count",
			countVar)
	}
	if n == 0 {
		return nil, nil
	}

	names := make([]string, n)
	if namesVar, ok := os.LookupEnv("LISTEN_FDNAMES"); ok {
		names = strings.Split(namesVar, ":")
		if len(names) != n {
			return nil, fmt.Errorf("socket activation: LISTEN_FDNAMES=%q names %d "+
				"descriptors, LISTEN_FDS=%d", namesVar, len(names), n)
		}
	} else {
		for i := range names {
			names[i] = "unknown"
		}
	}

	files := make([]File, n)
	for i := range files {
		fd := listenFDsStart + i
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
			return nil, fmt.Errorf("socket activation: LISTEN_FDS=%d: descriptor %d: %w",
				n, fd, err)
		}
		files[i] = File{FD: fd, Name: names[i]}
	}
	return files, nil
}
