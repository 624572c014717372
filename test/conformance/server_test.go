package conformance

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/hijack-project/hijack/rumpconn"
	"github.com/hijack-project/hijack/rumpserver"
)

// maxSunPath is the longest socket path rumpclient, and so ParseServer,
// accepts: sun_path holds 108 bytes with the NUL.
const maxSunPath = 107

// embeddedServer is an embedded server serving a unix socket from a goroutine
// of the test. Stopping and starting it again on the same socket path is how
// the reconnect tests take the server away from a Conn.
type embeddedServer struct {
	root string
	sock string
	url  rumpconn.Server

	srv  *rumpserver.Server
	done chan error // receives what Serve returned
}

// embedded starts an embedded server with a temporary root and returns where
// it listens. It is closed when the test ends.
func embedded(tb testing.TB) rumpconn.Server {
	tb.Helper()
	return startEmbedded(tb, tb.TempDir(), socketPath(tb)).url
}

// socketPath returns a path for a unix socket in a fresh directory that is
// removed when the test ends. The directory is not the test's TempDir, whose
// name grows with the test's and would soon not fit in sun_path.
func socketPath(tb testing.TB) string {
	tb.Helper()
	base := os.TempDir()
	if len(base) > maxSunPath/2 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "rumpconf-")
	if err != nil {
		tb.Fatalf("socket directory: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "rump.sock")
}

// startEmbedded starts an embedded server on root, listening on sock, and
// stops it when the test ends unless the test did.
func startEmbedded(tb testing.TB, root, sock string) *embeddedServer {
	tb.Helper()
	url, err := rumpconn.ParseServer("unix://"+sock, "/")
	if err != nil {
		tb.Fatalf("socket %s: %v", sock, err)
	}
	srv, err := rumpserver.New(rumpserver.Config{
		Root:    root,
		Console: io.Discard,
		Log:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatalf("embedded server: %v", err)
	}
	// A socket file left by a server that did not close its listener would
	// make the listen fail; Go's listener unlinks its file on Close.
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		tb.Fatalf("remove stale socket: %v", err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		srv.Close()
		tb.Fatalf("listen for the embedded server: %v", err)
	}
	e := &embeddedServer{root: root, sock: sock, url: url, srv: srv, done: make(chan error, 1)}
	go func() { e.done <- srv.Serve(ln) }()
	tb.Cleanup(func() { e.stop(tb) })
	return e
}

// stop closes the server, which ends its listener and every connection, and
// waits for Serve to return. It is idempotent.
func (e *embeddedServer) stop(tb testing.TB) {
	tb.Helper()
	if e.done == nil {
		return
	}
	e.srv.Close()
	if err := <-e.done; !errors.Is(err, rumpserver.ErrServerClosed) {
		tb.Errorf("embedded server's Serve returned %v, want %v", err,
			rumpserver.ErrServerClosed)
	}
	e.done = nil
}

// restart stops the server and starts a new one, a new kernel with the same
// root, on the same socket path, as an administrator restarting rump_server
// would.
func (e *embeddedServer) restart(tb testing.TB) *embeddedServer {
	tb.Helper()
	e.stop(tb)
	return startEmbedded(tb, e.root, e.sock)
}

// serverFromEnv returns the server RUMP_SERVER names, and skips the test when
// it is not set.
func serverFromEnv(tb testing.TB) rumpconn.Server {
	tb.Helper()
	url := os.Getenv(rumpconn.ServerVar)
	if url == "" {
		tb.Skip("RUMP_SERVER not set")
	}
	cwd, err := os.Getwd()
	if err != nil {
		tb.Fatalf("working directory: %v", err)
	}
	srv, err := rumpconn.ParseServer(url, cwd)
	if err != nil {
		tb.Fatalf("RUMP_SERVER: %v", err)
	}
	return srv
}
