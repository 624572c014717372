package test

import (
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The tests in this file follow rump sockets through what makes their
// watching change hands: a fork child that waits on a socket its parent
// stopped watching, and a reconnect that replaced the rump process.

// forkServer listens, forks a child that waits untrapped in select for a
// connection, and then, as argv[1] says, closes its own descriptor of the
// socket or exits at once, as a daemon's parent does.
const forkServer = `
import os, select, socket, sys
ln = socket.socket()
ln.bind(("127.0.0.1", 0))
ln.listen()
# A accept that finds no connection takes the readability of the shadow
# both processes share: it comes back only when the rump kernel's socket
# is readable, which whoever watches the socket must notice.
ln.setblocking(False)
try:
    ln.accept()
    print("accepted a connection no one made", flush=True)
except BlockingIOError:
    pass
pid = os.fork()
if pid == 0:
    r, _, _ = select.select([ln], [], [], 30)
    if not r:
        print("child: no connection came in 30 s", flush=True)
        os._exit(1)
    c, _ = ln.accept()
    c.setblocking(True)
    print("child accepted", c.recv(10), flush=True)
    os._exit(0)
print(ln.getsockname()[1], flush=True)
if sys.argv[1] == "exit":
    os._exit(0)
ln.close()
os.waitpid(pid, 0)
`

func TestForkChildrenWatchTheSocketsTheyInherited(t *testing.T) {
	python := requireProgram(t, "python3", "python3")
	inEachKernel(t, func(t *testing.T, k rumpKernel) {
		for _, parent := range []string{"close", "exit"} {
			t.Run("the parent's "+parent, func(t *testing.T) {
				srv := startBackground(t, hijackedCommand(k.d, k.env, python, "-c",
					forkServer, parent))
				port := srv.line(t)
				// Time for the parent to close or exit while the
				// child waits in select.
				time.Sleep(300 * time.Millisecond)
				client := run(t, k.d, k.env, python, "-c", fmt.Sprintf(`
import socket
socket.create_connection(("127.0.0.1", %s)).send(b"hello")
`, port))
				if client.code != 0 {
					t.Fatalf("client: %+v", client)
				}
				if got := srv.line(t); got != "child accepted b'hello'" {
					t.Errorf("the child printed %q, want it to accept the connection", got)
				}
			})
		}
	})
}

// roundTrips makes a TCP connection to itself and waits in select for its
// byte, before and after a line on its input, between which the test
// restarts the rump server.
const roundTrips = `
import select, socket, sys
def round_trip():
    ln = socket.socket()
    ln.bind(("127.0.0.1", 0))
    ln.listen()
    c = socket.create_connection(ln.getsockname())
    s, _ = ln.accept()
    s.setblocking(False)
    c.send(b"x")
    r, _, _ = select.select([s], [], [], 10)
    return s.recv(10) if r else b"nothing within 10 s"
print(round_trip(), flush=True)
sys.stdin.readline()
print(round_trip(), flush=True)
`

func TestSocketsAreWatchedAfterAReconnect(t *testing.T) {
	python := requireProgram(t, "python3", "python3")
	d := startDaemon(t)
	srv := newRestartableServer(t)
	cmd := exec.Command(filepath.Join(bin, "hijack-exec"), python, "-c", roundTrips)
	cmd.Env = append(baseEnv(), "HIJACKD_SOCKET="+d.socket,
		"RUMP_SERVER=unix://"+srv.sock, "RUMPHIJACK_RETRYCONNECT=inftime")
	b := startBackground(t, cmd)
	if got := b.line(t); got != "b'x'" {
		t.Fatalf("before the restart: %q", got)
	}
	srv.stop()
	srv.start()
	io.WriteString(b.stdin.(io.Writer), "go\n")
	if got := b.line(t); got != "b'x'" {
		t.Errorf("after the restart the program printed %q, want b'x'", got)
	}
	if err := b.wait(t, 20*time.Second); !err.Success() {
		t.Errorf("program exited with %v", err)
	}
}
