// Command hijack-rumpserver serves hijack's embedded rump kernel, the
// host-backed kernel of package rumpserver, to any rumpclient:
//
//	hijack-rumpserver --root DIR [--listen URL] [--user USER] [--no-confine]
//
// With --listen it serves a RUMP_SERVER URL, unix://PATH or tcp://IPv4:PORT
// (tcp://0:PORT or tcp://*:PORT for every address), as rump_server does.
// Without it, it serves the socket it finds as descriptor 3, which is how
// hijackd starts it (package rumpserver's Spawn): a listening socket, one
// connected stream socket, or an AF_UNIX SOCK_SEQPACKET socket that hands it
// a connected socket per message.
//
// Unless --no-confine is given, it serves from a network namespace of its
// own with only loopback up, so its clients reach each other and not the
// host's network, and without privilege: started as root it drops to --user
// (default nobody, 65534:65534), with no capabilities and no_new_privs set.
// The listening socket of --listen is made before the namespace is entered,
// so clients reach it from the host. See confine.go for how.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/hijack-project/hijack/rumpserver"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// options are the parsed flags.
type options struct {
	root          string
	listen        string
	user          string
	noConfine     bool
	dieWithParent bool
	lifeline      bool
	logLevel      slog.Level

	stage  string // internal: "", setup or serve
	userns bool   // internal: the setup stage runs in a user namespace
	rootFd int    // internal: the serve stage's root descriptor, or -1
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run parses args and runs the stage they select, returning the exit status.
func run(args []string, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "hijack-rumpserver: %v\n", err)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: opts.logLevel}))

	switch opts.stage {
	case rumpserver.StageSetup:
		err = setup(opts)
	case rumpserver.StageServe:
		err = serveStage(opts, log)
	default:
		err = start(opts, log)
	}
	if err != nil {
		log.Error("hijack-rumpserver failed", "error", err)
		return exitError
	}
	return exitOK
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("hijack-rumpserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts options
	level := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&opts.root, "root", "", "the host `directory` rump processes see as /")
	fs.StringVar(&opts.listen, "listen", "",
		"serve this RUMP_SERVER `URL` (unix://PATH, tcp://IPv4:PORT) instead of descriptor 3")
	fs.StringVar(&opts.user, "user", "",
		"when started as root, serve as this `user` (name or UID[:GID]); default "+
			rumpserver.DefaultUser)
	fs.BoolVar(&opts.dieWithParent, "die-with-parent", false,
		"end when the process that started the server ends")
	fs.BoolVar(&opts.lifeline, "lifeline", false,
		"descriptor 4 is the read end of a pipe: end once every write end is closed "+
			"(how hijackd starts it, so that it outlives a restart of hijackd)")
	fs.BoolVar(&opts.noConfine, "no-confine", false,
		"serve in the caller's network namespace with its privileges (tests only)")
	fs.StringVar(&opts.stage, rumpserver.StageFlag, "", "internal: the stage to run")
	fs.BoolVar(&opts.userns, rumpserver.UsernsFlag, false, "internal: run in a user namespace")
	fs.IntVar(&opts.rootFd, "internal-root-fd", -1, "internal: descriptor of the root")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}

	if fs.NArg() != 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if opts.root == "" {
		return options{}, errors.New("--root is required: the directory to serve as /")
	}
	if err := opts.logLevel.UnmarshalText([]byte(*level)); err != nil {
		return options{}, fmt.Errorf("--log-level %q: use debug, info, warn or error", *level)
	}
	switch opts.stage {
	case "", rumpserver.StageSetup, rumpserver.StageServe:
	default:
		return options{}, fmt.Errorf("unknown --%s %q", rumpserver.StageFlag, opts.stage)
	}
	return opts, nil
}

// start is what a user runs: it makes the socket to serve, then serves it
// itself with --no-confine, or from a confined child, which it waits for.
func start(opts options, log *slog.Logger) error {
	serving, cleanup, err := servingSocket(opts.listen)
	if err != nil {
		return err
	}
	defer cleanup()

	if opts.noConfine {
		return serve(opts, serving, nil, log)
	}
	return runConfined(opts, serving, log)
}
