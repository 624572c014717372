package rumpserver

import (
	"io"
	"log/slog"
	"os"

	"github.com/hijack-project/hijack/sysproxy"
)

// What the server announces. The release is that of the NetBSD tree whose ABI
// the netbsd package describes (syscall numbers, structure layouts, errno),
// so a client that checks the banner or kern.osrelease learns which ABI it is
// talking to; kern.version says that the kernel is hijack's host-backed one.
const (
	OSType    = "NetBSD"  // kern.ostype and the banner's ostype
	OSRelease = "7.99.34" // kern.osrelease and the banner's osrelease
	Machine   = "amd64"   // hw.machine and the banner's machine

	// MachineArch is NetBSD's hw.machine_arch for amd64.
	MachineArch = "x86_64"

	// Version is kern.version.
	Version = "NetBSD 7.99.34 (HIJACK) host-backed embedded rump kernel\n"

	// DefaultHostname is kern.hostname until a client sets it.
	DefaultHostname = "rump"
)

// Limits that bound what one client can make the server allocate.
const (
	// maxIO bounds the bytes one read, write or message call moves; larger
	// requests are served short, as a kernel may serve them.
	maxIO = 256 << 10

	// maxCopyin bounds one COPYIN request, and therefore the largest frame a
	// client legitimately sends; longer inputs are fetched in pieces.
	maxCopyin = 64 << 10

	// maxFramePayload is the bound frames from a client are read with: a
	// copyin reply of maxCopyin bytes, or a syscall request, with room to
	// spare. A longer frame ends the connection, as a real server ends it
	// when it cannot allocate the frame.
	maxFramePayload = maxCopyin + 256

	// maxPath is NetBSD's MAXPATHLEN, the buffer copyinstr uses for paths.
	maxPath = 1024

	// maxIovecs is NetBSD's IOV_MAX.
	maxIovecs = 1024
)

// Config configures a Server. The zero value of every field but Root (or
// RootDir) selects the default named in its comment.
type Config struct {
	// Root is the host directory the rump processes see as "/". Required
	// unless RootDir is set.
	Root string

	// RootDir, if set, is an open descriptor of the root directory, used
	// instead of opening Root; the server duplicates it and does not close
	// it. This lets a process that dropped its privileges keep a root it
	// can no longer reach by path.
	RootDir *os.File

	// Console receives what rump processes write to descriptors 0, 1 and 2,
	// the rump console. Default: os.Stderr.
	Console io.Writer

	// Log receives lifecycle messages (connections, handshakes, refusals).
	// Default: slog.Default().
	Log *slog.Logger

	// MaxConns bounds the connections served at once; one more is accepted
	// and closed without a banner, as rump_server does when its 256 slots
	// are full. Default: 255.
	MaxConns int

	// MaxProcessCalls bounds the system calls in flight on one connection,
	// and MaxCalls those of the whole server; a call beyond either is
	// answered with ERROR TRYAGAIN, which rumpclient answers by sending it
	// again. A real server queues such calls behind its 128 workers
	// instead, which deadlocks clients that wait for each other. Defaults:
	// sysproxy.MaxWorkers and 1024.
	MaxProcessCalls int
	MaxCalls        int

	// MaxPreforks bounds the preforked processes waiting for their fork
	// handshake; a PREFORK beyond it is answered with ERROR NOMEM. A real
	// server keeps unclaimed ones until it exits. Default: 256.
	MaxPreforks int

	// MaxFiles bounds the descriptors of one process (RLIMIT_NOFILE).
	// Default: 1024.
	MaxFiles int
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Console == nil {
		c.Console = os.Stderr
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 255
	}
	if c.MaxProcessCalls <= 0 {
		c.MaxProcessCalls = sysproxy.MaxWorkers
	}
	if c.MaxCalls <= 0 {
		c.MaxCalls = 1024
	}
	if c.MaxPreforks <= 0 {
		c.MaxPreforks = 256
	}
	if c.MaxFiles <= 0 {
		c.MaxFiles = 1024
	}
	return c
}
