package rumpconn

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseServer(t *testing.T) {
	long := "/" + strings.Repeat("d", maxSunPath-1)
	tests := []struct {
		name    string
		url     string
		cwd     string
		want    string // canonical URL
		wantErr string // substring of the error
	}{
		{name: "an absolute unix path takes three slashes",
			url: "unix:///run/rump.sock", want: "unix:///run/rump.sock"},
		{name: "a relative unix path is made absolute against the target's cwd",
			url: "unix://rump.sock", cwd: "/home/u", want: "unix:///home/u/rump.sock"},
		{name: "a relative path below cwd keeps its directories",
			url: "unix://sub/rump.sock", cwd: "/home/u/", want: "unix:///home/u/sub/rump.sock"},
		{name: "a relative path needs an absolute cwd",
			url: "unix://rump.sock", cwd: "home", wantErr: "needs an absolute working directory"},
		{name: "an empty unix path is refused",
			url: "unix://", wantErr: "socket path is empty"},
		{name: "a unix path of 107 bytes fits in sun_path",
			url: "unix://" + long, want: "unix://" + long},
		{name: "a unix path of 108 bytes does not fit with its NUL",
			url: "unix://" + long + "x", wantErr: "longer than the 107"},
		{name: "a relative path too long once made absolute is refused",
			url: "unix://" + long[1:], cwd: "/abc", wantErr: "longer than the 107"},
		{name: "a unix path with a NUL is refused",
			url: "unix:///a\x00b", wantErr: "NUL"},
		{name: "tcp takes a numeric IPv4 address and a port",
			url: "tcp://127.0.0.1:12345", want: "tcp://127.0.0.1:12345"},
		{name: "tcp ignores a slash and whatever follows the port",
			url: "tcp://10.0.0.1:80/ignored/text", want: "tcp://10.0.0.1:80"},
		{name: "tcp accepts a bare slash after the port",
			url: "tcp://10.0.0.1:80/", want: "tcp://10.0.0.1:80"},
		{name: "tcp accepts port 0 and 65535",
			url: "tcp://1.2.3.4:65535", want: "tcp://1.2.3.4:65535"},
		{name: "tcp accepts port 0",
			url: "tcp://1.2.3.4:0", want: "tcp://1.2.3.4:0"},
		{name: "tcp port leading zeros are digits like any other",
			url: "tcp://1.2.3.4:0080", want: "tcp://1.2.3.4:80"},
		{name: "tcp refuses a port above 65535",
			url: "tcp://1.2.3.4:65536", wantErr: "from 0 to 65535"},
		{name: "tcp refuses a huge port",
			url: "tcp://1.2.3.4:99999999999999999999999", wantErr: "from 0 to 65535"},
		{name: "tcp needs a port",
			url: "tcp://1.2.3.4", wantErr: "port is missing"},
		{name: "tcp needs digits in the port",
			url: "tcp://1.2.3.4:", wantErr: "decimal digits"},
		{name: "tcp refuses a port with a sign",
			url: "tcp://1.2.3.4:-1", wantErr: "decimal digits"},
		{name: "tcp refuses junk after the port",
			url: "tcp://1.2.3.4:80x", wantErr: `only "/" may follow`},
		{name: "tcp refuses a host name",
			url: "tcp://localhost:80", wantErr: "numeric IPv4 address"},
		{name: "tcp refuses an incomplete dotted quad",
			url: "tcp://1.2.3:80", wantErr: "numeric IPv4 address"},
		{name: "tcp refuses leading zeros in the address, as inet_pton",
			url: "tcp://01.2.3.4:80", wantErr: "numeric IPv4 address"},
		{name: "tcp refuses an IPv6 address",
			url: "tcp://[::1]:80", wantErr: "numeric IPv4 address"},
		{name: "tcp refuses * as a client address",
			url: "tcp://*:80", wantErr: "INADDR_ANY"},
		{name: "tcp refuses 0 as a client address",
			url: "tcp://0:80", wantErr: "INADDR_ANY"},
		{name: "tcp refuses 0.0.0.0 as a client address",
			url: "tcp://0.0.0.0:80", wantErr: "INADDR_ANY"},
		{name: "tcp6 is refused as rumpclient refuses it",
			url: "tcp6://[::1]:80", wantErr: "not supported (as in NetBSD's rumpclient)"},
		{name: "an unknown scheme is refused",
			url: "udp://1.2.3.4:80", wantErr: `unknown scheme "udp"`},
		{name: "the scheme is matched exactly",
			url: "TCP://1.2.3.4:80", wantErr: `unknown scheme "TCP"`},
		{name: "a scheme over 15 characters is refused",
			url: strings.Repeat("u", 16) + "://x", wantErr: "longer than 15"},
		{name: "a value without :// is refused",
			url: "/run/rump.sock", wantErr: "no scheme://"},
		{name: "an empty value is refused",
			url: "", wantErr: "no scheme://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := ParseServer(tt.url, tt.cwd)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseServer(%q) = %v, %v; want an error with %q",
						tt.url, srv, err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "RUMP_SERVER ") {
					t.Errorf("error %q does not name RUMP_SERVER", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseServer(%q): %v", tt.url, err)
			}
			if diff := cmp.Diff(tt.want, srv.String()); diff != "" {
				t.Errorf("canonical URL (-want +got):\n%s", diff)
			}
			again, err := ParseServer(srv.String(), "/")
			if err != nil || again != srv {
				t.Errorf("the canonical URL does not parse back: %v, %v", again, err)
			}
		})
	}
}

func TestParseServerErrorNamesInputAndFix(t *testing.T) {
	_, err := ParseServer("tcp://localhost:80", "/")
	want := `RUMP_SERVER "tcp://localhost:80": the host must be a numeric IPv4 address, ` +
		`e.g. tcp://127.0.0.1:12345`
	if diff := cmp.Diff(want, errText(err)); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}
