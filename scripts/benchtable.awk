# Turns `go test -bench` output into a table of ratios: each row sets a case
# beside its baseline from the same run. The ratio is how many times the
# baseline's cost the case costs, per call or per byte, so above 1 is slower.

# value returns the number before the field unit on this line, or "".
function value(unit,    i) {
	for (i = 3; i <= NF; i++)
		if ($i == unit)
			return $(i - 1)
	return ""
}
/^BenchmarkSyscalls\// {
	split($1, part, "/")
	sub(/-[0-9]+$/, "", part[3])
	ns[part[2] "/" part[3]] = $3
}
/^BenchmarkGetpid\// {
	split($1, part, "/")
	sub(/-[0-9]+$/, "", part[2])
	ns["getpid/" part[2]] = $3
}
/^BenchmarkRumpFiles\// {
	split($1, part, "/")
	sub(/-[0-9]+$/, "", part[3])
	key = "files/" part[2] "/" part[3]
	if (value("ns/call") != "")
		ns[key] = value("ns/call")
	if (value("MB/s") != "")
		mbs[key] = value("MB/s")
}
/^BenchmarkSockets\// {
	split($1, part, "/")
	sub(/-[0-9]+$/, "", part[3])
	key = "sockets/" part[2] "/" part[3]
	if (value("ns/call") != "")
		ns[key] = value("ns/call")
	if (value("MB/s") != "")
		mbs[key] = value("MB/s")
}
function row(what, a, b) {
	if ((a in ns) && (b in ns))
		printf "%-52s %10.1f ns %10.1f ns %8.2fx\n", what, ns[a], ns[b], ns[a] / ns[b]
}
function rate(what, a, b) {
	if ((a in mbs) && (b in mbs) && mbs[a] > 0)
		printf "%-52s %8.1f MB/s %8.1f MB/s %8.2fx\n", what, mbs[a], mbs[b], mbs[b] / mbs[a]
}
END {
	printf "\n%-52s %13s %13s %9s\n", "", "measured", "baseline", "ratio"
	row("untrapped call under hijack-exec vs no filter", "untrapped/hijacked", "untrapped/plain")
	row("continued fd call via hijackd vs bare supervisor", "continued/hijacked", "continued/bare")
	row("continued openat via hijackd vs no filter", "openat/hijacked", "openat/plain")
	row("rump getpid, rumpconn over a unix socket vs bare", "getpid/unix-socket",
		"getpid/bare-unix-roundtrip")
	row("rump getpid, in-process server vs bare", "getpid/in-process",
		"getpid/bare-unix-roundtrip")
	row("rump getpid, RUMP_SERVER vs bare", "getpid/RUMP_SERVER",
		"getpid/bare-unix-roundtrip")
	row("stat, rump file vs host file", "files/stat/rump", "files/stat/host")
	row("open and close, rump file vs host file", "files/open/rump", "files/open/host")
	row("4 KiB pread, rump file vs host file", "files/pread/rump", "files/pread/host")
	rate("read 64 MiB in 64 KiB calls, rump vs host", "files/read-64KiB/rump",
		"files/read-64KiB/host")
	rate("read 64 MiB in 1 MiB calls, rump vs host", "files/read-1MiB/rump",
		"files/read-1MiB/host")
	rate("write 64 MiB in 64 KiB calls, rump vs host", "files/write-64KiB/rump",
		"files/write-64KiB/host")
	rate("write 64 MiB in 1 MiB calls, rump vs host", "files/write-1MiB/rump",
		"files/write-1MiB/host")
	row("TCP 1-byte round trip, rump kernel vs host loopback", "sockets/roundtrip/rump",
		"sockets/roundtrip/host")
	rate("TCP send 64 MiB in 64 KiB writes, rump vs host", "sockets/bulk-64MiB/rump",
		"sockets/bulk-64MiB/host")
}

# Processes: the time of one run of a program, or of one fork round.
/^BenchmarkProcesses\// {
	split($1, part, "/")
	sub(/-[0-9]+$/, "", part[3])
	key = "procs/" part[2] "/" part[3]
	if (value("ns/run") != "")
		ns[key] = value("ns/run")
	if (value("ns/round") != "")
		ns[key] = value("ns/round")
}
END {
	row("hijack-exec true vs true, start to exit", "procs/start/hijacked",
		"procs/start/plain")
	row("fork+exit under hijack-exec vs plain", "procs/fork-exit/hijacked",
		"procs/fork-exit/plain")
	row("fork+exec true+exit under hijack-exec vs plain", "procs/fork-exec-exit/hijacked",
		"procs/fork-exec-exit/plain")
	row("fork+exit with a rump file open vs a host file", "procs/fork-exit-open/rump",
		"procs/fork-exit-open/host")
}
