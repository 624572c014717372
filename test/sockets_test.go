package test

import (
	"bufio"
	"fmt"
	"net"
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

// The tests in this file check that programs' inet and inet6 sockets live in
// the rump kernel: two hijacked programs reach each other there, the host
// sees none of it, and what the programs see of their sockets is what they
// see on the host. test/progs/netecho does most of the checking from inside
// a hijacked program; it runs unhijacked first, so that a check the host
// itself fails is found to be the program's fault.

// netechoProgram returns test/progs/netecho.
func netechoProgram(t testing.TB) string { return staticProgram(t, "netecho") }

// hijackedCommand returns the command run would run: argv with env added to
// the test's environment, directly or, with a daemon, under hijack-exec.
func hijackedCommand(d *daemon, env []string, argv ...string) *exec.Cmd {
	if d != nil {
		argv = append([]string{filepath.Join(bin, "hijack-exec")}, argv...)
		env = append([]string{"HIJACKD_SOCKET=" + d.socket}, env...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(baseEnv(), env...)
	return cmd
}

// background is a program that runs while the test talks to it. Its
// standard input is a pipe that stays open until the test ends.
type background struct {
	cmd    *exec.Cmd
	stdin  interface{ Close() error }
	lines  chan string // standard output, line by line, as it comes
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{} // closed once it has exited
}

// startBackground starts cmd. When the test ends, its standard input is
// closed, and it is killed if it has not exited 10 s later.
func startBackground(t testing.TB, cmd *exec.Cmd) *background {
	t.Helper()
	b := &background{cmd: cmd, lines: make(chan string, 1000), done: make(chan struct{})}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b.stdin = stdin
	cmd.Stderr = &b.stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %q: %v", cmd.Args, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(&b.stdout, sc.Text())
			select {
			case b.lines <- sc.Text():
			default: // nobody is reading them
			}
		}
		close(b.lines)
		cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		b.stdin.Close()
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-b.done
		}
		if t.Failed() {
			t.Logf("%q printed:\n%s\nand on stderr:\n%s", cmd.Args, &b.stdout, &b.stderr)
		}
	})
	return b
}

// line returns the program's next line of output.
func (b *background) line(t testing.TB) string {
	t.Helper()
	select {
	case l, ok := <-b.lines:
		if !ok {
			t.Fatalf("%q exited (%v) without printing a line; stderr:\n%s", b.cmd.Args,
				b.wait(t, 10*time.Second), &b.stderr)
		}
		return l
	case <-time.After(60 * time.Second):
		t.Fatalf("%q printed no line within 60 s; stderr:\n%s", b.cmd.Args, &b.stderr)
	}
	return ""
}

// wait waits for the program to exit, at most timeout, and returns how.
func (b *background) wait(t testing.TB, timeout time.Duration) *os.ProcessState {
	t.Helper()
	select {
	case <-b.done:
		return b.cmd.ProcessState
	case <-time.After(timeout):
		t.Fatalf("%q still running after %v; stderr:\n%s", b.cmd.Args, timeout, &b.stderr)
	}
	return nil
}

// netechoServers starts netecho serve and returns it with the addresses it
// printed: TCP echo on 127.0.0.1 and ::1, UDP echo, and the TCP sink.
func netechoServers(t testing.TB, d *daemon, env []string) (srv *background,
	tcp4, tcp6, udp4, sink string) {
	t.Helper()
	srv = startBackground(t, hijackedCommand(d, env, netechoProgram(t), "serve"))
	line := srv.line(t)
	f := strings.Fields(line)
	if len(f) != 5 || f[0] != "serving" {
		t.Fatalf("netecho serve printed %q", line)
	}
	return srv, f[1], f[2], f[3], f[4]
}

