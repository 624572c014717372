package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/control"
	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/rumpconn"
)

// errNoEmbedded is why sessions without RUMP_SERVER cannot be served when
// hijackd runs without its embedded kernel.
var errNoEmbedded = errors.New("hijackd runs without its embedded rump kernel " +
	"(set RUMP_SERVER, or start hijackd with one)")

// serverFor returns the rump server of a registration: RUMP_SERVER when set,
// resolved against the program's working directory as rumpclient resolves
// it, else the embedded kernel.
func (s *Server) serverFor(reg *control.Register) (rumpconn.Server, error) {
	if !reg.RumpServerSet {
		if s.embedded == nil {
			return rumpconn.Server{}, errNoEmbedded
		}
		return *s.embedded, nil
	}
	return rumpconn.ParseServer(reg.RumpServer, reg.Cwd)
}

// pool returns the pool of ready connections to srv, creating it on first
// use. Pools live as long as the Server.
func (s *Server) pool(srv rumpconn.Server) *rumpconn.Pool {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := srv.String()
	if p, ok := s.pools[key]; ok {
		return p
	}
	p := rumpconn.NewPool(srv, rumpconn.PoolOptions{Metrics: s.rumpMetrics, Logger: s.log})
	s.pools[key] = p
	return p
}

// connect makes the rump process of a session's first target, before the
// program runs, so that a server that cannot be reached is reported by
// hijack-exec instead of failing the program's calls. A retry setting other
// than none and die keeps trying on rumpclient's schedule until the deadline
// of the registration, or the setting's own number of seconds.
func (s *Server) connect(ctx context.Context, srv rumpconn.Server, program string, pid int,
	staging *rumpconn.Staging, retry decision.Retry,
	onReconnect func()) (*rumpconn.Conn, error) {
	opts := s.connOptions(pid, staging, retry, onReconnect)
	if retry > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(retry)*time.Second)
		defer cancel()
	}
	pool := s.pool(srv)
	name := filepath.Base(program)
	for k := 0; ; k++ {
		conn, err := pool.Dial(ctx, name, opts)
		if err == nil {
			return conn, nil
		}
		giveUp := retry == decision.RetryNone || retry == decision.RetryDie ||
			(retry == decision.RetryOnce && k >= 1)
		if giveUp || ctx.Err() != nil {
			return nil, fmt.Errorf("rump server %s: %w", srv, err)
		}
		select {
		case <-time.After(rumpconn.Backoff(k + 1)):
		case <-ctx.Done():
			return nil, fmt.Errorf("rump server %s: %w", srv, err)
		}
	}
}

// connOptions are the options of a target process's rump connection.
// They belong to target process pid: losing the server under
// RUMPHIJACK_RETRYCONNECT=die kills its tree, and a signal the rump kernel
// raises for it (RUMPSP_RAISE) is sent to it.
func (s *Server) connOptions(pid int, staging *rumpconn.Staging, retry decision.Retry,
	onReconnect func()) rumpconn.Options {
	return rumpconn.Options{
		Memory:      staging,
		Retry:       retry,
		OnDie:       func() { killTree(pid) },
		OnReconnect: func(uint64) { onReconnect() },
		OnRaise: func(sig netbsd.Signal) {
			if linux, ok := netbsd.SignalToLinux(sig); ok {
				unix.Kill(pid, linux)
			}
		},
		Metrics: s.rumpMetrics,
		Logger:  s.log,
	}
}

// killTree ends a target and all its descendants when its rump server is
// lost under RUMPHIJACK_RETRYCONNECT=die, as rumpclient's _exit(1) ends its
// process. Descendants are found through the parent links in /proc; a
// process started between the scan and the kill escapes it, which a second
// pass makes unlikely.
func killTree(pid int) {
	for range 2 {
		for _, p := range descendants(pid) {
			unix.Kill(p, unix.SIGKILL)
		}
	}
	unix.Kill(pid, unix.SIGKILL)
}

// descendants returns the processes below pid.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := make(map[int][]int)
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The parent follows the command name, which may hold spaces
		// and parentheses: read after the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		var state byte
		var ppid int
		if _, err := fmt.Sscanf(string(stat[i+1:]), " %c %d", &state, &ppid); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []int
	for queue := children[pid]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}
