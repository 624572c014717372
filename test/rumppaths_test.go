package test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hijack-project/hijack/rumpserver"
)

// startRumpServer serves a rump kernel backed by a fresh directory on a unix
// socket and returns its RUMP_SERVER URL and root directory.
func startRumpServer(t *testing.T) (url, root string) {
	t.Helper()
	root = t.TempDir()
	srv, err := rumpserver.New(rumpserver.Config{Root: root, Console: io.Discard,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("rump server: %v", err)
	}
	sock := filepath.Join(t.TempDir(), "rump.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); ln.Close() })
	return "unix://" + sock, root
}

func TestPathCallsGoToTheRumpKernel(t *testing.T) {
	d := startDaemon(t)
	t.Run("embedded test server", func(t *testing.T) {
		url, root := startRumpServer(t)
		pathSteps(t, d, url, "/rump", root)
	})
	t.Run("RUMP_SERVER", func(t *testing.T) {
		url := os.Getenv("RUMP_SERVER")
		if url == "" {
			t.Skip("RUMP_SERVER not set")
		}
		// A real server's file system outlives the test: work in a
		// directory of its own.
		base := fmt.Sprintf("/rump/hijack-test-%d", time.Now().UnixNano())
		if got := run(t, d, []string{"RUMP_SERVER=" + url}, "mkdir", base); got.code != 0 {
			t.Fatalf("mkdir %s: %+v", base, got)
		}
		pathSteps(t, d, url, base, "")
	})
}

// pathSteps runs file programs under base in the rump kernel at url, whose
// root directory on the host is root ("" when it is not on this host).
func pathSteps(t *testing.T, d *daemon, url, base, root string) {
	env := []string{"RUMP_SERVER=" + url}
	busybox := staticBusybox(t)
	python := requireProgram(t, "python3", "python3")
	steps := []struct {
		name       string
		argv       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"mkdir makes a directory in the rump kernel", []string{"mkdir", base + "/d"},
			0, "", ""},
		{"stat sees it", []string{"stat", "-c", "%F %a", base + "/d"},
			0, "directory 755\n", ""},
		{"mkdir again fails with EEXIST", []string{"mkdir", base + "/d"},
			1, "", "File exists"},
		{"rename moves it within the rump kernel",
			[]string{"mv", "-T", base + "/d", base + "/e"}, 0, "", ""},
		{"a rename from the host into the rump kernel fails with EXDEV",
			[]string{python, "-c", "import os; os.rename('/etc/hostname', '" + base + "/h')"},
			1, "", "Invalid cross-device link"},
		{"symlink and readlink round trip", []string{busybox, "sh", "-c",
			"ln -s /some/target " + base + "/l && readlink " + base + "/l"}, 0,
			"/some/target\n", ""},
		{"test -d answers through access and stat", []string{busybox, "sh", "-c",
			"test -d " + base + "/e && echo dir; test -e " + base + "/none || echo missing"},
			0, "dir\nmissing\n", ""},
		{"chmod changes the mode", []string{busybox, "sh", "-c",
			"chmod 700 " + base + "/e && stat -c %a " + base + "/e"}, 0, "700\n", ""},
		{"cp copies a host file in", []string{"cp", "/etc/passwd", base + "/e/passwd"},
			0, "", ""},
		{"cmp finds the copy equal", []string{"cmp", "/etc/passwd", base + "/e/passwd"},
			0, "", ""},
		{"ls lists the directory", []string{"ls", base + "/e"}, 0, "passwd\n", ""},
		{"python writes, appends and reads a file", []string{python, "-c",
			"p='" + base + "/e/f'\n" +
				"open(p,'w').write('one\\n'); open(p,'a').write('two\\n')\n" +
				"print(open(p).read(), end='')"}, 0, "one\ntwo\n", ""},
		{"a hard link shares the file", []string{busybox, "sh", "-c",
			"ln " + base + "/e/f " + base + "/e/g && stat -c %h " + base + "/e/g"}, 0, "2\n", ""},
		{"rm -r removes the tree", []string{"rm", "-r", base + "/e"}, 0, "", ""},
		{"rm removes the link", []string{"rm", base + "/l"}, 0, "", ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got := run(t, d, env, s.argv...)
			if got.code != s.wantCode || got.stdout != s.wantStdout ||
				!strings.Contains(got.stderr, s.wantStderr) {
				t.Errorf("%q: status %d, stdout %q, stderr %q; want %d, %q, stderr with %q",
					s.argv, got.code, got.stdout, got.stderr, s.wantCode, s.wantStdout,
					s.wantStderr)
			}
		})
		if t.Failed() {
			return
		}
		if root == "" {
			continue
		}
		// What the rump kernel holds is what its root directory holds.
		switch s.name {
		case "mkdir makes a directory in the rump kernel":
			if fi, err := os.Stat(filepath.Join(root, "d")); err != nil || !fi.IsDir() {
				t.Errorf("the rump kernel's root has no directory d: %v", err)
			}
			if _, err := os.Stat("/rump/d"); err == nil {
				t.Errorf("the host has /rump/d")
			}
		case "rm -r removes the tree":
			if _, err := os.Stat(filepath.Join(root, "e")); !os.IsNotExist(err) {
				t.Errorf("the rump kernel's root still has e: %v", err)
			}
		}
	}
}

