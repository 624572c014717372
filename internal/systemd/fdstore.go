package systemd

import (
	"fmt"
)

// maxFDsPerMessage is the kernel's limit on descriptors in one SCM_RIGHTS
// message (SCM_MAX_FD); StoreFDs sends more in several messages.
const maxFDsPerMessage = 253

// maxNameLen is the longest descriptor name systemd keeps (FDNAME_MAX).
const maxNameLen = 255

// StoreFDs hands copies of fds to systemd's file descriptor store under name
// (FDSTORE=1, FDNAME=name). systemd keeps them while the service restarts and
// passes them back to the next main process, which finds them with ListenFDs
// under the same name. The descriptors stay open here too.
//
// systemd keeps no more than FileDescriptorStoreMax= descriptors, keeps one
// copy of a descriptor stored twice (under the first name it got), and drops
// a stored descriptor once it reports POLLHUP or POLLERR: a pipe whose other
// end is closed, a unix socket whose peer closed it, a seccomp listener whose
// targets have all exited. It says nothing back, so a nil error means only
// that the descriptors were sent.
// The store is emptied when the service is stopped rather than restarted.
//
// The name must be 1 to 255 printable ASCII characters without ':', which
// separates names in $LISTEN_FDNAMES; systemd would store the descriptors
// under "stored" instead. Without $NOTIFY_SOCKET, StoreFDs does nothing.
func StoreFDs(name string, fds ...int) error { return store(name, true, fds) }

// StoreFDsUnpolled is StoreFDs with FDPOLL=0: systemd keeps the descriptors
// even when they report POLLHUP or POLLERR, as it must a socket whose peer
// has shut down on purpose.
func StoreFDsUnpolled(name string, fds ...int) error { return store(name, false, fds) }

func store(name string, poll bool, fds []int) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("fd store: %w", err)
	}
	for _, fd := range fds {
		if fd < 0 {
			return fmt.Errorf("fd store: %q: invalid descriptor %d", name, fd)
		}
	}

	state := "FDSTORE=1\nFDNAME=" + name
	if !poll {
		state += "\nFDPOLL=0"
	}
	for len(fds) > 0 {
		n := min(len(fds), maxFDsPerMessage)
		if err := send(state, fds[:n]); err != nil {
			return fmt.Errorf("fd store: %q: %w", name, err)
		}
		fds = fds[n:]
	}
	return nil
}

// RemoveFDs asks systemd to close every descriptor it stores under name
// (FDSTOREREMOVE=1), as a session that ended must be forgotten before the
// next restart. Removing a name that is not stored is not an error. Without
// $NOTIFY_SOCKET, RemoveFDs does nothing.
func RemoveFDs(name string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("fd store: %w", err)
	}
	if err := send("FDSTOREREMOVE=1\nFDNAME="+name, nil); err != nil {
		return fmt.Errorf("fd store: remove %q: %w", name, err)
	}
	return nil
}

// checkName applies systemd's rule for descriptor names (fdname_is_valid),
// except that it refuses the empty name, which would make the descriptors
// impossible to tell apart when they come back.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("empty descriptor name")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("descriptor name of %d bytes is longer than %d", len(name), maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < ' ' || c > '~' || c == ':' {
			return fmt.Errorf("descriptor name %q: byte %#02x at %d is not printable "+
				"ASCII other than ':'", name, c, i)
		}
	}
	return nil
}
