package test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The tests in this file follow rump state through what processes do: fork,
// exec, threads, exit, and a server that goes away under them. Where a
// program's output can be compared, it is run once on a host directory and
// once on a rump one, and must print the same.

// procsProgram returns test/progs/procs.
func procsProgram(t testing.TB) string { return staticProgram(t, "procs") }

// rumpKernel is a kernel that hijacked programs reach through a daemon.
type rumpKernel struct {
	d    *daemon
	env  []string // what selects the kernel: RUMP_SERVER, or nothing
	root string   // the kernel's root on the host, "" when not on this host
}

// inEachKernel runs f against hijackd's embedded kernel and, when
// RUMP_SERVER is set, against that server.
func inEachKernel(t *testing.T, f func(t *testing.T, k rumpKernel)) {
	state := stateDir(t)
	d := startDaemon(t, "--state-dir", state)
	t.Run("embedded kernel", func(t *testing.T) {
		f(t, rumpKernel{d: d, root: filepath.Join(state, "root")})
	})
	t.Run("RUMP_SERVER", func(t *testing.T) {
		url := os.Getenv("RUMP_SERVER")
		if url == "" {
			t.Skip("RUMP_SERVER not set")
		}
		f(t, rumpKernel{d: d, env: []string{"RUMP_SERVER=" + url}})
	})
}

// dir makes a new directory in the kernel and returns its name under /rump
// and its path on the host, "" when the kernel's files are not on this
// host. A real server's file system outlives the test: each test works in
// a directory of its own.
func (k rumpKernel) dir(t *testing.T) (name, host string) {
	t.Helper()
	base := fmt.Sprintf("hijack-test-%d", time.Now().UnixNano())
	if got := run(t, k.d, k.env, "mkdir", "/rump/"+base); got.code != 0 {
		t.Fatalf("mkdir /rump/%s: %+v", base, got)
	}
	if k.root != "" {
		host = filepath.Join(k.root, base)
	}
	return "/rump/" + base, host
}

// asOnTheHost runs argv with DIR naming a new host directory, then under
// hijack-exec with DIR naming a new directory in the kernel, and reports a
// difference between what the two runs did. It returns the rump
// directory's path on the host, "" when the kernel's files are not here.
func asOnTheHost(t *testing.T, k rumpKernel, argv ...string) string {
	t.Helper()
	want := run(t, nil, []string{"DIR=" + t.TempDir()}, argv...)
	dir, host := k.dir(t)
	got := run(t, k.d, append([]string{"DIR=" + dir}, k.env...), argv...)
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("%q (-host directory +rump directory):\n%s", argv, diff)
	}
	if want.code != 0 {
		t.Errorf("%q failed on the host too: %+v", argv, want)
	}
	return host
}

