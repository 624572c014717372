package rumpconn

import (
	"testing"

	"github.com/hijack-project/hijack/decision"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
)

// metricValue returns the value of the series of name with labels, or -1.
// A histogram's value is its sample count.
func metricValue(t *testing.T, g prometheus.Gatherer, name string,
	labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue series
				}
			}
			return value(m)
		}
	}
	return -1
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := NewMetrics(reg); err != nil || again.connections != m.connections {
		t.Errorf("a second NewMetrics on one registry: %v, shared %v", err,
			again != nil && again.connections == m.connections)
	}

	fs := newFakeServer(t)
	srv := fs.srv.String()
	p := NewPool(fs.srv, PoolOptions{Size: 2, Metrics: m})
	defer p.Close()
	eventually(t, "the pool is full", func() bool { return p.Ready() == 2 })

	c, err := p.Dial(testCtx(t), "a", Options{Metrics: m, Retry: decision.RetryOnce,
		Clock: newFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pool refills", func() bool { return p.Ready() == 2 })

	fs.kill()
	eventually(t, "the client sees the loss", c.lostLink)
	fs.start()
	if _, err := c.Syscall(testCtx(t), netbsd.SYS_GETPID); err != nil {
		t.Fatal(err)
	}
	// The reconnect went through the pool; wait until it is refilled.
	eventually(t, "the pool refills", func() bool { return p.Ready() == 2 })

	tests := []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"pooled connections are counted", "rump_connections",
			map[string]string{"server": srv, "state": "pooled"}, 2},
		{"the connection in use is active", "rump_connections",
			map[string]string{"server": srv, "state": "active"}, 1},
		{"the reconnect succeeded", "rump_reconnects_total",
			map[string]string{"server": srv, "result": "ok"}, 1},
		{"calls are timed by NetBSD name", "rump_call_seconds",
			map[string]string{"syscall": "getpid"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := metricValue(t, reg, tt.metric, tt.labels); got != tt.want {
				t.Errorf("%s%v = %v, want %v", tt.metric, tt.labels, got, tt.want)
			}
		})
	}

	c.Close()
	if got := metricValue(t, reg, "rump_connections",
		map[string]string{"server": srv, "state": "active"}); got != 0 {
		t.Errorf("active connections after Close = %v, want 0", got)
	}

	t.Run("the metrics pass promlint", func(t *testing.T) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	})
}

func TestNilMetricsRecordNothing(t *testing.T) {
	m, err := NewMetrics(nil)
	if m != nil || err != nil {
		t.Fatalf("NewMetrics(nil) = %v, %v; want nil, nil", m, err)
	}
	m.connectionAdd(Server{}, stateActive, 1)
	m.reconnect(Server{}, true)
	m.observeCall("getpid", 0)
}
