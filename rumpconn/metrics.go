package rumpconn

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Connection states, the values of the state label of rump_connections.
const (
	statePooled = "pooled" // dialled, banner read, waiting in a Pool
	stateActive = "active" // handshaken, serving a target
)

// Metrics are the rump connection metrics. Every label is bounded: server is
// a configured Server's URL and syscall a NetBSD system call name. A nil
// *Metrics records nothing.
type Metrics struct {
	connections *prometheus.GaugeVec
	reconnects  *prometheus.CounterVec
	callSeconds *prometheus.HistogramVec
}

// NewMetrics creates the metrics and registers them with reg. With a nil reg
// it returns nil, which records nothing. Metrics already registered by an
// earlier NewMetrics on reg are shared rather than refused; any other
// registration error is returned.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &Metrics{
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rump_connections",
			Help: "Connections to rump kernel servers, by server and state " +
				"(pooled: dialled and waiting in the pool; active: serving a target).",
		}, []string{"server", "state"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rump_reconnects_total",
			Help: "Attempts to reconnect to a lost rump kernel server, by server and " +
				"result (ok, failed).",
		}, []string{"server", "result"}),
		callSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rump_call_seconds",
			Help: "Time from sending a system call to a rump kernel to its result, " +
				"reconnects and replays included, by NetBSD system call name.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 4, 10),
		}, []string{"syscall"}),
	}
	var err error
	if m.connections, err = register(reg, m.connections); err != nil {
		return nil, err
	}
	if m.reconnects, err = register(reg, m.reconnects); err != nil {
		return nil, err
	}
	if m.callSeconds, err = register(reg, m.callSeconds); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the equal collector already registered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

func (m *Metrics) connectionAdd(srv Server, state string, delta float64) {
	if m == nil {
		return
	}
	m.connections.WithLabelValues(srv.String(), state).Add(delta)
}

func (m *Metrics) reconnect(srv Server, ok bool) {
	if m == nil {
		return
	}
	result := "failed"
	if ok {
		result = "ok"
	}
	m.reconnects.WithLabelValues(srv.String(), result).Inc()
}

func (m *Metrics) observeCall(name string, d time.Duration) {
	if m == nil {
		return
	}
	m.callSeconds.WithLabelValues(name).Observe(d.Seconds())
}
