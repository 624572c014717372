package test

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hijack-project/hijack/rumpserver"
)

// The tests in this file check that programs work on files in the rump
// kernel as they do on the host: each runs a program once on a host
// directory and once on a rump one, compares what the two runs print, and
// then looks at what the embedded kernel's root directory holds. They run
// from an empty host directory, so that a relative name a program should have
// resolved in the rump kernel but gave the host shows up as a stray file.

// testDir is the directory go test started in, where the test programs'
// sources and testdata are, whatever directory a test has moved to since.
var testDir = func() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return dir
}()

// staticPrograms are the test programs of test/progs built so far, by
// name, each with its build's error.
var staticPrograms struct {
	sync.Mutex
	built map[string]error
}

// staticProgram returns test/progs/NAME, built once for the tests and the
// benchmarks that use it, without cgo, so that it is static.
func staticProgram(t testing.TB, name string) string {
	t.Helper()
	staticPrograms.Lock()
	err, done := staticPrograms.built[name]
	if !done {
		cmd := exec.Command("go", "build", "-o", bin, "./progs/"+name)
		cmd.Dir = testDir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, berr := cmd.CombinedOutput(); berr != nil {
			err = fmt.Errorf("build ./progs/%s: %v\n%s", name, berr, out)
		}
		if staticPrograms.built == nil {
			staticPrograms.built = make(map[string]error)
		}
		staticPrograms.built[name] = err
	}
	staticPrograms.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(bin, name)
}

// filesProgram returns test/progs/files.
func filesProgram(t testing.TB) string { return staticProgram(t, "files") }

// hostUntouched moves the test into an empty host directory and checks, when
// the test ends, that it is still empty and that the host has no /rump:
// what a program made there was meant for the rump kernel.
func hostUntouched(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	t.Cleanup(func() {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			t.Errorf("stray file on the host: %s", filepath.Join(dir, e.Name()))
		}
		if _, err := os.Lstat("/rump"); err == nil {
			t.Errorf("the host has /rump")
		}
	})
}

// kernelOwner is the owner the embedded kernel's files have on the host: the
// account it serves as when the tests run as root, the tests' own otherwise.
func kernelOwner(t *testing.T) (uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		return os.Getuid(), os.Getgid()
	}
	uid, gid, err := rumpserver.LookupUser(rumpserver.DefaultUser)
	if err != nil {
		t.Fatal(err)
	}
	return uid, gid
}

// treeTime is the modification time of everything makeTree makes.
var treeTime = time.Unix(1_000_000_000, 0)