func TestUnreachableRumpServerStopsTheProgram(t *testing.T) {
	d := startDaemon(t)
	sock := filepath.Join(t.TempDir(), "nobody-listens.sock")
	got := run(t, d, []string{"RUMP_SERVER=unix://" + sock}, "echo", "must not run")
	if got.code != 125 || got.stdout != "" || !strings.Contains(got.stderr, sock) {
		t.Errorf("status %d, stdout %q, stderr %q; want 125 naming the server",
			got.code, got.stdout, got.stderr)
	}
	got = run(t, d, []string{"RUMP_SERVER=tcp://localhost:80"}, "true")
	if got.code != 125 || !strings.Contains(got.stderr, "numeric IPv4") {
		t.Errorf("a malformed RUMP_SERVER: status %d, stderr %q; want 125 and the rule",
			got.code, got.stderr)
	}
}

func TestEmbeddedKernelServesFiles(t *testing.T) {
	state := stateDir(t)
	d := startDaemon(t, "--state-dir", state)
	python := requireProgram(t, "python3", "python3")

	got := run(t, d, nil, "cat", "/rump/x")
	if got.code != 1 || !strings.Contains(got.stderr, "No such file or directory") {
		t.Errorf("cat of a missing rump file: %+v, want the rump kernel's ENOENT", got)
	}
	got = run(t, d, nil, python, "-c", `
import os
with open("/rump/hello", "w") as f:
    f.write("hello from the rump kernel\n")
print(open("/rump/hello").read(), end="")
print(sorted(os.listdir("/rump")))
`)
	if got.code != 0 || got.stdout != "hello from the rump kernel\n['hello']\n" {
		t.Errorf("python writing and reading /rump/hello: %+v", got)
	}
	got = run(t, d, nil, "cat", "/rump/hello")
	if got.stdout != "hello from the rump kernel\n" {
		t.Errorf("cat /rump/hello: %+v", got)
	}
	// The embedded kernel's files live under its root in the state
	// directory, and nowhere else on the host.
	data, err := os.ReadFile(filepath.Join(state, "root", "hello"))
	if err != nil || string(data) != "hello from the rump kernel\n" {
		t.Errorf("the embedded root holds %q, %v", data, err)
	}
	if _, err := os.Stat("/rump/hello"); err == nil {
		t.Errorf("the host has /rump/hello")
	}
}

func TestForkChildrenInheritRumpDescriptors(t *testing.T) {
	d := startDaemon(t)
	python := requireProgram(t, "python3", "python3")
	// The child's rump process is a copy of its parent's made at the fork:
	// the descriptor is the same open file, offset included, and what
	// either side opens afterwards is its own.
	got := run(t, d, nil, python, "-c", `
import os
open("/rump/inherited", "w").write("data")
fd = os.open("/rump/inherited", os.O_RDONLY)
pid = os.fork()
if pid == 0:
    print("child:", os.read(fd, 2), flush=True)
    other = os.open("/rump/inherited", os.O_RDONLY)
    print("child's own:", os.read(other, 4), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
print("parent:", os.read(fd, 10))
`)
	want := "child: b'da'\nchild's own: b'data'\nparent: b'ta'\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("fork with a rump descriptor: %+v, want stdout %q", got, want)
	}
	// A pipeline's children each get a rump process of their own.
	got = run(t, d, nil, "sh", "-c", "cat /rump/inherited | tr a-z A-Z")
	if got.stdout != "DATA" {
		t.Errorf("a pipeline reading a rump file: %+v", got)
	}
}

