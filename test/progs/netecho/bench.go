package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// ping times n round trips of one byte through the echo server at addr,
// after the connection is made.
func ping(addr string, n int) error {
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	b := []byte{'p'}
	start := time.Now()
	for i := range n {
		if _, err := c.Write(b); err != nil {
			return fmt.Errorf("round trip %d: write: %w", i, err)
		}
		if _, err := io.ReadFull(c, b); err != nil {
			return fmt.Errorf("round trip %d: read: %w", i, err)
		}
	}
	elapsed := time.Since(start)
	fmt.Printf("ping %d %.1f\n", n, float64(elapsed.Nanoseconds())/float64(n))
	return nil
}

// bulk times sending size bytes in writes of bufSize to the sink at addr,
// from the first write to the sink's count of what it received.
func bulk(addr string, size, bufSize int) error {
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, bufSize)
	for i := range buf {
		buf[i] = byte(i)
	}
	start := time.Now()
	for sent := 0; sent < size; {
		n, err := c.Write(buf[:min(bufSize, size-sent)])
		sent += n
		if err != nil {
			return fmt.Errorf("write after %d bytes: %w", sent, err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	var count [8]byte
	if _, err := io.ReadFull(c, count[:]); err != nil {
		return fmt.Errorf("read the count: %w", err)
	}
	elapsed := time.Since(start)
	if got := binary.BigEndian.Uint64(count[:]); got != uint64(size) {
		return fmt.Errorf("the sink received %d bytes, want %d", got, size)
	}
	fmt.Printf("bulk %d %.1f\n", size, float64(size)/1e6/elapsed.Seconds())
	return nil
}