// netechoChecks runs netecho check unhijacked, then hijacked with env, first
// alone and then against netecho serve in a hijacked process of its own, and
// compares what each hijacked run printed with the unhijacked run.
func netechoChecks(t *testing.T, d *daemon, env []string) {
	t.Helper()
	netecho := netechoProgram(t)
	host := run(t, nil, nil, netecho, "check")
	if host.code != 0 {
		t.Fatalf("netecho check fails on the host, status %d:\n%s%s", host.code, host.stdout,
			host.stderr)
	}

	t.Run("in one hijacked process", func(t *testing.T) {
		got := run(t, d, env, netecho, "check")
		if diff := cmp.Diff(host.stdout, got.stdout); diff != "" || got.code != 0 {
			t.Errorf("netecho check: status %d, output differs from the host's (-host "+
				"+hijacked):\n%s%s", got.code, diff, got.stderr)
		}
	})
	t.Run("server and clients in two hijacked processes", func(t *testing.T) {
		_, tcp4, tcp6, udp4, _ := netechoServers(t, d, env)
		got := run(t, d, env, netecho, "check", tcp4, tcp6, udp4)
		if diff := cmp.Diff(host.stdout, got.stdout); diff != "" || got.code != 0 {
			t.Errorf("netecho check against netecho serve: status %d, output differs from "+
				"the host's (-host +hijacked):\n%s%s", got.code, diff, got.stderr)
		}
	})
	t.Run("SIGPIPE kills a writer to a reset peer", func(t *testing.T) {
		for _, side := range []struct {
			name string
			d    *daemon
			env  []string
		}{{"host", nil, nil}, {"hijacked", d, env}} {
			prog := startBackground(t, hijackedCommand(side.d, side.env, netecho, "sigpipe"))
			st := prog.wait(t, time.Minute)
			ws, _ := st.Sys().(syscall.WaitStatus)
			if !ws.Signaled() || ws.Signal() != syscall.SIGPIPE {
				t.Errorf("%s: netecho sigpipe ended with %v, want killed by SIGPIPE; "+
					"stderr:\n%s", side.name, st, &prog.stderr)
			}
		}
	})
}

// hijackdState returns the descriptors and goroutines hijackd holds, without
// the connections its pool keeps ready, and the descriptors its children,
// the embedded kernel among them, hold.
func hijackdState(t *testing.T, d *daemon) (fds, goroutines, kernelFDs float64) {
	t.Helper()
	pooled := d.metric(t, "rump_connections", "state=pooled")
	fds = d.metric(t, "process_open_fds") - pooled
	goroutines = d.metric(t, "go_goroutines")
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", d.cmd.Process.Pid))
	for _, path := range tasks {
		data, _ := os.ReadFile(path)
		for _, child := range strings.Fields(string(data)) {
			entries, _ := os.ReadDir("/proc/" + child + "/fd")
			kernelFDs += float64(len(entries))
		}
	}
	return fds, goroutines, kernelFDs
}

func TestSocketsInTheEmbeddedKernel(t *testing.T) {
	d := startDaemon(t)
	// One session first, so that what the first one starts once is in the
	// baseline.
	run(t, d, nil, "true")
	var baseFDs, baseGs, baseKernel float64
	eventually(t, "the first session closed", func() (bool, string) {
		baseFDs, baseGs, baseKernel = hijackdState(t, d)
		return d.metric(t, "hijack_sessions") == 0, "sessions still open"
	})

	netechoChecks(t, d, nil)

	t.Run("the calls were served by the rump kernel", func(t *testing.T) {
		for _, call := range []string{"socket", "bind", "listen", "connect", "accept4",
			"getsockname", "getpeername", "setsockopt", "getsockopt", "shutdown",
			"sendto", "recvfrom", "read", "write"} {
			if n := d.metric(t, "hijack_decisions_total", "syscall="+call,
				"decision=rump"); n == 0 {
				t.Errorf("no %s was served by the rump kernel", call)
			}
		}
	})
	t.Run("no descriptor or goroutine is left behind", func(t *testing.T) {
		eventually(t, "descriptors and goroutines back at their starting count",
			func() (bool, string) {
				fds, gs, kernel := hijackdState(t, d)
				return fds == baseFDs && gs == baseGs && kernel == baseKernel &&
						d.metric(t, "hijack_sessions") == 0,
					fmt.Sprintf("hijackd has %v descriptors (started with %v) and %v "+
						"goroutines (%v), its children %v descriptors (%v)", fds, baseFDs,
						gs, baseGs, kernel, baseKernel)
			})
	})
}

