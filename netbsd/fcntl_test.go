package netbsd

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// d3 is the open flag table of D.3: the Linux value from the document, the
// same flag from x/sys/unix (-1 where unix has no such name on amd64), and
// the NetBSD value from the document.
var d3 = []struct {
	name          string
	linux, unixed int64
	netbsd        int64
}{
	{"O_WRONLY", 0x1, unix.O_WRONLY, 0x1},
	{"O_RDWR", 0x2, unix.O_RDWR, 0x2},
	{"O_CREAT", 0x40, unix.O_CREAT, 0x200},
	{"O_EXCL", 0x80, unix.O_EXCL, 0x800},
	{"O_NOCTTY", 0x100, unix.O_NOCTTY, 0x8000},
	{"O_TRUNC", 0x200, unix.O_TRUNC, 0x400},
	{"O_APPEND", 0x400, unix.O_APPEND, 0x8},
	{"O_NONBLOCK", 0x800, unix.O_NONBLOCK, 0x4},
	{"O_DSYNC", 0x1000, unix.O_DSYNC, 0x10000},
	{"O_ASYNC", 0x2000, unix.O_ASYNC, 0x40},
	{"O_DIRECT", 0x4000, unix.O_DIRECT, 0x80000},
	{"O_DIRECTORY", 0x10000, unix.O_DIRECTORY, 0x200000},
	{"O_NOFOLLOW", 0x20000, unix.O_NOFOLLOW, 0x100},
	{"O_CLOEXEC", 0x80000, unix.O_CLOEXEC, 0x400000},
	{"O_SYNC", 0x101000, unix.O_SYNC, 0x80 | 0x10000},
}

func TestOpenFlagsFollowD3(t *testing.T) {
	for _, tt := range d3 {
		t.Run(fmt.Sprintf("Linux %s %#x becomes NetBSD %#x", tt.name, tt.linux, tt.netbsd),
			func(t *testing.T) {
				if tt.linux != tt.unixed {
					t.Fatalf("x/sys/unix has %#x", tt.unixed)
				}
				got, err := OpenFlagsFromLinux(uint32(tt.linux))
				if err != nil || int64(got) != tt.netbsd {
					t.Errorf("OpenFlagsFromLinux = %#x, %v", got, err)
				}
				back, dropped := OpenFlagsToLinux(uint32(tt.netbsd))
				if int64(back) != tt.linux || dropped != 0 {
					t.Errorf("OpenFlagsToLinux = %#x, dropped %#x", back, dropped)
				}
			})
	}
}

func TestNetBSDOpenConstantsFollowD3(t *testing.T) {
	for name, c := range map[string][2]int64{
		"O_CREAT": {O_CREAT, 0x200}, "O_EXCL": {O_EXCL, 0x800}, "O_NOCTTY": {O_NOCTTY, 0x8000},
		"O_TRUNC": {O_TRUNC, 0x400}, "O_APPEND": {O_APPEND, 0x8}, "O_NONBLOCK": {O_NONBLOCK, 0x4},
		"O_DSYNC": {O_DSYNC, 0x10000}, "O_ASYNC": {O_ASYNC, 0x40}, "O_DIRECT": {O_DIRECT, 0x80000},
		"O_DIRECTORY": {O_DIRECTORY, 0x200000}, "O_NOFOLLOW": {O_NOFOLLOW, 0x100},
		"O_CLOEXEC": {O_CLOEXEC, 0x400000}, "O_SYNC": {O_SYNC, 0x80}, "O_RSYNC": {O_RSYNC, 0x20000},
		"O_SHLOCK": {O_SHLOCK, 0x10}, "O_EXLOCK": {O_EXLOCK, 0x20}, "O_ALT_IO": {O_ALT_IO, 0x40000},
		"O_SEARCH": {O_SEARCH, 0x800000}, "O_NOSIGPIPE": {O_NOSIGPIPE, 0x1000000},
		"O_ACCMODE": {O_ACCMODE, 3},
	} {
		if c[0] != c[1] {
			t.Errorf("%s = %#x, D.3 says %#x", name, c[0], c[1])
		}
	}
}

