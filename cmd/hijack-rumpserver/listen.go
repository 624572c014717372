package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// servedFd is the descriptor a parent hands the socket to serve on.
const servedFd = 3

// lifelineFd is the descriptor of --lifeline.
const lifelineFd = 4

// servingSocket returns the socket to serve: a new listener for a --listen
// URL, or descriptor 3. cleanup closes the listener, which removes a unix
// socket it created.
func servingSocket(url string) (*os.File, func(), error) {
	if url == "" {
		f := os.NewFile(servedFd, "served")
		if f == nil {
			return nil, nil, fmt.Errorf("no --listen URL and no descriptor %d to serve", servedFd)
		}
		return f, func() { f.Close() }, nil
	}

	network, addr, err := parseListenURL(url)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", url, err)
	}
	var f *os.File
	switch l := ln.(type) {
	case *net.UnixListener:
		f, err = l.File()
	case *net.TCPListener:
		f, err = l.File()
	}
	if err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("listen on %s: %w", url, err)
	}
	return f, func() { f.Close(); ln.Close() }, nil
}

// parseListenURL parses a RUMP_SERVER URL as a server takes it: the syntax of
// rumpclient's, where a server may also name every address with "0" or "*".
// A relative unix path is taken from the working directory.
func parseListenURL(url string) (network, addr string, err error) {
	bad := func(reason string) (string, string, error) {
		return "", "", fmt.Errorf("--listen %q: %s; use unix://PATH or tcp://IPv4:PORT",
			url, reason)
	}
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return bad("no scheme://")
	}
	switch scheme {
	case "unix":
		if rest == "" || strings.IndexByte(rest, 0) >= 0 {
			return bad("no socket path")
		}
		path, err := filepath.Abs(rest)
		if err != nil || len(path) > 107 {
			return bad("the path does not fit a unix socket address")
		}
		return "unix", path, nil
	case "tcp":
		host, port, ok := strings.Cut(rest, ":")
		if !ok {
			return bad("no port")
		}
		port, _, _ = strings.Cut(port, "/")
		if host == "*" || host == "0" {
			host = "0.0.0.0"
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is4() {
			return bad("the host must be a numeric IPv4 address")
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return bad("the port must be from 0 to 65535")
		}
		return "tcp4", netip.AddrPortFrom(ip, uint16(n)).String(), nil
	}
	return bad("unknown scheme " + strconv.Quote(scheme))
}
