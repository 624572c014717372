package test

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hijack-project/hijack/rumpserver"
)

// restartableServer is a rump server on a fixed socket path that a test can
// stop and start again, as an operator restarts rump_server.
type restartableServer struct {
	t    *testing.T
	root string
	sock string
	srv  *rumpserver.Server
	ln   net.Listener
}

func newRestartableServer(t *testing.T) *restartableServer {
	r := &restartableServer{t: t, root: t.TempDir(),
		sock: filepath.Join(t.TempDir(), "rump.sock")}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *restartableServer) start() {
	srv, err := rumpserver.New(rumpserver.Config{Root: r.root, Console: io.Discard,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		r.t.Fatal(err)
	}
	os.Remove(r.sock)
	ln, err := net.Listen("unix", r.sock)
	if err != nil {
		r.t.Fatal(err)
	}
	r.srv, r.ln = srv, ln
	go srv.Serve(ln)
}

func (r *restartableServer) stop() {
	if r.srv != nil {
		r.srv.Close()
		r.ln.Close()
		r.srv = nil
	}
}

// script is run under hijack-exec: it opens a rump file, says so, waits for
// a line on its input (the test restarts the server meanwhile), then reports
// what a read on the old descriptor and a fresh open give.
const reconnectScript = `
import os, sys
fd = os.open("/rump/f", os.O_RDONLY)
print("opened", flush=True)
sys.stdin.readline()
for what, call in (("old", lambda: os.read(fd, 10)),
                   ("new", lambda: os.read(os.open("/rump/f", os.O_RDONLY), 10))):
    try:
        print(what, call(), flush=True)
    except OSError as e:
        print(what, e.strerror, flush=True)
`

func TestReconnectModesUnderAProgram(t *testing.T) {
	python := requireProgram(t, "python3", "python3")
	d := startDaemon(t)
	tests := []struct {
		retry string
		want  string // what the program prints after the restart
		dies  bool
	}{
		{"0", "old Transport endpoint is not connected\n" +
			"new Transport endpoint is not connected\n", false},
		{"once", "old Bad file descriptor\nnew b'data'\n", false},
		{"5", "old Bad file descriptor\nnew b'data'\n", false},
		{"inftime", "old Bad file descriptor\nnew b'data'\n", false},
		{"die", "", true},
	}
	for _, tt := range tests {
		t.Run("RUMPHIJACK_RETRYCONNECT="+tt.retry, func(t *testing.T) {
			srv := newRestartableServer(t)
			os.WriteFile(filepath.Join(srv.root, "f"), []byte("data"), 0o644)
			cmd := exec.Command(filepath.Join(bin, "hijack-exec"), python, "-c",
				reconnectScript)
			cmd.Env = append(baseEnv(), "HIJACKD_SOCKET="+d.socket,
				"RUMP_SERVER=unix://"+srv.sock, "RUMPHIJACK_RETRYCONNECT="+tt.retry)
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			out := bufio.NewReader(stdout)
			if line, _ := out.ReadString('\n'); line != "opened\n" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("program did not open the file: %q, stderr %q", line, stderr.String())
			}
			srv.stop()
			srv.start()
			io.WriteString(stdin, "go\n")
			rest, _ := io.ReadAll(out)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("program still running 30 s after the restart")
			}
			if tt.dies {
				if err == nil || cmd.ProcessState.Success() {
					t.Errorf("program survived the lost server under die: %q", rest)
				}
				return
			}
			if err != nil || string(rest) != tt.want {
				t.Errorf("after the restart: %v, printed %q, want %q (stderr %q)",
					err, rest, tt.want, stderr.String())
			}
		})
	}
}