func TestOpenFlagsWithoutEquivalent(t *testing.T) {
	tests := []struct {
		name    string
		linux   uint32
		want    uint32
		unknown uint64
	}{
		{"the kernel's O_LARGEFILE is dropped, not taken for O_NOCTTY", 0x8000 | 0x2, 0x2, 0},
		{"O_PATH is reported", unix.O_PATH | unix.O_CLOEXEC, O_CLOEXEC, unix.O_PATH},
		{"O_TMPFILE is reported and its O_DIRECTORY half still maps",
			unix.O_TMPFILE | unix.O_RDWR, O_DIRECTORY | O_RDWR, Linux__O_TMPFILE},
		{"O_NOATIME is reported", unix.O_NOATIME, 0, unix.O_NOATIME},
		{"an unknown bit is reported", 1 << 30, 0, 1 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := OpenFlagsFromLinux(tt.linux)
			if got != tt.want {
				t.Errorf("flags = %#x, want %#x", got, tt.want)
			}
			var be *BitsError
			switch {
			case tt.unknown == 0 && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tt.unknown != 0 && (!errors.As(err, &be) || be.Bits != tt.unknown):
				t.Errorf("err = %v, want bits %#x", err, tt.unknown)
			case tt.unknown != 0 && !errors.Is(err, ErrNoEquivalent):
				t.Errorf("err = %v does not wrap ErrNoEquivalent", err)
			}
		})
	}
	t.Run("NetBSD-only flags are dropped on the way back", func(t *testing.T) {
		all := uint32(O_SHLOCK | O_EXLOCK | O_RSYNC | O_ALT_IO | O_SEARCH | O_NOSIGPIPE)
		got, dropped := OpenFlagsToLinux(all | O_RDWR | O_NONBLOCK)
		if got != unix.O_RDWR|unix.O_NONBLOCK || dropped != all {
			t.Errorf("OpenFlagsToLinux = %#x, dropped %#x", got, dropped)
		}
	})
}

// d4 is the fcntl command table of D.4.
var d4 = []struct {
	name          string
	linux, unixed int
	netbsd        int
}{
	{"F_DUPFD", 0, unix.F_DUPFD, 0},
	{"F_GETFD", 1, unix.F_GETFD, 1},
	{"F_SETFD", 2, unix.F_SETFD, 2},
	{"F_GETFL", 3, unix.F_GETFL, 3},
	{"F_SETFL", 4, unix.F_SETFL, 4},
	{"F_GETLK", 5, unix.F_GETLK, 7},
	{"F_SETLK", 6, unix.F_SETLK, 8},
	{"F_SETLKW", 7, unix.F_SETLKW, 9},
	{"F_SETOWN", 8, unix.F_SETOWN, 6},
	{"F_GETOWN", 9, unix.F_GETOWN, 5},
	{"F_DUPFD_CLOEXEC", 1030, unix.F_DUPFD_CLOEXEC, 12},
}

func TestFcntlCommandsFollowD4(t *testing.T) {
	for _, tt := range d4 {
		t.Run(fmt.Sprintf("Linux %s %d is NetBSD %d", tt.name, tt.linux, tt.netbsd),
			func(t *testing.T) {
				if tt.linux != tt.unixed {
					t.Fatalf("x/sys/unix has %d", tt.unixed)
				}
				if got, err := FcntlCmdFromLinux(tt.linux); err != nil || got != tt.netbsd {
					t.Errorf("FcntlCmdFromLinux = %d, %v", got, err)
				}
				if got, err := FcntlCmdToLinux(tt.netbsd); err != nil || got != tt.linux {
					t.Errorf("FcntlCmdToLinux = %d, %v", got, err)
				}
			})
	}
	for _, cmd := range []int{unix.F_SETSIG, unix.F_GETSIG, unix.F_SETLEASE, unix.F_GETLEASE,
		unix.F_NOTIFY, unix.F_SETPIPE_SZ, unix.F_GETPIPE_SZ, unix.F_ADD_SEALS, unix.F_GET_SEALS,
		unix.F_OFD_GETLK, unix.F_OFD_SETLK, unix.F_OFD_SETLKW} {
		t.Run(fmt.Sprintf("Linux command %d has no NetBSD equivalent", cmd), func(t *testing.T) {
			if _, err := FcntlCmdFromLinux(cmd); !errors.Is(err, ErrNoEquivalent) {
				t.Errorf("err = %v", err)
			}
		})
	}
	for _, cmd := range []int{F_CLOSEM, F_MAXFD, F_GETNOSIGPIPE, F_SETNOSIGPIPE} {
		t.Run(fmt.Sprintf("NetBSD command %d has no Linux equivalent", cmd), func(t *testing.T) {
			if _, err := FcntlCmdToLinux(cmd); !errors.Is(err, ErrNoEquivalent) {
				t.Errorf("err = %v", err)
			}
		})
	}
	checkConsts(t, []constCheck{
		{"F_CLOSEM", F_CLOSEM, 10}, {"F_MAXFD", F_MAXFD, 11},
		{"F_GETNOSIGPIPE", F_GETNOSIGPIPE, 13}, {"F_SETNOSIGPIPE", F_SETNOSIGPIPE, 14},
		{"FD_CLOEXEC", FD_CLOEXEC, 1}, {"Linux FD_CLOEXEC", unix.FD_CLOEXEC, 1},
		{"LOCK_SH", LOCK_SH, 1}, {"Linux LOCK_SH", unix.LOCK_SH, 1},
		{"LOCK_EX", LOCK_EX, 2}, {"Linux LOCK_EX", unix.LOCK_EX, 2},
		{"LOCK_NB", LOCK_NB, 4}, {"Linux LOCK_NB", unix.LOCK_NB, 4},
		{"LOCK_UN", LOCK_UN, 8}, {"Linux LOCK_UN", unix.LOCK_UN, 8},
	})
}

