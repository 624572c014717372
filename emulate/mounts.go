package emulate

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// Mount tables with vfs=getvfsstat. A program that opens /proc/self/mounts
// or /proc/self/mountinfo gets the host's table followed by the rump
// kernel's file systems, from its getvfsstat, mounted under the path prefix:
// the rump kernel's root at /rump. df and findmnt then find /rump on a file
// system of its own, and statfs on rump paths is the rump kernel's already.
// The table is a snapshot taken at the open, as the kernel's own is a
// snapshot taken at the first read; it is an ordinary host file at the
// lowest free number.

// maxMounts bounds the rump file systems a table lists.
const maxMounts = 64

func serveMounts(ctx context.Context, c *Call) Reply {
	name := c.Verdict.RumpPaths[0]
	if strings.HasPrefix(name, "/proc/self/") || strings.HasPrefix(name, "/proc/thread-self/") {
		// As the target, not hijackd, sees itself.
		rest := name[strings.Index(name[len("/proc/"):], "/")+len("/proc/"):]
		name = fmt.Sprintf("/proc/%d%s", c.N.PID, rest)
	}
	host, err := os.ReadFile(name)
	if err != nil {
		if errno, ok := err.(*os.PathError).Err.(unix.Errno); ok {
			return Reply{Errno: errno}
		}
		return Reply{Errno: unix.EIO}
	}
	mounts, r := c.getvfsstat(ctx)
	if r.Errno != 0 {
		return r
	}
	table := string(host)
	info := strings.HasSuffix(name, "/mountinfo")
	parent := rootMountID(table)
	for i, m := range mounts {
		point := m.Mntonname
		if c.Prefix != "" {
			point = joinPrefix(c.Prefix, point)
		}
		opts := "rw"
		if m.Flag&netbsd.MNT_RDONLY != 0 {
			opts = "ro"
		}
		src := m.Mntfromname
		if src == "" {
			src = "rump"
		}
		fstype := "rump." + m.Fstypename
		if info {
			table += fmt.Sprintf("%d %s 0:0 / %s %s - %s %s %s\n", 1<<20+i, parent,
				mountEscape(point), opts, fstype, mountEscape(src), opts)
		} else {
			table += fmt.Sprintf("%s %s %s %s 0 0\n", mountEscape(src), mountEscape(point),
				fstype, opts)
		}
	}
	mfd, err := unix.MemfdCreate("hijack-mounts", unix.MFD_CLOEXEC)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	defer unix.Close(mfd)
	if _, err := unix.Write(mfd, []byte(table)); err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	ro, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", mfd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	defer unix.Close(ro)
	var flags uint32
	switch c.N.Nr {
	case unix.SYS_OPEN:
		flags = uint32(c.arg(1))
	case unix.SYS_OPENAT:
		flags = uint32(c.arg(2))
	}
	if flags&unix.O_ACCMODE != unix.O_RDONLY {
		return Reply{Errno: unix.EACCES}
	}
	// openat2's flags are in memory; a mount table is always opened
	// read-only and close-on-exec is the common case there.
	cloexec := flags&unix.O_CLOEXEC != 0 || c.N.Nr == unix.SYS_OPENAT2
	if err := c.Inject(ro, -1, cloexec); err != nil {
		return Reply{Errno: unix.EMFILE}
	}
	return Reply{Sent: true}
}

// getvfsstat returns the rump kernel's file systems.
func (c *Call) getvfsstat(ctx context.Context) ([]netbsd.Statvfs, Reply) {
	var s staged
	defer s.release()
	buf := make([]byte, maxMounts*netbsd.StatvfsSize)
	addr, err := c.stage(&s, buf)
	if err != nil {
		return nil, Reply{Errno: unix.ENOMEM}
	}
	r := c.rump(ctx, netbsd.SYS_GETVFSSTAT, addr, uint64(len(buf)), netbsd.ST_NOWAIT)
	if r.Errno != 0 {
		return nil, r
	}
	var out []netbsd.Statvfs
	for i := range min(int(r.Value), maxMounts) {
		v, err := netbsd.DecodeStatvfs(buf[i*netbsd.StatvfsSize:])
		if err != nil {
			return nil, Reply{Errno: unix.EIO}
		}
		out = append(out, v)
	}
	return out, Reply{}
}

// rootMountID returns the mount ID of "/" in a mountinfo table, the parent
// given to the rump kernel's mounts, or "1" if there is none.
func rootMountID(table string) string {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == "/" {
			if _, err := strconv.Atoi(f[0]); err == nil {
				return f[0]
			}
		}
	}
	return "1"
}

// mountEscape writes a field of a mount table as the kernel does: space,
// tab, newline and backslash in octal.
func mountEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case ' ', '\t', '\n', '\\':
			fmt.Fprintf(&b, "\\%03o", ch)
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}
