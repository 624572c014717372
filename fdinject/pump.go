package fdinject

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// A number below fdoff is never trapped, so a rump descriptor duplicated
// there (a shell's "> /rump/file") cannot be a shadow: every read and write
// on it would reach the host untouched. It becomes a pumped shadow instead,
// one end of a pipe, or of a socket pair when it is open for both reading
// and writing, whose other end hijackd keeps and moves data through: what
// the target writes goes to the rump descriptor, what the rump descriptor
// reads comes out for the target to read.
//
// A pump ends when the target side is closed in every process that holds it
// (it gets end of file), when the rump file has no more to read, or when it
// is closed. Data moved towards the rump kernel is never lost in between:
// Drain, called before any later rump call, moves everything the target has
// written so far, so that a later call sees it in the rump file.

// RumpFile is the rump descriptor a pump moves data to and from.
type RumpFile interface {
	// Read reads from the rump descriptor; 0 bytes and no error mean end of
	// file.
	Read(ctx context.Context, p []byte) (int, error)
	// Write writes p to the rump descriptor, possibly in part.
	Write(ctx context.Context, p []byte) (int, error)
	// Close closes the rump descriptor.
	Close(ctx context.Context) error
}

// Direction says which ways a pump moves data.
type Direction uint8

const (
	// ToRump pumps what the target writes into the rump file.
	ToRump Direction = 1 << iota
	// FromRump pumps the rump file's contents to the target to read.
	FromRump
)

// pumpBuffer is the bytes moved at a time: the size of a pipe.
const pumpBuffer = 64 << 10

// Pump moves data between the target's end of a stream and a rump file.
type Pump struct {
	dir    Direction
	host   *os.File // hijackd's end, non-blocking in Go's poller
	rc     syscall.RawConn
	file   RumpFile
	cancel context.CancelFunc // ends the pump's rump calls

	// mu is held while bytes taken from the target are not yet written
	// to the rump file, so that Drain returns only when none are in
	// flight.
	mu   sync.Mutex
	werr error // the first write to the rump file that failed; guarded by mu
	// detached is set when the pump is handed to a successor: it stops
	// without closing its rump file. guarded by mu.
	detached bool

	done chan struct{}
}

// NewPump creates the stream of a pump that moves data in direction dir and
// returns it with the end to install in the target, which the caller closes
// once installed. Start begins moving data.
func NewPump(dir Direction) (*Pump, *os.File, error) {
	var fds [2]int
	var err error
	var ours, theirs int
	switch dir {
	case ToRump, FromRump:
		err = unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK)
		ours, theirs = fds[0], fds[1] // hijackd reads what the target writes
		if dir == FromRump {
			ours, theirs = fds[1], fds[0]
		}
	case ToRump | FromRump:
		fds, err = unix.Socketpair(unix.AF_UNIX,
			unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		ours, theirs = fds[0], fds[1]
	default:
		return nil, nil, fmt.Errorf("pump direction %d", dir)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("create pump stream: %w", err)
	}
	// The target's end blocks, as the file it stands for would.
	if err := unix.SetNonblock(theirs, false); err != nil {
		unix.Close(ours)
		unix.Close(theirs)
		return nil, nil, fmt.Errorf("create pump stream: %w", err)
	}
	host := os.NewFile(uintptr(ours), "pump")
	rc, err := host.SyscallConn()
	if err != nil {
		host.Close()
		unix.Close(theirs)
		return nil, nil, fmt.Errorf("create pump stream: %w", err)
	}
	p := &Pump{dir: dir, host: host, rc: rc, cancel: func() {}, done: make(chan struct{})}
	return p, os.NewFile(uintptr(theirs), "pump target end"), nil
}

// Start moves data between the stream and file until the pump ends, then
// closes file and calls onDone. ctx bounds the rump calls.
func (p *Pump) Start(ctx context.Context, file RumpFile, onDone func()) {
	p.mu.Lock()
	p.file = file
	p.mu.Unlock()
	ctx, p.cancel = context.WithCancel(ctx)
	var wg sync.WaitGroup
	if p.dir&ToRump != 0 {
		wg.Go(func() { p.toRump(ctx) })
	}
	if p.dir&FromRump != 0 {
		wg.Go(func() { p.fromRump(ctx) })
	}
	go func() {
		wg.Wait()
		p.mu.Lock()
		detached := p.detached
		p.mu.Unlock()
		if !detached {
			file.Close(context.WithoutCancel(ctx))
		}
		p.host.Close()
		close(p.done)
		if onDone != nil {
			onDone()
		}
	}()
}

// toRump moves what the target writes into the rump file until the target
// side is closed everywhere.
func (p *Pump) toRump(ctx context.Context) {
	buf := make([]byte, pumpBuffer)
	// Read waits for the stream to be readable and calls the function,
	// until it returns true; the function empties the stream each time,
	// since readiness is reported only on a change. It returns early when
	// the pump is closed.
	p.rc.Read(func(fd uintptr) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		eof, emptied := p.moveLocked(ctx, int(fd), buf)
		return eof || !emptied
	})
}

// moveLocked moves what the stream holds now to the rump file. It reports
// whether the stream is at end of file, or else whether it was emptied
// (false: it failed).
func (p *Pump) moveLocked(ctx context.Context, fd int, buf []byte) (eof, emptied bool) {
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case err == unix.EAGAIN:
			return false, true
		case err == unix.EINTR:
			continue
		case err != nil:
			return true, false
		case n == 0:
			return true, true
		}
		if p.werr == nil {
			p.werr = writeAll(ctx, p.file, buf[:n])
		}
		// After a failed write the data is dropped, as a write to a
		// file that failed would not have stored it either; the target
		// is not told, since its write has long returned.
	}
}

