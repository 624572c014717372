package test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	// Connections the pool keeps ready for the next session are hijackd's
	// own, refilled in the background: they are not counted.
	state := func() (fds, goroutines float64) {
		pooled := d.metric(t, "rump_connections", "state=pooled")
		return d.metric(t, "process_open_fds") - pooled, d.metric(t, "go_goroutines")
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

func TestPrometheusScrapesDecisions(t *testing.T) {
	promBin := requireProgram(t, "prometheus", "prometheus")
	d := startDaemon(t)
	run(t, d, []string{"RUMPHIJACK=path=/rump"}, "cat", "/etc/hostname", "/rump/nothing")

	dir := t.TempDir()
	target := strings.TrimPrefix(d.metrics, "http://")
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: hijackd
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	web := freePort(t)
	prom := exec.Command(promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+web)
	var log syncBuffer
	prom.Stdout, prom.Stderr = &log, &log
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		prom.Process.Kill()
		prom.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})

	query := url.Values{"query": {`hijack_decisions_total{job="hijackd",syscall="openat",` +
		`decision="rump"}`}}
	var last string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := httpClient.Get("http://" + web + "/api/v1/query?" + query.Encode())
		if err == nil {
			var body struct {
				Status string
				Data   struct {
					Result []struct {
						Value []any
					}
				}
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err == nil && body.Status == "success" && len(body.Data.Result) == 1 &&
				len(body.Data.Result[0].Value) == 2 && body.Data.Result[0].Value[1] == "1" {
				return
			}
			last = fmt.Sprintf("%+v %v", body, err)
		} else {
			last = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("Prometheus never reported the program's rump openat: %s", last)
}
