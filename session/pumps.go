package session

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/hijack-project/hijack/fdinject"
)

// pumps are the pumped shadows of a session's processes. Every pump of
// every session is drained before each rump call, whichever process makes
// it: the target side of a pump is shared by every process that inherited
// it, and a shell's next command, or the next program, must find in the
// rump file what the one before it wrote there. A pump is also drained when
// a process of its session exits, and when the session ends.
type pumps struct {
	live *atomic.Int64 // the pumps of every session of the server, when set

	mu  sync.Mutex
	all map[*fdinject.Pump]pumpOwner // guarded by mu
}

// pumpOwner is the process whose rump process holds a pump's rump
// descriptor, and the descriptor.
type pumpOwner struct {
	pid int
	fd  int32
}

func (ps *pumps) add(p *fdinject.Pump, owner pumpOwner) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.all == nil {
		ps.all = make(map[*fdinject.Pump]pumpOwner)
	}
	if _, ok := ps.all[p]; !ok && ps.live != nil {
		ps.live.Add(1)
	}
	ps.all[p] = owner
}

func (ps *pumps) remove(p *fdinject.Pump) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, ok := ps.all[p]; ok && ps.live != nil {
		ps.live.Add(-1)
	}
	delete(ps.all, p)
}

// owned returns the pumps with their owners.
func (ps *pumps) owned() map[*fdinject.Pump]pumpOwner {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make(map[*fdinject.Pump]pumpOwner, len(ps.all))
	for p, o := range ps.all {
		out[p] = o
	}
	return out
}

func (ps *pumps) list() []*fdinject.Pump {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make([]*fdinject.Pump, 0, len(ps.all))
	for p := range ps.all {
		out = append(out, p)
	}
	return out
}

// drain moves what every pump holds into its rump file.
func (ps *pumps) drain(ctx context.Context) {
	for _, p := range ps.list() {
		p.Drain(ctx)
	}
}

// close ends every pump.
func (ps *pumps) close() {
	for _, p := range ps.list() {
		p.Close()
	}
}

// pump installs a pumped shadow of file at number newfd of process p for
// notification id, and starts it. The pump keeps p's rump process, which
// holds the rump descriptor, alive until it ends, also past p's exit: the
// stream may live on in p's children.
func (s *served) pump(id uint64, p *process, newfd int, file fdinject.RumpFile,
	dir fdinject.Direction, cloexec bool) error {
	pump, target, err := fdinject.NewPump(dir)
	if err != nil {
		return err
	}
	defer target.Close()
	if !p.holdConn() {
		pump.Close()
		return errProcessExited
	}
	if _, err := s.sess.listener.AddFD(id, int(target.Fd()), newfd, cloexec, true); err != nil {
		pump.Close()
		p.dropConn()
		return err
	}
	s.sess.startPump(p, pump, file)
	return nil
}

// startPump starts pump on file, a rump descriptor of p's rump process, on
// which p holds a hold (holdConn) that the pump's end drops.
func (sess *Session) startPump(p *process, pump *fdinject.Pump, file fdinject.RumpFile) {
	owner := pumpOwner{pid: p.pid, fd: -1}
	if f, ok := file.(interface{ FD() int32 }); ok {
		owner.fd = f.FD()
	}
	sess.pumps.add(pump, owner)
	if owner.fd >= 0 {
		p.mu.Lock()
		if p.pumped == nil {
			p.pumped = make(map[int32]bool)
		}
		p.pumped[owner.fd] = true
		p.mu.Unlock()
	}
	pump.Start(sess.ctx, file, func() {
		sess.pumps.remove(pump)
		if owner.fd >= 0 {
			p.mu.Lock()
			delete(p.pumped, owner.fd)
			p.mu.Unlock()
		}
		p.dropConn()
	})
}
