package decision

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// fakeTarget is a process with the given rump descriptors and cwd flag.
type fakeTarget struct {
	rumpFDs map[int]bool
	cwd     bool
}

func (f fakeTarget) IsRumpFD(fd int) bool { return f.rumpFDs[fd] }
func (f fakeTarget) CwdInRump() bool      { return f.cwd }

// rumpProcessTarget is a process that says whether it has a rump process.
type rumpProcessTarget struct {
	fakeTarget
	has bool
}

func (r rumpProcessTarget) HasRumpProcess() bool { return r.has }

func ok(name string) Path { return Path{Name: name, OK: true} }

var atFDCWD int64 = unix.AT_FDCWD

var fdcwd = uint64(atFDCWD)

func TestClassify(t *testing.T) {
	host := Verdict{Decision: Host}
	rump := func(paths ...string) Verdict { return Verdict{Decision: Rump, RumpPaths: paths} }
	exdev := Verdict{Decision: Refused, Errno: unix.EXDEV}
	inRump := fakeTarget{cwd: true}
	withRumpFD := fakeTarget{rumpFDs: map[int]bool{130: true}}

	tests := []struct {
		name   string
		policy string
		nr     int
		args   [6]uint64
		paths  []Path
		target Target
		want   Verdict
	}{
		{"an absolute path under the prefix is rump, prefix stripped", DefaultPolicy,
			unix.SYS_OPENAT, [6]uint64{fdcwd}, []Path{ok("/rump/etc/x")}, fakeTarget{},
			rump("/etc/x")},
		{"the prefix itself is the rump root", DefaultPolicy,
			unix.SYS_STAT, [6]uint64{}, []Path{ok("/rump")}, fakeTarget{}, rump("/")},
		{"a path that only starts like the prefix is host", DefaultPolicy,
			unix.SYS_OPENAT, [6]uint64{fdcwd}, []Path{ok("/rumpfoo")}, fakeTarget{}, host},
		{"a blanket path is rump, unchanged", "blanket=/dev/bpf",
			unix.SYS_OPEN, [6]uint64{}, []Path{ok("/dev/bpf0")}, fakeTarget{},
			rump("/dev/bpf0")},
		{"a relative path follows a host cwd", DefaultPolicy,
			unix.SYS_OPENAT, [6]uint64{fdcwd}, []Path{ok("x")}, fakeTarget{}, host},
		{"a relative path follows a rump cwd", DefaultPolicy,
			unix.SYS_OPENAT, [6]uint64{fdcwd}, []Path{ok("../x")}, inRump, rump("../x")},
		{"an absolute host path from a rump cwd is host", DefaultPolicy,
			unix.SYS_OPENAT, [6]uint64{fdcwd}, []Path{ok("/etc/x")}, inRump, host},
		{"a relative path under a rump directory descriptor is rump", DefaultPolicy,
			unix.SYS_OPENAT, [6]uint64{130}, []Path{ok("x")}, withRumpFD, rump("x")},
		{"a relative path under a host directory descriptor is host", DefaultPolicy,
			unix.SYS_OPENAT, [6]uint64{5}, []Path{ok("x")}, withRumpFD, host},
		{"an empty path with a rump descriptor is rump (AT_EMPTY_PATH)", DefaultPolicy,
			unix.SYS_NEWFSTATAT, [6]uint64{130}, []Path{ok("")}, withRumpFD, rump("")},
		{"an unreadable path is decided by its rump directory", DefaultPolicy,
			unix.SYS_UTIMENSAT, [6]uint64{130}, []Path{{}}, withRumpFD, rump("")},
		{"an unreadable path relative to the cwd is left to the host", DefaultPolicy,
			unix.SYS_OPENAT, [6]uint64{fdcwd}, []Path{{}}, inRump, host},
		{"a rename within the rump kernel is rump", DefaultPolicy,
			unix.SYS_RENAME, [6]uint64{}, []Path{ok("/rump/a"), ok("/rump/b")}, fakeTarget{},
			rump("/a", "/b")},
		{"a rename from the host into the rump kernel fails with EXDEV", DefaultPolicy,
			unix.SYS_RENAMEAT2, [6]uint64{fdcwd, 0, fdcwd}, []Path{ok("/tmp/a"),
				ok("/rump/b")}, fakeTarget{}, exdev},
		{"a link across kernels fails with EXDEV", DefaultPolicy,
			unix.SYS_LINK, [6]uint64{}, []Path{ok("/rump/a"), ok("/tmp/b")}, fakeTarget{},
			exdev},
		{"a symlink is placed by its link path alone", DefaultPolicy,
			unix.SYS_SYMLINK, [6]uint64{}, []Path{ok("/rump/l")}, fakeTarget{}, rump("/l")},
		{"no prefix means every path is host", "socket=inet",
			unix.SYS_OPENAT, [6]uint64{fdcwd}, []Path{ok("/rump/x")}, fakeTarget{}, host},
		{"a rump descriptor makes a descriptor call rump", DefaultPolicy,
			unix.SYS_READ, [6]uint64{130}, nil, withRumpFD, rump()},
		{"a high descriptor that is not rump is host", DefaultPolicy,
			unix.SYS_READ, [6]uint64{131}, nil, withRumpFD, host},
		{"dup2 onto a rump descriptor is rump", DefaultPolicy,
			unix.SYS_DUP2, [6]uint64{1, 130}, nil, withRumpFD, rump()},
		{"a sign-extended descriptor is compared as an int", DefaultPolicy,
			unix.SYS_READ, [6]uint64{1<<32 | 130}, nil, withRumpFD, rump()},
		{"an inet socket is rump by default", DefaultPolicy,
			unix.SYS_SOCKET, [6]uint64{unix.AF_INET}, nil, fakeTarget{}, rump()},
		{"a local socket stays on the host by default", DefaultPolicy,
			unix.SYS_SOCKET, [6]uint64{unix.AF_UNIX}, nil, fakeTarget{}, host},
		{"a packet socket has no rumphijack name and stays on the host", "socket=all",
			unix.SYS_SOCKET, [6]uint64{unix.AF_PACKET}, nil, fakeTarget{}, host},
		{"getcwd in a rump cwd is rump", DefaultPolicy,
			unix.SYS_GETCWD, [6]uint64{}, nil, inRump, rump()},
		{"getcwd in a host cwd is host", DefaultPolicy,
			unix.SYS_GETCWD, [6]uint64{}, nil, fakeTarget{}, host},
		{"sync of a process with a rump process is rump", DefaultPolicy,
			unix.SYS_SYNC, [6]uint64{}, nil, rumpProcessTarget{has: true}, rump()},
		{"sync of a process without one is host", DefaultPolicy,
			unix.SYS_SYNC, [6]uint64{}, nil, rumpProcessTarget{}, host},
		{"sync from a rump cwd is rump, whatever the target can tell", DefaultPolicy,
			unix.SYS_SYNC, [6]uint64{}, nil, inRump, rump()},
		{"sync of a target that cannot tell is host", DefaultPolicy,
			unix.SYS_SYNC, [6]uint64{}, nil, withRumpFD, host},
		{"chmod of /proc/self/fd/N is about rump descriptor N", DefaultPolicy,
			unix.SYS_CHMOD, [6]uint64{}, []Path{ok("/proc/self/fd/130")}, withRumpFD,
			Verdict{Decision: Rump, RumpPaths: []string{""}, ViaFD: true, FD: 130}},
		{"/proc/self/fd/N of a host descriptor is host", DefaultPolicy,
			unix.SYS_CHMOD, [6]uint64{}, []Path{ok("/proc/self/fd/3")}, withRumpFD, host},
		{"/proc/self/fd/N/x is left to the host", DefaultPolicy,
			unix.SYS_STAT, [6]uint64{}, []Path{ok("/proc/self/fd/130/x")}, withRumpFD, host},
		{"/proc/sys with sysctl=yes names the rump sysctl tree", "sysctl=yes",
			unix.SYS_OPENAT, [6]uint64{fdcwd}, []Path{ok("/proc/sys/kern/hostname")},
			fakeTarget{}, Verdict{Decision: Rump, RumpPaths: []string{"kern/hostname"},
				Sysctl: true}},
		{"/proc/sys without sysctl is the host's", DefaultPolicy,
			unix.SYS_OPENAT, [6]uint64{fdcwd}, []Path{ok("/proc/sys/kern/hostname")},
			fakeTarget{}, host},
		{"/proc/sysrq-trigger is not below /proc/sys", "sysctl=yes",
			unix.SYS_OPENAT, [6]uint64{fdcwd}, []Path{ok("/proc/sysrq-trigger")},
			fakeTarget{}, host},
		{"a mount table with vfs=getvfsstat shows the rump kernel's too",
			"path=/rump,vfs=getvfsstat", unix.SYS_OPENAT, [6]uint64{fdcwd},
			[]Path{ok("/proc/self/mountinfo")}, fakeTarget{},
			Verdict{Decision: Rump, RumpPaths: []string{"/proc/self/mountinfo"}, Mounts: true}},
		{"a mount table without vfs=getvfsstat is the host's", DefaultPolicy,
			unix.SYS_OPENAT, [6]uint64{fdcwd}, []Path{ok("/proc/self/mounts")}, fakeTarget{},
			host},
		{"fchdir of a rump descriptor is rump", DefaultPolicy,
			unix.SYS_FCHDIR, [6]uint64{130}, nil, withRumpFD, rump()},
		{"fchdir of a host descriptor is host, even from a rump cwd", DefaultPolicy,
			unix.SYS_FCHDIR, [6]uint64{3}, nil, inRump, host},
		{"chdir to a relative path from a rump cwd stays in rump", DefaultPolicy,
			unix.SYS_CHDIR, [6]uint64{}, []Path{ok("..")}, inRump, rump("..")},
		{"chdir to an absolute host path from a rump cwd is host", DefaultPolicy,
			unix.SYS_CHDIR, [6]uint64{}, []Path{ok("/tmp")}, inRump, host},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy(tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			sc := Lookup(tt.nr)
			if sc == nil {
				t.Fatalf("system call %d is not in the trap table", tt.nr)
			}
			got := p.Classify(sc, tt.args, tt.paths, tt.target)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Classify (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTrapTableIsConsistent(t *testing.T) {
	seen := map[int]string{}
	for _, sc := range Syscalls {
		if other, dup := seen[sc.Nr]; dup {
			t.Errorf("%s and %s share number %d", sc.Name, other, sc.Nr)
		}
		seen[sc.Nr] = sc.Name
		for _, a := range sc.Paths {
			if a.Path < 0 || a.Path > 5 || a.Dirfd < NoDirfd || a.Dirfd > 5 {
				t.Errorf("%s: path argument %+v out of range", sc.Name, a)
			}
		}
		for _, i := range sc.FDs {
			if i < 0 || i > 5 {
				t.Errorf("%s: descriptor argument %d out of range", sc.Name, i)
			}
		}
		if (sc.Class == ClassPath) != (len(sc.Paths) > 0) ||
			(sc.Class == ClassFD) != (len(sc.FDs) > 0) && sc.Class != ClassCwd {
			t.Errorf("%s: arguments do not fit its class", sc.Name)
		}
	}
}

func TestIsMountTable(t *testing.T) {
	for name, want := range map[string]bool{
		"/proc/mounts": true, "/proc/self/mounts": true, "/proc/self/mountinfo": true,
		"/proc/thread-self/mountinfo": true, "/proc/42/mounts": true,
		"/proc/42/task/43/mountinfo": true, "/proc/mountinfo": false, "/etc/mounts": false,
		"/proc/self/fd/mounts": false, "/proc/x1/mounts": false, "mounts": false,
	} {
		if got := IsMountTable(name); got != want {
			t.Errorf("IsMountTable(%q) = %v, want %v", name, got, want)
		}
	}
}
