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

// Processes: starting a hijacked program, and forks under hijack-exec.

// maxForks bounds the rounds one fork benchmark times and maxStarts the
// programs one start benchmark runs, so that make bench's b.N of 100000
// does not spend minutes forking.
const (
	maxForks  = 2000
	maxStarts = 200
)

// benchForks runs procs with args and at most maxForks rounds, directly or
// under hijack-exec, and reports the cost of one round as the program
// measured it, without its start-up.
func benchForks(b *testing.B, d *daemon, mode string, args ...string) {
	b.Helper()
	argv := append([]string{procsProgram(b), mode, strconv.Itoa(min(b.N, maxForks))},
		args...)
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
	b.ReportMetric(ns, "ns/round")
}

// benchStarts runs argv at most maxStarts times, directly or under
// hijack-exec, and reports the time from the start of one run to its
// program's exit, as this process sees it.
func benchStarts(b *testing.B, d *daemon, argv ...string) {
	b.Helper()
	var env []string
	if d != nil {
		argv = append([]string{filepath.Join(bin, "hijack-exec")}, argv...)
		env = append(baseEnv(), "HIJACKD_SOCKET="+d.socket)
	}
	n := min(b.N, maxStarts)
	b.ResetTimer()
	for range n {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%q: %v\n%s", argv, err, out)
		}
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/run")
}

// BenchmarkProcesses measures, in one run: true started and run to its exit
// under hijack-exec and without; a static program's fork of a child that
// exits at once, and of one that executes true, under hijack-exec and
// without; and, both under hijack-exec, the fork with a rump file open,
// which gives the parent a rump process for the child to inherit, beside
// the fork with a host file open.
func BenchmarkProcesses(b *testing.B) {
	state := stateDir(b)
	d := startDaemon(b, "--state-dir", state)
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Skip("true not installed (Debian package coreutils)")
	}
	host := filepath.Join(b.TempDir(), "open")
	for _, path := range []string{host, filepath.Join(state, "root", "open")} {
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("start/plain", func(b *testing.B) { benchStarts(b, nil, truePath) })
	b.Run("start/hijacked", func(b *testing.B) { benchStarts(b, d, truePath) })
	forks := []struct {
		name string
		d    *daemon
		mode string
		args []string
	}{
		{"fork-exit/plain", nil, "fork", nil},
		{"fork-exit/hijacked", d, "fork", nil},
		{"fork-exec-exit/plain", nil, "forkexec", []string{truePath}},
		{"fork-exec-exit/hijacked", d, "forkexec", []string{truePath}},
		{"fork-exit-open/host", d, "fork", []string{host}},
		{"fork-exit-open/rump", d, "fork", []string{"/rump/open"}},
	}
	for _, c := range forks {
		b.Run(c.name, func(b *testing.B) { benchForks(b, c.d, c.mode, c.args...) })
	}
}

// benchNetecho runs a netecho client with args, directly or under
// hijack-exec, and returns what it printed: how many round trips or bytes,
// and the measurement.
func benchNetecho(b *testing.B, d *daemon, args ...string) (int, float64) {
	b.Helper()
	cmd := hijackedCommand(d, nil, append([]string{netechoProgram(b)}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%q: %v\n%s", cmd.Args, err, out)
	}
	fields := strings.Fields(string(out))
	if len(fields) != 3 {
		b.Fatalf("%q printed %q", cmd.Args, out)
	}
	n, nerr := strconv.Atoi(fields[1])
	v, verr := strconv.ParseFloat(fields[2], 64)
	if nerr != nil || verr != nil {
		b.Fatalf("%q printed %q", cmd.Args, out)
	}
	return n, v
}

// BenchmarkSockets measures, in one run, TCP between two programs on host
// loopback beside the same two programs hijacked, talking through the
// embedded rump kernel: a netecho serve and a netecho client, the cost of a
// one-byte round trip and the rate of sending 64 MiB in 64 KiB writes. At
// most maxRoundTrips round trips are timed, so that make bench's b.N of
// 100000 does not spend minutes in the rump kernel; the transfer moves
// 64 MiB whatever b.N is.
func BenchmarkSockets(b *testing.B) {
	const maxRoundTrips = 2000
	d := startDaemon(b)
	type servers struct{ echo, sink string }
	sides := map[string]*daemon{"host": nil, "rump": d}
	addrs := map[string]servers{}
	for name, side := range sides {
		_, tcp4, _, _, sink := netechoServers(b, side, nil)
		addrs[name] = servers{tcp4, sink}
	}

	for _, name := range []string{"host", "rump"} {
		b.Run("roundtrip/"+name, func(b *testing.B) {
			n := min(b.N, maxRoundTrips)
			_, ns := benchNetecho(b, sides[name], "ping", addrs[name].echo, strconv.Itoa(n))
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(ns, "ns/call")
		})
	}
	const size = 64 << 20
	for _, name := range []string{"host", "rump"} {
		b.Run("bulk-64MiB/"+name, func(b *testing.B) {
			moved, mbps := benchNetecho(b, sides[name], "bulk", addrs[name].sink, "64M", "64K")
			if moved != size {
				b.Fatalf("moved %d bytes, want %d", moved, size)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(mbps, "MB/s")
		})
	}
}
