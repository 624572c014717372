package netbsd

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestMakedev(t *testing.T) {
	tests := []struct {
		name         string
		major, minor uint32
		want         uint64
	}{
		{"a small minor stays in the low byte", 8, 1, 0x801},
		{"the minor's upper bits go to bits 20 to 31", 1, 0x12345, 0x12300145},
		{"the largest numbers fill every field", 0xfff, 0xfffff, 0xffffffff},
		{"bits beyond the fields are cut", 0x1001, 0x100001, 0x101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Makedev(tt.major, tt.minor); got != tt.want {
				t.Errorf("Makedev(%#x, %#x) = %#x, want %#x", tt.major, tt.minor, got, tt.want)
			}
		})
	}
}

// TestDevFromLinux checks that a device number glibc builds for mknod comes
// out as NetBSD's makedev of the same major and minor.
func TestDevFromLinux(t *testing.T) {
	for _, major := range []uint32{0, 1, 8, 136, 0x7ff, 0xfff} {
		for _, minor := range []uint32{0, 1, 0xff, 0x100, 0x12345, 0xfffff} {
			linux := uint32(unix.Mkdev(major, minor))
			if got, want := DevFromLinux(linux), Makedev(major, minor); got != want {
				t.Errorf("DevFromLinux(%#x) for %d,%d = %#x, want %#x", linux, major, minor,
					got, want)
			}
		}
	}
}