// checkHostFile checks that the rump kernel holds want in name under dir,
// its directory on the host, when the kernel's files are on this host.
func checkHostFile(t *testing.T, dir, name, want string) {
	t.Helper()
	if dir == "" {
		return
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil || string(data) != want {
		t.Errorf("the rump kernel holds %q in %s (%v), want %q", data, name, err, want)
	}
}

func TestShellPipelinesInARumpDirectory(t *testing.T) {
	shells := [][]string{
		{requireProgram(t, "bash", "bash"), "-c"},
		{staticBusybox(t), "sh", "-c"},
	}
	// Every command of the pipeline is a child with the rump working
	// directory; sort's output is a redirection to a rump file.
	const pipeline = `cd "$DIR" && (echo b; echo a) | sort > out && wc -l < out && ` +
		`cat out | tr a-z A-Z`
	// Each pipeline forks twice: the second fork must not fail because
	// the first child's SIGCHLD came while it was being trapped.
	const many = `cd "$DIR" && n=0; for i in $(seq 200); do ` +
		`(echo b; echo a) | sort > out && n=$((n+1)); done; echo $n; cat out`
	inEachKernel(t, func(t *testing.T, k rumpKernel) {
		hostUntouched(t)
		for _, sh := range shells {
			name := filepath.Base(sh[0])
			t.Run(name+" runs a pipeline in the directory", func(t *testing.T) {
				dir := asOnTheHost(t, k, append(sh, pipeline)...)
				checkHostFile(t, dir, "out", "a\nb\n")
			})
			t.Run(name+" runs 200 pipelines", func(t *testing.T) {
				asOnTheHost(t, k, append(sh, many)...)
			})
		}
	})
}

func TestRumpDescriptorsThroughExec(t *testing.T) {
	python := requireProgram(t, "python3", "python3")
	shells := [][]string{
		{requireProgram(t, "bash", "bash"), "-c"},
		{staticBusybox(t), "sh", "-c"},
	}
	// TestExecKeepsInheritableRumpDescriptors execs dash and python; these
	// exec bash and busybox, as a command of the shell, as the shell's own
	// exec after it has read from the descriptor, and from python, whose
	// rump descriptors are above fdoff where a shell's redirections are not.
	inEachKernel(t, func(t *testing.T, k rumpKernel) {
		for _, sh := range shells {
			name := filepath.Base(sh[0])
			inner := strings.Join(sh, " ")
			t.Run(name+" hands descriptor 3 to the shell it runs", func(t *testing.T) {
				asOnTheHost(t, k, append(sh, `printf 'one\ntwo\nthree\n' > "$DIR/x"
exec 3<"$DIR/x"; `+inner+` 'cat <&3'; echo status $?`)...)
			})
			t.Run(name+" reads a line and execs a shell that reads the rest",
				func(t *testing.T) {
					asOnTheHost(t, k, append(sh, `printf 'one\ntwo\nthree\n' > "$DIR/x"
exec 3<"$DIR/x"; read -r first <&3; echo "read $first"; exec `+inner+` 'cat <&3'`)...)
				})
			// Python's own descriptors are close-on-exec; the shell it
			// execs finds only the one made inheritable.
			t.Run("python execs "+name+" with one of two descriptors", func(t *testing.T) {
				asOnTheHost(t, k, python, "-c", `
import os
d = os.environ["DIR"]
open(d + "/kept", "w").write("kept\n"); open(d + "/closed", "w").write("closed\n")
kept = os.open(d + "/kept", os.O_RDONLY)
closed = os.open(d + "/closed", os.O_RDONLY)
os.set_inheritable(kept, True)
os.execv("`+sh[0]+`", `+pyList(sh)+` + [
    "cat <&%d; cat 2>/dev/null <&%d || echo closed on exec" % (kept, closed)])
`)
			})
		}
	})
}

func TestChildrenOutliveTheirParent(t *testing.T) {
	python := requireProgram(t, "python3", "python3")
	shells := [][]string{
		{requireProgram(t, "bash", "bash"), "-c"},
		{staticBusybox(t), "sh", "-c"},
	}
	// The shell exits while its background subshell sleeps: the subshell,
	// first seen when its own children run, must still hold descriptor 3
	// and the rump working directory, as do its children.
	const background = `printf 'held\n' > "$DIR/x"; printf 'here\n' > "$DIR/y"
exec 3<"$DIR/x"; cd "$DIR"; (sleep 1; cat <&3; cat y; echo done) &
echo parent exits`
	inEachKernel(t, func(t *testing.T, k rumpKernel) {
		hostUntouched(t)
		for _, sh := range shells {
			name := filepath.Base(sh[0])
			t.Run(name+" exits before its background subshell", func(t *testing.T) {
				asOnTheHost(t, k, append(sh, background)...)
			})
		}
		t.Run("python exits before the child it forked", func(t *testing.T) {
			asOnTheHost(t, k, python, "-c", `
import os, time
d = os.environ["DIR"]
open(d + "/f", "w").write("inherited\n")
fd = os.open(d + "/f", os.O_RDONLY)
os.chdir(d)
if os.fork() == 0:
    time.sleep(1)
    print("child reads", os.read(fd, 100), "and lists", sorted(os.listdir(".")), flush=True)
    os._exit(0)
print("parent exits", flush=True)
os._exit(0)
`)
		})
		// Killed, a parent makes no call at all on its way out. (The
		// program's own exit code would differ from the host's run, so
		// the parent is a child of the program's.)
		t.Run("python killed before the child it forked", func(t *testing.T) {
			asOnTheHost(t, k, python, "-c", `
import os, signal, time
d = os.environ["DIR"]
open(d + "/f", "w").write("inherited\n")
fd = os.open(d + "/f", os.O_RDONLY)
os.chdir(d)
middle = os.fork()
if middle == 0:
    os.fstat(fd)  # a rump call: hijackd knows the middle process
    if os.fork() == 0:
        time.sleep(1)
        print("child reads", os.read(fd, 100), "and lists", sorted(os.listdir(".")),
              flush=True)
        os._exit(0)
    os.kill(os.getpid(), signal.SIGKILL)
_, status = os.waitpid(middle, 0)
print("its parent was killed:", os.WIFSIGNALED(status), flush=True)
time.sleep(2)
`)
		})
	})
}

// pyList writes argv as a Python list of strings.
func pyList(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = strconv.Quote(a)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func TestPythonProcessesShareRumpFiles(t *testing.T) {
	python := requireProgram(t, "python3", "python3")
	bash := requireProgram(t, "bash", "bash")
	inEachKernel(t, func(t *testing.T, k rumpKernel) {
		hostUntouched(t)
		// subprocess forks (vfork where it can), marks the passed
		// descriptor inheritable in the child, closes the others and
		// execs; the child shares the parent's offset.
		t.Run("subprocess passes a rump descriptor with pass_fds", func(t *testing.T) {
			asOnTheHost(t, k, python, "-c", `
import os, subprocess, sys
d = os.environ["DIR"]
open(d + "/passed", "w").write("skipped;passed through pass_fds\n")
fd = os.open(d + "/passed", os.O_RDONLY)
other = os.open(d + "/passed", os.O_RDONLY)
os.read(fd, 8)
child = """
import os, sys
fd, other = int(sys.argv[1]), int(sys.argv[2])
print("child reads:", os.read(fd, 6))
try:
    os.fstat(other)
    print("the child has the descriptor not passed")
except OSError as e:
    print("the descriptor not passed:", e.strerror)
"""
r = subprocess.run([sys.executable, "-c", child, str(fd), str(other)], pass_fds=[fd],
                   capture_output=True, text=True)
print(r.returncode, r.stdout, r.stderr, end="")
r = subprocess.run(["`+bash+`", "-c", "cat <&%d" % fd], pass_fds=[fd],
                   capture_output=True, text=True)
print(r.returncode, repr(r.stdout), repr(r.stderr))
print("parent reads:", os.read(fd, 100), os.read(other, 7))
`)
		})
		// Both sides write 200 lines at once, through one open file: with
		// O_APPEND and with the offset they share, no line may be lost or
		// overwritten, and each side's lines stay in its order.
		t.Run("os.fork with both sides writing one file", func(t *testing.T) {
			dir := asOnTheHost(t, k, python, "-c", `
import os
d = os.environ["DIR"]
n = 200
def both(name, flags):
    fd = os.open(d + "/" + name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | flags, 0o644)
    pid = os.fork()
    who = b"child" if pid == 0 else b"parent"
    for i in range(n):
        os.write(fd, b"%s %03d\n" % (who, i))
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    os.close(fd)
    lines = open(d + "/" + name).read().splitlines()
    mine = lambda who: [l for l in lines if l.split()[0] == who]
    want = lambda who: ["%s %03d" % (who, i) for i in range(n)]
    print(name, len(lines), mine("child") == want("child"),
          mine("parent") == want("parent"))
both("appended", os.O_APPEND)
both("shared-offset", 0)
`)
			for _, name := range []string{"appended", "shared-offset"} {
				if dir == "" {
					break
				}
				const size = 200*len("child 000\n") + 200*len("parent 000\n")
				data, _ := os.ReadFile(filepath.Join(dir, name))
				if n := strings.Count(string(data), "\n"); len(data) != size || n != 400 {
					t.Errorf("the rump kernel holds %d bytes, %d lines in %s; want %d, 400",
						len(data), n, name, size)
				}
			}
		})
		// The pool's workers are forks of a process whose working
		// directory is in the rump kernel: relative names are rump files.
		t.Run("multiprocessing workers open relative names", func(t *testing.T) {
			dir := asOnTheHost(t, k, python, "-c", `
import multiprocessing, os
def work(i):
    data = open("in%d" % i).read()
    with open("out%d" % i, "w") as f:
        f.write(data.upper())
    return os.getpid() != parent, os.getcwd() == here, data
os.chdir(os.environ["DIR"])
here, parent = os.getcwd(), os.getpid()
for i in range(8):
    open("in%d" % i, "w").write("file %d\n" % i)
ctx = multiprocessing.get_context("fork")
with ctx.Pool(4) as pool:
    print(pool.map(work, range(8)))
p = ctx.Process(target=work, args=(0,))
p.start(); p.join()
print(p.exitcode, sorted(os.listdir(".")))
print("".join(open("out%d" % i).read() for i in range(8)), end="")
`)
			checkHostFile(t, dir, "out7", "FILE 7\n")
		})
	})
}

// footprint is what hijackd and its embedded rump server hold. Connections
// in hijackd's pool are left out of both descriptor counts: the pool is
// refilled in the background.
type footprint struct {
	fds        int     // hijackd's descriptors
	goroutines int     // hijackd's goroutines
	rss        float64 // hijackd's resident memory in bytes
	serverFDs  int     // the server's: each rump process holds some
	processes  float64 // hijack_processes
	active     float64 // rump_connections{state="active"}
}

func (f footprint) String() string {
	return fmt.Sprintf("%d descriptors, %d goroutines, %.1f MiB resident, "+
		"%d server descriptors, %v processes, %v active rump connections",
		f.fds, f.goroutines, f.rss/(1<<20), f.serverFDs, f.processes, f.active)
}

func measure(t *testing.T, d *daemon, server int) footprint {
	t.Helper()
	pooled := int(d.metric(t, "rump_connections", "state=pooled"))
	return footprint{
		fds:        countFDs(t, d.cmd.Process.Pid) - pooled,
		goroutines: int(d.metric(t, "go_goroutines")),
		rss:        d.metric(t, "process_resident_memory_bytes"),
		serverFDs:  countFDs(t, server) - pooled,
		processes:  d.metric(t, "hijack_processes"),
		active:     d.metric(t, "rump_connections", "state=active"),
	}
}

func countFDs(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("descriptors of %d: %v", pid, err)
	}
	return len(entries)
}

// parentOf returns the parent of pid and whether pid is a process that has
// not exited.
func parentOf(pid int) (int, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name may hold spaces and parentheses: the state and
	// the parent follow the last ')'.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 2 || fields[0] == "Z" || fields[0] == "X" {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	return ppid, err == nil
}

// embeddedServer returns the pid of the hijack-rumpserver that d started.
func embeddedServer(t *testing.T, d *daemon) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if ppid, ok := parentOf(pid); ok && ppid == d.cmd.Process.Pid &&
			filepath.Base(exe) == "hijack-rumpserver" {
			return pid
		}
	}
	t.Fatalf("hijackd %d has no hijack-rumpserver child", d.cmd.Process.Pid)
	return 0
}

