package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

const (
	workers = 8
	rounds  = 64
	// blockSize is not a multiple of the page size, so that the shared
	// file's blocks straddle pages.
	blockSize = 4096 + 512
	// maxChunk bounds what a worker sends before it reads the echo: all
	// of it must fit in the two sides' socket buffers.
	maxChunk = 16 << 10
)

// concurrentIO runs the workers of procs io in dir, then checks the shared
// file through a new descriptor and prints what was checked.
func concurrentIO(dir string) error {
	runtime.GOMAXPROCS(workers)
	sharedPath := filepath.Join(dir, "shared")
	shared, err := os.OpenFile(sharedPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer shared.Close()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	go echo(ln)

	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			errs[w] = work(w, dir, shared, ln.Addr().String())
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}

	want := make([]byte, workers*rounds*blockSize)
	for w := range workers {
		for r := range rounds {
			fill(want[blockOffset(w, r):][:blockSize], w, r, 's')
		}
	}
	got, err := os.ReadFile(sharedPath)
	if err != nil {
		return err
	}
	if err := compare("the shared file", got, want); err != nil {
		return err
	}
	fmt.Printf("%d workers, %d rounds: own files, shared file and connections "+
		"hold every byte\n", workers, rounds)
	fmt.Printf("shared %d %x\n", len(want), sha256.Sum256(want))
	return nil
}

// work is one worker. Each round appends a chunk to the worker's own file,
// writes the worker's block of the round into the shared file with pwrite,
// and sends a chunk through the worker's connection, reading the echo back.
// Then it reads its own file and its blocks back, and ends the connection,
// which the echo must end too.
func work(w int, dir string, shared *os.File, addr string) error {
	name := filepath.Join(dir, fmt.Sprintf("own%d", w))
	own, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("worker %d: %w", w, err)
	}
	defer own.Close()
	conn, err := net.Dial("tcp4", addr)
	if err != nil {
		return fmt.Errorf("worker %d: %w", w, err)
	}
	defer conn.Close()

	var written []byte
	echoed := make([]byte, maxChunk)
	for r := range rounds {
		chunk := make([]byte, chunkSize(w, r))
		fill(chunk, w, r, 'o')
		if _, err := own.Write(chunk); err != nil {
			return fmt.Errorf("worker %d round %d: %w", w, r, err)
		}
		written = append(written, chunk...)

		block := make([]byte, blockSize)
		fill(block, w, r, 's')
		if _, err := shared.WriteAt(block, blockOffset(w, r)); err != nil {
			return fmt.Errorf("worker %d round %d: %w", w, r, err)
		}

		msg := make([]byte, chunkSize(w, r))
		fill(msg, w, r, 'c')
		if _, err := conn.Write(msg); err != nil {
			return fmt.Errorf("worker %d round %d: send: %w", w, r, err)
		}
		if _, err := io.ReadFull(conn, echoed[:len(msg)]); err != nil {
			return fmt.Errorf("worker %d round %d: receive: %w", w, r, err)
		}
		what := fmt.Sprintf("worker %d round %d: the echo", w, r)
		if err := compare(what, echoed[:len(msg)], msg); err != nil {
			return err
		}
	}

	got := make([]byte, len(written)+1)
	n, err := own.ReadAt(got, 0)
	if err != io.EOF {
		return fmt.Errorf("worker %d: read %s back: %d bytes, %v", w, name, n, err)
	}
	if err := compare(fmt.Sprintf("worker %d: %s", w, name), got[:n], written); err != nil {
		return err
	}
	want, block := make([]byte, blockSize), make([]byte, blockSize)
	for r := range rounds {
		if _, err := shared.ReadAt(block, blockOffset(w, r)); err != nil {
			return fmt.Errorf("worker %d round %d: read the shared block back: %w", w, r, err)
		}
		fill(want, w, r, 's')
		what := fmt.Sprintf("worker %d round %d: the shared block", w, r)
		if err := compare(what, block, want); err != nil {
			return err
		}
	}

	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		return fmt.Errorf("worker %d: %w", w, err)
	}
	if n, err := conn.Read(echoed); n != 0 || err != io.EOF {
		return fmt.Errorf("worker %d: the echo did not end with the connection: "+
			"%d bytes, %v", w, n, err)
	}
	return nil
}

// echo sends back what every connection of ln sends, until ln is closed.
func echo(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

// blockOffset is where worker w's block of round r is in the shared file:
// the rounds follow each other, and within a round the workers.
func blockOffset(w, r int) int64 {
	return int64((r*workers + w) * blockSize)
}

// chunkSize is the size of what worker w writes to its file and its
// connection in round r, between 1 byte and maxChunk.
func chunkSize(w, r int) int {
	return 1 + rand.New(rand.NewPCG(uint64(w), uint64(r))).IntN(maxChunk)
}

// fill fills b with bytes that depend on the worker, the round and what
// they are for, so that a byte in the wrong place shows.
func fill(b []byte, w, r int, kind byte) {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[0:], uint64(w))
	binary.LittleEndian.PutUint64(seed[8:], uint64(r))
	seed[16] = kind
	rand.NewChaCha8(seed).Read(b)
}

// compare describes where got first differs from want.
func compare(what string, got, want []byte) error {
	if bytes.Equal(got, want) {
		return nil
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Errorf("%s differs from byte %d on (%d bytes, want %d)", what, i,
		len(got), len(want))
}
