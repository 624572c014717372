package emulate

import "github.com/hijack-project/hijack/fdinject"

// What a hijackd that restarts hands its successor of a process's sockets:
// each socket's shadow and kind, and which rump descriptors name it.

// SocketState describes one socket for a successor.
type SocketState struct {
	Family int32 `json:"family"`
	Type   int32 `json:"type"`
	Proto  int32 `json:"proto"`
}

// Shadow returns the socket's shadow.
func (s *Socket) Shadow() *fdinject.ReadyShadow { return s.shadow }

// State returns the socket's kind, for RestoreSocket.
func (s *Socket) State() SocketState {
	return SocketState{s.kind.family, s.kind.typ, s.kind.proto}
}

// RestoreSocket makes a Socket of a shadow and kind a predecessor handed
// over. It is named by no descriptor until Put.
func RestoreSocket(shadow *fdinject.ReadyShadow, st SocketState) *Socket {
	return &Socket{shadow: shadow, kind: sockKind{st.Family, st.Type, st.Proto}}
}

// Each calls f for every rump descriptor naming a socket.
func (ss *Sockets) Each(f func(fd int32, s *Socket)) {
	if ss == nil {
		return
	}
	ss.mu.Lock()
	all := make(map[int32]*Socket, len(ss.byFD))
	for fd, s := range ss.byFD {
		all[fd] = s
	}
	ss.mu.Unlock()
	for fd, s := range all {
		f(fd, s)
	}
}

// Put records that rump descriptor fd names s.
func (ss *Sockets) Put(fd int32, s *Socket) { ss.add(fd, s) }

// Quiesce stops the watcher, closing its pipe, so that the process's rump
// connection is idle and can be handed over. The sockets stay; Attach
// starts a watcher again.
func (ss *Sockets) Quiesce() {
	if ss == nil {
		return
	}
	ss.mu.Lock()
	w := ss.w
	ss.w = nil
	ss.mu.Unlock()
	if w != nil {
		w.stop()
	}
}
