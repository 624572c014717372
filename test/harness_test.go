package test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// bin holds the binaries TestMain builds: hijackd, hijack-exec and the test
// programs.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hijack-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	code := func() int {
		defer os.RemoveAll(dir)
		if err := build(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

func build(dir string) error {
	builds := []struct {
		pkg string
		cgo bool
	}{
		{"../cmd/hijackd", true},
		{"../cmd/hijack-exec", false},
		{"../cmd/hijack-rumpserver", false},
		{"./progs/static", false},
		{"./progs/threads", false},
		{"./progs/syscallbench", false},
	}
	for _, b := range builds {
		args := []string{"build", "-o", dir}
		// HIJACK_TEST_RACE=1 builds hijackd with the race detector, so
		// that the end-to-end tests look for races in it.
		if b.cgo && os.Getenv("HIJACK_TEST_RACE") == "1" {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, b.pkg)...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b.cgo {
			cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return nil
}

// syncBuffer collects a daemon's log from its writer goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// daemon is a running hijackd.
type daemon struct {
	cmd     *exec.Cmd
	socket  string
	metrics string // base URL of the metrics server
	log     *syncBuffer
	done    chan struct{}
}

// startDaemon starts hijackd on a temporary socket and a free loopback port
// and waits until both answer. It is stopped when the test ends.
func startDaemon(t testing.TB, args ...string) *daemon {
	t.Helper()
	d := &daemon{
		socket: filepath.Join(t.TempDir(), "control.sock"),
		log:    &syncBuffer{},
		done:   make(chan struct{}),
	}
	addr := freePort(t)
	d.metrics = "http://" + addr
	args = append([]string{"--socket", d.socket, "--metrics-addr", addr,
		"--state-dir", stateDir(t)}, args...)
	d.cmd = exec.Command(filepath.Join(bin, "hijackd"), args...)
	d.cmd.Stderr = d.log
	// A child that keeps hijackd's stderr open must not keep Wait waiting.
	d.cmd.WaitDelay = 5 * time.Second
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start hijackd: %v", err)
	}
	go func() {
		d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.stop(t)
		if strings.Contains(d.log.String(), "WARNING: DATA RACE") {
			t.Errorf("the race detector found a race in hijackd")
		}
		if t.Failed() {
			t.Logf("hijackd log:\n%s", d.log)
		}
	})

	deadline := time.Now().Add(10 * time.Second)
	for {
		_, serr := os.Stat(d.socket)
		resp, herr := httpClient.Get(d.metrics + "/metrics")
		if herr == nil {
			resp.Body.Close()
		}
		if serr == nil && herr == nil {
			return d
		}
		select {
		case <-d.done:
			t.Fatalf("hijackd exited at start: %v\n%s", d.cmd.ProcessState, d.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("hijackd not ready after 10 s (socket: %v, metrics: %v)\n%s",
				serr, herr, d.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends hijackd with SIGTERM and waits for it.
func (d *daemon) stop(t testing.TB) {
	t.Helper()
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		t.Errorf("hijackd did not stop within 10 s of SIGTERM")
	}
}

// stateDir returns a state directory for hijackd's embedded kernel. When the
// test runs as root, the kernel serves as nobody, who must be able to reach
// and write its root, which t.TempDir's mode 0700 parents do not allow.
func stateDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hijackd-state-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// result is what a program did.
type result struct {
	stdout, stderr string
	code           int
}

// run runs argv with env added to the test's environment, directly or, with
// a daemon, under hijack-exec.
func run(t *testing.T, d *daemon, env []string, argv ...string) result {
	t.Helper()
	if d != nil {
		argv = append([]string{filepath.Join(bin, "hijack-exec")}, argv...)
		env = append([]string{"HIJACKD_SOCKET=" + d.socket}, env...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(baseEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %q: %v", argv, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// baseEnv is the test's environment without the variables that choose what
// a hijacked program gets: a test names them when it wants them, and the
// RUMP_SERVER that points tests at a real server must not leak into the
// tests of the embedded kernel.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "RUMP_SERVER", "RUMPHIJACK", "RUMPHIJACK_RETRYCONNECT", "HIJACKD_SOCKET":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// httpClient does not keep connections, so that a scrape leaves no server
// goroutine behind in hijackd.
var httpClient = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

// scrape returns hijackd's /metrics text.
func (d *daemon) scrape(t *testing.T) string {
	t.Helper()
	resp, err := httpClient.Get(d.metrics + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return b.String()
}

// metric returns the value of the sample of family name whose labels include
// labels ("k=v" pairs), or 0 when there is none.
func (d *daemon) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(d.scrape(t)))
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	f, ok := families[name]
	if !ok {
		return 0
	}
	var sum float64
	for _, m := range f.Metric {
		if hasLabels(m, labels) {
			sum += value(m)
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		found := false
		for _, lp := range m.Label {
			if lp.GetName() == k && lp.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

// eventually polls cond until it holds or ten seconds pass, for state that
// hijackd updates after a program has exited.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after 10 s: %s", what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
