package rumpserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Flags of hijack-rumpserver that Spawn and the command itself pass to the
// stages of a confined start; they are not meant for users.
const (
	// StageFlag selects a stage: StageSetup runs in the new network
	// namespace with privileges, configures it and drops them; StageServe
	// serves.
	StageFlag  = "internal-stage"
	StageSetup = "setup"
	StageServe = "serve"
	// UsernsFlag tells the setup stage that it runs in a user namespace of
	// its own, where it can only shed capabilities, not change uid.
	UsernsFlag = "internal-userns"
)

// DefaultUser is the account a server started as root serves as: nobody.
const DefaultUser = "65534:65534"

// SpawnConfig configures Spawn and ConfinedCommand.
type SpawnConfig struct {
	// Path is the hijack-rumpserver executable. Required.
	Path string
	// Root is the root directory the server serves. Required. When the
	// server drops to User, the directory, not its parents, must be
	// accessible to that user: the setup stage opens it first.
	Root string
	// User is the account to serve as when started as root: a name or
	// UID[:GID]. Default: DefaultUser. Ignored when not started as root:
	// the server then keeps the caller's uid, without capabilities.
	User string
	// NoConfine starts the server without a namespace of its own and
	// without dropping privileges, for tests that cannot create
	// namespaces. Its sockets then share the caller's network.
	NoConfine bool
	// Stderr receives the server's log and its console. Default:
	// os.Stderr.
	Stderr io.Writer
	// Env is the server's environment. Default: none.
	Env []string
	// Args are further flags for the server, such as --log-level.
	Args []string
}

// ConfinedCommand returns the command that starts the server on serving,
// which becomes its descriptor 3: a listening socket, one connected stream
// socket (a single connection), or an AF_UNIX SOCK_SEQPACKET socket over
// which connected sockets arrive with SCM_RIGHTS, one per message.
//
// Unless cfg.NoConfine, the server starts in a new network namespace
// (CLONE_NEWNET), and, when the caller is not root, a new user namespace
// mapping its uid to root, which is what lets an unprivileged caller create
// the network namespace; the setup stage then brings loopback up and drops
// privileges before anything is served.
func ConfinedCommand(cfg SpawnConfig, serving *os.File) (*exec.Cmd, error) {
	if cfg.Path == "" || cfg.Root == "" {
		return nil, errors.New("spawn rump server: Path and Root are required")
	}
	args := []string{"--root", cfg.Root}
	if cfg.User != "" {
		args = append(args, "--user", cfg.User)
	}
	cmd := exec.Command(cfg.Path)
	cmd.Stderr = cfg.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	cmd.Env = cfg.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.ExtraFiles = []*os.File{serving}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	switch {
	case cfg.NoConfine:
		args = append(args, "--no-confine")
	case os.Geteuid() == 0:
		args = append(args, "--"+StageFlag+"="+StageSetup)
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
	default:
		args = append(args, "--"+StageFlag+"="+StageSetup, "--"+UsernsFlag)
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET | syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{
			{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{
			{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		cmd.SysProcAttr.GidMappingsEnableSetgroups = false
	}
	cmd.Args = append(append([]string{cfg.Path}, args...), cfg.Args...)
	return cmd, nil
}

// Child is a server started by Spawn. Its methods are safe for concurrent
// use.
type Child struct {
	cmd  *exec.Cmd
	ctl  *net.UnixConn
	done chan struct{} // closed when the process has exited

	mu      sync.Mutex
	closed  bool  // guarded by mu
	waitErr error // set before done is closed
}

// Spawn starts hijack-rumpserver as a confined child (see ConfinedCommand)
// connected to the caller over an AF_UNIX SOCK_SEQPACKET socketpair, over
// which Dial hands it connections. It returns once the child is started;
// whether its setup succeeded shows in the first Dial's handshake, or in
// Wait.
func Spawn(cfg SpawnConfig) (*Child, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("spawn rump server: socketpair: %w", err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "rumpserver-ctl"),
		os.NewFile(uintptr(fds[1]), "rumpserver-ctl-child")
	defer child.Close()

	cmd, err := ConfinedCommand(cfg, child)
	if err != nil {
		parent.Close()
		return nil, err
	}
	fc, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		return nil, fmt.Errorf("spawn rump server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		fc.Close()
		return nil, fmt.Errorf("spawn rump server %s: %w", cfg.Path, err)
	}

	c := &Child{cmd: cmd, ctl: fc.(*net.UnixConn), done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		c.mu.Lock()
		c.waitErr = err
		c.mu.Unlock()
		close(c.done)
	}()
	return c, nil
}

// Pid returns the process id of the child.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Dial returns a new connection to the child's server: the caller's end of
// a fresh socketpair whose other end the child serves. The banner is the
// first thing to read from it.
func (c *Child) Dial() (net.Conn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dial rump server: socketpair: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "rump"), os.NewFile(uintptr(fds[1]), "rump")
	defer mine.Close()
	defer theirs.Close()

	if _, _, err := c.ctl.WriteMsgUnix([]byte{0}, unix.UnixRights(fds[1]), nil); err != nil {
		return nil, fmt.Errorf("dial rump server: hand over connection: %w", err)
	}
	nc, err := net.FileConn(mine)
	if err != nil {
		return nil, fmt.Errorf("dial rump server: %w", err)
	}
	return nc, nil
}

// Wait waits for the child to exit and returns its exit error.
func (c *Child) Wait() error {
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waitErr
}

// Close stops the child: closing its control socket makes it close every
// connection and exit; one still running after a few seconds is killed.
// Close waits for the exit and is idempotent.
func (c *Child) Close() error {
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	c.mu.Unlock()
	if first {
		c.ctl.Close()
	}
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	return nil
}

// LookupUser resolves UID[:GID] or an account name, as --user and
// SpawnConfig.User take them; a bare uid takes the account's primary group
// if there is one, and the uid's number otherwise.
func LookupUser(spec string) (int, int, error) {
	name, group, hasGroup := strings.Cut(spec, ":")
	uid, err := strconv.Atoi(name)
	gid := uid
	if err != nil {
		u, lerr := user.Lookup(name)
		if lerr != nil {
			return 0, 0, fmt.Errorf("user %q: %w", spec, lerr)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	} else if u, lerr := user.LookupId(name); lerr == nil {
		gid, _ = strconv.Atoi(u.Gid)
	}
	if hasGroup {
		if gid, err = strconv.Atoi(group); err != nil {
			g, lerr := user.LookupGroup(group)
			if lerr != nil {
				return 0, 0, fmt.Errorf("user %q: %w", spec, lerr)
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
	}
	if uid < 0 || gid < 0 {
		return 0, 0, fmt.Errorf("user %q: negative id", spec)
	}
	return uid, gid, nil
}
