#!/bin/sh
# Installs hijack: the binaries built into bin/ by `make build`, the systemd
# units, the sysusers.d entry for the group hijack, and for reference the
# Prometheus and Grafana files.
#
#   deploy/install.sh                       # into /usr/local
#   PREFIX=/opt/hijack deploy/install.sh    # elsewhere; ExecStart follows
#   DESTDIR=/tmp/pkg deploy/install.sh      # staged, for packaging
#
# Variables: PREFIX (default /usr/local), DESTDIR (default empty), BIN (the
# built binaries, default bin/ of this tree), UNITDIR (default
# $PREFIX/lib/systemd/system, which systemd searches), SYSUSERSDIR (default
# $PREFIX/lib/sysusers.d, which systemd-sysusers searches).
#
# Installing into the live system (no DESTDIR) also creates the group and
# reloads systemd when systemd is running; enabling the units is left to the
# administrator, and printed at the end.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BIN=${BIN:-$here/../bin}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
SYSUSERSDIR=${SYSUSERSDIR:-$PREFIX/lib/sysusers.d}
SHAREDIR=$PREFIX/share/hijack

for prog in hijackd hijack-exec; do
	if [ ! -x "$BIN/$prog" ]; then
		echo "install.sh: $BIN/$prog is missing; run make build first" >&2
		exit 1
	fi
done

install -d "$DESTDIR$PREFIX/bin"
install -m 0755 "$BIN/hijackd" "$BIN/hijack-exec" "$DESTDIR$PREFIX/bin/"
# The embedded rump server's command, once it is built.
if [ -x "$BIN/hijack-rumpserver" ]; then
	install -m 0755 "$BIN/hijack-rumpserver" "$DESTDIR$PREFIX/bin/"
fi

# The unit names the binary by its installed path, which PREFIX decides.
install -d "$DESTDIR$UNITDIR"
sed "s|^ExecStart=/usr/local/bin/hijackd|ExecStart=$PREFIX/bin/hijackd|" \
	"$here/systemd/hijackd.service" >"$DESTDIR$UNITDIR/hijackd.service"
chmod 0644 "$DESTDIR$UNITDIR/hijackd.service"
install -m 0644 "$here/systemd/hijackd.socket" "$DESTDIR$UNITDIR/"

install -d "$DESTDIR$SYSUSERSDIR"
install -m 0644 "$here/systemd/hijack.conf" "$DESTDIR$SYSUSERSDIR/"

install -d "$DESTDIR$SHAREDIR/prometheus" "$DESTDIR$SHAREDIR/grafana"
install -m 0644 "$here/prometheus/prometheus.yml" "$here/prometheus/alerts.yml" \
	"$DESTDIR$SHAREDIR/prometheus/"
install -m 0644 "$here/grafana/hijack.json" "$DESTDIR$SHAREDIR/grafana/"

if [ -z "$DESTDIR" ]; then
	if command -v systemd-sysusers >/dev/null; then
		systemd-sysusers "$SYSUSERSDIR/hijack.conf"
	fi
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload
	fi
fi

cat <<EOF
installed hijack into $DESTDIR$PREFIX
to start it:     systemctl enable --now hijackd.socket hijackd.service
to let USER in:  usermod -aG hijack USER   (members may hijack programs)
Prometheus and Grafana files: $SHAREDIR
EOF
