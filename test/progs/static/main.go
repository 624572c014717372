// Command static is a statically linked test program: it prints its
// arguments, an environment variable and facts read through path and
// descriptor calls, then exits with the status given as its first argument.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
)

func main() {
	fmt.Println("args:", os.Args[1:])
	fmt.Println("env:", os.Getenv("HIJACK_TEST_VALUE"))
	wd, err := os.Getwd()
	fmt.Println("cwd:", wd, err)
	entries, err := os.ReadDir("/etc")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	fmt.Println("etc entries:", len(names), err)
	data, err := os.ReadFile("/etc/passwd")
	fmt.Println("passwd bytes:", len(data), err)
	_, err = os.Stat("/nonexistent/file")
	fmt.Println("stat missing:", err)
	status := 0
	if len(os.Args) > 1 {
		status, _ = strconv.Atoi(os.Args[1])
	}
	os.Exit(status)
}
