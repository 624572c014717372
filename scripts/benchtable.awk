# Turns `go test -bench` output of BenchmarkSyscalls into a table of ratios.
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
function row(what, a, b) {
	if ((a in ns) && (b in ns))
		printf "%-52s %10.1f ns %10.1f ns %8.2fx\n", what, ns[a], ns[b], ns[a] / ns[b]
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
}
