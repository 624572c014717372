// Command hijackd is the hijack daemon: it serves the seccomp listeners that
// hijack-exec hands it, deciding for every trapped call of a hijacked program
// whether the host or the rump kernel performs it, and exports its decisions
// to Prometheus.
//
// Usage:
//
//	hijackd [--socket PATH] [--socket-mode MODE] [--metrics-addr ADDR]
//	        [--log-level LEVEL] [--log-format text|json] [--state-dir DIR]
//	        [--no-embedded] [--embedded-user USER] [--rump-server-bin PATH]
//	hijackd sessions [--socket PATH] [--json]
//
// The second form lists the live sessions of a running hijackd.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/control"
	"github.com/hijack-project/hijack/internal/systemd"
	"github.com/hijack-project/hijack/metrics"
	"github.com/hijack-project/hijack/rumpserver"
	"github.com/hijack-project/hijack/session"
)

// DefaultMetricsAddr is where /metrics is served unless --metrics-addr says
// otherwise: loopback only, since the metrics name the programs being run.
const DefaultMetricsAddr = "127.0.0.1:9848"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "sessions" {
		if err := sessions(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "hijackd sessions:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "hijackd:", err)
		os.Exit(1)
	}
}

func run() error {
	socketPath := flag.String("socket", control.DefaultSocket, "control socket `path`")
	socketMode := flag.String("socket-mode", "0660",
		"permissions of the control socket (octal); who may connect may hijack programs")
	metricsAddr := flag.String("metrics-addr", DefaultMetricsAddr,
		"`address` to serve /metrics on; empty to serve no metrics")
	level := flag.String("log-level", "info", "log `level`: debug, info, warn or error")
	format := flag.String("log-format", "text", "log format: text or json")
	stateDir := flag.String("state-dir", "/var/lib/hijackd",
		"`directory` of the embedded rump kernel: its root file system and socket")
	noEmbedded := flag.Bool("no-embedded", false,
		"run without the embedded rump kernel: sessions without RUMP_SERVER then fail "+
			"their rump calls with ENOTCONN")
	embeddedUser := flag.String("embedded-user", rumpserver.DefaultUser,
		"`user` (name or UID[:GID]) the embedded kernel serves as when hijackd runs as root")
	serverBin := flag.String("rump-server-bin", "",
		"the hijack-rumpserver `program` (default: the one beside hijackd)")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (hijackd takes only flags)", flag.Arg(0))
	}

	log, err := newLogger(*level, *format)
	if err != nil {
		return err
	}
	mode, err := strconv.ParseUint(*socketMode, 8, 32)
	if err != nil || mode > 0o777 {
		return fmt.Errorf("--socket-mode %q: want octal permissions such as 0660", *socketMode)
	}

	// What systemd passes: the control socket of hijackd.socket, and
	// what a predecessor stored when it handed its sessions over.
	passed, err := systemd.ListenFDs()
	if err != nil {
		return fmt.Errorf("descriptors from systemd: %w", err)
	}
	controlFDs, stored := splitPassed(passed)

	m := metrics.New()
	var opts session.Options
	var kernel *embedded
	if f, ok := stored[lifelineName]; ok && !*noEmbedded {
		delete(stored, lifelineName)
		e, url, err := adoptEmbedded(*stateDir, os.NewFile(uintptr(f), lifelineName), log)
		if err != nil {
			return err
		}
		kernel, opts.Embedded = e, url
	} else if !*noEmbedded {
		bin := *serverBin
		if bin == "" {
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find hijack-rumpserver: %w", err)
			}
			bin = filepath.Join(filepath.Dir(self), "hijack-rumpserver")
		}
		e, url, err := startEmbedded(bin, *stateDir, *embeddedUser, log)
		if err != nil {
			return err
		}
		kernel, opts.Embedded = e, url
	}
	handedOver := false
	defer func() {
		if kernel != nil && !handedOver {
			kernel.stop()
		}
	}()
	srv, err := session.NewServer(log, m, opts)
	if err != nil {
		return err
	}
	if err := resume(srv, stored, log); err != nil {
		log.Error("sessions of the previous hijackd not resumed", "error", err)
	}
	ln, activated, err := controlListener(controlFDs, *socketPath, os.FileMode(mode), log)
	if err != nil {
		return err
	}
	if !activated {
		// A socket systemd holds must outlive this process; one of
		// hijackd's own must not.
		defer os.Remove(*socketPath)
	}

	var httpSrv *http.Server
	if *metricsAddr != "" {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr %s: %w", *metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler())
		httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go httpSrv.Serve(mln)
		log.Info("serving metrics", "addr", mln.Addr().String())
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("hijackd started", "socket", *socketPath, "socket_activated", activated,
		"version", metrics.Version)
	if err := systemd.Ready(); err != nil {
		log.Warn("cannot tell systemd hijackd is ready", "error", err)
	}
	go watchdog(ctx, log)

	select {
	case <-ctx.Done():
		log.Info("stopping", "sessions", srv.Sessions())
	case err = <-errc:
	}
	systemd.Stopping()
	if httpSrv != nil {
		httpSrv.Close()
	}
	if err == nil && systemd.Managed() {
		// Under systemd a stop may be a restart: the sessions go to the
		// descriptor store, which systemd keeps for the next hijackd
		// and empties when the service stops for good.
		if herr := handoff(srv, kernel, log); herr == nil {
			handedOver = true
			return nil
		} else {
			log.Error("sessions not handed over; they end", "error", herr)
		}
	}
	srv.Close()
	return err
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// splitPassed sorts what systemd passed into the control sockets and the
// descriptors a predecessor stored, by name.
func splitPassed(files []systemd.File) (control []systemd.File, stored map[string]int) {
	stored = make(map[string]int)
	for _, f := range files {
		switch {
		case f.Name == "control":
			control = append(control, f)
		case stored[f.Name] != 0:
			unix.Close(f.FD) // a name stored twice: the first one counts
		default:
			stored[f.Name] = f.FD
		}
	}
	return control, stored
}

// controlListener returns the control socket: the one systemd passed, named
// "control" by hijackd.socket, or else one hijackd opens at path itself.
func controlListener(files []systemd.File, path string, mode os.FileMode,
	log *slog.Logger) (*net.UnixListener, bool, error) {
	var ln *net.UnixListener
	for _, f := range files {
		file := os.NewFile(uintptr(f.FD), f.Name)
		if ln != nil {
			log.Warn("ignoring a second control socket from systemd")
			file.Close()
			continue
		}
		l, err := net.FileListener(file)
		file.Close()
		if err != nil {
			return nil, false, fmt.Errorf("control socket from systemd: %w", err)
		}
		ul, ok := l.(*net.UnixListener)
		if !ok || ul.Addr().Network() != "unixpacket" {
			l.Close()
			return nil, false, fmt.Errorf("control socket from systemd is not a " +
				"SOCK_SEQPACKET unix socket (ListenSequentialPacket= in hijackd.socket)")
		}
		ul.SetUnlinkOnClose(false)
		ln = ul
	}
	if ln != nil {
		return ln, true, nil
	}
	ln, err := listen(path, mode)
	return ln, false, err
}

// watchdog pings systemd's watchdog at half its interval while ctx lives.
func watchdog(ctx context.Context, log *slog.Logger) {
	interval, ok := systemd.WatchdogInterval()
	if !ok {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := systemd.Watchdog(); err != nil {
				log.Warn("watchdog ping failed", "error", err)
			}
		}
	}
}

// listen opens the control socket at path. A socket file left behind by a
// hijackd that is gone is replaced; one that a running hijackd answers on is
// not.
func listen(path string, mode os.FileMode) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket directory: %w", err)
	}
	if c, err := control.Dial(path); err == nil {
		c.Close()
		return nil, fmt.Errorf("another hijackd is listening on %s", path)
	} else if errors.Is(err, syscall.ECONNREFUSED) {
		os.Remove(path)
	}
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket permissions: %w", err)
	}
	return ln, nil
}
