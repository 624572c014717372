package deploy

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const dashboardFile = "grafana/hijack.json"

// exported are the metric names hijackd exports that the dashboard may
// query, with the series of their histograms.
var exported = []string{
	"hijack_decisions_total",
	"hijack_notification_seconds", "hijack_notification_seconds_bucket",
	"hijack_notification_seconds_sum", "hijack_notification_seconds_count",
	"hijack_sessions",
	"hijack_processes",
	"hijack_registrations_total",
	"hijack_build_info",
	"rump_connections",
	"rump_reconnects_total",
	"rump_call_seconds", "rump_call_seconds_bucket",
	"rump_call_seconds_sum", "rump_call_seconds_count",
	"up",
}

// dashboard is the part of Grafana's dashboard model the tests read.
type dashboard struct {
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	Targets    []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a row
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal([]byte(read(t, dashboardFile)), &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// allPanels returns the dashboard's panels with those inside rows, rows
// left out.
func (d dashboard) allPanels() []panel {
	var all []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type != "row" {
				all = append(all, p)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return all
}

// query is one query of the dashboard, and where it is.
type query struct {
	where, expr string
}

// queries returns every query of the dashboard, in panel order.
func (d dashboard) queries() []query {
	var qs []query
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			qs = append(qs, query{fmt.Sprintf("panel %d %q query %s", p.ID, p.Title, tg.RefID),
				tg.Expr})
		}
	}
	return qs
}

func TestDashboardPanels(t *testing.T) {
	d := loadDashboard(t)
	ids := map[int]bool{}

	for _, p := range d.allPanels() {
		t.Run(fmt.Sprintf("panel %d %q queries the chosen data source", p.ID, p.Title),
			func(t *testing.T) {
				if ids[p.ID] {
					t.Errorf("panel id %d is used twice", p.ID)
				}
				ids[p.ID] = true
				want := &datasource{Type: "prometheus", UID: "${datasource}"}
				if diff := cmp.Diff(want, p.Datasource); diff != "" {
					t.Errorf("datasource (-want +got):\n%s", diff)
				}
				if len(p.Targets) == 0 {
					t.Error("the panel has no query")
				}
				for _, tg := range p.Targets {
					if tg.Expr == "" || tg.RefID == "" {
						t.Errorf("query %+v lacks an expression or a refId", tg)
					}
				}
			})
	}
}

func TestDashboardVariables(t *testing.T) {
	d := loadDashboard(t)
	// Data sources as objects with uids, which the panels use, came with
	// schema version 36.
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d, want 36 or later", d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q.Query); err != nil {
			if err := json.Unmarshal(v.Query, &q); err != nil {
				t.Fatalf("variable %s: query %s: %v", v.Name, v.Query, err)
			}
		}
		vars[v.Name] = v.Type + " " + q.Query
	}

	want := map[string]string{
		"datasource": "datasource prometheus",
		"instance":   `query label_values(up{job="hijackd"}, instance)`,
	}
	if diff := cmp.Diff(want, vars); diff != "" {
		t.Errorf("variables (-want +got):\n%s", diff)
	}
}

func TestDashboardQueriesOnlyExportedMetrics(t *testing.T) {
	for _, q := range loadDashboard(t).queries() {
		t.Run(q.where+" names only exported metrics", func(t *testing.T) {
			expr := q.expr
			names := metricNames(expr)
			if len(names) == 0 {
				t.Errorf("no metric found in %q", expr)
			}
			for _, name := range names {
				if !slices.Contains(exported, name) {
					t.Errorf("%q queries %s, which hijackd does not export", expr, name)
				}
			}
		})
	}
}

