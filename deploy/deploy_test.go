package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hijack-project/hijack/control"
)

const (
	serviceFile  = "systemd/hijackd.service"
	socketFile   = "systemd/hijackd.socket"
	sysusersFile = "systemd/hijack.conf"

	// execStart is the binary hijackd.service runs and install.sh installs
	// by default.
	execStart = "/usr/local/bin/hijackd"

	// maxExposure bounds systemd-analyze security's exposure score of
	// hijackd.service, so that loosening its sandbox is a decision made in
	// this file rather than an accident.
	maxExposure = 4.0
)

// tool returns the path of a command the test needs, or skips the test
// saying which package provides it.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (Debian package %s): %v", name, pkg, err)
	}
	return path
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// unitValues returns the values of key in a unit file, in order.
func unitValues(unit, key string) []string {
	var values []string
	for _, line := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			values = append(values, v)
		}
	}
	return values
}

func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze := tool(t, "systemd-analyze", "systemd")
	tests := []struct {
		name string
		// edit changes the service before it is verified.
		edit func(service, stub string) string
		// wantClean is whether verify must succeed without a word.
		wantClean bool
	}{
		{"hijackd.socket and hijackd.service verify without a word",
			withStub, true},
		// The two controls show that the check is not vacuous: systemd
		// only warns about the first, and the stub is what keeps the second
		// from failing.
		{"a unit with an unknown key does not pass",
			func(s, stub string) string {
				return strings.Replace(withStub(s, stub), "[Service]\n",
					"[Service]\nRestartForever=yes\n", 1)
			}, false},
		{"a unit whose binary is missing does not pass",
			func(s, _ string) string { return s }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stub := filepath.Join(dir, "hijackd")
			write(t, stub, "#!/bin/sh\nexit 0\n", 0o755)
			write(t, filepath.Join(dir, "hijackd.socket"), read(t, socketFile), 0o644)
			write(t, filepath.Join(dir, "hijackd.service"),
				tt.edit(read(t, serviceFile), stub), 0o644)

			cmd := exec.Command(analyze, "verify", "hijackd.socket", "hijackd.service")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()

			clean := err == nil && len(out) == 0
			if clean != tt.wantClean {
				t.Errorf("systemd-analyze verify: %v, output:\n%s\nwant clean: %v",
					err, out, tt.wantClean)
			}
		})
	}
}

// withStub makes the service run stub instead of the installed hijackd,
// which systemd-analyze verify would report missing. Nothing else changes,
// so line numbers in its messages stay those of the real file.
func withStub(service, stub string) string {
	return strings.Replace(service, "\nExecStart="+execStart, "\nExecStart="+stub, 1)
}

