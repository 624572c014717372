// Command hijack-exec runs a program with chosen system calls redirected to
// a rump kernel by hijackd.
//
// Usage:
//
//	hijack-exec [--] PROGRAM [ARGS...]
//
// It reads RUMPHIJACK, RUMP_SERVER and RUMPHIJACK_RETRYCONNECT as NetBSD's
// rumphijack(3) does, registers with hijackd on its control socket
// (HIJACKD_SOCKET, default /run/hijackd/control.sock), installs the seccomp
// filter hijackd compiled for the policy, hands hijackd the filter's listener
// and then becomes PROGRAM. It never runs PROGRAM without that filter: when
// any step fails it says why and exits 125; when PROGRAM cannot be executed it
// exits 126, or 127 when it is not found, as env(1) does.
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/control"
	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/notify"
)

// Exit statuses of hijack-exec itself, those of env(1).
const (
	exitFailure    = 125 // hijacking could not be set up
	exitCannotExec = 126 // PROGRAM was found but could not be executed
	exitNotFound   = 127 // PROGRAM was not found
)

// registerTimeout bounds the whole exchange with hijackd.
const registerTimeout = 15 * time.Second

const usage = "usage: hijack-exec [--] PROGRAM [ARGS...]"

func main() {
	// The filter binds this thread only, so the same thread must install it
	// and exec the program.
	runtime.LockOSThread()

	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Println(usage)
		return
	} else if len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		fail(exitFailure, "unknown option %q\n%s", args[0], usage)
	}
	if len(args) == 0 {
		fail(exitFailure, "no program given\n%s", usage)
	}

	reg, err := registration(args)
	if err != nil {
		fail(exitFailure, "%v", err)
	}
	path, err := lookPath(args[0])
	if err != nil {
		status := exitCannotExec
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, exec.ErrNotFound) {
			status = exitNotFound
		}
		fail(status, "%s: %v", args[0], err)
	}

	if err := hijack(reg); err != nil {
		fail(exitFailure, "%v", err)
	}

	err = syscall.Exec(path, args, os.Environ())
	status := exitCannotExec
	if errors.Is(err, syscall.ENOENT) {
		status = exitNotFound
	}
	fail(status, "%s: %v", args[0], err)
}

func fail(status int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "hijack-exec: "+format+"\n", args...)
	os.Exit(status)
}

// registration reads and checks the environment. The policy is parsed here
// so that a bad one is reported even when hijackd cannot be reached; hijackd
// parses it again itself.
func registration(argv []string) (*control.Register, error) {
	policy, policySet := os.LookupEnv(decision.PolicyVar)
	p, err := decision.PolicyFromEnv(policy, policySet)
	if err != nil {
		return nil, err
	}
	retry, retrySet := os.LookupEnv(decision.RetryVar)
	if _, err := decision.RetryFromEnv(retry, retrySet); err != nil {
		return nil, err
	}
	for _, u := range p.Unsupported() {
		fmt.Fprintf(os.Stderr, "hijack-exec: %s: %s selects nothing on Linux\n",
			decision.PolicyVar, u)
	}
	server, serverSet := os.LookupEnv("RUMP_SERVER")
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("working directory: %w", err)
	}
	return &control.Register{
		Policy: policy, PolicySet: policySet,
		RumpServer: server, RumpServerSet: serverSet,
		Retry: retry, RetrySet: retrySet,
		Argv: truncateArgv(argv), Cwd: cwd,
	}, nil
}

// truncateArgv keeps the registration well within a control message: the
// arguments only name the session in hijackd's logs.
func truncateArgv(argv []string) []string {
	const budget = 4096
	var out []string
	used := 0
	for _, a := range argv {
		if used+len(a) > budget {
			out = append(out, "...")
			break
		}
		out = append(out, a)
		used += len(a)
	}
	return out
}

// errNotOnPath is reported for a program name that no PATH entry holds.
var errNotOnPath = fmt.Errorf("not found on PATH: %w", os.ErrNotExist)

// lookPath finds name as env(1) would: on PATH unless it contains a slash.
func lookPath(name string) (string, error) {
	path, err := exec.LookPath(name)
	if errors.Is(err, exec.ErrDot) {
		// A program found through a relative PATH entry runs as env(1)
		// would run it.
		err = nil
	}
	if err != nil {
		// Report the bare cause, as env(1) does: "PROGRAM: no such
		// file or directory".
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		if errors.Is(err, exec.ErrNotFound) {
			return "", errNotOnPath
		}
		return "", err
	}
	if !filepath.IsAbs(path) && len(path) > 0 && path[0] != '.' {
		path = "./" + path
	}
	return path, nil
}

// hijack registers with hijackd, installs the filter it sends on this thread
// and hands over the listener. When it returns nil, every trapped call of
// this thread, and of the program it execs, is answered by hijackd.
func hijack(reg *control.Register) error {
	socket := os.Getenv(control.SocketEnv)
	if socket == "" {
		socket = control.DefaultSocket
	}
	c, err := control.Dial(socket)
	if err != nil {
		return fmt.Errorf("cannot reach hijackd at %s: %v "+
			"(is hijackd running? %s names its control socket)", socket, err, control.SocketEnv)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(registerTimeout))

	if err := c.Send(control.TypeRegister, reg); err != nil {
		return fmt.Errorf("register with hijackd at %s: %w", socket, err)
	}
	var f control.Filter
	if _, err := c.Receive(control.TypeFilter, &f); err != nil {
		return refused(socket, err)
	}

	listener, err := notify.Install(f.Program, notify.InstallFlags)
	if err != nil {
		return err
	}
	// From here on this thread's trapped calls wait for hijackd, so
	// nothing but the hand-over may happen before hijackd has the
	// listener; none of these calls is trapped.
	err = c.Send(control.TypeListener, control.Listener{}, listener)
	unix.Close(listener)
	if err != nil {
		return fmt.Errorf("hand the listener to hijackd: %w", err)
	}
	var ack control.Ack
	if _, err := c.Receive(control.TypeAck, &ack); err != nil {
		return refused(socket, err)
	}
	return nil
}

func refused(socket string, err error) error {
	var r *control.RefusedError
	if errors.As(err, &r) {
		return fmt.Errorf("hijackd refused: %s", r.Message)
	}
	return fmt.Errorf("hijackd at %s: %w", socket, err)
}