func TestSocketsWithRumpServer(t *testing.T) {
	url := os.Getenv("RUMP_SERVER")
	if url == "" {
		t.Skip("RUMP_SERVER not set")
	}
	d := startDaemon(t)
	env := []string{"RUMP_SERVER=" + url}
	got := run(t, d, env, netechoProgram(t), "probe")
	if got.code != 0 || got.stdout != "inet ok\ninet6 ok\n" {
		t.Skipf("the rump kernel at %s has no TCP/IP (netinet and netinet6 components): "+
			"netecho probe printed %q, status %d, %s", url, got.stdout, got.code, got.stderr)
	}
	netechoChecks(t, d, env)
}

// realPython returns the python3 that runs, not a wrapper script such as
// pyenv's, so that a signal reaches Python itself however early it is sent.
func realPython(t *testing.T) string {
	t.Helper()
	python := requireProgram(t, "python3", "python3")
	out, err := exec.Command(python, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestHTTPServerInTheRumpKernel(t *testing.T) {
	python := realPython(t)
	curl := requireProgram(t, "curl", "curl")
	d := startDaemon(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "served-from-rump.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A port free on the host, so that a listener found there would be
	// the server's.
	_, port, _ := net.SplitHostPort(freePort(t))
	url := "http://127.0.0.1:" + port + "/"

	cmd := hijackedCommand(d, nil, python, "-u", "-m", "http.server", port, "--bind", "127.0.0.1")
	cmd.Dir = dir
	srv := startBackground(t, cmd)
	if line := srv.line(t); !strings.HasPrefix(line, "Serving HTTP on 127.0.0.1 port "+port) {
		t.Fatalf("http.server printed %q", line)
	}

	got := run(t, d, nil, curl, "-sS", "--max-time", "60", url)
	if got.code != 0 || !strings.Contains(got.stdout, "Directory listing for /") ||
		!strings.Contains(got.stdout, "served-from-rump.txt") {
		t.Errorf("hijacked curl %s: status %d, want the listing:\n%s%s", url, got.code,
			got.stdout, got.stderr)
	}
	if ss, err := exec.LookPath("ss"); err == nil {
		out, err := exec.Command(ss, "-ltnH").Output()
		if err != nil {
			t.Fatalf("ss -ltnH: %v", err)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) >= 4 && strings.HasSuffix(f[3], ":"+port) {
				t.Errorf("the host has a listener on port %s: %s", port, l)
			}
		}
	} else {
		t.Log("ss not installed (Debian package iproute2): host listeners not listed")
	}
	// Exit status 7: failed to connect.
	if got := run(t, nil, nil, curl, "-sS", "--max-time", "30", url); got.code != 7 {
		t.Errorf("unhijacked curl %s: status %d, want 7 (could not connect):\n%s%s", url,
			got.code, got.stdout, got.stderr)
	}

	// Ctrl-C: http.server catches KeyboardInterrupt and exits 0.
	start := time.Now()
	srv.cmd.Process.Signal(os.Interrupt)
	st := srv.wait(t, 30*time.Second)
	t.Logf("http.server exited %v after SIGINT", time.Since(start).Round(time.Millisecond))
	if st.ExitCode() != 0 || !strings.Contains(srv.stdout.String(), "Keyboard interrupt received") {
		t.Errorf("http.server after SIGINT: %v, want exit status 0 and its KeyboardInterrupt "+
			"message; stdout:\n%s", st, &srv.stdout)
	}
}

// blockedScript waits in the rump kernel, in accept or in recv as argv[1]
// says, for a connection or data that never come, and reports how the wait
// ended.
const blockedScript = `
import socket, sys
ln = socket.socket()
ln.bind(("127.0.0.1", 0))
ln.listen()
if sys.argv[1] == "recv":
    c = socket.create_connection(ln.getsockname())
    s, _ = ln.accept()
print("waiting", flush=True)
try:
    if sys.argv[1] == "accept":
        ln.accept()
    else:
        s.recv(1)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
    sys.exit(0)
print("returned", flush=True)
`

// inSyscall reports whether the process is in one of the system calls
// nrs, as /proc/PID/syscall tells, with what it tells.
func inSyscall(pid int, nrs ...int) (bool, string) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", pid))
	if err != nil {
		return false, err.Error()
	}
	f := strings.Fields(string(data))
	for _, nr := range nrs {
		if len(f) > 0 && f[0] == strconv.Itoa(nr) {
			return true, ""
		}
	}
	return false, "in " + strings.TrimSpace(string(data))
}

func TestSIGINTInterruptsPythonBlockedInTheRumpKernel(t *testing.T) {
	python := realPython(t)
	d := startDaemon(t)
	tests := []struct {
		name string
		call string
		nrs  []int
	}{
		{"a Python server blocked in accept raises KeyboardInterrupt", "accept",
			[]int{syscall.SYS_ACCEPT, syscall.SYS_ACCEPT4}},
		{"a Python client blocked in recv raises KeyboardInterrupt", "recv",
			[]int{syscall.SYS_RECVFROM, syscall.SYS_READ}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog := startBackground(t, hijackedCommand(d, nil, python, "-c", blockedScript,
				tt.call))
			if line := prog.line(t); line != "waiting" {
				t.Fatalf("printed %q, want \"waiting\"", line)
			}
			eventually(t, "Python waits in "+tt.call, func() (bool, string) {
				return inSyscall(prog.cmd.Process.Pid, tt.nrs...)
			})

			start := time.Now()
			prog.cmd.Process.Signal(os.Interrupt)
			st := prog.wait(t, 30*time.Second)
			t.Logf("exited %v after SIGINT", time.Since(start).Round(time.Millisecond))
			if st.ExitCode() != 0 || prog.stdout.String() != "waiting\nKeyboardInterrupt\n" {
				t.Errorf("after SIGINT: %v, printed %q; want exit status 0 after "+
					"\"KeyboardInterrupt\"", st, &prog.stdout)
			}
		})
	}
}

