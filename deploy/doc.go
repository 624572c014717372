// Package deploy holds what installing hijackd takes besides its binaries,
// and no code: systemd units (systemd/), Prometheus scrape configuration and
// alerting rules (prometheus/), a Grafana dashboard (grafana/), and
// install.sh, which puts them and the binaries in place.
//
// Its tests check each file with the tool that consumes it, where that tool
// is installed: systemd-analyze verify and security for the units,
// systemd-sysusers for the group, promtool for the configuration and the
// rules, and a reading of the dashboard's queries against the metrics
// hijackd exports.
package deploy
