package test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

func TestMetricsPassPromtool(t *testing.T) {
	promtool := requireProgram(t, "promtool", "prometheus")
	d := startDaemon(t)
	run(t, d, []string{"RUMPHIJACK=path=/rump"}, "cat", "/etc/hostname", "/rump/x")

	scrape := d.scrape(t)
	for _, name := range []string{"hijack_decisions_total", "hijack_notification_seconds",
		"hijack_sessions", "hijack_build_info", "hijack_registrations_total"} {
		if !strings.Contains(scrape, "# HELP "+name+" ") {
			t.Errorf("/metrics has no %s with a help text", name)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(scrape)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestSessionsLeaveNothingBehind(t *testing.T) {
	d := startDaemon(t)
	// One session first, so that what the first one starts once (the
	// metrics handler's state, runtime threads) is in the baseline.
	run(t, d, nil, "true")
	state := func() (fds, goroutines float64) {
		return d.metric(t, "process_open_fds"), d.metric(t, "go_goroutines")
	}
	settled := func(what string) (float64, float64) {
		var fds, gs float64
		eventually(t, what, func() (bool, string) {
			fds, gs = state()
			return d.metric(t, "hijack_sessions") == 0, "sessions still open"
		})
		return fds, gs
	}
	baseFDs, baseGs := settled("the first session closed")

	const sessions = 200
	for i := range sessions {
		if got := run(t, d, nil, "cat", "/etc/hostname"); got.code != 0 {
			t.Fatalf("session %d: %+v", i, got)
		}
	}
	eventually(t, "descriptors and goroutines back at their starting count",
		func() (bool, string) {
			fds, gs := state()
			return fds == baseFDs && gs == baseGs && d.metric(t, "hijack_sessions") == 0,
				fmt.Sprintf("%v descriptors (started with %v), %v goroutines (started "+
					"with %v)", fds, baseFDs, gs, baseGs)
		})
	if n := d.metric(t, "hijack_registrations_total", "result=ok"); n != sessions+1 {
		t.Errorf("%v registrations, want %d", n, sessions+1)
	}
}
