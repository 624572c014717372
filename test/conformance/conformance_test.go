package conformance

import (
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hijack-project/hijack/rumpconn"
)

// sortStrings makes cmp compare string slices as sets.
var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// TestConformance runs the suite against the embedded server and against the
// server RUMP_SERVER names, expecting the same results from both.
func TestConformance(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		suite(t, func(t *testing.T) rumpconn.Server { return embedded(t) })
	})
	t.Run("RUMP_SERVER", func(t *testing.T) {
		srv := serverFromEnv(t)
		suite(t, func(*testing.T) rumpconn.Server { return srv })
	})
}

// suite runs every conformance case against the server target returns. The
// cases are client-level: they make NetBSD calls through rumpconn and assert
// NetBSD return values and errno values. target is called once per case, so
// that it may start a server of the case's own.
func suite(t *testing.T, target func(t *testing.T) rumpconn.Server) {
	cases := []struct {
		name string
		run  func(t *testing.T, srv rumpconn.Server)
	}{
		{"a file is created written read listed renamed and unlinked", testFileLifecycle},
		{"mkdir makes a directory that rmdir removes", testMkdirRmdir},
		{"failing path calls give NetBSD errno values", testPathErrors},
		{"a new process has the console on descriptors 0 to 2", testConsole},
		{"failing descriptor calls give NetBSD errno values", testDescriptorErrors},
		{"mknod makes regular files and mkfifoat FIFOs", testMknod},
		{"one process's locks keep another out", testLocks},
		{"posix_fallocate reports in its return value", testFallocate},
		{"two processes talk TCP over 127.0.0.1", testLoopbackTCP},
		{"failing socket calls give NetBSD errno values", testSocketErrors},
		{"each connection is a process with a pid of its own", testGetpid},
		{"a fork child has its parent's descriptors and a pid of its own", testFork},
		{"exec keeps the descriptors that are not close-on-exec", testExec},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, target(t)) })
	}
}
