package main

import (
	"bufio"
	"errors"
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

	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/rumpserver"
)

// asMainVar makes the test binary run the command instead of the tests, so
// that the tests spawn the code under test without building it.
const asMainVar = "HIJACK_RUMPSERVER_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainVar) == "1" {
		os.Exit(run(os.Args[1:], os.Stderr))
	}
	os.Exit(m.Run())
}

// serverRoot returns a root the server's unprivileged user can write.
func serverRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(root, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// spawn starts the command as a child; a kernel that refuses the namespaces
// skips the test.
func spawn(t *testing.T, cfg rumpserver.SpawnConfig) *rumpserver.Child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Path, cfg.Env = exe, []string{asMainVar + "=1"}
	child, err := rumpserver.Spawn(cfg)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) ||
			errors.Is(err, syscall.ENOSPC) {
			t.Skipf("cannot create the server's namespaces here: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Close() })
	return child
}

func dial(t *testing.T, child *rumpserver.Child) *client {
	t.Helper()
	nc, err := child.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return handshake(t, nc)
}

// status returns the fields of /proc/pid/status.
func status(t *testing.T, pid int) map[string]string {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fields := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		fields[k] = strings.Join(strings.Fields(v), " ")
	}
	return fields
}

// freePort returns a TCP port nothing on the host's loopback listens on.
func freePort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

func TestSpawnedServerIsConfined(t *testing.T) {
	root := serverRoot(t)
	child := spawn(t, rumpserver.SpawnConfig{Root: root})
	a := dial(t, child)
	b := dial(t, child)

	port := freePort(t)
	ls := a.ok(netbsd.SYS___SOCKET30, netbsd.AF_INET, netbsd.SOCK_STREAM, 0)
	sa := inet4(port)
	a.ok(netbsd.SYS_BIND, uint64(ls), a.put(sa), uint64(len(sa)))
	a.ok(netbsd.SYS_LISTEN, uint64(ls), 4)

	t.Run("loopback is up inside: another rump process connects", func(t *testing.T) {
		cs := b.ok(netbsd.SYS___SOCKET30, netbsd.AF_INET, netbsd.SOCK_STREAM, 0)
		b.ok(netbsd.SYS_CONNECT, uint64(cs), b.put(sa), uint64(len(sa)))
	})
	t.Run("the host's loopback does not reach the server's sockets", func(t *testing.T) {
		nc, err := net.DialTimeout("tcp4", "127.0.0.1:"+strconv.Itoa(int(port)), time.Second)
		if err == nil {
			nc.Close()
			t.Fatalf("connected from the host to the rump listener on port %d", port)
		}
	})
	t.Run("the server has a network namespace of its own", func(t *testing.T) {
		mine, _ := os.Readlink("/proc/self/ns/net")
		theirs, err := os.Readlink("/proc/" + strconv.Itoa(child.Pid()) + "/ns/net")
		if err != nil || theirs == mine {
			t.Errorf("server network namespace %q (%v), the test's %q", theirs, err, mine)
		}
	})
	t.Run("the server holds no privilege", func(t *testing.T) {
		st := status(t, child.Pid())
		want := map[string]string{"CapEff": "0000000000000000", "CapPrm": "0000000000000000",
			"CapBnd": "0000000000000000", "NoNewPrivs": "1"}
		if os.Geteuid() == 0 {
			want["Uid"], want["Gid"] = "65534 65534 65534 65534", "65534 65534 65534 65534"
		}
		got := map[string]string{}
		for k := range want {
			got[k] = st[k]
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("/proc/%d/status (-want +got):\n%s", child.Pid(), diff)
		}
	})
	t.Run("relative paths and local sockets resolve through /proc", func(t *testing.T) {
		a.ok(netbsd.SYS_MKDIR, a.str("/d"), 0o755)
		a.ok(netbsd.SYS_CHDIR, a.str("/d"))
		fd := a.ok(netbsd.SYS_OPEN, a.str("rel"), netbsd.O_RDWR|netbsd.O_CREAT, 0o644)
		a.ok(netbsd.SYS_CLOSE, uint64(fd))
		cwd := a.alloc(16)
		if n := a.ok(netbsd.SYS___GETCWD, cwd, 16); string(a.load(cwd, int(n))) != "/d\x00" {
			t.Errorf("getcwd = %q", a.load(cwd, int(n)))
		}
		us := a.ok(netbsd.SYS___SOCKET30, netbsd.AF_LOCAL, netbsd.SOCK_STREAM, 0)
		sun := append([]byte{10, netbsd.AF_LOCAL}, "s.sock\x00\x00"...)
		a.ok(netbsd.SYS_BIND, uint64(us), a.put(sun), uint64(len(sun)))
		a.ok(netbsd.SYS_LISTEN, uint64(us), 1)
		cs := b.ok(netbsd.SYS___SOCKET30, netbsd.AF_LOCAL, netbsd.SOCK_STREAM, 0)
		abs := append([]byte{13, netbsd.AF_LOCAL}, "/d/s.sock\x00\x00"...)
		b.ok(netbsd.SYS_CONNECT, uint64(cs), b.put(abs), uint64(len(abs)))
	})
	t.Run("files are made as the unprivileged user", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("not started as root: there is no user to drop to")
		}
		fd := a.ok(netbsd.SYS_OPEN, a.str("/made"), netbsd.O_RDWR|netbsd.O_CREAT, 0o644)
		a.ok(netbsd.SYS_CLOSE, uint64(fd))
		st, err := os.Stat(filepath.Join(root, "made"))
		if err != nil {
			t.Fatal(err)
		}
		if uid := st.Sys().(*syscall.Stat_t).Uid; uid != 65534 {
			t.Errorf("file owned by uid %d, want 65534", uid)
		}
	})
}

