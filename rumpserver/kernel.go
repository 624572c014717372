package rumpserver

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// kernel is the host-backed rump kernel: the state every process shares.
type kernel struct {
	// rootFd is an O_PATH descriptor of the root directory; every path is
	// resolved beneath it.
	rootFd int
	// rootDev and rootIno identify the root, whose ".." entry a directory
	// listing must not reveal.
	rootDev, rootIno uint64
	maxFiles         int
	boot             time.Time
	nextPid          atomic.Int32
	// blocked counts the calls waiting in block, for tests and metrics.
	blocked atomic.Int32

	consoleMu sync.Mutex
	console   io.Writer // guarded by consoleMu

	mu         sync.Mutex
	hostname   string // guarded by mu
	domainname string // guarded by mu

	// unixNames maps the host name of every AF_LOCAL socket bound through
	// this kernel to the name its process gave, so that addresses the host
	// reports can be told back in the client's terms.
	unixMu    sync.Mutex
	unixNames map[string]string // guarded by unixMu

	handles handles // the files file handles name
}

// newKernel opens the root directory (or duplicates dir) and returns a
// kernel serving it.
func newKernel(cfg Config) (*kernel, error) {
	fd, err := openRoot(cfg)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stat root: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(fd)
		return nil, fmt.Errorf("root %q: %w", cfg.Root, unix.ENOTDIR)
	}
	k := &kernel{
		rootFd:    fd,
		rootDev:   st.Dev,
		rootIno:   st.Ino,
		maxFiles:  cfg.MaxFiles,
		boot:      time.Now(),
		console:   cfg.Console,
		hostname:  DefaultHostname,
		unixNames: make(map[string]string),
	}
	// Process 1 is the rump kernel's proc1, the parent of every guest.
	k.nextPid.Store(1)
	return k, nil
}

func openRoot(cfg Config) (int, error) {
	if cfg.RootDir != nil {
		fd, err := unix.FcntlInt(cfg.RootDir.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("duplicate root descriptor: %w", err)
		}
		return fd, nil
	}
	if cfg.Root == "" {
		return -1, fmt.Errorf("no root directory configured: %w", unix.EINVAL)
	}
	fd, err := unix.Open(cfg.Root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open root %q: %w", cfg.Root, err)
	}
	return fd, nil
}

// close releases the root. Processes still holding descriptors keep them.
func (k *kernel) close() {
	unix.Close(k.rootFd)
}

// newPid returns the next rump process id.
func (k *kernel) newPid() int32 {
	return k.nextPid.Add(1)
}

// writeConsole sends what a process wrote to its console.
func (k *kernel) writeConsole(b []byte) {
	k.consoleMu.Lock()
	defer k.consoleMu.Unlock()
	k.console.Write(b)
}

// fdPath is the /proc path through which the host reaches what descriptor fd
// refers to, without resolving any name the client chose.
func fdPath(fd int) string {
	return "/proc/self/fd/" + strconv.Itoa(fd)
}

// registerUnixName records that the socket bound at host name hostName is
// known to its process as name.
func (k *kernel) registerUnixName(hostName, name string) {
	k.unixMu.Lock()
	defer k.unixMu.Unlock()
	k.unixNames[hostName] = name
}

// forgetUnixName drops the record of a socket that is closed.
func (k *kernel) forgetUnixName(hostName string) {
	k.unixMu.Lock()
	defer k.unixMu.Unlock()
	delete(k.unixNames, hostName)
}

// unixName translates an AF_LOCAL name the host reported. Names bound
// through this kernel come back as their process gave them. Any other name is
// a host path outside the rump processes' view, or a /proc artefact, and
// comes back empty, as an unnamed socket's.
func (k *kernel) unixName(hostName string) string {
	k.unixMu.Lock()
	defer k.unixMu.Unlock()
	return k.unixNames[hostName]
}
