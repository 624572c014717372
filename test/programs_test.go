package test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// requireProgram skips the test when a program it runs is not installed.
func requireProgram(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s)", name, pkg)
	}
	return path
}

// staticBusybox returns a statically linked busybox, or skips.
func staticBusybox(t *testing.T) string {
	t.Helper()
	path := requireProgram(t, "busybox", "busybox-static")
	out, err := exec.Command("file", "-L", path).Output()
	if err == nil && !strings.Contains(string(out), "statically linked") {
		t.Skipf("%s is not statically linked (install busybox-static)", path)
	}
	return path
}

func TestProgramsBehaveAsWithoutHijacking(t *testing.T) {
	d := startDaemon(t)
	python := requireProgram(t, "python3", "python3")
	busybox := staticBusybox(t)
	programs := []struct {
		name string
		argv []string
	}{
		// /proc is left out: its link count is the number of
		// processes, which changes between any two runs.
		{"a dynamic program lists the root directory", []string{"ls", "-l", "-I", "proc", "/"}},
		{"python runs a script and exits with its status", []string{python, "-c",
			"import os, sys; print(sorted(os.listdir('/etc'))[:5]); " +
				"print(open('/etc/passwd').read().count(':')); sys.exit(3)"}},
		{"a static busybox shell runs a pipeline", []string{busybox, "sh", "-c",
			"echo start; ls /etc | wc -l; cat /nonexistent; exit 4"}},
		{"a static Go program reads files and exits with its status",
			[]string{filepath.Join(bin, "static"), "5", "x y"}},
		{"a multi-threaded Go program reads files from eight threads",
			[]string{filepath.Join(bin, "threads")}},
	}
	policies := []struct {
		name  string
		env   []string
		traps bool // whether the programs' calls reach hijackd
	}{
		{"default policy", nil, true},
		{"empty policy", []string{"RUMPHIJACK="}, false},
	}
	for _, p := range policies {
		for _, prog := range programs {
			t.Run(p.name+"/"+prog.name, func(t *testing.T) {
				env := append([]string{"HIJACK_TEST_VALUE=v"}, p.env...)
				want := run(t, nil, env, prog.argv...)
				sessions := d.metric(t, "hijack_registrations_total", "result=ok")
				decided := d.metric(t, "hijack_decisions_total", "decision=host")
				got := run(t, d, env, prog.argv...)
				if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
					t.Errorf("under hijack-exec (-plain +hijacked):\n%s", diff)
				}
				// The comparison means something only if the program
				// really ran under hijackd.
				if n := d.metric(t, "hijack_registrations_total", "result=ok"); n != sessions+1 {
					t.Errorf("hijackd registered %v sessions for one run", n-sessions)
				}
				n := d.metric(t, "hijack_decisions_total", "decision=host")
				if trapped := n > decided; trapped != p.traps {
					t.Errorf("calls reached hijackd: %v, want %v", trapped, p.traps)
				}
			})
		}
	}
}

func TestRumpCallsFailWithoutAServer(t *testing.T) {
	d := startDaemon(t, "--no-embedded")
	before := d.metric(t, "hijack_decisions_total", "syscall=openat", "decision=rump")
	got := run(t, d, []string{"RUMPHIJACK=path=/rump"}, "cat", "/rump/x")
	if got.code != 1 || !strings.Contains(got.stderr, "Transport endpoint is not connected") {
		t.Errorf("cat /rump/x: status %d, stderr %q; want 1 and ENOTCONN's message",
			got.code, got.stderr)
	}
	// hijackd counts a decision once its reply is out, which the program
	// can outrun.
	eventually(t, "openat/rump counted once", func() (bool, string) {
		after := d.metric(t, "hijack_decisions_total", "syscall=openat", "decision=rump")
		return after == before+1, fmt.Sprintf("went from %v to %v", before, after)
	})
	if n := strings.Count(d.log.String(), "rump server unavailable"); n != 1 {
		t.Errorf("hijackd logged the unavailable server %d times, want once", n)
	}

	// A path outside the prefix stays on the host.
	got = run(t, d, []string{"RUMPHIJACK=path=/rump"}, "cat", "/rumpfoo")
	if !strings.Contains(got.stderr, "No such file or directory") {
		t.Errorf("cat /rumpfoo: stderr %q, want the host's ENOENT", got.stderr)
	}
}

func TestHijackExecRefusesWhatItCannotDo(t *testing.T) {
	d := startDaemon(t)
	tests := []struct {
		name       string
		d          *daemon
		env        []string
		argv       []string
		wantCode   int
		wantStderr string
	}{
		{"an unknown socket family is named", d, []string{"RUMPHIJACK=socket=inet:bogus"},
			[]string{"true"}, 125, `"socket=inet:bogus": unknown socket family "bogus"`},
		{"an fdoff below 3 is named", d, []string{"RUMPHIJACK=fdoff=2"},
			[]string{"true"}, 125, `"fdoff=2"`},
		{"a relative path prefix is named", d, []string{"RUMPHIJACK=path=rump"},
			[]string{"true"}, 125, `"path=rump"`},
		{"a bad retry setting is named", d, []string{"RUMPHIJACK_RETRYCONNECT=sometimes"},
			[]string{"true"}, 125, "RUMPHIJACK_RETRYCONNECT"},
		{"a missing program exits 127", d, nil,
			[]string{"/nonexistent/program"}, 127, "no such file or directory"},
		{"a program not on PATH exits 127", d, nil,
			[]string{"no-such-program-anywhere"}, 127, "not found on PATH"},
		{"a file that cannot be executed exits 126", d, nil,
			[]string{"/etc/passwd"}, 126, "permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, tt.d, tt.env, tt.argv...)
			if got.code != tt.wantCode || !strings.Contains(got.stderr, tt.wantStderr) ||
				strings.Count(strings.TrimSpace(got.stderr), "\n") != 0 {
				t.Errorf("status %d, stderr %q; want %d and one line containing %q",
					got.code, got.stderr, tt.wantCode, tt.wantStderr)
			}
		})
	}

	t.Run("a stopped hijackd exits 125", func(t *testing.T) {
		stopped := startDaemon(t)
		stopped.stop(t)
		got := run(t, stopped, nil, "echo", "must not run")
		if got.code != 125 || got.stdout != "" || !strings.Contains(got.stderr, "hijackd") {
			t.Errorf("status %d, stdout %q, stderr %q; want 125, no output, a reason",
				got.code, got.stdout, got.stderr)
		}
	})
}

func TestTargetsKilledMidCallLeaveHijackdServing(t *testing.T) {
	d := startDaemon(t)
	for i := range 10 {
		cmd := exec.Command(filepath.Join(bin, "hijack-exec"), "sh", "-c",
			"while :; do cat /etc/hostname /rump/x >/dev/null 2>&1; done")
		cmd.Env = append(baseEnv(), "HIJACKD_SOCKET="+d.socket)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(50+20*i) * time.Millisecond)
		// Kill the whole loop, cat included, wherever it is.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
	eventually(t, "every killed session closed", func() (bool, string) {
		n := d.metric(t, "hijack_sessions")
		return n == 0, fmt.Sprintf("%v sessions", n)
	})
	if got := run(t, d, nil, "echo", "served"); got.stdout != "served\n" || got.code != 0 {
		t.Errorf("after the kills: %+v", got)
	}
}
