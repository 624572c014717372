package netbsd

import (
	"encoding/binary"
	"fmt"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func sampleStat() Stat {
	return Stat{
		Dev: 0x00000301, Mode: S_IFREG | 0o644, Ino: 0x1122334455667788, Nlink: 3,
		Uid: 1000, Gid: 1001, Rdev: NODEV,
		Atim:     unix.Timespec{Sec: 1700000001, Nsec: 11},
		Mtim:     unix.Timespec{Sec: 1700000002, Nsec: 22},
		Ctim:     unix.Timespec{Sec: 1700000003, Nsec: 33},
		Birthtim: unix.Timespec{Sec: 1700000004, Nsec: 44},
		Size:     123456789, Blocks: 241, Blksize: 4096, Flags: 0x2, Gen: 7,
	}
}

// TestStatLayoutFollowsD7 reads the encoded NetBSD stat at the offsets D.7
// gives, so that the encoder and the decoder cannot agree on a wrong layout.
func TestStatLayoutFollowsD7(t *testing.T) {
	s := sampleStat()
	b := s.Encode()
	if len(b) != 152 {
		t.Fatalf("NetBSD stat is %d bytes, D.7 says 152", len(b))
	}
	le := binary.LittleEndian
	fields := []struct {
		name      string
		off, size int
		want      uint64
	}{
		{"st_dev", 0, 8, s.Dev}, {"st_mode", 8, 4, uint64(s.Mode)}, {"pad", 12, 4, 0},
		{"st_ino", 16, 8, s.Ino}, {"st_nlink", 24, 4, uint64(s.Nlink)},
		{"st_uid", 28, 4, uint64(s.Uid)}, {"st_gid", 32, 4, uint64(s.Gid)}, {"pad", 36, 4, 0},
		{"st_rdev", 40, 8, s.Rdev},
		{"st_atim.sec", 48, 8, uint64(s.Atim.Sec)}, {"st_atim.nsec", 56, 8, uint64(s.Atim.Nsec)},
		{"st_mtim.sec", 64, 8, uint64(s.Mtim.Sec)}, {"st_ctim.sec", 80, 8, uint64(s.Ctim.Sec)},
		{"st_birthtim.sec", 96, 8, uint64(s.Birthtim.Sec)},
		{"st_birthtim.nsec", 104, 8, uint64(s.Birthtim.Nsec)},
		{"st_size", 112, 8, uint64(s.Size)}, {"st_blocks", 120, 8, uint64(s.Blocks)},
		{"st_blksize", 128, 4, uint64(s.Blksize)}, {"st_flags", 132, 4, uint64(s.Flags)},
		{"st_gen", 136, 4, uint64(s.Gen)}, {"st_spare", 140, 8, 0},
	}
	for _, f := range fields {
		t.Run(fmt.Sprintf("%s is at offset %d", f.name, f.off), func(t *testing.T) {
			var got uint64
			if f.size == 4 {
				got = uint64(le.Uint32(b[f.off:]))
			} else {
				got = le.Uint64(b[f.off:])
			}
			if got != f.want {
				t.Errorf("= %#x, want %#x", got, f.want)
			}
		})
	}
}

func TestStatRoundTrips(t *testing.T) {
	t.Run("a NetBSD stat survives encode and decode", func(t *testing.T) {
		s := sampleStat()
		got, err := DecodeStat(s.Encode())
		mustNot(t, err)
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("a Linux stat survives encode and decode", func(t *testing.T) {
		st := sampleStat().ToLinux()
		got, err := DecodeLinuxStat(EncodeLinuxStat(&st))
		mustNot(t, err)
		if diff := cmp.Diff(st, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("a host stat survives NetBSD and back", func(t *testing.T) {
		st := unix.Stat_t{Dev: 0x10300, Ino: 42, Nlink: 2, Mode: S_IFDIR | 0o755, Uid: 1, Gid: 2,
			Size: 4096, Blksize: 4096, Blocks: 8,
			Atim: unix.Timespec{Sec: 1, Nsec: 2}, Mtim: unix.Timespec{Sec: 3, Nsec: 4},
			Ctim: unix.Timespec{Sec: 5, Nsec: 6}}
		nb := StatFromLinux(&st)
		if nb.Rdev != NODEV {
			t.Errorf("a directory's rdev = %#x, want NODEV", nb.Rdev)
		}
		back, err := DecodeStat(nb.Encode())
		mustNot(t, err)
		if diff := cmp.Diff(st, back.ToLinux()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestStatToLinux(t *testing.T) {
	s := sampleStat()
	st := s.ToLinux()
	b := EncodeLinuxStat(&st)
	t.Run("the Linux stat is 144 bytes laid out as unix.Stat_t", func(t *testing.T) {
		if len(b) != 144 || unsafe.Sizeof(st) != 144 {
			t.Fatalf("%d bytes, unix.Stat_t %d", len(b), unsafe.Sizeof(st))
		}
		if diff := cmp.Diff(rawBytes(&st), b); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("fields sit at the Linux offsets of D.7", func(t *testing.T) {
		le := binary.LittleEndian
		for _, f := range []struct {
			name string
			off  int
			want uint64
		}{
			{"st_dev", 0, s.Dev}, {"st_ino", 8, s.Ino}, {"st_nlink", 16, uint64(s.Nlink)},
			{"st_rdev", 40, 0}, {"st_size", 48, uint64(s.Size)},
			{"st_blksize", 56, uint64(s.Blksize)}, {"st_blocks", 64, uint64(s.Blocks)},
			{"st_atim", 72, uint64(s.Atim.Sec)}, {"st_mtim", 88, uint64(s.Mtim.Sec)},
			{"st_ctim", 104, uint64(s.Ctim.Sec)}, {"reserved", 120, 0},
		} {
			if got := le.Uint64(b[f.off:]); got != f.want {
				t.Errorf("%s at %d = %#x, want %#x", f.name, f.off, got, f.want)
			}
		}
		if got := le.Uint32(b[24:]); got != s.Mode {
			t.Errorf("st_mode at 24 = %#o", got)
		}
	})
	t.Run("NODEV becomes 0 but a device number is kept", func(t *testing.T) {
		dev := Stat{Mode: S_IFCHR | 0o600, Rdev: 0x0501}
		if got := dev.ToLinux().Rdev; got != 0x0501 {
			t.Errorf("rdev = %#x", got)
		}
		if got := s.ToLinux().Rdev; got != 0 {
			t.Errorf("rdev of NODEV = %#x", got)
		}
	})
	t.Run("a large link count saturates on the way to NetBSD", func(t *testing.T) {
		if got := StatFromLinux(&unix.Stat_t{Nlink: 1 << 40}).Nlink; got != 0xffffffff {
			t.Errorf("nlink = %#x", got)
		}
	})
	t.Run("file types are the same numbers on Linux", func(t *testing.T) {
		checkConsts(t, []constCheck{
			{"S_IFMT", S_IFMT, unix.S_IFMT}, {"S_IFIFO", S_IFIFO, unix.S_IFIFO},
			{"S_IFCHR", S_IFCHR, unix.S_IFCHR}, {"S_IFDIR", S_IFDIR, unix.S_IFDIR},
			{"S_IFBLK", S_IFBLK, unix.S_IFBLK}, {"S_IFREG", S_IFREG, unix.S_IFREG},
			{"S_IFLNK", S_IFLNK, unix.S_IFLNK}, {"S_IFSOCK", S_IFSOCK, unix.S_IFSOCK},
			{"S_IFWHT", S_IFWHT, 0o160000},
		})
	})
	t.Run("the observed rumpfs root decodes as section F says", func(t *testing.T) {
		root := Stat{Dev: 3, Mode: 0o40755, Ino: 3, Nlink: 2, Rdev: NODEV, Size: 512,
			Blocks: 1, Blksize: 512}
		st := root.ToLinux()
		if st.Rdev != 0 || st.Mode != 0o40755 || st.Nlink != 2 || st.Blksize != 512 {
			t.Errorf("%+v", st)
		}
	})
}

func TestStatx(t *testing.T) {
	s := sampleStat()
	s.Rdev = 0x00c00502 // major 5, minor 0xc02 in the split encoding
	s.Mode = S_IFCHR | 0o620
	x := s.Statx()
	t.Run("statx carries the basic fields and the birth time", func(t *testing.T) {
		want := unix.Statx_t{
			Mask: unix.STATX_BASIC_STATS | unix.STATX_BTIME, Blksize: 4096, Nlink: 3,
			Uid: 1000, Gid: 1001, Mode: uint16(S_IFCHR | 0o620), Ino: s.Ino,
			Size: uint64(s.Size), Blocks: 241,
			Atime:      unix.StatxTimestamp{Sec: 1700000001, Nsec: 11},
			Btime:      unix.StatxTimestamp{Sec: 1700000004, Nsec: 44},
			Ctime:      unix.StatxTimestamp{Sec: 1700000003, Nsec: 33},
			Mtime:      unix.StatxTimestamp{Sec: 1700000002, Nsec: 22},
			Rdev_major: 5, Rdev_minor: 0xc02, Dev_major: 3, Dev_minor: 1,
		}
		if diff := cmp.Diff(want, x, cmp.AllowUnexported(unix.Statx_t{})); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("a missing birth time is not claimed", func(t *testing.T) {
		for _, b := range []unix.Timespec{{}, {Sec: -1}} {
			s.Birthtim = b
			if x := s.Statx(); x.Mask&unix.STATX_BTIME != 0 {
				t.Errorf("birth time %+v claimed", b)
			}
		}
	})
	t.Run("the statx bytes are laid out as unix.Statx_t", func(t *testing.T) {
		b := EncodeLinuxStatx(&x)
		if len(b) != 256 || unsafe.Sizeof(x) != 256 {
			t.Fatalf("%d bytes, unix.Statx_t %d", len(b), unsafe.Sizeof(x))
		}
		if diff := cmp.Diff(rawBytes(&x), b); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		back, err := DecodeLinuxStatx(b)
		mustNot(t, err)
		if diff := cmp.Diff(x, back, cmp.AllowUnexported(unix.Statx_t{})); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})
}

func TestStatvfsLayoutFollowsD16(t *testing.T) {
	s := Statvfs{Flag: MNT_RDONLY | MNT_NOSUID | MNT_LOCAL, Bsize: 8192, Frsize: 1024,
		Iosize: 65536, Blocks: 1000, Bfree: 600, Bavail: 550, Bresvd: 50, Files: 300,
		Ffree: 200, Favail: 190, Fresvd: 10, SyncReads: 1, SyncWrites: 2, AsyncReads: 3,
		AsyncWrites: 4, Fsidx: [2]int32{0x1234, -2}, Fsid: 0x1234, Namemax: 511, Owner: 0,
		Fstypename: "tmpfs", Mntonname: "/tmp", Mntfromname: "tmpfs"}
	b := s.Encode()
	if len(b) != 2256 {
		t.Fatalf("NetBSD statvfs is %d bytes, D.16 says 2256", len(b))
	}
	le := binary.LittleEndian
	for _, f := range []struct {
		name string
		off  int
		want uint64
	}{
		{"f_flag", 0, s.Flag}, {"f_bsize", 8, 8192}, {"f_frsize", 16, 1024},
		{"f_iosize", 24, 65536}, {"f_blocks", 32, 1000}, {"f_bresvd", 56, 50},
		{"f_files", 64, 300}, {"f_fresvd", 88, 10}, {"f_syncreads", 96, 1},
		{"f_asyncwrites", 120, 4}, {"f_fsid", 136, 0x1234}, {"f_namemax", 144, 511},
	} {
		if got := le.Uint64(b[f.off:]); got != f.want {
			t.Errorf("%s at %d = %d, want %d", f.name, f.off, got, f.want)
		}
	}
	if got := int32(le.Uint32(b[132:])); got != -2 {
		t.Errorf("f_fsidx[1] at 132 = %d", got)
	}
	for _, n := range []struct {
		off  int
		want string
	}{{172, "tmpfs"}, {204, "/tmp"}, {1228, "tmpfs"}} {
		if got := cString(b[n.off : n.off+32]); got != n.want {
			t.Errorf("name at %d = %q, want %q", n.off, got, n.want)
		}
	}

	t.Run("it survives encode and decode", func(t *testing.T) {
		got, err := DecodeStatvfs(b)
		mustNot(t, err)
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("it becomes a Linux statfs counted in f_frsize units", func(t *testing.T) {
		want := unix.Statfs_t{Type: unix.TMPFS_MAGIC, Bsize: 1024, Blocks: 1000, Bfree: 600,
			Bavail: 550, Files: 300, Ffree: 200, Fsid: unix.Fsid{Val: [2]int32{0x1234, -2}},
			Namelen: 511, Frsize: 1024, Flags: unix.ST_RDONLY | unix.ST_NOSUID | 0x20}
		if diff := cmp.Diff(want, s.ToLinux()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("a long name is cut to its field", func(t *testing.T) {
		long := s
		long.Fstypename = "abcdefghijklmnopqrstuvwxyz0123456789"
		got, err := DecodeStatvfs(long.Encode())
		mustNot(t, err)
		if got.Fstypename != long.Fstypename[:31] {
			t.Errorf("name = %q", got.Fstypename)
		}
	})
}

func TestStatfs(t *testing.T) {
	host := unix.Statfs_t{Type: unix.EXT2_SUPER_MAGIC, Bsize: 4096, Blocks: 100, Bfree: 50,
		Bavail: 40, Files: 10, Ffree: 5, Fsid: unix.Fsid{Val: [2]int32{7, 8}}, Namelen: 255,
		Frsize: 4096, Flags: unix.ST_NOEXEC | unix.ST_NODEV | unix.ST_RELATIME | 0x20}
	t.Run("the Linux statfs is laid out as unix.Statfs_t", func(t *testing.T) {
		b := EncodeLinuxStatfs(&host)
		if len(b) != 120 {
			t.Fatalf("%d bytes", len(b))
		}
		if diff := cmp.Diff(rawBytes(&host), b); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		back, err := DecodeLinuxStatfs(b)
		mustNot(t, err)
		if diff := cmp.Diff(host, back); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})
	t.Run("a host statfs becomes a NetBSD statvfs", func(t *testing.T) {
		want := Statvfs{Flag: MNT_NOEXEC | MNT_NODEV | MNT_RELATIME, Bsize: 4096,
			Frsize: 4096, Iosize: 4096, Blocks: 100, Bfree: 50, Bavail: 40, Bresvd: 10,
			Files: 10, Ffree: 5, Favail: 5, Fsidx: [2]int32{7, 8}, Fsid: 7, Namemax: 255,
			Fstypename: "ext2fs"}
		if diff := cmp.Diff(want, StatvfsFromLinux(&host)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("and comes back as the same Linux statfs", func(t *testing.T) {
		if diff := cmp.Diff(host, StatvfsFromLinux(&host).ToLinux()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("the statvfs call flags follow D.2", func(t *testing.T) {
		checkConsts(t, []constCheck{{"ST_WAIT", ST_WAIT, 1}, {"ST_NOWAIT", ST_NOWAIT, 2},
			{"MNT_RDONLY", MNT_RDONLY, 0x1}, {"MNT_NOSUID", MNT_NOSUID, 0x8}})
	})
	t.Run("umount2 MNT_FORCE becomes NetBSD MNT_FORCE", func(t *testing.T) {
		got, err := UnmountFlagsFromLinux(unix.MNT_FORCE)
		if err != nil || got != 0x80000 {
			t.Errorf("= %#x, %v", got, err)
		}
		if _, err := UnmountFlagsFromLinux(unix.MNT_DETACH); err == nil {
			t.Errorf("MNT_DETACH was accepted")
		}
	})
}
