// Package metrics owns hijackd's Prometheus collectors and the /metrics
// handler. Labels are bounded: system call names from the trap table,
// decisions, results, server URLs; never pids or paths.
package metrics

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Version is the release hijackd reports; set at link time with
// -ldflags "-X github.com/hijack-project/hijack/metrics.Version=...".
var Version = "devel"

// Metrics holds every collector hijackd updates.
type Metrics struct {
	registry *prometheus.Registry

	// Decisions counts trapped calls by system call and decision (host,
	// rump, refused) and by "withdrawn" for calls whose target was
	// interrupted or died before a decision was answered.
	Decisions *prometheus.CounterVec
	// Notification times a notification from its receipt to its reply.
	Notification prometheus.Histogram
	// Sessions is the number of live sessions (one per hijack-exec).
	Sessions prometheus.Gauge
	// Processes is the number of live target processes hijackd knows of.
	Processes prometheus.Gauge
	// Registrations counts control connections by result: "ok", or the
	// reason they were refused.
	Registrations *prometheus.CounterVec

	decisionCache sync.Map // decisionKey → prometheus.Counter
}

// New creates the collectors, registered on a registry of their own together
// with the Go runtime and process collectors and hijack_build_info.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		Decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hijack_decisions_total",
			Help: "Trapped system calls by system call name and decision " +
				"(host, rump, refused, withdrawn).",
		}, []string{"syscall", "decision"}),
		Notification: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hijack_notification_seconds",
			Help: "Time from receiving a seccomp notification to answering it.",
			// 1 µs to about 1 s: a continued call takes a few
			// microseconds, a blocking rump call as long as it blocks.
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 11),
		}),
		Sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hijack_sessions",
			Help: "Live sessions: process trees started by one hijack-exec each.",
		}),
		Processes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hijack_processes",
			Help: "Live target processes that made a trapped call, in all sessions.",
		}),
		Registrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hijack_registrations_total",
			Help: "Control connections by result: ok, or why the registration was refused.",
		}, []string{"result"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hijack_build_info",
		Help: "Always 1; the labels name the hijackd build.",
		ConstLabels: prometheus.Labels{
			"version":   Version,
			"goversion": runtime.Version(),
			"revision":  revision(),
		},
	})
	build.Set(1)
	m.registry.MustRegister(m.Decisions, m.Notification, m.Sessions, m.Processes,
		m.Registrations, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func revision() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// Registry returns the registry the collectors are registered on, for
// packages that add collectors of their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

type decisionKey struct{ syscall, decision string }

// Decision returns the counter of hijack_decisions_total for one system call
// and decision. Counters are cached, since the receivers count every
// notification and resolving label values each time costs more than the
// rest of a continued call's bookkeeping.
func (m *Metrics) Decision(syscall, decision string) prometheus.Counter {
	k := decisionKey{syscall, decision}
	if c, ok := m.decisionCache.Load(k); ok {
		return c.(prometheus.Counter)
	}
	c, _ := m.decisionCache.LoadOrStore(k, m.Decisions.WithLabelValues(syscall, decision))
	return c.(prometheus.Counter)
}
