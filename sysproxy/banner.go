package sysproxy

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// bannerPrefix starts every banner line.
const bannerPrefix = "RUMPSP-"

// maxBannerLine is the longest banner line a server can send, newline
// included: it formats into MaxBanner bytes, one of which is the NUL.
const maxBannerLine = MaxBanner - 1

// Banner is the line a server writes as soon as it accepts a connection:
// "RUMPSP-<major>.<minor>-<ostype>-<osrelease>/<machine>\n".
type Banner struct {
	Major, Minor int
	OSType       string // "NetBSD"
	OSRelease    string // e.g. "7.99.34"
	Machine      string // e.g. "amd64"
}

// String returns the banner line without its newline.
func (b Banner) String() string {
	return fmt.Sprintf("%s%d.%d-%s-%s/%s", bannerPrefix, b.Major, b.Minor,
		b.OSType, b.OSRelease, b.Machine)
}

// FormatBanner returns the banner line a server of protocol version
// ProtoMajor.ProtoMinor sends, newline included and without a NUL.
//
// The result is always one line that ReadBanner accepts: a byte that is not
// printable ASCII becomes '?', a '-' in ostype becomes '_' and a '/' in
// machine becomes '_', since either would shift the field boundaries. If the
// line would exceed MaxBanner-1 bytes, each field is cut to a third of the
// room left, where the reference server's snprintf would cut off the newline
// and leave a banner no client accepts.
func FormatBanner(ostype, osrelease, machine string) []byte {
	b := Banner{
		Major:     ProtoMajor,
		Minor:     ProtoMinor,
		OSType:    sanitizeBannerField(ostype, '-'),
		OSRelease: sanitizeBannerField(osrelease, 0),
		Machine:   sanitizeBannerField(machine, '/'),
	}

	if len(b.String()) > maxBannerLine-1 {
		fixed := len(Banner{Major: ProtoMajor, Minor: ProtoMinor}.String())
		field := (maxBannerLine - 1 - fixed) / 3
		b.OSType = b.OSType[:min(len(b.OSType), field)]
		b.OSRelease = b.OSRelease[:min(len(b.OSRelease), field)]
		b.Machine = b.Machine[:min(len(b.Machine), field)]
	}
	return append([]byte(b.String()), '\n')
}

// sanitizeBannerField replaces bytes that cannot appear in a banner field:
// anything outside printable ASCII, and sep, which ends the field.
func sanitizeBannerField(s string, sep byte) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c < 0x20 || c > 0x7e:
			b[i] = '?'
		case sep != 0 && c == sep:
			b[i] = '_'
		}
	}
	return string(b)
}

// ReadBanner reads the server's banner line from r and parses it.
//
// It never consumes a byte of r past the newline, because frames follow on
// the same stream: it reads through io.ByteReader when r has it, and
// otherwise one byte per Read. A caller that passes a buffering reader, such
// as a bufio.Reader, must read the frames from it too. It reads at most
// MaxBanner-1 bytes. On failure the error wraps ErrBanner (no newline within
// the limit, or not a banner), ErrVersion (a major version other than
// ProtoMajor) or the reader's error; an EOF before the first byte wraps
// io.EOF: a server with no free connection slot closes without a banner.
func ReadBanner(r io.Reader) (Banner, error) {
	line, err := readLine(r)
	if err != nil {
		return Banner{}, fmt.Errorf("read banner: %w", err)
	}
	b, err := ParseBanner(line)
	if err != nil {
		return Banner{}, fmt.Errorf("read banner: %w", err)
	}
	return b, nil
}

// readLine reads bytes up to and including the first newline, at most
// maxBannerLine of them.
func readLine(r io.Reader) ([]byte, error) {
	line := make([]byte, 0, maxBannerLine)
	br, _ := r.(io.ByteReader)
	var one [1]byte

	for len(line) < maxBannerLine {
		var c byte
		var err error
		if br != nil {
			c, err = br.ReadByte()
		} else {
			_, err = io.ReadFull(r, one[:])
			c = one[0]
		}
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}

		line = append(line, c)
		if c == '\n' {
			return line, nil
		}
	}
	return nil, fmt.Errorf("%w: no newline within %d bytes", ErrBanner, maxBannerLine)
}

// ParseBanner parses one banner line, newline included. It checks the
// prefix and the version before the rest, so that a future major version
// with another layout is reported as ErrVersion. The error wraps ErrBanner
// or ErrVersion.
//
// The fields are split at the first '-' after the version and at the last
// '/', the only reading that is unambiguous for an ostype without '-' and a
// machine without '/'.
func ParseBanner(line []byte) (Banner, error) {
	rest, ok := bytes.CutPrefix(line, []byte(bannerPrefix))
	if !ok {
		return Banner{}, fmt.Errorf("%w: %q does not start with %q", ErrBanner, line, bannerPrefix)
	}
	rest, ok = bytes.CutSuffix(rest, []byte("\n"))
	if !ok || bytes.IndexByte(rest, '\n') >= 0 || len(line) > maxBannerLine {
		return Banner{}, fmt.Errorf("%w: %q is not one line of at most %d bytes",
			ErrBanner, line, maxBannerLine)
	}

	var b Banner
	var err error
	majorText, rest, _ := bytes.Cut(rest, []byte("."))
	if b.Major, err = parseVersion(majorText); err != nil {
		return Banner{}, fmt.Errorf("%w: major version in %q", ErrBanner, line)
	}
	if b.Major != ProtoMajor {
		return Banner{}, fmt.Errorf("%w: server speaks %d.x, this client %d.%d",
			ErrVersion, b.Major, ProtoMajor, ProtoMinor)
	}

	minorText, rest, ok := bytes.Cut(rest, []byte("-"))
	if b.Minor, err = parseVersion(minorText); err != nil || !ok {
		return Banner{}, fmt.Errorf("%w: minor version in %q", ErrBanner, line)
	}

	ostype, rest, ok := bytes.Cut(rest, []byte("-"))
	slash := bytes.LastIndexByte(rest, '/')
	if !ok || slash < 0 {
		return Banner{}, fmt.Errorf("%w: %q lacks ostype-osrelease/machine", ErrBanner, line)
	}
	b.OSType = string(ostype)
	b.OSRelease = string(rest[:slash])
	b.Machine = string(rest[slash+1:])
	return b, nil
}

// parseVersion parses a version number: decimal digits only, which
// strconv.Atoi alone would not enforce (it takes a sign).
func parseVersion(text []byte) (int, error) {
	if len(text) == 0 || len(text) > 9 {
		return 0, ErrBanner
	}
	for _, c := range text {
		if c < '0' || c > '9' {
			return 0, ErrBanner
		}
	}
	return strconv.Atoi(string(text))
}
