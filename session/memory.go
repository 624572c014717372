package session

import (
	"errors"

	"github.com/hijack-project/hijack/notify"
	"github.com/hijack-project/hijack/rumpconn"
)

// targetMemory is a target process's address space, from which the rump
// kernel's copy requests are served. Any thread id of the process reaches
// it; the process's own id is used, since it lives as long as the process.
type targetMemory struct {
	pid int
}

func (m targetMemory) ReadAt(p []byte, addr uint64) error {
	return memErr(notify.ReadMemory(m.pid, addr, p))
}

func (m targetMemory) WriteAt(p []byte, addr uint64) error {
	return memErr(notify.WriteMemory(m.pid, addr, p))
}

// memErr reports every failure to reach target memory as a fault: to the
// rump kernel an address it cannot copy from is a bad address, whether the
// page is unmapped or the target has just died.
func memErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, notify.ErrFault) {
		return rumpconn.ErrFault
	}
	return errors.Join(rumpconn.ErrFault, err)
}
