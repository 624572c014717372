package session

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/notify"
)

// leaveRumpCwd is told that process p, whose working directory is in the
// rump kernel, is about to change directory on the host with notification
// n: a chdir to an absolute host path or an fchdir of a host descriptor.
// The host runs the call once it is continued and reports nothing back, so
// whether it will succeed is decided here, by looking the directory up as
// the target sees it: if it is a directory, the working directory is on the
// host from now on. A host directory the target may not search is taken for
// one it can; its chdir fails while the flag says host, and relative paths
// then go to the host working directory the process had before.
//
// It reports whether the working directory is about to leave the rump
// kernel.
func leaveRumpCwd(n *notify.Notification, p *process, paths []decision.Path) bool {
	var st unix.Stat_t
	switch n.Nr {
	case unix.SYS_CHDIR:
		if len(paths) == 0 || !paths[0].OK {
			return false
		}
		root, err := unix.Open(fmt.Sprintf("/proc/%d/root", p.pid), unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			return false
		}
		defer unix.Close(root)
		dir, err := unix.Openat2(root, paths[0].Name, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT,
		})
		if err != nil {
			return false
		}
		unix.Close(dir)
	case unix.SYS_FCHDIR:
		if unix.Stat(fmt.Sprintf("/proc/%d/fd/%d", p.pid, int32(n.Args[0])), &st) != nil ||
			st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return false
		}
	default:
		return false
	}
	p.setCwd(false)
	return true
}
