package emulate

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/hijack-project/hijack/netbsd"
)

// The umask is a host process attribute that no trapped call changes, yet
// the rump kernel applies its own rump process's umask to every file it
// creates. Before a call that creates a file, the rump process is given the
// umask the target has now, when it differs from the one it was given last.

// syncUmask gives the rump process the calling thread's umask. A umask that
// cannot be read leaves the rump process's as it is.
func (c *Call) syncUmask(ctx context.Context) {
	if c.Umask == nil {
		return
	}
	mask, err := threadUmask(c.N.PID)
	if err != nil || int64(mask) == c.Umask.Load() {
		return
	}
	if r := c.rump(ctx, netbsd.SYS_UMASK, uint64(mask)); r.Errno == 0 {
		c.Umask.Store(int64(mask))
	}
}

// threadUmask reads the umask of thread tid from /proc.
func threadUmask(tid int) (uint32, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", tid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			return uint32(m), err
		}
	}
	return 0, fmt.Errorf("no Umask in /proc/%d/status", tid)
}
