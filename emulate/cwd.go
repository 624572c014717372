package emulate

import (
	"bytes"
	"context"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

// The working directory. A process whose chdir or fchdir lands in the rump
// kernel has its working directory there: its relative paths and AT_FDCWD
// go to the rump kernel until a chdir lands on the host again, and getcwd
// reports the rump directory under the path prefix.

func init() {
	handlers[unix.SYS_CHDIR] = onPath(chdirHandler)
	handlers[unix.SYS_FCHDIR] = fchdirHandler
	handlers[unix.SYS_GETCWD] = getcwdHandler
}

func chdirHandler(ctx context.Context, c *Call, _ *staged, path uint64) Reply {
	r := c.rump(ctx, netbsd.SYS_CHDIR, path)
	if r.Errno == 0 {
		c.SetCwd()
	}
	return r
}

func fchdirHandler(ctx context.Context, c *Call) Reply {
	fd, ok := c.rumpFD(0)
	if !ok {
		return Reply{Continue: true}
	}
	r := c.rump(ctx, netbsd.SYS_FCHDIR, fd)
	if r.Errno == 0 {
		c.SetCwd()
	}
	return r
}

// getcwdHandler reports the rump working directory as the program named it:
// with the path prefix in front, so that the answer leads back to the same
// directory. With blankets only there is no prefix to add, and the rump
// kernel's own name for it is the answer, as in rumphijack.
func getcwdHandler(ctx context.Context, c *Call) Reply {
	size := min(c.N.Args[1], unix.PathMax)
	var s staged
	defer s.release()
	buf := make([]byte, unix.PathMax)
	addr, err := c.stage(&s, buf)
	if err != nil {
		return Reply{Errno: unix.ENOMEM}
	}
	r := c.rump(ctx, netbsd.SYS___GETCWD, addr, uint64(len(buf)))
	if r.Errno != 0 {
		return r
	}
	end := bytes.IndexByte(buf, 0)
	if end <= 0 || buf[0] != '/' {
		return Reply{Errno: unix.ENOENT} // not reachable from the root
	}
	cwd := string(buf[:end])
	if c.Prefix != "" {
		cwd = joinPrefix(c.Prefix, cwd)
	}
	out := append([]byte(cwd), 0)
	if uint64(len(out)) > size {
		return Reply{Errno: unix.ERANGE}
	}
	if err := c.copyOut(c.N.Args[0], out); err != nil {
		return Reply{Errno: unix.EFAULT}
	}
	return Reply{Value: int64(len(out))}
}

// joinPrefix puts the path prefix in front of rump path p, the inverse of
// stripping it: the rump root is the prefix itself.
func joinPrefix(prefix, p string) string {
	if p == "/" {
		return prefix
	}
	if prefix == "/" {
		return p
	}
	return prefix + p
}
