package netbsd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestDirentLayoutFollowsD11(t *testing.T) {
	b, err := AppendDirent(nil, Dirent{Ino: 0x0102030405060708, Type: DT_DIR, Name: "tmp"})
	mustNot(t, err)
	want := []byte{8, 7, 6, 5, 4, 3, 2, 1, 24, 0, 3, 0, DT_DIR, 't', 'm', 'p', 0, 0, 0, 0, 0, 0,
		0, 0}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("NetBSD record (-want +got):\n%s", diff)
	}
	for n, want := range map[int]int{1: 16, 2: 16, 3: 24, 10: 24, 11: 32, 511: 528} {
		t.Run(fmt.Sprintf("a %d-byte name takes a %d-byte NetBSD record", n, want),
			func(t *testing.T) {
				if got := DirentSize(n); got != want {
					t.Errorf("= %d", got)
				}
			})
	}
	t.Run("linux_dirent64 puts the type at 18 and the name at 19", func(t *testing.T) {
		b, err := AppendLinuxDirent64(nil, Dirent{Ino: 9, Off: 0x77, Type: DT_REG, Name: "abcde"})
		mustNot(t, err)
		le := binary.LittleEndian
		if len(b) != 32 || le.Uint16(b[16:]) != 32 || b[18] != DT_REG ||
			string(b[19:24]) != "abcde" || b[24] != 0 || le.Uint64(b[8:]) != 0x77 {
			t.Errorf("record %v", b)
		}
	})
	t.Run("linux_dirent puts the type in the last byte", func(t *testing.T) {
		b, err := AppendLinuxDirent(nil, Dirent{Ino: 9, Off: 1, Type: DT_LNK, Name: "abcde"})
		mustNot(t, err)
		if len(b) != 32 || b[31] != DT_LNK || string(b[18:23]) != "abcde" || b[23] != 0 {
			t.Errorf("record %v", b)
		}
		if LinuxDirentSize(5) != 32 || LinuxDirentSize(4) != 24 {
			t.Errorf("sizes %d %d", LinuxDirentSize(5), LinuxDirentSize(4))
		}
	})
	checkConsts(t, []constCheck{
		{"DT_UNKNOWN", DT_UNKNOWN, unix.DT_UNKNOWN}, {"DT_FIFO", DT_FIFO, unix.DT_FIFO},
		{"DT_CHR", DT_CHR, unix.DT_CHR}, {"DT_DIR", DT_DIR, unix.DT_DIR},
		{"DT_BLK", DT_BLK, unix.DT_BLK}, {"DT_REG", DT_REG, unix.DT_REG},
		{"DT_LNK", DT_LNK, unix.DT_LNK}, {"DT_SOCK", DT_SOCK, unix.DT_SOCK},
		{"DT_WHT", DT_WHT, unix.DT_WHT}, {"DT_WHT value", DT_WHT, 14},
	})
}

func TestDirentsRoundTrip(t *testing.T) {
	entries := []Dirent{
		{Ino: 2, Type: DT_DIR, Name: "tmp"},
		{Ino: 3, Type: DT_DIR, Name: "dev"},
		{Ino: 4, Type: DT_REG, Name: "a-much-longer-file-name.txt"},
		{Ino: 5, Type: DT_SOCK, Name: string(repeat('n', 300))},
	}
	var nb []byte
	for _, d := range entries {
		var err error
		nb, err = AppendDirent(nb, d)
		mustNot(t, err)
	}
	t.Run("NetBSD records survive encode and parse", func(t *testing.T) {
		got, err := ParseDirents(nb)
		mustNot(t, err)
		if diff := cmp.Diff(entries, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	for i := range entries {
		entries[i].Off = int64(100 * (i + 1))
	}
	for _, f := range []struct {
		name   string
		append func([]byte, Dirent) ([]byte, error)
		parse  func([]byte) ([]Dirent, error)
	}{
		{"linux_dirent64", AppendLinuxDirent64, ParseLinuxDirents64},
		{"linux_dirent", AppendLinuxDirent, ParseLinuxDirents},
	} {
		t.Run(f.name+" records survive encode and parse", func(t *testing.T) {
			var b []byte
			for _, d := range entries {
				var err error
				b, err = f.append(b, d)
				mustNot(t, err)
			}
			got, err := f.parse(b)
			mustNot(t, err)
			if diff := cmp.Diff(entries, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("records as the host kernel writes them parse", func(t *testing.T) {
		fd, err := unix.Open(t.TempDir(), unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			t.Skipf("cannot open a directory: %v", err)
		}
		defer unix.Close(fd)
		buf := make([]byte, 4096)
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			t.Skipf("getdents64: %v", err)
		}
		got, err := ParseLinuxDirents64(buf[:n])
		mustNot(t, err)
		names := map[string]uint8{}
		for _, d := range got {
			names[d.Name] = d.Type
		}
		if diff := cmp.Diff(map[string]uint8{".": DT_DIR, "..": DT_DIR}, names); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestDirentsRefuseBadInput(t *testing.T) {
	good, _ := AppendDirent(nil, Dirent{Ino: 1, Type: DT_REG, Name: "x"})
	zero := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(zero[8:], 0)
	long := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(long[8:], 64)
	fat := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(fat[10:], 9)
	for _, tt := range []struct {
		name string
		b    []byte
		want error
	}{
		{"a zero record length, which would loop forever", zero, ErrInvalid},
		{"a record length past the buffer", long, ErrInvalid},
		{"a name longer than its record", fat, ErrInvalid},
		{"a fragment shorter than a header", good[:10], ErrShort},
	} {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			if _, err := ParseDirents(tt.b); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	for _, name := range []string{"", "a/b", "a\x00b", string(repeat('x', 512))} {
		t.Run(fmt.Sprintf("the name %.10q cannot be written", name), func(t *testing.T) {
			if _, err := AppendDirent(nil, Dirent{Name: name}); !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v", err)
			}
		})
	}
	t.Run("an empty buffer is the end of the directory", func(t *testing.T) {
		got, err := ParseDirents(nil)
		if err != nil || len(got) != 0 {
			t.Errorf("= %v, %v", got, err)
		}
	})
}
