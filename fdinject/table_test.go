package fdinject

import (
	"os"
	"sync/atomic"
	"testing"
)

func TestReserveSkipsShadowsAndOpenDescriptors(t *testing.T) {
	var count atomic.Int64
	tab := NewTable(&count)
	// This process's own descriptors stand for a target's.
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	open := int(f.Fd())

	first, err := tab.Reserve(os.Getpid(), open, 7)
	if err != nil || first == open {
		t.Fatalf("Reserve from the number of an open descriptor = %d, %v; want another", first,
			err)
	}
	second, err := tab.Reserve(os.Getpid(), open, 8)
	if err != nil || second == first || second == open {
		t.Fatalf("second Reserve = %d, %v; want a third number", second, err)
	}
	if r, ok := tab.Lookup(first); !ok || r != 7 {
		t.Errorf("Lookup(%d) = %d, %v; want 7", first, r, ok)
	}
	if count.Load() != 2 {
		t.Errorf("count = %d after two reservations, want 2", count.Load())
	}
	tab.Invalidate()
	if r, _ := tab.Lookup(second); r != Stale {
		t.Errorf("after Invalidate, Lookup = %d, want Stale", r)
	}
	if _, ok := tab.Remove(first); !ok || count.Load() != 1 {
		t.Errorf("Remove: ok %v, count %d; want true, 1", ok, count.Load())
	}
	if _, ok := tab.Remove(first); ok || count.Load() != 1 {
		t.Errorf("a second Remove: ok %v, count %d; want false, 1", ok, count.Load())
	}
}

func TestIsShadowKnowsShadowFiles(t *testing.T) {
	s, err := NewShadow()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !IsShadow(os.Getpid(), s.FD()) {
		t.Errorf("the shadow file is not recognised")
	}
	f, _ := os.Open("/dev/null")
	defer f.Close()
	if IsShadow(os.Getpid(), int(f.Fd())) {
		t.Errorf("/dev/null is taken for a shadow")
	}
}