func TestDescriptorCallsOnRumpFiles(t *testing.T) {
	d := startDaemon(t)
	python := requireProgram(t, "python3", "python3")
	got := run(t, d, nil, python, "-c", `
import os
fd = os.open("/rump/v", os.O_RDWR | os.O_CREAT, 0o600)
print(os.writev(fd, [b"abc", b"defg"]))
os.lseek(fd, 0, 0)
a, b = bytearray(2), bytearray(10)
print(os.readv(fd, [a, b]), bytes(a), bytes(b[:5]))
print(os.pread(fd, 3, 2), os.pwrite(fd, b"XY", 1))
os.ftruncate(fd, 4); os.fsync(fd); os.fdatasync(fd)
os.fchmod(fd, 0o640)
st = os.fstat(fd); print(st.st_size, oct(st.st_mode & 0o777))
os.utime("/rump/v", (1000000000, 1000000000))
print(int(os.stat("/rump/v").st_mtime))
os.utime(fd, (2000000000, 2000000000))
print(int(os.stat("/rump/v").st_mtime))
hi = os.dup2(fd, 200); os.lseek(hi, 0, 0); print(hi, os.read(hi, 10))
dup = os.dup(fd); print(dup >= 128, os.fstat(dup).st_size)
os.close(hi); os.close(dup); os.close(fd)
`)
	want := "7\n7 b'ab' b'cdefg'\nb'cde' 2\n4 0o640\n1000000000\n2000000000\n" +
		"200 b'aXYd'\nTrue 4\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("descriptor calls on a rump file:\n%+v\nwant stdout %q", got, want)
	}
}

func TestEveryProcessHasItsOwnRumpProcess(t *testing.T) {
	d := startDaemon(t)
	busybox := staticBusybox(t)
	run(t, d, nil, busybox, "sh", "-c", "echo data > /dev/null; cp /etc/hostname /rump/f")
	// More processes than the embedded server has connection slots: each
	// one's rump process must end with it.
	got := run(t, d, nil, busybox, "sh", "-c",
		"n=0; for i in $(seq 300); do cat /rump/f >/dev/null && n=$((n+1)); done; echo $n")
	if got.code != 0 || got.stdout != "300\n" {
		t.Errorf("300 processes reading a rump file: %+v", got)
	}
	eventually(t, "every process forgotten", func() (bool, string) {
		n := d.metric(t, "hijack_processes")
		c := d.metric(t, "rump_connections", "state=active")
		return n == 0 && c == 0, fmt.Sprintf("%v processes, %v active rump connections", n, c)
	})
}

func TestWorkingDirectoryInTheRumpKernel(t *testing.T) {
	d := startDaemon(t)
	python := requireProgram(t, "python3", "python3")
	// chdir and fchdir move the working directory into the rump kernel
	// and out again; relative paths, getcwd and fork children follow it.
	hostDir := t.TempDir()
	got := run(t, d, []string{"HOSTDIR=" + hostDir}, python, "-c", `
import os
hostdir = os.environ["HOSTDIR"]
os.makedirs("/rump/w/sub")
host = os.open(hostdir, os.O_RDONLY)
os.chdir("/rump/w")
print(os.getcwd())
open("rel", "w").write("relative")
print(open("/rump/w/rel").read(), sorted(os.listdir(".")))
os.chdir("sub"); print(os.getcwd())
os.chdir(".."); os.chdir(".."); print(os.getcwd())
pid = os.fork()
if pid == 0:
    print("child:", os.getcwd(), sorted(os.listdir("w")), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
os.fchdir(host); print(os.getcwd() == hostdir)
d = os.open("/rump/w/sub", os.O_RDONLY)
os.fchdir(d); print(os.getcwd())
os.chdir(hostdir); print(os.getcwd() == hostdir, os.path.exists("rel"))
`)
	want := "/rump/w\nrelative ['rel', 'sub']\n/rump/w/sub\n/rump\n" +
		"child: /rump ['rel', 'sub']\nTrue\n/rump/w/sub\nTrue False\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("a working directory in the rump kernel:\n%+v\nwant stdout %q", got, want)
	}
	got = run(t, d, nil, "sh", "-c", "cd /rump/w && pwd && /bin/pwd && cat rel && cd / && ls rel")
	if got.stdout != "/rump/w\n/rump/w\nrelative" || got.code == 0 {
		t.Errorf("a shell in a rump directory: %+v", got)
	}
}

func TestShellRedirectionToRumpFiles(t *testing.T) {
	d := startDaemon(t)
	busybox := staticBusybox(t)
	// A redirection duplicates a rump descriptor below fdoff, where the
	// host never traps: it is served by a pump, and what one command wrote
	// is in the rump file for the next one, in this session or the next.
	script := `echo one > /rump/r; echo two >> /rump/r; cat /rump/r; wc -l < /rump/r
seq 20000 > /rump/big; wc -c < /rump/big
(echo a; echo b) | sort -r > /rump/s; cat < /rump/s | tr a-z A-Z
exec 3>/rump/fd3; echo through fd 3 >&3; exec 3>&-; cat /rump/fd3`
	want := "one\ntwo\n2\n108894\nB\nA\nthrough fd 3\n"
	bash := requireProgram(t, "bash", "bash")
	for _, sh := range [][]string{{bash, "-c"}, {busybox, "sh", "-c"}} {
		got := run(t, d, nil, append(sh, script)...)
		if got.code != 0 || got.stdout != want {
			t.Errorf("%s: redirections to rump files:\n%+v\nwant stdout %q", sh[0], got, want)
		}
		if got := run(t, d, nil, "cat", "/rump/r"); got.stdout != "one\ntwo\n" {
			t.Errorf("%s: the next session reads %+v", sh[0], got)
		}
	}
}

