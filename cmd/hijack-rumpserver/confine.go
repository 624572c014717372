package main

// Confinement.
//
// A Go program is multithreaded from its first instruction, and unshare(2)
// moves only the calling thread into a new network namespace, so the
// namespace is made by starting a child with CLONE_NEWNET (and, for a caller
// that is not root, CLONE_NEWUSER mapping its uid to root, which is what
// entitles it to a network namespace). That child runs the setup stage:
//
//  1. bring lo up (SIOCSIFFLAGS), the only interface of a new namespace, and
//     let every port be bound without privilege in the namespace, as any
//     port can be by a rump process, which has root credentials;
//  2. open the root directory and the executable, while it still can;
//  3. shed privilege: as root, drop the capability bounding set and become
//     --user (setgroups, setgid, setuid, which Go applies to every thread and
//     which clears every capability); in a user namespace, where there is no
//     other uid to become, set SECBIT_NOROOT and friends, drop the bounding
//     and ambient sets and clear the thread's capabilities;
//  4. set PR_SET_NO_NEW_PRIVS and re-execute itself as the serve stage.
//
// Steps 3 and 4 run on one locked OS thread, which is the one that executes
// the serve stage: no_new_privs, securebits and capabilities are per-thread
// attributes that a new program inherits from the thread that execs it, and
// a new program has a single thread, from which all its others inherit. The
// serve stage checks that it holds no capability before it serves.

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/rumpserver"
)

// runConfined serves serving from a confined child and waits for it,
// passing SIGINT and SIGTERM on.
func runConfined(opts options, serving *os.File, log *slog.Logger) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	cmd, err := rumpserver.ConfinedCommand(rumpserver.SpawnConfig{
		Path: exe, Root: opts.root, User: opts.user, Env: os.Environ(),
		Args: []string{"--log-level", opts.logLevel.String()},
	}, serving)
	if err != nil {
		return err
	}
	cmd.Stdout = os.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start confined server: %w", err)
	}
	log.Info("rump server started", "pid", cmd.Process.Pid, "root", opts.root,
		"listen", opts.listen)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for sig := range sigs {
			cmd.Process.Signal(sig)
		}
	}()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("confined server: %w", err)
	}
	return nil
}

// setup is the first stage in the new namespace. It does not return when it
// succeeds: the process becomes the serve stage.
func setup(opts options) error {
	runtime.LockOSThread()

	if err := loopbackUp(); err != nil {
		return err
	}
	// Best effort: a kernel without the knob keeps ports below 1024 for
	// root, which only a rump process binding one would notice.
	os.WriteFile("/proc/sys/net/ipv4/ip_unprivileged_port_start", []byte("0"), 0)

	rootFd, err := unix.Open(opts.root, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("open root %q: %w", opts.root, err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	exeFd, err := unix.Open(exe, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open own executable: %w", err)
	}

	if opts.userns {
		err = shedCapabilities()
	} else {
		err = becomeUser(opts.user)
	}
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}

	args := []string{exe, "--root", opts.root, "--" + rumpserver.StageFlag + "=" +
		rumpserver.StageServe, "--internal-root-fd", strconv.Itoa(rootFd),
		"--log-level", opts.logLevel.String()}
	if opts.userns {
		args = append(args, "--"+rumpserver.UsernsFlag)
	}
	if opts.dieWithParent {
		args = append(args, "--die-with-parent")
	}
	if opts.lifeline {
		args = append(args, "--lifeline")
	}
	err = syscall.Exec("/proc/self/fd/"+strconv.Itoa(exeFd), args, os.Environ())
	return fmt.Errorf("execute serve stage: %w", err)
}

// loopbackUp sets IFF_UP on lo.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: get flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: set flags: %w", err)
	}
	return nil
}

// becomeUser drops root for good: no bounding set, no supplementary groups,
// the user's gid and uid. Making the process dumpable again, which the uid
// change undid, lets it read its own /proc/self/fd, which the rump server
// resolves paths through.
func becomeUser(spec string) error {
	if spec == "" {
		spec = rumpserver.DefaultUser
	}
	uid, gid, err := rumpserver.LookupUser(spec)
	if err != nil {
		return err
	}
	if uid == 0 {
		return fmt.Errorf("--user %q is root; the server must not serve with privilege", spec)
	}
	dropBoundingSet()
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("drop supplementary groups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("set gid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("set uid %d: %w", uid, err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set dumpable: %w", err)
	}
	return nil
}

// Securebits that keep uid 0 from meaning privilege, locked.
const rootlessBits = 1<<0 | 1<<1 | // SECBIT_NOROOT, _LOCKED
	1<<2 | 1<<3 | // SECBIT_NO_SETUID_FIXUP, _LOCKED
	1<<5 | // SECBIT_KEEP_CAPS_LOCKED
	1<<6 | 1<<7 // SECBIT_NO_CAP_AMBIENT_RAISE, _LOCKED

// shedCapabilities leaves the thread, uid 0 of a user namespace, with no
// capability, now or after exec.
func shedCapabilities() error {
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, rootlessBits, 0, 0, 0); err != nil {
		return fmt.Errorf("set securebits: %w", err)
	}
	dropBoundingSet()
	unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clear capabilities: %w", err)
	}
	return nil
}

// dropBoundingSet removes every capability from the bounding set, so that
// no exec can gain one. Numbers beyond the kernel's last fail and are
// skipped.
func dropBoundingSet() {
	for c := 0; c <= unix.CAP_LAST_CAP+8; c++ {
		unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
	}
}

// checkUnprivileged refuses to serve with any effective or permitted
// capability, or, outside a user namespace, as root.
func checkUnprivileged(userns bool) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	for _, d := range data {
		if d.Effective != 0 || d.Permitted != 0 {
			return fmt.Errorf("still holding capabilities %#x; refusing to serve", d.Permitted)
		}
	}
	if !userns && (os.Geteuid() == 0 || os.Getuid() == 0) {
		return fmt.Errorf("still root; refusing to serve")
	}
	return nil
}
