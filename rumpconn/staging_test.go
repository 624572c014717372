package rumpconn

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStaging(t *testing.T) {
	mem := newFakeMemory()
	target := []byte("target bytes")
	mem.mapAt(0x4000, target)
	st := NewStaging(mem)
	buf := []byte("0123456789")
	r, err := st.Stage(buf)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := st.Stage(make([]byte, 4))
	released, _ := st.Stage(make([]byte, 4))
	released.Release()
	released.Release()

	tests := []struct {
		name    string
		addr    uint64
		n       int
		want    string
		wantErr bool
	}{
		{"a staged buffer reads whole", r.Addr(), 10, "0123456789", false},
		{"a read inside a staged buffer starts at its offset", r.Addr() + 3, 4, "3456", false},
		{"a read ending at the buffer's end is whole", r.Addr() + 8, 2, "89", false},
		{"a read past the buffer's end faults", r.Addr() + 8, 3, "", true},
		{"a read from a released region faults", released.Addr(), 1, "", true},
		{"a read between regions faults", r.Addr() + MaxStaged/2, 1, "", true},
		{"an empty read at the end of a buffer is fine", r.Addr() + 10, 0, "", false},
		{"target addresses go to the target's memory", 0x4000, 6, "target", false},
		{"unmapped target addresses fault", 0x9000, 1, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := make([]byte, tt.n)
			err := st.ReadAt(p, tt.addr)
			if tt.wantErr {
				if !errors.Is(err, ErrFault) {
					t.Errorf("ReadAt = %v, want a fault", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(p)); diff != "" {
				t.Errorf("read (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("writes land in the caller's buffer", func(t *testing.T) {
		if err := st.WriteAt([]byte("ab"), r.Addr()+1); err != nil {
			t.Fatal(err)
		}
		if err := st.WriteAt([]byte("xyz"), other.Addr()+2); err == nil {
			t.Error("a write past a region's end did not fault")
		}
		if diff := cmp.Diff("0ab3456789", string(buf)); diff != "" {
			t.Errorf("buffer (-want +got):\n%s", diff)
		}
	})

	t.Run("regions never overlap and stay in the window", func(t *testing.T) {
		for _, reg := range []*Region{r, other, released} {
			if !InStagingWindow(reg.Addr()) || !InStagingWindow(reg.Addr()+MaxStaged-1) {
				t.Errorf("region at %#x leaves the window", reg.Addr())
			}
		}
		if r.Addr() == other.Addr() || other.Addr() == released.Addr() {
			t.Error("two regions share an address")
		}
	})

	t.Run("the window holds no user or kernel address", func(t *testing.T) {
		for _, addr := range []uint64{0, 0x7fff_ffff_f000, 0x00ff_ffff_ffff_ffff,
			0x7fff_ffff_ffff_ffff, 0xff00_0000_0000_0000, 0xffff_ffff_ffff_ffff} {
			if InStagingWindow(addr) {
				t.Errorf("%#x is in the staging window", addr)
			}
		}
	})
}

func TestReadString(t *testing.T) {
	mem := newFakeMemory()
	// A page whose last bytes hold a string, with nothing mapped after it.
	page := make([]byte, pageSize)
	copy(page[pageSize-4:], "abc\x00")
	mem.mapAt(0x10000, page)
	// A string with no NUL before the end of mapped memory.
	mem.mapAt(0x30000-3, []byte("xyz"))
	mem.mapAt(0x50000, []byte("a long string\x00"))
	st := NewStaging(mem)
	r, _ := st.Stage([]byte("staged\x00rest"))
	unterminated, _ := st.Stage([]byte("no nul"))

	tests := []struct {
		name   string
		addr   uint64
		limit  int
		want   string
		wantOK bool
	}{
		{"a string ending at an unmapped page is read", 0x10000 + pageSize - 4, 1024,
			"abc\x00", true},
		{"a string that meets unmapped memory first faults", 0x30000 - 3, 1024, "", false},
		{"a string longer than the limit is cut without its NUL", 0x50000, 6,
			"a long", true},
		{"a string of exactly the limit with its NUL is whole", 0x50000, 14,
			"a long string\x00", true},
		{"a staged string stops at its NUL", r.Addr(), 1024, "staged\x00", true},
		{"a staged string without NUL faults at the region's end", unterminated.Addr(),
			1024, "", false},
		{"an unmapped address faults", 0x90000, 1024, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := readString(st, tt.addr, tt.limit)
			if ok != tt.wantOK {
				t.Fatalf("readString ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("string (-want +got):\n%s", diff)
			}
		})
	}
}
