package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// benchCall runs syscallbench in mode for b.N calls, directly or under
// hijack-exec, and reports the cost of one call as the program measured it,
// without process start-up.
func benchCall(b *testing.B, d *daemon, mode string) {
	b.Helper()
	argv := []string{filepath.Join(bin, "syscallbench"), mode, strconv.Itoa(b.N)}
	if d != nil {
		argv = append([]string{filepath.Join(bin, "hijack-exec")}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if d != nil {
		cmd.Env = append(baseEnv(), "HIJACKD_SOCKET="+d.socket)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%q: %v\n%s", argv, err, out)
	}
	fields := strings.Fields(string(out))
	if len(fields) != 3 {
		b.Fatalf("%q printed %q", argv, out)
	}
	ns, err := strconv.ParseFloat(fields[2], 64)
	if err != nil {
		b.Fatalf("%q printed %q", argv, out)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ns, "ns/call")
}

// BenchmarkSyscalls measures, in one run: an untrapped call with and without
// the default policy's filter; a descriptor call that the filter traps and
// hijackd continues, beside the same call answered by a bare supervisor in
// the same harness; and a continued openat, which costs a path read and an
// ID_VALID check more.
func BenchmarkSyscalls(b *testing.B) {
	d := startDaemon(b)
	cases := []struct {
		name string
		d    *daemon
		mode string
	}{
		{"untrapped/plain", nil, "untrapped"},
		{"untrapped/hijacked", d, "untrapped"},
		{"continued/bare", nil, "bare"},
		{"continued/hijacked", d, "fdcall"},
		{"openat/plain", nil, "openat"},
		{"openat/hijacked", d, "openat"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { benchCall(b, c.d, c.mode) })
	}
}

// benchFiles runs test/progs/files with args, directly or under hijack-exec,
// and returns what it printed: how many calls or bytes, and the measurement.
func benchFiles(b *testing.B, d *daemon, args ...string) (int, float64) {
	b.Helper()
	argv := append([]string{filesProgram(b)}, args...)
	if d != nil {
		argv = append([]string{filepath.Join(bin, "hijack-exec")}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if d != nil {
		cmd.Env = append(baseEnv(), "HIJACKD_SOCKET="+d.socket)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%q: %v\n%s", argv, err, out)
	}
	fields := strings.Fields(string(out))
	if len(fields) != 3 {
		b.Fatalf("%q printed %q", argv, out)
	}
	n, nerr := strconv.Atoi(fields[1])
	v, verr := strconv.ParseFloat(fields[2], 64)
	if nerr != nil || verr != nil {
		b.Fatalf("%q printed %q", argv, out)
	}
	return n, v
}

// BenchmarkRumpFiles measures, in one run, file calls on a file in the
// embedded rump kernel beside the same calls on a host file in the same host
// file system: the cost of a stat, an open and close, and a 4 KiB pread, and
// the rate of reading and writing 64 MiB sequentially in 64 KiB and 1 MiB
// calls. Writes are not synced. The transfers move 64 MiB whatever b.N is,
// and at most maxFileCalls calls are timed, so that make bench's b.N of
// 100000 does not spend minutes on rump calls.
func BenchmarkRumpFiles(b *testing.B) {
	const maxFileCalls = 10000
	state := stateDir(b)
	d := startDaemon(b, "--state-dir", state)
	const size = 64 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 13)
	}
	// The embedded kernel's files are those under its root.
	host, rump := filepath.Join(b.TempDir(), "data"), "/rump/bench-data"
	for _, path := range []string{host, filepath.Join(state, "root", "bench-data")} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	hostOut, rumpOut := filepath.Join(b.TempDir(), "out"), "/rump/bench-out"

	calls := []struct {
		name string
		d    *daemon
		mode string
		path string
	}{
		{"stat/host", nil, "stat", host},
		{"stat/rump", d, "stat", rump},
		{"open/host", nil, "open", host},
		{"open/rump", d, "open", rump},
		{"pread/host", nil, "pread", host},
		{"pread/rump", d, "pread", rump},
	}
	for _, c := range calls {
		b.Run(c.name, func(b *testing.B) {
			n := min(b.N, maxFileCalls)
			_, ns := benchFiles(b, c.d, c.mode, c.path, strconv.Itoa(n))
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(ns, "ns/call")
		})
	}

	transfers := []struct {
		name string
		d    *daemon
		args []string
	}{
		{"read-64KiB/host", nil, []string{"read", host, "64K"}},
		{"read-64KiB/rump", d, []string{"read", rump, "64K"}},
		{"read-1MiB/host", nil, []string{"read", host, "1M"}},
		{"read-1MiB/rump", d, []string{"read", rump, "1M"}},
		{"write-64KiB/host", nil, []string{"write", hostOut, "64M", "64K"}},
		{"write-64KiB/rump", d, []string{"write", rumpOut, "64M", "64K"}},
		{"write-1MiB/host", nil, []string{"write", hostOut, "64M", "1M"}},
		{"write-1MiB/rump", d, []string{"write", rumpOut, "64M", "1M"}},
	}
	for _, c := range transfers {
		b.Run(c.name, func(b *testing.B) {
			moved, mbps := benchFiles(b, c.d, c.args...)
			if moved != size {
				b.Fatalf("%q moved %d bytes, want %d", c.args, moved, size)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(mbps, "MB/s")
		})
	}
}