// makeTree makes the host tree that the tests copy into the rump kernel:
// text, an empty file, a file larger than one rump call moves, modes other
// than the umask's, nested directories, and a relative symbolic link; all but
// the link have treeTime. It belongs to kernelOwner, so that cp -a and tar
// running as root can preserve its owner in the embedded kernel, which may
// not give files away to anyone but its own account.
func makeTree(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tree")
	data := make([]byte, 300<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	files := []struct {
		name string
		mode os.FileMode
		data string
	}{
		{"readme.txt", 0o644, "a small text file\n"},
		{"secret.txt", 0o600, "for the owner only\n"},
		{"empty", 0o644, ""},
		{"data.bin", 0o644, string(data)},
		{"bin/tool", 0o755, "#!/bin/sh\necho tool\n"},
		{"deep/er/est.txt", 0o640, "at the bottom\n"},
	}
	for _, f := range files {
		path := filepath.Join(root, f.name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, f.mode); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "deep"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("readme.txt", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}

	uid, gid := kernelOwner(t)
	var entries []string
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err == nil && e.Type()&fs.ModeSymlink != 0 {
			err = os.Lchown(path, uid, gid)
		} else if err == nil {
			entries = append(entries, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(entries) // a directory's time is set after its entries'
	for _, path := range entries {
		if err := os.Chown(path, uid, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, treeTime, treeTime); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// snapshot describes the tree under root, one entry per name relative to
// it: type, permissions, and the size, digest and, with times, modification
// time of a regular file, or a link's target. Directory sizes and owners are
// left out: they belong to the file system and to the kernel's account.
func snapshot(t *testing.T, root string, times bool) map[string]string {
	t.Helper()
	entries := map[string]string{}
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		fi, err := e.Info()
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			desc += " -> " + target
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %d bytes, sha256 %x", len(data), sha256.Sum256(data))
			if times {
				desc += " " + fi.ModTime().UTC().Format(time.RFC3339Nano)
			}
		}
		entries[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot of %s: %v", root, err)
	}
	return entries
}

// checkSameTree reports how the tree at got differs from the one at want.
func checkSameTree(t *testing.T, want, got string, times bool) {
	t.Helper()
	if diff := cmp.Diff(snapshot(t, want, times), snapshot(t, got, times)); diff != "" {
		t.Errorf("%s differs from %s (-want +got):\n%s", got, want, diff)
	}
}

// A shell runs scripts with the programs its PATH finds.
type shell struct {
	name  string
	start func(t *testing.T) (argv, env []string)
}

// shells are a dynamic bash with the host's coreutils, and a static busybox
// sh whose applets stand in for them.
var shells = []shell{
	{"bash", func(t *testing.T) ([]string, []string) {
		return []string{requireProgram(t, "bash", "bash")}, nil
	}},
	{"busybox sh", busyboxShell},
}

// busyboxShell returns busybox sh with every applet first on PATH.
func busyboxShell(t *testing.T) (argv, env []string) {
	t.Helper()
	busybox := staticBusybox(t)
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	dir := t.TempDir()
	for _, applet := range strings.Fields(string(out)) {
		if err := os.Symlink(busybox, filepath.Join(dir, applet)); err != nil {
			t.Fatal(err)
		}
	}
	return []string{busybox, "sh"}, []string{"PATH=" + dir + ":" + os.Getenv("PATH")}
}

var (
	// mode, links, owner, group, size, time, name
	lsLong = regexp.MustCompile(`^([-bcdlps][-rwxsStT]{9})[.+]?\s+(\d+)\s+\S+\s+\S+\s+` +
		`(\d+)\s+\w{3}\s+\d+\s+[\d:]+\s(.*)$`)
	lsTotal    = regexp.MustCompile(`^total \d+$`)
	statDevice = regexp.MustCompile(`Device: \S+\s+Inode: \d+`)
	statOwner  = regexp.MustCompile(`(Uid|Gid): \([^)]*\)`)
	statTime   = regexp.MustCompile(`^\s*(Access|Modify|Change|Birth): [^(]`)
	statBlocks = regexp.MustCompile(`Blocks: \d+\s+IO Block: \d+`)
	statDir    = regexp.MustCompile(`^\s*Size: \d+(.*directory)$`)
	duLine     = regexp.MustCompile(`^\d+\s`)
	blanks     = regexp.MustCompile(`[ \t]+`)
)

// maskTranscript makes the transcripts of two runs of files.sh comparable
// and returns their lines. The names in names become their keys; times, inode and device numbers,
// owners and the widths of columns, which differ between any two runs, are
// masked. A foreign file system, not the host's, also allocates space its own
// way: then directory sizes and block counts are masked too.
func maskTranscript(out string, names map[string]string, foreign bool) []string {
	var pairs []string
	for key, name := range names {
		pairs = append(pairs, name, key)
	}
	out = strings.NewReplacer(pairs...).Replace(out)

	lines := strings.Split(out, "\n")
	for i, line := range lines {
		if m := lsLong.FindStringSubmatch(line); m != nil {
			size := m[3]
			if foreign && m[1][0] == 'd' {
				size = "SIZE"
			}
			line = strings.Join([]string{m[1], m[2], "OWNER", size, "TIME", m[4]}, " ")
		}
		line = statDevice.ReplaceAllString(line, "Device: DEV Inode: INODE")
		line = statOwner.ReplaceAllString(line, "$1: (OWNER)")
		if statTime.MatchString(line) {
			line = strings.SplitAfter(line, ":")[0] + " TIME"
		}
		if foreign {
			switch {
			case lsTotal.MatchString(line):
				line = "total BLOCKS"
			case duLine.MatchString(line):
				line = duLine.ReplaceAllString(line, "BLOCKS ")
			case statDir.MatchString(line):
				line = statDir.ReplaceAllString(line, "Size: SIZE$1")
			}
			line = statBlocks.ReplaceAllString(line, "Blocks: BLOCKS IO Block: SIZE")
		}
		lines[i] = strings.TrimSpace(blanks.ReplaceAllString(line, " "))
	}
	return lines
}

// scriptOnBoth runs files.sh with sh on the host directory host and then
// under hijack-exec with env on base in the rump kernel, and reports where
// the transcripts differ.
func scriptOnBoth(t *testing.T, d *daemon, env []string, sh shell, host, base, tree string,
	foreign bool) {
	t.Helper()
	argv, shellEnv := sh.start(t)
	script := filepath.Join(testDir, "testdata", "files.sh")
	want := run(t, nil, shellEnv, append(argv, script, host, tree)...)
	if want.code != 0 || want.stderr != "" {
		t.Fatalf("files.sh on the host: %+v", want)
	}
	got := run(t, d, append(env, shellEnv...), append(argv, script, base, tree)...)
	if got.code != 0 || got.stderr != "" {
		t.Errorf("files.sh in the rump kernel: status %d, stderr %q", got.code, got.stderr)
	}
	wantOut := maskTranscript(want.stdout, map[string]string{"$base": host, "$tree": tree},
		foreign)
	gotOut := maskTranscript(got.stdout, map[string]string{"$base": base, "$tree": tree},
		foreign)
	if diff := cmp.Diff(wantOut, gotOut); diff != "" {
		t.Errorf("files.sh in the rump kernel (-host +rump):\n%s", diff)
	}
}

func TestShellScriptsRunTheSameInTheRumpKernel(t *testing.T) {
	tree := makeTree(t)
	t.Run("embedded kernel", func(t *testing.T) {
		state := stateDir(t)
		d := startDaemon(t, "--state-dir", state)
		hostUntouched(t)
		for i, sh := range shells {
			t.Run(sh.name, func(t *testing.T) {
				host := filepath.Join(t.TempDir(), "base")
				dir := fmt.Sprintf("script%d", i)
				scriptOnBoth(t, d, nil, sh, host, "/rump/"+dir, tree, false)
				// The script leaves the same tree behind in both places,
				// and the embedded kernel keeps it under its root.
				checkSameTree(t, host, filepath.Join(state, "root", dir), false)
			})
		}
	})
	t.Run("RUMP_SERVER", func(t *testing.T) {
		url := os.Getenv("RUMP_SERVER")
		if url == "" {
			t.Skip("RUMP_SERVER not set")
		}
		d := startDaemon(t)
		hostUntouched(t)
		env := []string{"RUMP_SERVER=" + url}
		// A real server's file system outlives the test: work in a
		// directory of its own and remove it afterwards.
		top := fmt.Sprintf("/rump/hijack-files-%d", time.Now().UnixNano())
		t.Cleanup(func() { run(t, d, env, "rm", "-rf", top) })
		for i, sh := range shells {
			t.Run(sh.name, func(t *testing.T) {
				host := filepath.Join(t.TempDir(), "base")
				base := fmt.Sprintf("%s/script%d", top, i)
				scriptOnBoth(t, d, env, sh, host, base, tree, true)
			})
		}
	})
}

func TestRelativeNamesFromARumpWorkingDirectory(t *testing.T) {
	state := stateDir(t)
	d := startDaemon(t, "--state-dir", state)
	hostUntouched(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "host.txt"), []byte("on the host\n"),
		0o644); err != nil {
		t.Fatal(err)
	}
	relative := filepath.Join(t.TempDir(), "rel")
	if err := os.WriteFile(relative, []byte("relative\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Each script runs with $R, a rump directory that holds rel, and $H, a
	// host directory that holds host.txt. Each starts in the empty host
	// directory and stops at the first command that fails, so that no
	// relative name reaches the host by mistake.
	steps := []struct {
		name, script, want string
	}{
		{"pwd prints the rump directory", `cd "$R" && pwd`, "$R\n"},
		{"pwd -P asks the kernel for it", `cd "$R" && pwd -P`, "$R\n"},
		{"ls lists it", `cd "$R" && ls`, "rel\n"},
		{"the shell opens a relative name", `cd "$R" && read -r l < rel && echo "$l"`,
			"relative\n"},
		{"a child reads a relative name", `cd "$R" && cat rel`, "relative\n"},
		{"mkdir, cp and ls take relative names",
			`cd "$R" && mkdir sub && cp rel sub/copy && ls sub`, "copy\n"},
		{"cd takes a relative name", `cd "$R" && cd sub && pwd -P && cat copy`,
			"$R/sub\nrelative\n"},
		{"cd .. stays in the rump kernel", `cd "$R/sub" && cd .. && pwd -P && ls`,
			"$R\nrel\nsub\n"},
		{"cd -P .. resolves .. in the rump kernel",
			`cd "$R/sub" && cd -P .. && pwd -P && ls`, "$R\nrel\nsub\n"},
		{"relative names go through ..", `cd "$R/sub" && ls .. && cat ../rel`,
			"rel\nsub\nrelative\n"},
		{"the rump kernel's root is /rump", `cd /rump && pwd -P && ls -d "${R#/rump/}"`,
			"/rump\n$N\n"},
		{"cd to a host directory leaves the rump kernel",
			`cd "$R" && cd "$H" && pwd -P && ls && cat host.txt`,
			"$H\nhost.txt\non the host\n"},
		{"relative names are the host's again",
			`cd "$R/sub" && cd "$H" && test ! -e copy && echo no copy here`, "no copy here\n"},
	}
	for i, sh := range shells {
		t.Run(sh.name, func(t *testing.T) {
			argv, env := sh.start(t)
			name := fmt.Sprintf("cwd%d", i)
			rump := "/rump/" + name
			env = append(env, "R="+rump, "H="+host)
			if got := run(t, d, env, append(argv, "-c",
				`mkdir "$R" && cp "$0" "$R/rel"`, relative)...); got.code != 0 {
				t.Fatalf("making %s: %+v", rump, got)
			}
			for _, s := range steps {
				want := strings.NewReplacer("$R", rump, "$H", host, "$N", name).Replace(s.want)
				got := run(t, d, env, append(argv, "-c", s.script)...)
				if got.code != 0 || got.stdout != want || got.stderr != "" {
					t.Errorf("%s: %s: status %d, stdout %q, stderr %q; want stdout %q",
						s.name, s.script, got.code, got.stdout, got.stderr, want)
				}
			}
			copied := filepath.Join(state, "root", name, "sub", "copy")
			if data, err := os.ReadFile(copied); err != nil || string(data) != "relative\n" {
				t.Errorf("the embedded root holds %q, %v at %s", data, err, copied)
			}
		})
	}

	t.Run("python", func(t *testing.T) {
		python := requireProgram(t, "python3", "python3")
		if got := run(t, d, nil, "mkdir", "-p", "/rump/py/sub"); got.code != 0 {
			t.Fatalf("mkdir /rump/py/sub: %+v", got)
		}
		got := run(t, d, nil, python, "-c", `
import os, sys
rump, host = sys.argv[1], sys.argv[2]
os.chdir(rump)
print(os.getcwd(), os.listdir())
with open("made-here", "w") as f:
    f.write("relative\n")
print(open(os.path.join(rump, "made-here")).read(), end="")
sub = os.open("sub", os.O_RDONLY | os.O_DIRECTORY)
os.chdir(host)
print(os.getcwd(), os.listdir())
os.fchdir(sub)
print(os.getcwd(), sorted(os.listdir("..")))
os.chdir("..")
print(os.getcwd())
`, "/rump/py", host)
		want := "/rump/py ['sub']\nrelative\n" + host + " ['host.txt']\n" +
			"/rump/py/sub ['made-here', 'sub']\n/rump/py\n"
		if got.code != 0 || got.stdout != want {
			t.Errorf("python changing directories: %+v\nwant stdout %q", got, want)
		}
	})
}

func TestTarArchivesInTheRumpKernel(t *testing.T) {
	state := stateDir(t)
	d := startDaemon(t, "--state-dir", state)
	hostUntouched(t)
	tree := makeTree(t)
	tools := []struct {
		name string
		tar  func(t *testing.T) []string
	}{
		{"GNU tar", gnuTar},
		{"busybox tar", func(t *testing.T) []string { return []string{staticBusybox(t), "tar"} }},
	}
	for i, tool := range tools {
		t.Run(tool.name, func(t *testing.T) {
			tar := tool.tar(t)
			// tarRun runs tar with args, directly or with a daemon, and
			// stops the test when it fails: each step needs the last.
			tarRun := func(d *daemon, args ...string) string {
				t.Helper()
				got := run(t, d, nil, append(slices.Clone(tar), args...)...)
				if got.code != 0 || got.stderr != "" {
					t.Fatalf("tar %q: status %d, stderr %q", args, got.code, got.stderr)
				}
				return got.stdout
			}
			work := t.TempDir()
			archive := filepath.Join(work, "tree.tar")
			tarRun(nil, "-cf", archive, "-C", tree, ".")

			// The round trip on the host: what the rump kernel's must match.
			hostCopy := filepath.Join(work, "x")
			if err := os.Mkdir(hostCopy, 0o755); err != nil {
				t.Fatal(err)
			}
			tarRun(nil, "-xf", archive, "-C", hostCopy)
			checkSameTree(t, tree, hostCopy, true)
			tarRun(nil, "-cf", filepath.Join(work, "again.tar"), "-C", hostCopy, ".")
			want := tarListing(tarRun(nil, "-tvf", filepath.Join(work, "again.tar")))

			name := fmt.Sprintf("tar%d", i)
			rump := "/rump/" + name
			if got := run(t, d, nil, "mkdir", "-p", rump+"/x"); got.code != 0 {
				t.Fatalf("mkdir %s/x: %+v", rump, got)
			}
			tarRun(d, "-xf", archive, "-C", rump+"/x")
			checkSameTree(t, tree, filepath.Join(state, "root", name, "x"), true)
			tarRun(d, "-cf", rump+"/again.tar", "-C", rump+"/x", ".")
			got := tarListing(tarRun(d, "-tvf", rump+"/again.tar"))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("tar -tvf of an archive made in the rump kernel (-host +rump):\n%s",
					diff)
			}
			out := filepath.Join(work, "out")
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			tarRun(d, "-xf", rump+"/again.tar", "-C", out)
			checkSameTree(t, tree, out, true)
		})
	}
}

// gnuTar returns GNU tar, or skips.
func gnuTar(t *testing.T) []string {
	t.Helper()
	tar := requireProgram(t, "tar", "tar")
	out, _ := exec.Command(tar, "--version").Output()
	if !strings.Contains(string(out), "GNU tar") {
		t.Skipf("%s is not GNU tar", tar)
	}
	return []string{tar}
}

// tarListing sorts the lines of tar -tv by name and masks what differs
// between two extractions of one archive: the owner, which the tests' account
// decides, and the times of symbolic links, which tar need not restore.
func tarListing(out string) []string {
	var lines [][]string
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 6 {
			lines = append(lines, f)
			continue
		}
		f[1] = "OWNER"
		// Links get the time of their making; so do directories with a
		// tar that does not restore their times (busybox), which differs
		// between two extractions made a second apart.
		if f[0][0] == 'l' || f[0][0] == 'd' {
			f[3], f[4] = "DATE", "TIME"
		}
		lines = append(lines, f)
	}
	name := func(f []string) string { return strings.Join(f[min(5, len(f)):], " ") }
	slices.SortFunc(lines, func(a, b []string) int { return strings.Compare(name(a), name(b)) })
	var sorted []string
	for _, f := range lines {
		sorted = append(sorted, strings.Join(f, " "))
	}
	return sorted
}

// pythonWant is what testdata/files.py prints in the rump kernel.
const pythonWant = `read: 'line one\nline two\n'
read after seek: 'one'
tell at the end: 18
read from the end: b'three\n'
size: 29
pwrite: 4
pread: b'LINE one'
walk .: (['tree', 'tree2'], ['f.txt'])
walk tree: (['bin', 'deep'], ['data.bin', 'empty', 'link', 'readme.txt', 'secret.txt'])
walk tree/bin: ([], ['tool'])
walk tree/deep: (['er'], [])
walk tree/deep/er: ([], ['est.txt'])
walk tree2: (['bin', 'deep'], ['data.bin', 'empty', 'link', 'readme.txt', 'secret.txt'])
walk tree2/bin: ([], ['tool'])
walk tree2/deep: (['er'], [])
walk tree2/deep/er: ([], ['est.txt'])
scandir bin: (True, False, False)
scandir data.bin: (False, True, False)
scandir deep: (True, False, False)
scandir empty: (False, True, False)
scandir link: (False, False, True)
scandir readme.txt: (False, True, False)
scandir secret.txt: (False, True, False)
both copies equal the tree, times and modes included: True
rows after reopening: (1000, 'v0', 1000)
updated row: ('changed',)
integrity: ('ok',)
journal left behind: False
read-only mmap: (29, b'LINE one', 23)
writable shared mmap: ENODEV
file after the mappings: b'LINE one'
left: ['db.sqlite', 'tree']
`

func TestPythonWorksOnRumpFiles(t *testing.T) {
	python := requireProgram(t, "python3", "python3")
	state := stateDir(t)
	d := startDaemon(t, "--state-dir", state)
	hostUntouched(t)
	tree := makeTree(t)
	script := filepath.Join(testDir, "testdata", "files.py")

	// On the host, the writable shared mapping works and writes the file.
	hostWant := strings.NewReplacer(
		"writable shared mmap: ENODEV", "writable shared mmap: mapped",
		"file after the mappings: b'LINE one'", "file after the mappings: b'line one'",
	).Replace(pythonWant)
	host := filepath.Join(t.TempDir(), "py")
	if got := run(t, nil, nil, python, script, host, tree); got.code != 0 ||
		got.stdout != hostWant {
		t.Fatalf("files.py on the host: %+v\nwant stdout %q", got, hostWant)
	}

	got := run(t, d, nil, python, script, "/rump/py", tree)
	if got.code != 0 || got.stdout != pythonWant || got.stderr != "" {
		t.Errorf("files.py in the rump kernel: status %d, stderr %q\n%s", got.code,
			got.stderr, cmp.Diff(pythonWant, got.stdout))
	}
	root := filepath.Join(state, "root", "py")
	checkSameTree(t, tree, filepath.Join(root, "tree"), true)
	// The database the rump kernel holds is one sqlite on the host reads.
	query := run(t, nil, nil, python, "-c", `
import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(c.execute("select count(*), v from t where k = 7").fetchone())
`, filepath.Join(root, "db.sqlite"))
	if query.code != 0 || query.stdout != "(1, 'changed')\n" {
		t.Errorf("reading the embedded root's database on the host: %+v", query)
	}
}

func TestStaticGoProgramWorksOnRumpFiles(t *testing.T) {
	files := filesProgram(t)
	state := stateDir(t)
	d := startDaemon(t, "--state-dir", state)
	hostUntouched(t)
	host := filepath.Join(t.TempDir(), "go")
	want := run(t, nil, nil, files, "ops", host)
	if want.code != 0 || want.stderr != "" {
		t.Fatalf("files ops on the host: %+v", want)
	}
	got := run(t, d, nil, files, "ops", "/rump/go")
	if got.code != 0 || got.stderr != "" {
		t.Errorf("files ops in the rump kernel: status %d, stderr %q", got.code, got.stderr)
	}
	wantOut := strings.ReplaceAll(want.stdout, host, "$DIR")
	gotOut := strings.ReplaceAll(got.stdout, "/rump/go", "$DIR")
	if diff := cmp.Diff(wantOut, gotOut); diff != "" {
		t.Errorf("files ops in the rump kernel (-host +rump):\n%s", diff)
	}
	// The program removes its directory at the end.
	if _, err := os.Lstat(filepath.Join(state, "root", "go")); !os.IsNotExist(err) {
		t.Errorf("the embedded root still has go: %v", err)
	}
}

func TestBlanketPrefixesGoToTheRumpKernelUnchanged(t *testing.T) {
	state := stateDir(t)
	d := startDaemon(t, "--state-dir", state)
	hostUntouched(t)
	hostname, err := os.ReadFile("/etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	// Two prefixes, as in blanket=/dev/bpf:/rumpdev, named for this test
	// run; whatever a failure leaves of them on the host is removed.
	dir := fmt.Sprintf("/hijack-blanket-%d", os.Getpid())
	dev := fmt.Sprintf("/hijack-rumpdev-%d", os.Getpid())
	for _, p := range []string{dir, dev + "0"} {
		if _, err := os.Lstat(p); err == nil {
			t.Fatalf("the host already has %s", p)
		}
		t.Cleanup(func() {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("the host has %s", p)
				os.RemoveAll(p)
			}
		})
	}
	blankets := "blanket=" + dir + ":" + dev
	withPath := "path=/rump," + blankets

	steps := []struct {
		name, policy, script, want string
	}{
		{"mkdir makes a blanket directory in the rump kernel", withPath, `mkdir "$B"`, ""},
		{"cp copies a host file into it", withPath, `cp /etc/hostname "$B/f" && cat "$B/f"`,
			string(hostname)},
		{"ls lists it", withPath, `ls "$B"`, "f\n"},
		{"the path prefix reaches the same file, the blanket prefix kept", withPath,
			`cat "/rump$B/f"`, string(hostname)},
		{"a prefix takes every path it begins, as /dev/bpf takes /dev/bpf0", withPath,
			`mkdir "${D}0" && stat -c %F "${D}0"`, "directory\n"},
		{"blankets alone serve their prefixes and leave /rump to the host", blankets,
			`cat "$B/f" && test ! -e /rump && echo no /rump`, string(hostname) + "no /rump\n"},
	}
	for _, s := range steps {
		env := []string{"RUMPHIJACK=" + s.policy, "B=" + dir, "D=" + dev}
		got := run(t, d, env, "sh", "-c", s.script)
		if got.code != 0 || got.stdout != s.want || got.stderr != "" {
			t.Errorf("%s: RUMPHIJACK=%s sh -c %q: status %d, stdout %q, stderr %q; "+
				"want stdout %q", s.name, s.policy, s.script, got.code, got.stdout,
				got.stderr, s.want)
		}
	}

	root := filepath.Join(state, "root")
	if data, err := os.ReadFile(filepath.Join(root, dir, "f")); err != nil ||
		string(data) != string(hostname) {
		t.Errorf("the embedded root holds %q, %v at %s/f", data, err, dir)
	}
	if fi, err := os.Stat(filepath.Join(root, dev+"0")); err != nil || !fi.IsDir() {
		t.Errorf("the embedded root has no directory %s0: %v", dev, err)
	}
}