// hostServer answers every connection to ln with one line, until the test
// ends.
func hostServer(t *testing.T, ln net.Listener) {
	t.Helper()
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Minute))
				if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
					fmt.Fprintln(c, "pong from the host")
				}
			}()
		}
	}()
}

func TestSocketPolicyChoosesFamilies(t *testing.T) {
	netecho := netechoProgram(t)
	d := startDaemon(t)
	// A short directory: a unix socket's path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "hj-unix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	unixLn, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	tcpLn, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	servers := map[string]net.Listener{"unix": unixLn, "tcp4": tcpLn}
	hostServer(t, unixLn)
	hostServer(t, tcpLn)

	tests := []struct {
		name      string
		policy    string // RUMPHIJACK, or "" for the default
		network   string
		reachable bool
	}{
		{"socket=inet leaves AF_UNIX on the host", "socket=inet", "unix", true},
		{"socket=inet takes inet to the rump kernel", "socket=inet", "tcp4", false},
		{"socket=all:noinet keeps inet on the host", "socket=all:noinet", "tcp4", true},
		{"the default keeps local sockets on the host", "", "unix", true},
		{"the default takes inet to the rump kernel", "", "tcp4", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env []string
			if tt.policy != "" {
				env = []string{"RUMPHIJACK=" + tt.policy}
			}
			addr := servers[tt.network].Addr().String()
			got := run(t, d, env, netecho, "dial", tt.network, addr)
			switch {
			case tt.reachable && (got.code != 0 || got.stdout != "pong from the host\n"):
				t.Errorf("dial the host's %s server: status %d, printed %q, want the "+
					"host's answer; stderr:\n%s", tt.network, got.code, got.stdout, got.stderr)
			case !tt.reachable && (got.code != 1 || !strings.Contains(got.stderr,
				"connection refused")):
				t.Errorf("dial the host's %s server: status %d, printed %q, want "+
					"connection refused from the rump kernel; stderr:\n%s", tt.network,
					got.code, got.stdout, got.stderr)
			}
		})
	}
}

