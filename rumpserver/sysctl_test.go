package rumpserver

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hijack-project/hijack/netbsd"
)

// sysctlGet reads a node by number and returns its bytes, or the errno.
func sysctlGet(c *testClient, mib ...int32) ([]byte, netbsd.Errno) {
	name := c.alloc(4 * len(mib))
	for i, n := range mib {
		c.store(name+uint64(4*i), intBytes(n))
	}
	old, oldlen := c.alloc(512), c.put(binary.LittleEndian.AppendUint64(nil, 512))
	e := c.fails(netbsd.SYS___SYSCTL, name, uint64(len(mib)), old, oldlen, 0, 0)
	if e != 0 {
		return nil, e
	}
	return c.load(old, int(c.u64(oldlen))), 0
}

func TestSysctl(t *testing.T) {
	s, _ := newServer(t)
	c := guest(t, s, "sysctl")
	other := guest(t, s, "other")

	tests := []struct {
		name string
		mib  []int32
		want string
		err  netbsd.Errno
	}{
		{"kern.ostype is NetBSD", []int32{1, 1}, "NetBSD\x00", 0},
		{"kern.osrelease is the ABI's release", []int32{1, 2}, "7.99.34\x00", 0},
		{"kern.hostname starts as rump", []int32{1, 10}, "rump\x00", 0},
		{"hw.machine is amd64", []int32{6, 1}, "amd64\x00", 0},
		{"kern.osrevision is an int", []int32{1, 3}, string(intBytes(netbsdVersion)), 0},
		{"an unknown node is ENOENT", []int32{1, 9999}, "", netbsd.ENOENT},
		{"a directory node is EISDIR", []int32{1}, "", netbsd.EISDIR},
		{"a name beyond a leaf is ENOTDIR", []int32{1, 1, 1}, "", netbsd.ENOTDIR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, e := sysctlGet(c, tt.mib...)
			if e != tt.err || string(got) != tt.want {
				t.Errorf("sysctl %v = %q, %v; want %q, %v", tt.mib, got, e, tt.want, tt.err)
			}
		})
	}

	t.Run("the hostname is settable, kernel-wide", func(t *testing.T) {
		name := c.put(append(intBytes(1), intBytes(10)...))
		v := []byte("renamed")
		c.ok(netbsd.SYS___SYSCTL, name, 2, 0, 0, c.put(v), uint64(len(v)))
		got, _ := sysctlGet(other, 1, 10)
		if diff := cmp.Diff("renamed\x00", string(got)); diff != "" {
			t.Errorf("hostname (-want +got):\n%s", diff)
		}
		if e := c.fails(netbsd.SYS___SYSCTL, c.put(append(intBytes(1), intBytes(1)...)), 2,
			0, 0, c.put(v), uint64(len(v))); e != netbsd.EPERM {
			t.Errorf("setting kern.ostype = %v, want EPERM", e)
		}
	})

	t.Run("a short buffer gets ENOMEM and the full size", func(t *testing.T) {
		name := c.put(append(intBytes(1), intBytes(4)...))
		old, oldlen := c.alloc(4), c.put(binary.LittleEndian.AppendUint64(nil, 4))
		if e := c.fails(netbsd.SYS___SYSCTL, name, 2, old, oldlen, 0, 0); e != netbsd.ENOMEM {
			t.Errorf("kern.version into 4 bytes = %v, want ENOMEM", e)
		}
		if got := c.u64(oldlen); got != uint64(len(Version)+1) {
			t.Errorf("oldlen = %d, want %d", got, len(Version)+1)
		}
	})

	t.Run("CTL_QUERY lists a node's children by name", func(t *testing.T) {
		q := make([]byte, sysctlNodeSize)
		binary.LittleEndian.PutUint32(q, sysctlVers1)
		name := c.put(append(intBytes(1), intBytes(ctlQuery)...))
		old, oldlen := c.alloc(4096), c.put(binary.LittleEndian.AppendUint64(nil, 4096))
		c.ok(netbsd.SYS___SYSCTL, name, 2, old, oldlen, c.put(q), sysctlNodeSize)
		nodes := c.load(old, int(c.u64(oldlen)))
		found := map[string]int32{}
		for i := 0; i+sysctlNodeSize <= len(nodes); i += sysctlNodeSize {
			n := nodes[i : i+sysctlNodeSize]
			found[cString(n[8:40])] = int32(binary.LittleEndian.Uint32(n[4:]))
		}
		if found["hostname"] != 10 || found["ostype"] != 1 {
			t.Errorf("kern children = %v", found)
		}
	})
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