func TestSpawnWithoutConfinement(t *testing.T) {
	child := spawn(t, rumpserver.SpawnConfig{Root: t.TempDir(), NoConfine: true})
	c := dial(t, child)
	if pid := c.ok(netbsd.SYS_GETPID); pid != 2 {
		t.Errorf("first guest pid = %d, want 2", pid)
	}
	mine, _ := os.Readlink("/proc/self/ns/net")
	theirs, _ := os.Readlink("/proc/" + strconv.Itoa(child.Pid()) + "/ns/net")
	if theirs != mine {
		t.Errorf("an unconfined server runs in namespace %q, the test in %q", theirs, mine)
	}
}

func TestListenOnAUnixURL(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "rump.sock")
	cmd := exec.Command(os.Args[0], "--root", serverRoot(t), "--listen", "unix://"+sock)
	cmd.Env = []string{asMainVar + "=1"}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})

	var nc net.Conn
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		if nc, err = net.Dial("unix", sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never listened on %s: %v", sock, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer nc.Close()
	c := handshake(t, nc)
	buf := c.alloc(64)
	name := c.put(append(intBytes(1), intBytes(1)...))
	oldlen := c.put([]byte{64, 0, 0, 0, 0, 0, 0, 0})
	c.ok(netbsd.SYS___SYSCTL, name, 2, buf, oldlen, 0, 0)
	if got := string(c.load(buf, 7)); got != "NetBSD\x00" {
		t.Errorf("kern.ostype = %q", got)
	}
}

func intBytes(v int32) []byte {
	return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
}

func TestParseListenURL(t *testing.T) {
	tests := []struct {
		name, url, network, addr string
		bad                      bool
	}{
		{"an absolute unix path", "unix:///run/rump.sock", "unix", "/run/rump.sock", false},
		{"a tcp address", "tcp://127.0.0.1:1234", "tcp4", "127.0.0.1:1234", false},
		{"a tcp address with a path after it", "tcp://127.0.0.1:1234/x", "tcp4",
			"127.0.0.1:1234", false},
		{"every address as 0", "tcp://0:99", "tcp4", "0.0.0.0:99", false},
		{"every address as a star", "tcp://*:99", "tcp4", "0.0.0.0:99", false},
		{"no scheme", "/run/rump.sock", "", "", true},
		{"tcp6", "tcp6://[::1]:1", "", "", true},
		{"a host name", "tcp://localhost:1", "", "", true},
		{"no port", "tcp://127.0.0.1", "", "", true},
		{"a port too big", "tcp://127.0.0.1:65536", "", "", true},
		{"an empty path", "unix://", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			network, addr, err := parseListenURL(tt.url)
			if (err != nil) != tt.bad || network != tt.network || addr != tt.addr {
				t.Errorf("parseListenURL(%q) = %q, %q, %v", tt.url, network, addr, err)
			}
		})
	}
}
