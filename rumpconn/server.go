package rumpconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ServerVar is the environment variable that names the rump kernel server.
const ServerVar = "RUMP_SERVER"

// maxSunPath is the longest unix socket path a client can connect to:
// sun_path holds 108 bytes on Linux, the terminating NUL included.
const maxSunPath = 107

// maxScheme is the longest scheme rumpclient's parser looks at.
const maxScheme = 15

// Server is a parsed RUMP_SERVER: where a rump kernel listens. The zero
// value is no server. Servers are comparable, and equal servers are the
// same socket.
type Server struct {
	network string // "unix", "tcp", or "inproc"
	address string // an absolute path, IPv4:port, or an in-process name
	inproc  *inProcess
}

// inProcess reaches a server that runs in this process.
type inProcess struct {
	dial func(ctx context.Context) (net.Conn, error)
}

// InProcessServer returns a Server that is reached by calling dial, for a
// rump server running in this process, such as the embedded one in a test
// or benchmark. name distinguishes it in metrics and logs; each call makes
// a Server equal only to itself.
func InProcessServer(name string, dial func(ctx context.Context) (net.Conn, error)) Server {
	return Server{network: "inproc", address: name, inproc: &inProcess{dial: dial}}
}

// ServerError reports a RUMP_SERVER value that cannot name a server, with
// what was wrong and what is accepted.
type ServerError struct {
	URL    string
	Reason string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("%s %q: %s", ServerVar, e.URL, e.Reason)
}

const acceptedURLs = "accepted are unix://PATH and tcp://IPv4:PORT"

// ParseServer parses a RUMP_SERVER value the way NetBSD's rumpclient does:
//
//   - unix://PATH, where a relative PATH (unix://sock) is made absolute
//     against cwd, the directory of the target that named it, and an
//     absolute one needs three slashes (unix:///run/rump.sock); the result
//     must fit in sun_path, 107 bytes and the NUL;
//   - tcp://IPv4:PORT, optionally followed by "/" and anything, which is
//     ignored; the host is a numeric dotted-quad IPv4 address other than
//     INADDR_ANY ("*", "0", 0.0.0.0), which only a server may use; the port
//     is decimal digits from 0 to 65535.
//
// tcp6 is refused because rumpclient does not support it either, and so is
// any other scheme. The error is a *ServerError naming the value and what
// would be accepted.
func ParseServer(url, cwd string) (Server, error) {
	bad := func(format string, args ...any) (Server, error) {
		return Server{}, &ServerError{URL: url, Reason: fmt.Sprintf(format, args...)}
	}

	scheme, addr, ok := strings.Cut(url, "://")
	if !ok {
		return bad("no scheme:// at the start; %s", acceptedURLs)
	}
	if len(scheme) > maxScheme {
		return bad("scheme %q is longer than %d characters; %s", scheme, maxScheme,
			acceptedURLs)
	}

	switch scheme {
	case "unix":
		return parseUnix(addr, cwd, bad)
	case "tcp":
		return parseTCP(addr, bad)
	case "tcp6":
		return bad("tcp6 is not supported (as in NetBSD's rumpclient); " +
			"use tcp://IPv4:PORT or unix://PATH")
	}
	return bad("unknown scheme %q; %s", scheme, acceptedURLs)
}

func parseUnix(path, cwd string, bad func(string, ...any) (Server, error)) (Server, error) {
	if path == "" {
		return bad("the socket path is empty, e.g. unix:///run/rump.sock")
	}
	if strings.IndexByte(path, 0) >= 0 {
		return bad("the socket path contains a NUL byte")
	}
	if !strings.HasPrefix(path, "/") {
		if !strings.HasPrefix(cwd, "/") {
			return bad("the relative socket path needs an absolute working "+
				"directory, got %q; or use unix:///absolute/path", cwd)
		}
		path = strings.TrimRight(cwd, "/") + "/" + path
	}
	if len(path) > maxSunPath {
		return bad("the socket path %q is %d bytes, longer than the %d a unix "+
			"socket address holds", path, len(path), maxSunPath)
	}
	return Server{network: "unix", address: path}, nil
}

func parseTCP(addr string, bad func(string, ...any) (Server, error)) (Server, error) {
	const example = "e.g. tcp://127.0.0.1:12345"

	host, rest, ok := strings.Cut(addr, ":")
	if !ok {
		return bad("the port is missing, %s", example)
	}
	if host == "*" || host == "0" {
		return bad("INADDR_ANY is for servers; a client needs the server's "+
			"address, %s", example)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is4() {
		return bad("the host must be a numeric IPv4 address, %s", example)
	}
	if ip.IsUnspecified() {
		return bad("INADDR_ANY is for servers; a client needs the server's "+
			"address, %s", example)
	}

	digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
	if digits == 0 {
		return bad("the port must be decimal digits, %s", example)
	}
	if tail := rest[digits:]; tail != "" && tail[0] != '/' {
		return bad("only \"/\" may follow the port, %s", example)
	}
	port, err := strconv.ParseUint(rest[:digits], 10, 16)
	if err != nil {
		return bad("the port must be from 0 to 65535, %s", example)
	}

	ap := netip.AddrPortFrom(ip, uint16(port))
	return Server{network: "tcp", address: ap.String()}, nil
}

// Network returns "unix" or "tcp", as package net names them; "" for the
// zero Server.
func (s Server) Network() string { return s.network }

// Address returns the absolute socket path of a unix server, or IPv4:port
// of a tcp server.
func (s Server) Address() string { return s.address }

// String returns the canonical URL: unix:///absolute/path or
// tcp://IPv4:port, which ParseServer turns back into s. It is bounded by the
// configured servers, so metrics use it as a label.
func (s Server) String() string {
	if s.network == "" {
		return ""
	}
	return s.network + "://" + s.address
}

// dial connects to s, blocking until connected or ctx ends. TCP
// connections get TCP_NODELAY, as both ends of the protocol set it: frames
// are small and every one is waited for.
func (s Server) dial(ctx context.Context) (net.Conn, error) {
	if s.network == "" {
		return nil, errors.New("connect: no rump server configured")
	}
	if s.inproc != nil {
		nc, err := s.inproc.dial(ctx)
		if err != nil {
			return nil, fmt.Errorf("connect %v: %w", s, err)
		}
		return nc, nil
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, s.network, s.address)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			err = op.Err
		}
		return nil, fmt.Errorf("connect %v: %w", s, err)
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		if err := tc.SetNoDelay(true); err != nil {
			nc.Close()
			return nil, fmt.Errorf("connect %v: set TCP_NODELAY: %w", s, err)
		}
	}
	return nc, nil
}
