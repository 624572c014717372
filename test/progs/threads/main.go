// Command threads makes trapped calls from many OS threads at once: each of
// its workers, locked to a thread of its own, reads and stats files in a
// loop. It prints a digest that depends only on the files read, so a run
// under hijack-exec must print what a plain run prints.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"sync"
)

const (
	workers = 8
	rounds  = 200
)

var files = []string{"/etc/passwd", "/etc/group", "/etc/hostname", "/etc/os-release"}

func main() {
	runtime.GOMAXPROCS(4)
	digests := make([][32]byte, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			h := sha256.New()
			for r := range rounds {
				name := files[(w+r)%len(files)]
				data, err := os.ReadFile(name)
				fmt.Fprintf(h, "%s %d %v\n", name, len(data), err)
				_, err = os.Stat(name + ".missing")
				fmt.Fprintf(h, "%v\n", err != nil)
			}
			copy(digests[w][:], h.Sum(nil))
		}()
	}
	wg.Wait()
	all := sha256.New()
	for _, d := range digests {
		all.Write(d[:])
	}
	fmt.Printf("%d workers, %d rounds: %x\n", workers, rounds, all.Sum(nil))
}