func TestBatchedMessagesThroughTheRumpKernel(t *testing.T) {
	d := startDaemon(t)
	python := requireProgram(t, "python3", "python3")
	// sendmmsg sends every message of a batch; recvmmsg with
	// MSG_WAITFORONE takes what has arrived, waiting for the first only.
	got := run(t, d, nil, python, "-c", `
import ctypes, socket
libc = ctypes.CDLL(None, use_errno=True)
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
class msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint), ("iov", ctypes.POINTER(iovec)),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]
class mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]
def batch(bufs):
    vec = (mmsghdr * len(bufs))()
    iovs = [iovec(ctypes.cast(b, ctypes.c_void_p), len(b)) for b in bufs]
    for m, v in zip(vec, iovs):
        m.hdr.iov = ctypes.pointer(v); m.hdr.iovlen = 1
    return vec, iovs
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(("127.0.0.1", 0))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(r.getsockname())
out = [ctypes.create_string_buffer(b"one", 3), ctypes.create_string_buffer(b"two!", 4), ctypes.create_string_buffer(b"3", 1)]
vec, keep = batch(out)
print("sent", libc.sendmmsg(s.fileno(), vec, 3, 0), [m.len for m in vec])
inb = [ctypes.create_string_buffer(16) for _ in range(5)]
vec, keep = batch(inb)
MSG_WAITFORONE = 0x10000
n = libc.recvmmsg(r.fileno(), vec, 5, MSG_WAITFORONE, None)
print("received", n, [inb[i].raw[:vec[i].len] for i in range(n)])
`)
	want := "sent 3 [3, 4, 1]\nreceived 3 [b'one', b'two!', b'3']\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("sendmmsg and recvmmsg:\n%+v\nwant stdout %q", got, want)
	}
}

func TestAsyncioThroughTheRumpKernel(t *testing.T) {
	d := startDaemon(t)
	python := requireProgram(t, "python3", "python3")
	// asyncio's event loop waits on the shadows with epoll, untrapped.
	script := `
import asyncio
async def handle(reader, writer):
    while data := await reader.read(100):
        writer.write(data.upper())
        await writer.drain()
    writer.close()
async def client(port, i):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for r in range(50):
        msg = f"client {i} round {r}".encode()
        writer.write(msg)
        await writer.drain()
        got = await reader.readexactly(len(msg))
        assert got == msg.upper(), (got, msg)
    writer.close()
    await writer.wait_closed()
    return i
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    done = await asyncio.gather(*(client(port, i) for i in range(20)))
    server.close()
    await server.wait_closed()
    print(len(done), "clients done")
asyncio.run(main())
`
	want := "20 clients done\n"
	host := run(t, nil, nil, python, "-c", script)
	if host.stdout != want {
		t.Fatalf("the script on the host: %+v", host)
	}
	got := run(t, d, nil, python, "-c", script)
	if got.code != 0 || got.stdout != want {
		t.Errorf("asyncio through the rump kernel: %+v", got)
	}
	if n := d.metric(t, "hijack_decisions_total", "syscall=accept4", "decision=rump"); n == 0 {
		t.Errorf("no accept4 was served by the rump kernel")
	}
}

func TestRecvmmsgTimeoutAsOnLinux(t *testing.T) {
	netecho := netechoProgram(t)
	host := run(t, nil, nil, netecho, "recvmmsg")
	if host.code != 0 {
		t.Fatalf("netecho recvmmsg fails on the host, status %d:\n%s%s", host.code,
			host.stdout, host.stderr)
	}
	inEachKernel(t, func(t *testing.T, k rumpKernel) {
		got := run(t, k.d, k.env, netecho, "recvmmsg")
		if diff := cmp.Diff(host.stdout, got.stdout); diff != "" || got.code != 0 {
			t.Errorf("netecho recvmmsg: status %d, output differs from the host's "+
				"(-host +hijacked):\n%s%s", got.code, diff, got.stderr)
		}
		if n := k.d.metric(t, "hijack_decisions_total", "syscall=recvmmsg",
			"decision=rump"); n == 0 {
			t.Errorf("no recvmmsg was served by the rump kernel")
		}
	})
}

