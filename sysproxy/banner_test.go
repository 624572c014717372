package sysproxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFormatBannerWritesTheServerLine(t *testing.T) {
	tests := []struct {
		name      string
		osrelease string
		want      string
	}{
		{"the 2016 tree", "7.99.34", "RUMPSP-0.4-NetBSD-7.99.34/amd64\n"},
		{"NetBSD 8", "8.0", "RUMPSP-0.4-NetBSD-8.0/amd64\n"},
		{"NetBSD 10", "10.0", "RUMPSP-0.4-NetBSD-10.0/amd64\n"},
	}
	wantLen := map[string]int{"7.99.34": 32, "8.0": 28, "10.0": 29}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FormatBanner("NetBSD", tt.osrelease, "amd64")
			if string(got) != tt.want {
				t.Errorf("FormatBanner() = %q, want %q", got, tt.want)
			}
			if len(got) != wantLen[tt.osrelease] {
				t.Errorf("banner is %d bytes, want %d", len(got), wantLen[tt.osrelease])
			}
		})
	}
}

func TestFormatBannerKeepsTheLineParseable(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct {
		name                       string
		ostype, osrelease, machine string
		want                       Banner
	}{
		{
			name:   "a dash in ostype becomes an underscore",
			ostype: "Net-BSD", osrelease: "1-2", machine: "amd64",
			want: Banner{0, 4, "Net_BSD", "1-2", "amd64"},
		},
		{
			name:   "a slash in machine becomes an underscore",
			ostype: "NetBSD", osrelease: "1/2", machine: "evb/arm",
			want: Banner{0, 4, "NetBSD", "1/2", "evb_arm"},
		},
		{
			name:   "control bytes become question marks",
			ostype: "Net\nBSD", osrelease: "7\x00", machine: "\xffamd64",
			want: Banner{0, 4, "Net?BSD", "7?", "?amd64"},
		},
		{
			name:   "overlong fields are cut to fit",
			ostype: long, osrelease: long, machine: long,
			want: Banner{0, 4, long[:27], long[:27], long[:27]},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := FormatBanner(tt.ostype, tt.osrelease, tt.machine)
			if len(line) > MaxBanner-1 {
				t.Fatalf("banner is %d bytes, more than %d", len(line), MaxBanner-1)
			}
			got, err := ParseBanner(line)
			if err != nil {
				t.Fatalf("ParseBanner(%q): %v", line, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("banner fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadBannerStopsAtTheNewline(t *testing.T) {
	frame := unhex(t, "1c00000000000000 0100000000000000 0100 0000 00000000 | 00000000")
	stream := append([]byte("RUMPSP-0.4-NetBSD-7.99.34/amd64\n"), frame...)
	want := Banner{Major: 0, Minor: 4, OSType: "NetBSD", OSRelease: "7.99.34", Machine: "amd64"}

	readers := map[string]func() io.Reader{
		"a plain reader":  func() io.Reader { return onlyReader{bytes.NewReader(stream)} },
		"a byte reader":   func() io.Reader { return bytes.NewReader(stream) },
		"a bufio reader":  func() io.Reader { return bufio.NewReader(bytes.NewReader(stream)) },
		"a one-byte pipe": func() io.Reader { return onlyReader{&oneByteReader{stream}} },
	}
	for name, newReader := range readers {
		t.Run(name, func(t *testing.T) {
			r := newReader()
			got, err := ReadBanner(r)
			if err != nil {
				t.Fatalf("ReadBanner: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("banner (-want +got):\n%s", diff)
			}
			f, err := ReadFrame(r, DefaultMaxPayload)
			if err != nil {
				t.Fatalf("ReadFrame after the banner: %v", err)
			}
			if !bytes.Equal(AppendFrame(nil, f), frame) {
				t.Errorf("frame after the banner = %x, want %x", AppendFrame(nil, f), frame)
			}
		})
	}
}

// oneByteReader returns at most one byte per Read, as a slow socket may.
type oneByteReader struct{ b []byte }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(o.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = o.b[0]
	o.b = o.b[1:]
	return 1, nil
}

func TestReadBannerAcceptsAnyMinorAndTheLongestLine(t *testing.T) {
	const head, tail = "RUMPSP-0.4-NetBSD-", "/amd64\n"
	longest := head + strings.Repeat("9", MaxBanner-1-len(head)-len(tail)) + tail
	tests := []struct {
		name string
		line string
		want Banner
	}{
		{"a later minor", "RUMPSP-0.17-NetBSD-9.3/evbarm\n",
			Banner{0, 17, "NetBSD", "9.3", "evbarm"}},
		{"an osrelease with a dash", "RUMPSP-0.4-NetBSD-10.0-RC1/amd64\n",
			Banner{0, 4, "NetBSD", "10.0-RC1", "amd64"}},
		{"empty fields", "RUMPSP-0.4--/\n", Banner{0, 4, "", "", ""}},
		{"a 95-byte line", longest, Banner{0, 4, "NetBSD", longest[18:88], "amd64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadBanner(strings.NewReader(tt.line))
			if err != nil {
				t.Fatalf("ReadBanner(%q): %v", tt.line, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("banner (-want +got):\n%s", diff)
			}
		})
	}
	if len(longest) != MaxBanner-1 {
		t.Fatalf("test line is %d bytes, want %d", len(longest), MaxBanner-1)
	}
}

func TestReadBannerRefusesWhatNoServerSends(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  error
	}{
		{"an EOF before the first byte", "", io.EOF},
		{"an EOF inside the line", "RUMPSP-0.4-Net", io.ErrUnexpectedEOF},
		{"garbage", "HTTP/1.1 400 Bad Request\r\n", ErrBanner},
		{"a frame instead of a banner", "\x1c\x00\x00\x00\x00\x00\x00\x00\n", ErrBanner},
		{"no newline within 96 bytes", strings.Repeat("R", 200), ErrBanner},
		{"a 96-byte line", "RUMPSP-0.4-NetBSD-" + strings.Repeat("9", 71) + "/amd64\n", ErrBanner},
		{"major 1", "RUMPSP-1.0-NetBSD-11.0/amd64\n", ErrVersion},
		{"major 1 in another layout", "RUMPSP-1.0\n", ErrVersion},
		{"major 10", "RUMPSP-10.4-NetBSD-7.99.34/amd64\n", ErrVersion},
		{"no minor", "RUMPSP-0-NetBSD-7.99.34/amd64\n", ErrBanner},
		{"no fields", "RUMPSP-0.4\n", ErrBanner},
		{"a signed major", "RUMPSP-+0.4-NetBSD-7.99.34/amd64\n", ErrBanner},
		{"a letter in the minor", "RUMPSP-0.4a-NetBSD-7.99.34/amd64\n", ErrBanner},
		{"an overlong minor", "RUMPSP-0.12345678901-NetBSD-7.99.34/amd64\n", ErrBanner},
		{"no machine", "RUMPSP-0.4-NetBSD-7.99.34\n", ErrBanner},
		{"no osrelease", "RUMPSP-0.4-NetBSD\n", ErrBanner},
		{"a lower-case prefix", "rumpsp-0.4-NetBSD-7.99.34/amd64\n", ErrBanner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadBanner(strings.NewReader(tt.input))
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReadBanner(%q) = %+v, %v; want an error wrapping %v",
					tt.input, got, err, tt.want)
			}
		})
	}
}

func TestReadBannerReadsNoMoreThanALine(t *testing.T) {
	r := strings.NewReader(strings.Repeat("R", 200))
	if _, err := ReadBanner(r); !errors.Is(err, ErrBanner) {
		t.Fatalf("ReadBanner: %v, want ErrBanner", err)
	}
	if read := 200 - r.Len(); read != MaxBanner-1 {
		t.Errorf("read %d bytes, want %d", read, MaxBanner-1)
	}
}