func TestManyProcessesLeaveNothingBehind(t *testing.T) {
	d := startDaemon(t)
	busybox := staticBusybox(t)
	// A first session makes the file and starts what is started once: the
	// embedded server, the pool, the metrics handler's state.
	got := run(t, d, nil, busybox, "sh", "-c", "echo data > /rump/f && cat /rump/f")
	if got.stdout != "data\n" {
		t.Fatalf("first session: %+v", got)
	}
	server := embeddedServer(t, d)
	var base footprint
	eventually(t, "the first session forgotten", func() (bool, string) {
		base = measure(t, d, server)
		open := d.metric(t, "hijack_sessions")
		return open == 0 && base.processes == 0 && base.active == 0,
			fmt.Sprintf("%v sessions, %v", open, base)
	})
	t.Logf("baseline: %v", base)
	// Resident memory follows the heap's high-water mark and the runtime's
	// lazy return of pages, so it is only bounded: 64 MiB above the
	// baseline is some 50 KiB for each of the 1200 processes.
	const rssMargin = 64 << 20

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"a shell running 1000 processes", func(t *testing.T) {
			got := run(t, d, nil, busybox, "sh", "-c", "n=0; for i in $(seq 1000); do "+
				"cat /rump/f >/dev/null && n=$((n+1)); done; echo $n")
			if got.code != 0 || got.stdout != "1000\n" {
				t.Errorf("1000 processes reading a rump file: %+v", got)
			}
		}},
		{"200 sessions in a row", func(t *testing.T) {
			for i := range 200 {
				if got := run(t, d, nil, "cat", "/rump/f"); got.stdout != "data\n" {
					t.Fatalf("session %d: %+v", i, got)
				}
			}
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.run(t)
			var now footprint
			eventually(t, "hijackd and the rump server back at the baseline",
				func() (bool, string) {
					now = measure(t, d, server)
					back := now.fds == base.fds && now.goroutines == base.goroutines &&
						now.rss <= base.rss+rssMargin && now.serverFDs == base.serverFDs &&
						now.processes == 0 && now.active == 0
					return back, fmt.Sprintf("%v; baseline %v", now, base)
				})
			t.Logf("afterwards: %v", now)
		})
	}
}

