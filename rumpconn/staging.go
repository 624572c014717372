package rumpconn

import (
	"fmt"
	"sync"
)

// StagingBase is the first address of the staging window, the 2^56 bytes
// from which Staging hands out addresses.
//
// The rump kernel never dereferences a pointer argument; it only checks it
// against NULL and sends it back in a copy request, so any non-zero number
// can stand for a buffer. The window is chosen so that no address of a
// target can ever fall in it, in any paging mode: bit 63 is set, which
// excludes every user address, tagged ones included (Linear Address Masking
// ignores bits 62 to 57, or 62 to 48, of a user pointer, but never bit 63);
// and it lies below 0xff00000000000000, so it is non-canonical with both
// 4-level and 5-level paging, not a kernel address either. Being no address
// at all to Linux, it needs no reasoning about which kernel mapping it might
// alias. The host kernel answers EFAULT for a target pointer in the window,
// so emulate loses nothing by refusing such pointers (InStagingWindow), and
// must, so that a target cannot name another thread's staged buffer.
const StagingBase uint64 = 0xa000_0000_0000_0000

// MaxStaged is the largest buffer one region can hold, 4 GiB: each region
// has a slot of that size in the window, so that the region of an address
// is found with a shift and a map lookup.
const MaxStaged = 1 << slotShift

const (
	stagingLimit    = StagingBase + 1<<56
	slotShift       = 32
	stagingSlots    = (stagingLimit - StagingBase) >> slotShift
	stagingSlotMask = MaxStaged - 1
)

// InStagingWindow reports whether addr lies in the staging window, where no
// target memory can be. A target pointer there is a bad address.
func InStagingWindow(addr uint64) bool {
	return addr >= StagingBase && addr < stagingLimit
}

// Staging is a Memory that overlays caller-owned buffers, at addresses in
// the staging window, on an underlying Memory, the target's. A translated
// structure is staged, its address goes to the rump kernel, and the
// kernel's copy requests for it are served from the buffer: a copyin never
// faults, and a copyout lands in the buffer for the caller to translate.
// Every other address goes to the underlying Memory.
//
// A Staging is safe for concurrent use. Regions are handed out in a cycle
// through 2^24 slots and a slot is reused only after the cycle comes round,
// so a stray late request for a released region faults rather than reaching
// a newer one.
type Staging struct {
	under Memory

	mu sync.Mutex
	// next is the slot the next region tries first. Guarded by mu.
	next uint64
	// regions maps a slot to its region. Guarded by mu.
	regions map[uint64]*Region
}

// Region is a buffer staged at Addr until Release.
type Region struct {
	s    *Staging
	slot uint64
	buf  []byte
}

// NewStaging returns a Staging over under; a nil under is NoMemory.
func NewStaging(under Memory) *Staging {
	if under == nil {
		under = NoMemory{}
	}
	return &Staging{under: under, regions: make(map[uint64]*Region)}
}

// Stage makes buf readable and writable by the rump kernel at the returned
// region's Addr, until Release. The kernel writes into buf directly, from
// the Conn's reader goroutine, so the caller must not touch buf until the
// calls that use the region have returned. It fails only when buf is larger
// than MaxStaged or every slot is in use.
func (s *Staging) Stage(buf []byte) (*Region, error) {
	if uint64(len(buf)) > MaxStaged {
		return nil, fmt.Errorf("stage %d bytes: larger than %d", len(buf), uint64(MaxStaged))
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	for range len(s.regions) + 1 {
		slot := s.next
		s.next = (s.next + 1) % stagingSlots
		if _, used := s.regions[slot]; used {
			continue
		}
		r := &Region{s: s, slot: slot, buf: buf}
		s.regions[slot] = r
		return r, nil
	}
	return nil, fmt.Errorf("stage %d bytes: all %d regions in use", len(buf), stagingSlots)
}

// Addr returns the address that stands for the region's first byte.
func (r *Region) Addr() uint64 { return StagingBase + r.slot<<slotShift }

// Len returns the size of the staged buffer.
func (r *Region) Len() int { return len(r.buf) }

// Release ends the staging: from then on the region's addresses fault. It
// is idempotent.
func (r *Region) Release() {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.s.regions[r.slot] == r {
		delete(r.s.regions, r.slot)
	}
}

// span returns the bytes of [addr, addr+n) when they lie inside one region.
func (s *Staging) span(addr uint64, n int) ([]byte, bool) {
	slot := (addr - StagingBase) >> slotShift
	off := (addr - StagingBase) & stagingSlotMask

	s.mu.Lock()
	r := s.regions[slot]
	s.mu.Unlock()
	if r == nil || off > uint64(len(r.buf)) || uint64(n) > uint64(len(r.buf))-off {
		return nil, false
	}
	return r.buf[off : off+uint64(n)], true
}

// ReadAt serves a read from a region when addr is in the staging window,
// faulting unless the whole of p lies in one region, and from the
// underlying Memory otherwise.
func (s *Staging) ReadAt(p []byte, addr uint64) error {
	if !InStagingWindow(addr) {
		return s.under.ReadAt(p, addr)
	}
	b, ok := s.span(addr, len(p))
	if !ok {
		return fmt.Errorf("read %d bytes at %#x: %w", len(p), addr, ErrFault)
	}
	copy(p, b)
	return nil
}

// WriteAt is ReadAt's counterpart for writes.
func (s *Staging) WriteAt(p []byte, addr uint64) error {
	if !InStagingWindow(addr) {
		return s.under.WriteAt(p, addr)
	}
	b, ok := s.span(addr, len(p))
	if !ok {
		return fmt.Errorf("write %d bytes at %#x: %w", len(p), addr, ErrFault)
	}
	copy(b, p)
	return nil
}
