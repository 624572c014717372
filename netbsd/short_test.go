package netbsd

import (
	"errors"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/unix"
)

// decoders lists every function that reads a structure from bytes, with the
// size it needs, so that each can be handed every shorter buffer.
var decoders = []struct {
	name string
	size int
	fn   func([]byte) error
}{
	{"DecodeFlock", FlockSize, func(b []byte) error { _, err := DecodeFlock(b); return err }},
	{"DecodeLinuxFlock", LinuxFlockSize,
		func(b []byte) error { _, err := DecodeLinuxFlock(b); return err }},
	{"DecodeStat", StatSize, func(b []byte) error { _, err := DecodeStat(b); return err }},
	{"DecodeLinuxStat", LinuxStatSize,
		func(b []byte) error { _, err := DecodeLinuxStat(b); return err }},
	{"DecodeLinuxStatx", LinuxStatxSize,
		func(b []byte) error { _, err := DecodeLinuxStatx(b); return err }},
	{"DecodeStatvfs", StatvfsSize, func(b []byte) error { _, err := DecodeStatvfs(b); return err }},
	{"DecodeLinuxStatfs", LinuxStatfsSize,
		func(b []byte) error { _, err := DecodeLinuxStatfs(b); return err }},
	{"DecodeTimespec", TimespecSize,
		func(b []byte) error { _, err := DecodeTimespec(b); return err }},
	{"DecodeTimeval", TimevalSize, func(b []byte) error { _, err := DecodeTimeval(b); return err }},
	{"DecodeLinuxTimeval", TimevalSize,
		func(b []byte) error { _, err := DecodeLinuxTimeval(b); return err }},
	{"DecodeSigset", SigsetSize, func(b []byte) error { _, err := DecodeSigset(b); return err }},
	{"DecodeMsghdr", MsghdrSize, func(b []byte) error { _, err := DecodeMsghdr(b); return err }},
	{"DecodeLinuxMsghdr", LinuxMsghdrSize,
		func(b []byte) error { _, err := DecodeLinuxMsghdr(b); return err }},
	{"DecodeMmsghdr", MmsghdrSize, func(b []byte) error { _, err := DecodeMmsghdr(b); return err }},
	{"DecodeLinuxMmsghdr", LinuxMmsghdrSize,
		func(b []byte) error { _, err := DecodeLinuxMmsghdr(b); return err }},
	{"DecodeIovecs of 2", 2 * IovecSize,
		func(b []byte) error { _, err := DecodeIovecs(b, 2); return err }},
	{"DecodePollFds of 2", 2 * PollFdSize,
		func(b []byte) error { _, err := DecodePollFds(b, 2); return err }},
	{"SockaddrFromLinux", 2,
		func(b []byte) error { _, err := SockaddrFromLinux(b); return err }},
	{"SockaddrToLinux", 2, func(b []byte) error { _, err := SockaddrToLinux(b); return err }},
	{"SockaddrToLinux of inet", SockaddrInSize, func(b []byte) error {
		if len(b) >= 2 {
			b[0], b[1] = SockaddrInSize, AF_INET
		}
		_, err := SockaddrToLinux(b)
		return err
	}},
	{"SockaddrToLinux of inet6", SockaddrIn6Size, func(b []byte) error {
		if len(b) >= 2 {
			b[0], b[1] = SockaddrIn6Size, AF_INET6
		}
		_, err := SockaddrToLinux(b)
		return err
	}},
	{"ParseSockaddr", 2, func(b []byte) error { _, err := ParseSockaddr(b); return err }},
	{"ParseDirents", direntName, func(b []byte) error { _, err := ParseDirents(b); return err }},
	{"ParseLinuxDirents64", linuxDirent64Name,
		func(b []byte) error { _, err := ParseLinuxDirents64(b); return err }},
	{"ParseLinuxDirents", linuxDirentName,
		func(b []byte) error { _, err := ParseLinuxDirents(b); return err }},
	{"SockcredFromLinux", LinuxUcredSize,
		func(b []byte) error { _, err := SockcredFromLinux(b); return err }},
	{"CmsgToLinux of SCM_CREDS", sockcredGroups, func(b []byte) error {
		_, err := CmsgToLinux(Cmsg{Level: SOL_SOCKET, Type: SCM_CREDS, Data: b})
		return err
	}},
	{"CmsgToLinux of SCM_TIMESTAMP", TimevalSize, func(b []byte) error {
		_, err := CmsgToLinux(Cmsg{Level: SOL_SOCKET, Type: SCM_TIMESTAMP, Data: b})
		return err
	}},
	{"CmsgFromLinux of SCM_TIMESTAMP", TimevalSize, func(b []byte) error {
		_, err := CmsgFromLinux(Cmsg{Level: unix.SOL_SOCKET, Type: unix.SCM_TIMESTAMP, Data: b})
		return err
	}},
	{"SockoptValueFromLinux of SO_RCVTIMEO", TimevalSize, func(b []byte) error {
		_, err := SockoptValueFromLinux(unix.SOL_SOCKET, unix.SO_RCVTIMEO, b)
		return err
	}},
	{"SockoptValueToLinux of SO_SNDTIMEO", TimevalSize, func(b []byte) error {
		_, err := SockoptValueToLinux(unix.SOL_SOCKET, unix.SO_SNDTIMEO, b)
		return err
	}},
	{"SockoptValueToLinux of SO_ERROR", 4, func(b []byte) error {
		_, err := SockoptValueToLinux(unix.SOL_SOCKET, unix.SO_ERROR, b)
		return err
	}},
	{"SockoptValueFromLinux of SO_ERROR", 4, func(b []byte) error {
		_, err := SockoptValueFromLinux(unix.SOL_SOCKET, unix.SO_ERROR, b)
		return err
	}},
}