func TestSystemdAnalyzeSecurity(t *testing.T) {
	analyze := tool(t, "systemd-analyze", "systemd")

	out, err := exec.Command(analyze, "security", "--offline=yes", "--no-pager",
		serviceFile).CombinedOutput()
	t.Logf("systemd-analyze security --offline=yes %s:\n%s", serviceFile, out)
	if err != nil {
		t.Fatalf("systemd-analyze security: %v", err)
	}

	m := regexp.MustCompile(`Overall exposure level for hijackd\.service: ([0-9.]+) (\S+)`).
		FindSubmatch(out)
	if m == nil {
		t.Fatal("no overall exposure level in the output")
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exposure %.1f (%s)", score, m[2])
	if score > maxExposure {
		t.Errorf("exposure %.1f is above %.1f: a sandboxing option was lost", score, maxExposure)
	}
}

func TestTheUnitsAgreeWithTheRestOfHijack(t *testing.T) {
	service, socket, sysusers := read(t, serviceFile), read(t, socketFile), read(t, sysusersFile)
	group := ""
	if f := strings.Fields(lastLine(sysusers)); len(f) >= 2 && f[0] == "g" {
		group = f[1]
	}
	tests := []struct {
		name      string
		got, want []string
	}{
		{"the socket listens where hijack-exec connects by default",
			unitValues(socket, "ListenSequentialPacket"), []string{control.DefaultSocket}},
		{"the socket belongs to the group hijack.conf creates",
			unitValues(socket, "SocketGroup"), []string{group}},
		{"the service runs the binary install.sh installs",
			unitValues(service, "ExecStart"), []string{execStart}},
		{"the service takes the socket unit's descriptor",
			unitValues(service, "Requires"), []string{"hijackd.socket"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestSysusersCreatesTheGroup(t *testing.T) {
	sysusers := tool(t, "systemd-sysusers", "systemd")

	// An absolute path, which --root does not prefix.
	conf, err := filepath.Abs(sysusersFile)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sysusers, "--root="+t.TempDir(), "--dry-run", conf).CombinedOutput()

	if err != nil || !strings.Contains(string(out), "Creating group 'hijack'") {
		t.Errorf("systemd-sysusers --dry-run %s: %v, output:\n%s\nwant the group hijack "+
			"created", sysusersFile, err, out)
	}
}

func TestInstallScript(t *testing.T) {
	tests := []struct {
		name     string
		prefix   string   // "" for the default
		binaries []string // what bin/ holds
		wantErr  string
		// want maps installed paths, under DESTDIR, to their modes.
		want          map[string]os.FileMode
		wantExecStart string
	}{
		{name: "installs binaries, units and the group into /usr/local",
			binaries: []string{"hijackd", "hijack-exec"},
			want: map[string]os.FileMode{
				"/usr/local/bin/hijackd":                            0o755,
				"/usr/local/bin/hijack-exec":                        0o755,
				"/usr/local/lib/systemd/system/hijackd.service":     0o644,
				"/usr/local/lib/systemd/system/hijackd.socket":      0o644,
				"/usr/local/lib/sysusers.d/hijack.conf":             0o644,
				"/usr/local/share/hijack/prometheus/prometheus.yml": 0o644,
				"/usr/local/share/hijack/prometheus/alerts.yml":     0o644,
				"/usr/local/share/hijack/grafana/hijack.json":       0o644,
			},
			wantExecStart: execStart},
		{name: "makes ExecStart follow PREFIX", prefix: "/opt/hijack",
			binaries: []string{"hijackd", "hijack-exec"},
			want: map[string]os.FileMode{
				"/opt/hijack/bin/hijackd":                        0o755,
				"/opt/hijack/lib/systemd/system/hijackd.service": 0o644,
			},
			wantExecStart: "/opt/hijack/bin/hijackd"},
		{name: "installs hijack-rumpserver when it is built",
			binaries: []string{"hijackd", "hijack-exec", "hijack-rumpserver"},
			want: map[string]os.FileMode{
				"/usr/local/bin/hijack-rumpserver": 0o755,
			},
			wantExecStart: execStart},
		{name: "refuses to install without the binaries",
			binaries: []string{"hijack-exec"}, wantErr: "run make build first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin, dest := t.TempDir(), t.TempDir()
			for _, b := range tt.binaries {
				write(t, filepath.Join(bin, b), "#!/bin/sh\n", 0o755)
			}
			cmd := exec.Command("./install.sh")
			cmd.Env = append(os.Environ(), "DESTDIR="+dest, "BIN="+bin, "PREFIX="+tt.prefix)

			out, err := cmd.CombinedOutput()

			if tt.wantErr != "" {
				if err == nil || !strings.Contains(string(out), tt.wantErr) {
					t.Errorf("install.sh: %v, output:\n%s\nwant a failure saying %q",
						err, out, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("install.sh: %v, output:\n%s", err, out)
			}
			for path, mode := range tt.want {
				fi, err := os.Stat(filepath.Join(dest, path))
				if err != nil {
					t.Errorf("not installed: %v", err)
					continue
				}
				if fi.Mode().Perm() != mode {
					t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), mode)
				}
			}
			prefix := tt.prefix
			if prefix == "" {
				prefix = "/usr/local"
			}
			installed := read(t, filepath.Join(dest, prefix, "lib/systemd/system/hijackd.service"))
			if got := unitValues(installed, "ExecStart"); !slices.Equal(got,
				[]string{tt.wantExecStart}) {
				t.Errorf("installed ExecStart %q, want %q", got, tt.wantExecStart)
			}
		})
	}
}

func TestPromtool(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	tests := []struct {
		name string
		args []string
	}{
		{"the scrape configuration and the rule file it names are valid",
			[]string{"check", "config", "prometheus.yml"}},
		{"the alerting rules are valid", []string{"check", "rules", "alerts.yml"}},
		{"every alert fires when it should and only then",
			[]string{"test", "rules", "alerts_test.yml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(promtool, tt.args...)
			cmd.Dir = "prometheus"
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("promtool %s: %v\n%s", strings.Join(tt.args, " "), err, out)
			}
		})
	}
}

func TestTheScrapeTargetIsHijackdsMetricsAddress(t *testing.T) {
	m := regexp.MustCompile(`DefaultMetricsAddr = "([^"]+)"`).
		FindStringSubmatch(read(t, "../cmd/hijackd/main.go"))
	if m == nil {
		t.Fatal("no DefaultMetricsAddr in cmd/hijackd/main.go")
	}
	if want := fmt.Sprintf("targets: ['%s']", m[1]); !strings.Contains(
		read(t, "prometheus/prometheus.yml"), want) {
		t.Errorf("prometheus.yml does not scrape hijackd's default address: no %q", want)
	}
}