func TestGoroutinesDoConcurrentRumpIO(t *testing.T) {
	state := stateDir(t)
	d := startDaemon(t, "--state-dir", state)
	k := rumpKernel{d: d, root: filepath.Join(state, "root")}
	dir, host := k.dir(t)
	sockets := d.metric(t, "hijack_decisions_total", "syscall=socket", "decision=rump")

	got := run(t, d, nil, procsProgram(t), "io", dir)
	lines := strings.Split(got.stdout, "\n")
	want := "8 workers, 64 rounds: own files, shared file and connections hold every byte"
	if got.code != 0 || len(lines) != 3 || lines[0] != want {
		t.Fatalf("procs io %s: %+v", dir, got)
	}

	// The shared file is in the rump kernel as the program meant it.
	var size int
	var digest string
	fmt.Sscanf(lines[1], "shared %d %s", &size, &digest)
	data, err := os.ReadFile(filepath.Join(host, "shared"))
	if err != nil || len(data) != size || fmt.Sprintf("%x", sha256.Sum256(data)) != digest {
		t.Errorf("the rump kernel's shared file has %d bytes (%v), want %q", len(data), err,
			lines[1])
	}
	// The listener and the eight connections were rump sockets.
	eventually(t, "the program's sockets counted", func() (bool, string) {
		n := d.metric(t, "hijack_decisions_total", "syscall=socket", "decision=rump")
		return n-sockets >= 9, fmt.Sprintf("%v rump sockets", n-sockets)
	})
}