func TestDashboardShows(t *testing.T) {
	queries := loadDashboard(t).queries()
	tests := []struct {
		name string
		want []string // substrings of one query
	}{
		{"decisions by system call and decision",
			[]string{"sum by (syscall, decision)", "rate(hijack_decisions_total"}},
		{"the median notification latency",
			[]string{"histogram_quantile(0.5,", "hijack_notification_seconds_bucket"}},
		{"the 90th percentile of notification latency",
			[]string{"histogram_quantile(0.9,", "hijack_notification_seconds_bucket"}},
		{"the 99th percentile of notification latency",
			[]string{"histogram_quantile(0.99,", "hijack_notification_seconds_bucket"}},
		{"sessions", []string{"hijack_sessions"}},
		{"processes", []string{"hijack_processes"}},
		{"rump connections by state", []string{"by (server, state)", "rump_connections"}},
		{"reconnects", []string{"rate(rump_reconnects_total"}},
		{"rump call latency",
			[]string{"histogram_quantile(0.99,", "rump_call_seconds_bucket"}},
	}
	for _, tt := range tests {
		t.Run("the dashboard shows "+tt.name, func(t *testing.T) {
			for _, q := range queries {
				if containsAll(q.expr, tt.want) {
					return
				}
			}
			t.Errorf("no query contains all of %q", tt.want)
		})
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestDashboardQueriesParse hands every query, with Grafana's variables
// replaced, to promtool as a recording rule, which Prometheus's own parser
// then checks.
func TestDashboardQueriesParse(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	grafanaVars := strings.NewReplacer("$__rate_interval", "1m", "$instance", ".*")

	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	var where []string
	for _, q := range loadDashboard(t).queries() {
		// JSON strings are YAML strings.
		quoted, _ := json.Marshal(grafanaVars.Replace(q.expr))
		fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n",
			len(where), quoted)
		where = append(where, q.where)
	}
	path := filepath.Join(t.TempDir(), "dashboard.yml")
	write(t, path, rules.String(), 0o644)

	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s\nqueries, in order: %q", err, out, where)
	}
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want []string
	}{
		{"finds a bare selector", `up{job="hijackd"} == 0`, []string{"up"}},
		{"skips functions, aggregations and grouping labels",
			`histogram_quantile(0.99, sum by (le, syscall) (rate(m_bucket[$__rate_interval])))`,
			[]string{"m_bucket"}},
		{"skips label names and values, braces inside values included",
			`rate(x_total{instance=~"$instance", a="}b"}[5m])`, []string{"x_total"}},
		{"finds both sides of a binary operation with matching",
			`a / on (instance) group_left (version) b`, []string{"a", "b"}},
		{"skips numbers, durations and set operators",
			`1e-3 * y offset 5m and z unless 0.5`, []string{"y", "z"}},
		{"skips the string argument of count_values",
			`count_values("version", hijack_build_info)`, []string{"hijack_build_info"}},
		{"finds a metric that uses a colon", `job:rate5m`, []string{"job:rate5m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, metricNames(tt.expr)); diff != "" {
				t.Errorf("metricNames(%q) (-want +got):\n%s", tt.expr, diff)
			}
		})
	}
}

// promqlWords are PromQL's keywords and aggregation operators: identifiers
// that are not metric names even when no parenthesis follows them.
var promqlWords = []string{
	"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
	"group_right", "bool", "offset", "inf", "nan", "atan2",
	"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
	"count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}

// groupingWords are followed by a list of label names in parentheses.
var groupingWords = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}

var identifier = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*`)

// metricNames returns the metric names in a PromQL expression, in order: a
// reading good enough for the dashboard's queries, not a parser. It skips
// strings, label matchers, ranges, numbers, keywords, label lists after
// by/on/..., and identifiers followed by a parenthesis (functions).
func metricNames(expr string) []string {
	var names []string
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(expr, i)
		case c == '{':
			i = skipUntil(expr, i, '}')
		case c == '[':
			i = skipUntil(expr, i, ']')
		case c >= '0' && c <= '9' || c == '.':
			i++
			for i < len(expr) && (isWordByte(expr[i]) || expr[i] == '.' ||
				(expr[i] == '-' || expr[i] == '+') && (expr[i-1] == 'e' || expr[i-1] == 'E')) {
				i++
			}
		case identifier.MatchString(expr[i:]):
			word := identifier.FindString(expr[i:])
			i += len(word)
			next := strings.TrimLeft(expr[i:], " \t\n")
			switch {
			case slices.Contains(groupingWords, word) && strings.HasPrefix(next, "("):
				i = skipUntil(expr, i+len(expr[i:])-len(next), ')')
			case slices.Contains(promqlWords, word), strings.HasPrefix(next, "("):
			default:
				names = append(names, word)
			}
		default:
			i++
		}
	}
	return names
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// skipString returns the index after the string literal starting at i.
func skipString(s string, i int) int {
	quote := s[i]
	for i++; i < len(s); i++ {
		if s[i] == '\\' && quote != '`' {
			i++
			continue
		}
		if s[i] == quote {
			return i + 1
		}
	}
	return len(s)
}

// skipUntil returns the index after the first end at or after i that is not
// inside a string literal.
func skipUntil(s string, i int, end byte) int {
	for i < len(s) {
		switch {
		case s[i] == '"' || s[i] == '\'' || s[i] == '`':
			i = skipString(s, i)
		case s[i] == end:
			return i + 1
		default:
			i++
		}
	}
	return len(s)
}