func TestShortBuffersGiveErrShort(t *testing.T) {
	for _, d := range decoders {
		t.Run(d.name+" refuses every buffer shorter than its structure", func(t *testing.T) {
			for n := 0; n < d.size; n++ {
				// Directory parsers take an empty buffer as the end of the
				// directory, which is what a zero-byte getdents means.
				if n == 0 && (d.name == "ParseDirents" || d.name == "ParseLinuxDirents64" ||
					d.name == "ParseLinuxDirents") {
					continue
				}
				if err := d.fn(make([]byte, n)); !errors.Is(err, ErrShort) {
					t.Errorf("%d bytes: err = %v, want ErrShort", n, err)
				}
			}
		})
	}
}

// TestNoInputPanics feeds every decoder and parser random buffers of random
// lengths: whatever a server or a traced process sends, nothing may panic.
func TestNoInputPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	parsers := []func([]byte){
		func(b []byte) { _, _ = ParseControl(b) },
		func(b []byte) { _, _ = ParseLinuxControl(b) },
		func(b []byte) { _ = ParseRights(b) },
		func(b []byte) { _, _ = DecodeIovecs(b, len(b)/7) },
		func(b []byte) { _, _ = DecodePollFds(b, len(b)/5) },
		func(b []byte) {
			if c, err := ParseControl(b); err == nil {
				for _, m := range c {
					_, _ = CmsgToLinux(m)
				}
			}
		},
		func(b []byte) {
			if c, err := ParseLinuxControl(b); err == nil {
				for _, m := range c {
					_, _ = CmsgFromLinux(m)
				}
			}
		},
		func(b []byte) {
			for _, level := range []int{unix.SOL_SOCKET, unix.IPPROTO_IP} {
				for _, name := range []int{unix.SO_RCVTIMEO, unix.SO_ERROR, unix.IP_MULTICAST_TTL} {
					_, _ = SockoptValueFromLinux(level, name, b)
					_, _ = SockoptValueToLinux(level, name, b)
				}
			}
		},
	}
	for _, d := range decoders {
		parsers = append(parsers, func(b []byte) { _ = d.fn(b) })
	}
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.IntN(300))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		// Small values in the length fields reach more branches than
		// uniform noise does.
		if len(b) > 16 && rng.IntN(2) == 0 {
			b[0], b[8], b[10] = byte(rng.IntN(40)), byte(rng.IntN(40)), byte(rng.IntN(8))
			b[1] = []byte{AF_INET, AF_INET6, AF_LOCAL, unix.AF_INET6}[rng.IntN(4)]
		}
		p := parsers[rng.IntN(len(parsers))]
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic on %x: %v", b, r)
				}
			}()
			p(b)
		}()
	}
}
