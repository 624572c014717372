package test

import (
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