func writeAll(ctx context.Context, f RumpFile, b []byte) error {
	for len(b) > 0 {
		n, err := f.Write(ctx, b)
		if err != nil {
			return err
		}
		if n <= 0 {
			return io.ErrShortWrite
		}
		b = b[n:]
	}
	return nil
}

// fromRump moves the rump file's contents into the stream until the file
// ends or the target side is closed.
func (p *Pump) fromRump(ctx context.Context) {
	buf := make([]byte, pumpBuffer)
	for {
		room := len(buf)
		if p.dir == FromRump {
			// A pipe: read from the rump file only what the pipe has
			// room for, so that nothing read is ever held here and a
			// handoff loses nothing. Only the pump writes to it, so
			// the room does not shrink meanwhile.
			var ok bool
			if room, ok = p.waitRoom(); !ok {
				return // the target closed its end, or the pump stopped
			}
			room = min(room, len(buf))
		}
		p.mu.Lock()
		if p.detached {
			p.mu.Unlock()
			return
		}
		n, err := p.file.Read(ctx, buf[:room])
		if err != nil || n <= 0 {
			p.mu.Unlock()
			break
		}
		_, err = p.host.Write(buf[:n])
		p.mu.Unlock()
		if err != nil {
			return // the target closed its end, or the pump was closed
		}
	}
	// End of file for the target's reads.
	if p.dir&ToRump != 0 {
		if rc, err := p.host.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_WR) })
		}
		return
	}
	p.host.Close()
}

// pipeRoom returns how many bytes the pipe takes without blocking.
func (p *Pump) pipeRoom() int {
	room := 0
	p.rc.Control(func(fd uintptr) {
		size, err := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0)
		if err != nil {
			return
		}
		queued, err := unix.IoctlGetInt(int(fd), unix.TIOCINQ) // FIONREAD
		if err != nil {
			return
		}
		room = size - queued
	})
	return room
}

// waitRoom waits until the pipe has room and returns it; false means it
// never will.
func (p *Pump) waitRoom() (int, bool) {
	room := 0
	err := p.rc.Write(func(uintptr) bool {
		// A pipe is writable once a page is free; room counts bytes.
		room = p.pipeRoom()
		return room > 0 || p.isDetached()
	})
	return room, err == nil && !p.isDetached()
}

func (p *Pump) isDetached() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.detached
}

// Detach stops the pump for a successor, which goes on with the stream and
// the rump file: what the target has written is moved to the rump file
// first, nothing read from the rump file is left unwritten, and the rump
// file stays open. It returns a duplicate of hijackd's end of the stream,
// which the caller hands over, or -1 when the pump cannot be handed over
// (it has ended, or moves data both ways), which ends it as Close does.
func (p *Pump) Detach(ctx context.Context) int {
	if p.dir == ToRump|FromRump {
		p.Close()
		return -1
	}
	dup := -1
	p.rc.Control(func(fd uintptr) {
		if nfd, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0); err == nil {
			dup = nfd
		}
	})
	p.mu.Lock()
	started := p.file != nil
	p.detached = true
	p.mu.Unlock()
	select {
	case <-p.done:
		if dup >= 0 {
			unix.Close(dup)
		}
		return -1 // it had ended
	default:
	}
	if started {
		p.Drain(ctx)
	}
	p.host.Close()
	if started {
		<-p.done
	}
	return dup
}

// RestorePump makes a pump of descriptor fd, hijackd's end of a stream
// that a predecessor's Detach handed over, moving data in direction dir. It
// takes fd. Start it with the rump file.
func RestorePump(dir Direction, fd int) (*Pump, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("restore pump: %w", err)
	}
	host := os.NewFile(uintptr(fd), "pump")
	rc, err := host.SyscallConn()
	if err != nil {
		host.Close()
		return nil, fmt.Errorf("restore pump: %w", err)
	}
	return &Pump{dir: dir, host: host, rc: rc, cancel: func() {}, done: make(chan struct{})}, nil
}

// Direction returns the directions the pump moves data in.
func (p *Pump) Direction() Direction { return p.dir }

// Drain moves everything the target has written to the stream so far into
// the rump file. It returns the first error writing to the rump file met,
// if any.
func (p *Pump) Drain(ctx context.Context) error {
	if p.dir&ToRump == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.file == nil {
		return nil // not started: nothing was moved, nothing can be
	}
	buf := make([]byte, pumpBuffer)
	// Control, not Read: the pump's own Read holds the stream's read lock
	// while it waits.
	err := p.rc.Control(func(fd uintptr) { p.moveLocked(ctx, int(fd), buf) })
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return p.werr
}

// Close ends the pump without waiting for the target, and waits until it
// has closed its rump file. A pump never started only closes its stream.
func (p *Pump) Close() {
	p.mu.Lock()
	started := p.file != nil
	p.mu.Unlock()
	if !started {
		p.host.Close()
		return
	}
	p.cancel()
	p.host.Close()
	<-p.done
}

// Done is closed once the pump has ended and closed its rump file.
func (p *Pump) Done() <-chan struct{} { return p.done }