// reconnectShell reads a rump file in the shell itself and in a child, in a
// loop that goes on until the file STOP exists on the host, beside a child
// that makes no rump call at all.
const reconnectShell = `sleep 1000 >/dev/null 2>&1 & echo "sleeper $!"
while [ ! -e "$STOP" ]; do read -r x < /rump/f; echo "sh $x"; cat /rump/f; sleep 0.05; done
kill $!`

func TestReconnectModesUnderAShell(t *testing.T) {
	busybox := staticBusybox(t)
	d := startDaemon(t)
	tests := []struct {
		retry string
		dies  bool
	}{
		{"inftime", false},
		{"die", true},
	}
	for _, tt := range tests {
		t.Run("RUMPHIJACK_RETRYCONNECT="+tt.retry, func(t *testing.T) {
			srv := newRestartableServer(t)
			file := filepath.Join(srv.root, "f")
			os.WriteFile(file, []byte("before\n"), 0o644)
			stop := filepath.Join(t.TempDir(), "stop")
			cmd := exec.Command(filepath.Join(bin, "hijack-exec"), busybox, "sh", "-c",
				reconnectShell)
			cmd.Env = append(baseEnv(), "HIJACKD_SOCKET="+d.socket, "STOP="+stop,
				"RUMP_SERVER=unix://"+srv.sock, "RUMPHIJACK_RETRYCONNECT="+tt.retry)
			out := &lineWriter{lines: make(chan string, 1000)}
			var stderr syncBuffer
			cmd.Stdout, cmd.Stderr = out, &stderr
			cmd.WaitDelay = 5 * time.Second
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			var waitErr error
			go func() {
				waitErr = cmd.Wait()
				close(exited)
			}()
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
			})
			wait := func() error {
				t.Helper()
				select {
				case <-exited:
					return waitErr
				case <-time.After(30 * time.Second):
					t.Fatalf("the shell still runs 30 s later; stderr %q", stderr.String())
					return nil
				}
			}

			var sleeper int
			if !out.waitFor(func(l string) bool {
				_, err := fmt.Sscanf(l, "sleeper %d", &sleeper)
				return err == nil
			}) {
				t.Fatalf("the shell did not start its sleeper; stderr %q", stderr.String())
			}
			t.Cleanup(func() { syscall.Kill(sleeper, syscall.SIGKILL) })
			if !out.waitForLines("sh before", "before") {
				t.Fatalf("the shell did not read the file; stderr %q", stderr.String())
			}

			// What the shell reads from now on can only come from the
			// restarted server.
			srv.stop()
			os.WriteFile(file, []byte("after\n"), 0o644)
			srv.start()

			if !tt.dies {
				if !out.waitForLines("sh after", "after") {
					t.Fatalf("the loop did not go on after the restart; stderr %q",
						stderr.String())
				}
				os.WriteFile(stop, nil, 0o644)
				if err := wait(); err != nil {
					t.Errorf("the shell ended with %v after the restart; stderr %q", err,
						stderr.String())
				}
				t.Logf("the shell ended well; stderr %q", stderr.String())
				return
			}
			err := wait()
			if err == nil {
				t.Errorf("the shell survived the lost server under die; stderr %q",
					stderr.String())
			}
			t.Logf("the shell ended with %v; stderr %q", err, stderr.String())
			eventually(t, "the sleeper, which made no rump call, gone too",
				func() (bool, string) {
					_, alive := parentOf(sleeper)
					return !alive, fmt.Sprintf("%d still runs", sleeper)
				})
		})
	}
}

// lineWriter passes each whole line written to it on to lines, dropping
// those that find lines full: a test that stops reading must not stop the
// program. It is written to by one goroutine, exec's copier.
type lineWriter struct {
	buf   []byte
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case w.lines <- string(w.buf[:i]):
		default:
		}
		w.buf = w.buf[i+1:]
	}
}

// waitFor reads lines until one satisfies match, and reports false if none
// has within 30 s.
func (w *lineWriter) waitFor(match func(string) bool) bool {
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l := <-w.lines:
			if match(l) {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

// waitForLines reads lines until each of want has come, and reports false
// if they have not within 30 s.
func (w *lineWriter) waitForLines(want ...string) bool {
	for _, l := range want {
		if !w.waitFor(func(got string) bool { return got == l }) {
			return false
		}
	}
	return true
}