// passFDsScript passes a rump file and a rump socket over a local socket
// pair in the rump kernel and uses what it received; DIR names the
// directory to work in.
const passFDsScript = `
import os, select, socket, stat
path = os.path.join(os.environ["DIR"], "passed.txt")
with open(path, "w") as f:
    f.write("read through a passed descriptor\n")
fd = os.open(path, os.O_RDONLY)
a, b = socket.socketpair()
peer, passed = socket.socketpair()

def show(what, msg, fds, flags):
    trunc = "MSG_CTRUNC" if flags & socket.MSG_CTRUNC else "whole"
    print(f"{what}: {msg!r} with {len(fds)} descriptors, {trunc}")

def rights(ancdata):
    fds = []
    for level, typ, data in ancdata:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds += list(memoryview(data).cast("i", (len(data) // 4,)))
    return fds

socket.send_fds(a, [b"two"], [fd, passed.fileno()])
msg, fds, flags, _ = socket.recv_fds(b, 16, 2)
show("a file and a socket in one message", msg, fds, flags)
rf, rs = fds
print("new numbers:", not {rf, rs} & {fd, passed.fileno()})
print("inheritable:", os.get_inheritable(rf), os.get_inheritable(rs))
print("a regular file:", stat.S_ISREG(os.fstat(rf).st_mode))
print("reads:", os.read(rf, 8))
print("shares the offset:", os.read(fd, 100))
s = socket.socket(fileno=rs)
print("a socket:", s.family.name, s.type.name, s.proto)
peer.sendall(b"ping")
print("readable:", select.select([s], [], [], 30)[0] == [s])
print("received:", s.recv(16))
s.sendall(b"pong")
print("the peer received:", peer.recv(16))
os.close(rf)

for m in (b"1", b"2"):
    socket.send_fds(a, [m], [fd])
for _ in range(2):
    msg, anc, flags, _ = b.recvmsg(1, socket.CMSG_LEN(4), socket.MSG_CMSG_CLOEXEC)
    fds = rights(anc)
    show("one of two messages", msg, fds, flags)
    print("with MSG_CMSG_CLOEXEC, inheritable:", os.get_inheritable(fds[0]))
    os.close(fds[0])

socket.send_fds(a, [b"3"], [fd, passed.fileno(), fd])
msg, anc, flags, _ = b.recvmsg(16, socket.CMSG_LEN(4))
got = rights(anc)
show("three into room for one", msg, got, flags)
print("the one is the first:", stat.S_ISREG(os.fstat(got[0]).st_mode))
os.close(got[0])
socket.send_fds(a, [b"0"], [passed.fileno()])
msg, anc, flags, _ = b.recvmsg(16)
show("one into no room", msg, rights(anc), flags)

# The copies of passed left out were closed: once the others are, its peer
# sees the end of the stream.
s.close()
passed.close()
print("the peer sees the end:", select.select([peer], [], [], 30)[0] == [peer] and
      peer.recv(16) == b"")
`

func TestDescriptorsPassedInTheRumpKernel(t *testing.T) {
	python := realPython(t)
	inEachKernel(t, func(t *testing.T, k rumpKernel) {
		// Local socket pairs in the rump kernel too.
		k.env = append([]string{"RUMPHIJACK=path=/rump,socket=all"}, k.env...)
		host := asOnTheHost(t, k, python, "-c", passFDsScript)
		checkHostFile(t, host, "passed.txt", "read through a passed descriptor\n")
		for _, call := range []string{"socketpair", "sendmsg", "recvmsg"} {
			if n := k.d.metric(t, "hijack_decisions_total", "syscall="+call,
				"decision=rump"); n == 0 {
				t.Errorf("no %s was served by the rump kernel", call)
			}
		}
	})
}