func TestFlockLayoutFollowsD4(t *testing.T) {
	f := Flock{Start: 0x0102030405060708, Len: 0x1112131415161718, Pid: 0x21222324,
		Type: F_WRLCK, Whence: 1}
	b := f.Encode()
	if len(b) != 24 {
		t.Fatalf("NetBSD flock is %d bytes, D.4 says 24", len(b))
	}
	want := []byte{
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, // l_start @0
		0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, // l_len @8
		0x24, 0x23, 0x22, 0x21, // l_pid @16
		0x03, 0x00, // l_type @20
		0x01, 0x00, // l_whence @22
	}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("NetBSD flock bytes (-want +got):\n%s", diff)
	}

	l := unix.Flock_t{Type: unix.F_WRLCK, Whence: 1, Start: 0x0102030405060708,
		Len: 0x1112131415161718, Pid: 0x21222324}
	lb := EncodeLinuxFlock(&l)
	if diff := cmp.Diff(rawBytes(&l), lb); diff != "" {
		t.Errorf("Linux flock differs from unix.Flock_t in memory (-want +got):\n%s", diff)
	}
}

func TestFlockRoundTrips(t *testing.T) {
	for _, lt := range []int16{unix.F_RDLCK, unix.F_WRLCK, unix.F_UNLCK} {
		l := unix.Flock_t{Type: lt, Whence: 2, Start: -10, Len: 99, Pid: 1234}
		t.Run(fmt.Sprintf("Linux lock type %d survives NetBSD and back", lt), func(t *testing.T) {
			dl, err := DecodeLinuxFlock(EncodeLinuxFlock(&l))
			if err != nil {
				t.Fatal(err)
			}
			nb, err := FlockFromLinux(&dl)
			if err != nil {
				t.Fatal(err)
			}
			dnb, err := DecodeFlock(nb.Encode())
			if err != nil {
				t.Fatal(err)
			}
			back, err := dnb.ToLinux()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(l, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("lock types follow D.4", func(t *testing.T) {
		for l, nb := range map[int16]int16{0: 1, 1: 3, 2: 2} {
			f, err := FlockFromLinux(&unix.Flock_t{Type: l})
			if err != nil || f.Type != nb {
				t.Errorf("Linux type %d became %d, %v; want %d", l, f.Type, err, nb)
			}
		}
		checkConsts(t, []constCheck{
			{"Linux F_RDLCK", unix.F_RDLCK, 0}, {"Linux F_WRLCK", unix.F_WRLCK, 1},
			{"Linux F_UNLCK", unix.F_UNLCK, 2}, {"F_RDLCK", F_RDLCK, 1},
			{"F_UNLCK", F_UNLCK, 2}, {"F_WRLCK", F_WRLCK, 3},
		})
	})
	t.Run("an unknown lock type is refused both ways", func(t *testing.T) {
		if _, err := FlockFromLinux(&unix.Flock_t{Type: 7}); !errors.Is(err, ErrInvalid) {
			t.Errorf("FlockFromLinux: %v", err)
		}
		if _, err := (Flock{Type: 0}).ToLinux(); !errors.Is(err, ErrInvalid) {
			t.Errorf("ToLinux: %v", err)
		}
	})
}

func TestAtFlagsFollowD5(t *testing.T) {
	checkConsts(t, []constCheck{
		{"AT_FDCWD", AT_FDCWD, -100}, {"Linux AT_FDCWD", unix.AT_FDCWD, -100},
		{"AT_EACCESS", AT_EACCESS, 0x100}, {"AT_SYMLINK_NOFOLLOW", AT_SYMLINK_NOFOLLOW, 0x200},
		{"AT_SYMLINK_FOLLOW", AT_SYMLINK_FOLLOW, 0x400}, {"AT_REMOVEDIR", AT_REMOVEDIR, 0x800},
		{"Linux AT_NO_AUTOMOUNT", unix.AT_NO_AUTOMOUNT, 0x800},
		{"Linux AT_EMPTY_PATH", unix.AT_EMPTY_PATH, 0x1000},
	})
	tests := []struct {
		name          string
		linux, unixed uint32
		netbsd        uint32
		faccessat     bool
	}{
		{"AT_SYMLINK_NOFOLLOW", 0x100, unix.AT_SYMLINK_NOFOLLOW, 0x200, false},
		{"AT_REMOVEDIR", 0x200, unix.AT_REMOVEDIR, 0x800, false},
		{"AT_SYMLINK_FOLLOW", 0x400, unix.AT_SYMLINK_FOLLOW, 0x400, false},
		{"AT_EACCESS", 0x200, unix.AT_EACCESS, 0x100, true},
		{"AT_SYMLINK_NOFOLLOW", 0x100, unix.AT_SYMLINK_NOFOLLOW, 0x200, true},
	}
	for _, tt := range tests {
		call := "an *at call"
		from := AtFlagsFromLinux
		if tt.faccessat {
			call, from = "faccessat", FaccessatFlagsFromLinux
		}
		t.Run(fmt.Sprintf("Linux %s %#x is NetBSD %#x in %s", tt.name, tt.linux, tt.netbsd, call),
			func(t *testing.T) {
				if tt.linux != tt.unixed {
					t.Fatalf("x/sys/unix has %#x", tt.unixed)
				}
				if got, err := from(tt.linux); err != nil || got != tt.netbsd {
					t.Errorf("= %#x, %v", got, err)
				}
				if got, dropped := AtFlagsToLinux(tt.netbsd); got != tt.linux || dropped != 0 {
					t.Errorf("AtFlagsToLinux = %#x, dropped %#x", got, dropped)
				}
			})
	}
	t.Run("AT_NO_AUTOMOUNT is dropped as NetBSD never automounts", func(t *testing.T) {
		got, err := AtFlagsFromLinux(unix.AT_NO_AUTOMOUNT | unix.AT_SYMLINK_NOFOLLOW)
		if err != nil || got != AT_SYMLINK_NOFOLLOW {
			t.Errorf("= %#x, %v", got, err)
		}
	})
	t.Run("AT_EMPTY_PATH is reported for emulation", func(t *testing.T) {
		_, err := AtFlagsFromLinux(unix.AT_EMPTY_PATH)
		var be *BitsError
		if !errors.As(err, &be) || be.Bits != 0x1000 {
			t.Errorf("err = %v", err)
		}
	})
}

func TestSetflFromLinux(t *testing.T) {
	tests := []struct {
		name           string
		linux, current uint32
		want           uint32
	}{
		{"O_APPEND and O_NONBLOCK are set", unix.O_APPEND | unix.O_NONBLOCK, O_RDWR,
			O_APPEND | O_NONBLOCK},
		{"flags not in the argument are cleared", 0, O_RDWR | O_APPEND | O_NONBLOCK | O_ASYNC, 0},
		{"O_ASYNC and O_DIRECT are set", unix.O_ASYNC | unix.O_DIRECT, 0, O_ASYNC | O_DIRECT},
		{"O_SYNC and O_NOSIGPIPE are kept, since Linux cannot change them", unix.O_APPEND,
			O_WRONLY | O_SYNC | O_DSYNC | O_NOSIGPIPE, O_APPEND | O_SYNC | O_DSYNC | O_NOSIGPIPE},
		{"O_SYNC in the argument is ignored, as Linux ignores it", unix.O_SYNC, 0, 0},
		{"the access mode and creation flags are ignored",
			unix.O_RDWR | unix.O_CREAT | unix.O_TRUNC | unix.O_EXCL, O_RDONLY, 0},
		{"O_NOATIME is dropped", unix.O_NOATIME | unix.O_NONBLOCK, 0, O_NONBLOCK},
		{"NetBSD's lock bits in F_GETFL are not passed back", 0, O_EXLOCK | 0x4000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SetflFromLinux(tt.linux, tt.current); got != tt.want {
				t.Errorf("SetflFromLinux(%#x, %#x) = %#x, want %#x", tt.linux, tt.current,
					got, tt.want)
			}
		})
	}
}
