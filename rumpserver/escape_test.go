package rumpserver

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/google/go-cmp/cmp"

	"github.com/hijack-project/hijack/netbsd"
)

// escapeWorld is a root inside a host directory that also holds things a
// client must never reach: a secret file, a directory and the real /etc.
type escapeWorld struct {
	outside string // the host directory around the root
	root    string
	secret  string // a file beside the root
}

func newEscapeWorld(t *testing.T) escapeWorld {
	t.Helper()
	outside := t.TempDir()
	w := escapeWorld{
		outside: outside,
		root:    filepath.Join(outside, "root"),
		secret:  filepath.Join(outside, "secret"),
	}
	must(t, os.Mkdir(w.root, 0o755))
	must(t, os.WriteFile(w.secret, []byte("secret"), 0o600))
	must(t, os.Mkdir(filepath.Join(outside, "victim"), 0o755))
	must(t, os.Mkdir(filepath.Join(w.root, "sub"), 0o755))
	links := map[string]string{
		"abs-etc":     "/etc",
		"abs-passwd":  "/etc/passwd",
		"abs-outside": outside,
		"abs-secret":  w.secret,
		"dotdot":      "..",
		"sub/up":      "../..",
		"sub/climb":   "../../../../secret",
		"proc-root":   "/proc/self/root",
		"proc-cwd":    "/proc/self/cwd",
	}
	for name, target := range links {
		must(t, os.Symlink(target, filepath.Join(w.root, name)))
	}
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// refused holds the errnos a confined lookup may fail with.
var refused = []netbsd.Errno{netbsd.ENOENT, netbsd.EXDEV, netbsd.EACCES, netbsd.ELOOP,
	netbsd.ENOTDIR, netbsd.EPERM}

func TestEscapeAttemptsFail(t *testing.T) {
	w := newEscapeWorld(t)
	s, err := New(Config{Root: w.root})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	c := guest(t, s, "escape")
	sb := c.alloc(netbsd.StatSize)
	buf := c.alloc(256)

	paths := []string{
		"../secret", "../../etc/passwd", "/../secret", "/../../../etc/passwd",
		"abs-passwd", "abs-etc/passwd", "abs-outside/secret", "abs-secret",
		"dotdot/secret", "dotdot/dotdot/secret", "sub/up/secret", "sub/climb",
		"proc-root/etc/passwd", "proc-cwd/secret", "/proc/self/root/etc/passwd",
		"sub/../../secret",
	}
	// Calls marked onLink act on a final symlink itself, inside the root,
	// and may succeed on one; what they must not do is reach the outside,
	// which the last subtest checks.
	calls := []struct {
		name   string
		nr     netbsd.Sysno
		args   func(p uint64) []uint64
		onLink bool
	}{
		{name: "open", nr: netbsd.SYS_OPEN,
			args: func(p uint64) []uint64 { return []uint64{p, oRDONLY, 0} }},
		{name: "open for writing", nr: netbsd.SYS_OPEN,
			args: func(p uint64) []uint64 { return []uint64{p, oRDWR | netbsd.O_TRUNC, 0} }},
		{name: "stat", nr: netbsd.SYS___STAT50,
			args: func(p uint64) []uint64 { return []uint64{p, sb} }},
		{name: "chmod", nr: netbsd.SYS_CHMOD,
			args: func(p uint64) []uint64 { return []uint64{p, 0o777} }},
		{name: "chown", nr: netbsd.SYS_CHOWN,
			args: func(p uint64) []uint64 { return []uint64{p, 1, 1} }},
		{name: "truncate", nr: netbsd.SYS_TRUNCATE,
			args: func(p uint64) []uint64 { return []uint64{p, 0} }},
		{name: "utimes", nr: netbsd.SYS___UTIMES50,
			args: func(p uint64) []uint64 { return []uint64{p, 0} }},
		{name: "readlink", nr: netbsd.SYS_READLINK, onLink: true,
			args: func(p uint64) []uint64 { return []uint64{p, buf, 256} }},
		{name: "link", nr: netbsd.SYS_LINKAT,
			args: func(p uint64) []uint64 {
				return []uint64{atFdcwd, p, atFdcwd, c.str("/stolen"), netbsd.AT_SYMLINK_FOLLOW}
			}},
		{name: "rename away", nr: netbsd.SYS_RENAME, onLink: true,
			args: func(p uint64) []uint64 { return []uint64{p, c.str("/stolen")} }},
		{name: "unlink", nr: netbsd.SYS_UNLINK, onLink: true,
			args: func(p uint64) []uint64 { return []uint64{p} }},
	}
	for _, call := range calls {
		for _, path := range paths {
			t.Run(call.name+" of "+path+" stays in the root", func(t *testing.T) {
				r := c.sys(call.nr, call.args(c.str(path))...)
				if r.Error == 0 {
					if call.onLink {
						return
					}
					t.Fatalf("%s succeeded", call.name)
				}
				if !slices.Contains(refused, netbsd.Errno(r.Error)) {
					t.Errorf("%s failed with %v, want one of %v", call.name,
						netbsd.Errno(r.Error), refused)
				}
			})
		}
	}

	t.Run("creating through a link to the outside creates inside", func(t *testing.T) {
		c.fails(netbsd.SYS_MKDIR, c.str("abs-outside/victim/made"), 0o755)
		c.fails(netbsd.SYS_SYMLINK, c.str("x"), c.str("abs-outside/victim/link"))
		fd := c.sys(netbsd.SYS_OPEN, c.str("abs-outside/new"), oRDWR|oCREAT, 0o644)
		if fd.Error == 0 {
			t.Errorf("open O_CREAT through an absolute link to a missing dir succeeded")
		}
	})

	t.Run("dot-dot from the root is the root", func(t *testing.T) {
		c.ok(netbsd.SYS_CHDIR, c.str("../../.."))
		cwd := c.alloc(16)
		c.ok(netbsd.SYS___GETCWD, cwd, 16)
		if got := string(c.load(cwd, 2)); got != "/\x00" {
			t.Errorf("getcwd = %q", got)
		}
		dir := c.ok(netbsd.SYS_OPEN, c.str(".."), oRDONLY|netbsd.O_DIRECTORY, 0)
		if names := readDir(t, c, dir); slices.Contains(names, "secret") {
			t.Errorf("listing of .. from / shows the host: %q", names)
		}
	})

	t.Run("nothing outside the root changed", func(t *testing.T) {
		secret, err := os.ReadFile(w.secret)
		var st unix.Stat_t
		unix.Stat(w.secret, &st)
		if err != nil || string(secret) != "secret" || st.Mode&0o777 != 0o600 {
			t.Errorf("secret is now %q, mode %o (%v)", secret, st.Mode&0o777, err)
		}
		victim, _ := os.ReadDir(filepath.Join(w.outside, "victim"))
		if len(victim) != 0 {
			t.Errorf("victim directory holds %v", victim)
		}
		var names []string
		top, _ := os.ReadDir(w.outside)
		for _, e := range top {
			names = append(names, e.Name())
		}
		if diff := cmp.Diff([]string{"root", "secret", "victim"}, names); diff != "" {
			t.Errorf("outside directory (-want +got):\n%s", diff)
		}
	})
}

// TestMagicLinksInsideTheRoot mounts a procfs inside the root, where
// RESOLVE_IN_ROOT alone would follow its magic links out of it.
func TestMagicLinksInsideTheRoot(t *testing.T) {
	w := newEscapeWorld(t)
	proc := filepath.Join(w.root, "proc")
	must(t, os.Mkdir(proc, 0o755))
	if err := unix.Mount("proc", proc, "proc", 0, ""); err != nil {
		t.Skipf("cannot mount a procfs inside the test root (needs root): %v", err)
	}
	t.Cleanup(func() { unix.Unmount(proc, unix.MNT_DETACH) })

	s, err := New(Config{Root: w.root})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	c := guest(t, s, "magic")
	for _, path := range []string{"/proc/self/root/etc/passwd", "/proc/self/cwd/secret",
		"/proc/1/root/etc/passwd", "proc-root/etc/passwd"} {
		t.Run(path+" is refused", func(t *testing.T) {
			e := c.fails(netbsd.SYS_OPEN, c.str(path), oRDONLY, 0)
			if !slices.Contains(refused, e) {
				t.Errorf("open = %v, want one of %v", e, refused)
			}
		})
	}
}
