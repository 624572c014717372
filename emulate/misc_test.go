package emulate

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/netbsd"
)

func words(v ...int64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func TestTimespecsFromLinux(t *testing.T) {
	tests := []struct {
		name   string
		raw    []byte
		format timesFormat
		want   []unix.Timespec
		errno  unix.Errno
	}{
		{"a utimbuf gives whole seconds", words(1000, 2000), utimbuf,
			[]unix.Timespec{{Sec: 1000}, {Sec: 2000}}, 0},
		{"timevals give nanoseconds", words(3, 500000, 4, 999999), timevals,
			[]unix.Timespec{{Sec: 3, Nsec: 500000000}, {Sec: 4, Nsec: 999999000}}, 0},
		{"a million microseconds is EINVAL", words(3, 0, 4, 1000000), timevals, nil,
			unix.EINVAL},
		{"negative microseconds are EINVAL", words(3, -1, 4, 0), timevals, nil, unix.EINVAL},
		{"negative seconds are a time before 1970", words(-5, 0, -6, 0), timevals,
			[]unix.Timespec{{Sec: -5}, {Sec: -6}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errno := timespecsFromLinux(tt.raw, tt.format)
			if errno != tt.errno {
				t.Fatalf("errno %v, want %v", errno, tt.errno)
			}
			if errno != 0 {
				return
			}
			var got []unix.Timespec
			for i := 0; i < len(out); i += netbsd.TimespecSize {
				ts, err := netbsd.DecodeTimespec(out[i:])
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ts)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("timespecs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseOpenHow(t *testing.T) {
	how := func(flags, mode, resolve uint64, tail ...byte) []byte {
		b := words(int64(flags), int64(mode), int64(resolve))
		return append(b, tail...)
	}
	const rdonly, creat = unix.O_RDONLY, unix.O_CREAT | unix.O_WRONLY
	tests := []struct {
		name string
		raw  []byte
		want unix.Errno
	}{
		{"a plain open is served", how(rdonly, 0, 0), 0},
		{"a larger struct with a zero tail is served", how(rdonly, 0, 0, 0, 0, 0, 0), 0},
		{"a nonzero tail is E2BIG", how(rdonly, 0, 0, 0, 1), unix.E2BIG},
		{"a mode with O_CREAT is served", how(creat, 0o640, 0), 0},
		{"a mode with O_TMPFILE is checked", how(unix.O_TMPFILE|unix.O_RDWR, 0o600, 0), 0},
		{"a mode without O_CREAT is EINVAL", how(rdonly, 0o640, 0), unix.EINVAL},
		{"a mode beyond the permission bits is EINVAL", how(creat, 0o100640, 0),
			unix.EINVAL},
		{"an unknown flag is EINVAL", how(rdonly|1<<40, 0, 0), unix.EINVAL},
		{"an unknown resolve bit is EINVAL", how(rdonly, 0, 0x100), unix.EINVAL},
		{"RESOLVE_NO_MAGICLINKS is honoured as it is",
			how(rdonly, 0, unix.RESOLVE_NO_MAGICLINKS), 0},
		{"RESOLVE_CACHED is EAGAIN", how(rdonly, 0, resolveCached), unix.EAGAIN},
		{"RESOLVE_NO_SYMLINKS is EINVAL", how(rdonly, 0, unix.RESOLVE_NO_SYMLINKS),
			unix.EINVAL},
		{"RESOLVE_NO_XDEV is EINVAL", how(rdonly, 0, unix.RESOLVE_NO_XDEV), unix.EINVAL},
		{"RESOLVE_IN_ROOT is EINVAL", how(rdonly, 0, unix.RESOLVE_IN_ROOT), unix.EINVAL},
		{"RESOLVE_BENEATH with RESOLVE_IN_ROOT is EINVAL",
			how(rdonly, 0, unix.RESOLVE_BENEATH|unix.RESOLVE_IN_ROOT), unix.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := parseOpenHow(tt.raw); got != tt.want {
				t.Errorf("parseOpenHow = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckSyncRange(t *testing.T) {
	tests := []struct {
		name      string
		off, n    int64
		flags     uint32
		wantErrno unix.Errno
	}{
		{"the whole file with every flag", 0, 0, unix.SYNC_FILE_RANGE_WRITE_AND_WAIT, 0},
		{"a range without flags", 10, 20, 0, 0},
		{"an unknown flag is EINVAL", 0, 0, 8, unix.EINVAL},
		{"a negative offset is EINVAL", -1, 10, 0, unix.EINVAL},
		{"a negative length is EINVAL", 10, -5, 0, unix.EINVAL},
		{"a range past the largest offset is EINVAL", 1 << 62, 1 << 62, 0, unix.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkSyncRange(tt.off, tt.n, tt.flags); got != tt.wantErrno {
				t.Errorf("checkSyncRange = %v, want %v", got, tt.wantErrno)
			}
		})
	}
}