func TestMappingRumpFiles(t *testing.T) {
	d := startDaemon(t)
	python := requireProgram(t, "python3", "python3")
	// A mapping is a copy of the rump file made at the mmap: readable,
	// privately writable, never a writable shared mapping; the descriptor
	// goes on being the rump file's.
	got := run(t, d, nil, python, "-c", `
import mmap, os
open("/rump/m", "wb").write(b"0123456789" * 1000)
with open("/rump/m", "r+b") as f:
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    print(len(m), m[9995:10000], m.find(b"90", 100))
    try:
        mmap.mmap(f.fileno(), 0)
    except OSError as e:
        print("shared writable:", e.errno == 19)
    p = mmap.mmap(f.fileno(), 4096, access=mmap.ACCESS_COPY, offset=4096)
    p[0:3] = b"abc"
    print(p[:6], f.read(4), os.fstat(f.fileno()).st_size)
    f.seek(0); f.write(b"XY"); f.flush()
    print(m[:4], open("/rump/m", "rb").read(4))
`)
	want := "10000 b'56789' 109\nshared writable: True\nb'abc901' b'0123' 10000\n" +
		"b'0123' b'XY23'\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("mmap of a rump file:\n%+v\nwant stdout %q", got, want)
	}
}

func TestExecKeepsInheritableRumpDescriptors(t *testing.T) {
	d := startDaemon(t)
	python := requireProgram(t, "python3", "python3")
	// Python's descriptors are close-on-exec unless made inheritable.
	// After the exec, the close-on-exec one is gone on both sides (its
	// number is free for the new program's next rump file), the
	// inheritable one reads on, and a failed exec changed nothing.
	got := run(t, d, []string{"PYTHON=" + python}, python, "-c", `
import os, sys
open("/rump/a", "w").write("aaaa"); open("/rump/b", "w").write("bbbb")
a = os.open("/rump/a", os.O_RDONLY)
b = os.open("/rump/b", os.O_RDONLY)
os.set_inheritable(b, True)
print(a, b, os.read(b, 1), flush=True)
try:
    os.execv("/nonexistent/program", ["x"])
except OSError as e:
    print("failed exec:", e.errno, os.read(a, 1), flush=True)
os.execv(os.environ["PYTHON"], ["python3", "-c", """
import os
c = os.open("/rump/a", os.O_RDONLY)
print(c, os.read(c, 2), os.read(129, 10))
"""])
`)
	want := "128 129 b'b'\nfailed exec: 2 b'a'\n128 b'aa' b'bbb'\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("exec with rump descriptors:\n%+v\nwant stdout %q", got, want)
	}
	// A shell hands an open rump file to the programs it runs.
	got = run(t, d, nil, "sh", "-c", `exec 3</rump/b; sh -c "cat <&3"`)
	if got.code != 0 || got.stdout != "bbbb" {
		t.Errorf("a rump descriptor inherited through exec: %+v", got)
	}
}

func TestChildKeepsWhatItsParentsExecClosed(t *testing.T) {
	d := startDaemon(t)
	python := requireProgram(t, "python3", "python3")
	bash := requireProgram(t, "bash", "bash")
	// The child, forked before its parent's exec, still holds the
	// close-on-exec rump descriptor the exec closed in the parent.
	got := run(t, d, []string{"BASH=" + bash}, python, "-c", `
import os, sys, time
open("/rump/cx", "w").write("close-on-exec file\n")
open("/rump/ck", "w").write("kept\n")
a = os.open("/rump/cx", os.O_RDONLY)
b = os.open("/rump/ck", os.O_RDONLY)
os.set_inheritable(b, True)
if os.fork() == 0:
    time.sleep(1)
    sys.stdout.write("child: " + os.read(a, 100).decode())
    os._exit(0)
os.execv(os.environ["BASH"], ["bash", "-c", "cat <&%d; sleep 2" % b])
`)
	want := "kept\nchild: close-on-exec file\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("a child reading what its parent's exec closed:\n%+v\nwant stdout %q", got, want)
	}
}
