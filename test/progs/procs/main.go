// Command procs exercises processes and threads without libc, for hijack's
// end-to-end tests and benchmarks:
//
//	procs io DIR           eight workers, each on a thread of its own, write
//	                       and read back files of their own in DIR, write
//	                       blocks of one shared file at distinct offsets,
//	                       and echo data through TCP connections to a
//	                       listener in this process, checking every byte
//	procs fork N [FILE]    N rounds of fork, the child exiting at once, and
//	                       wait, with FILE open in the parent if given
//	procs forkexec N PROG  N rounds of fork, the child executing PROG with
//	                       no arguments, and wait
//
// io prints what it checked and the size and SHA-256 of the shared file as
// it should be. The fork modes print "MODE N NS", the cost of one round in
// nanoseconds without start-up.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) < 3 {
		usage()
	}
	var err error
	switch mode, args := os.Args[1], os.Args[2:]; {
	case mode == "io" && len(args) == 1:
		err = concurrentIO(args[0])
	case mode == "fork" && len(args) == 1:
		err = timeForks(mode, count(args[0]), "")
	case mode == "fork" && len(args) == 2:
		var f *os.File
		if f, err = os.Open(args[1]); err == nil {
			err = timeForks(mode, count(args[0]), "")
			f.Close()
		}
	case mode == "forkexec" && len(args) == 2:
		err = timeForks(mode, count(args[0]), args[1])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "procs:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: procs io DIR | procs fork N [FILE] | procs forkexec N PROG")
	os.Exit(2)
}

func count(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "procs: %q is not a positive number\n", s)
		os.Exit(2)
	}
	return n
}
