package netbsd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"
)

// The fuzz targets below hand arbitrary bytes and numbers to the converters.
// Nothing may panic, every failure must wrap one of the errors the converter
// documents, and what decodes must re-encode to the bytes it came from
// (padding aside) and decode again to an equal value. Where a translation is
// a bijection on part of its domain, the round trip through the other ABI
// must come back equal on that part; each target's comment says which part.
// Seeds are valid encodings built with the package's own encoders.

// fuzzOpts lets go-cmp compare the x/sys/unix types with unexported fields,
// and treats an empty slice as equal to a nil one, since parsers return
// subslices and encoders return fresh ones.
var fuzzOpts = cmp.Options{
	cmp.AllowUnexported(unix.Statx_t{}, unix.SockaddrInet4{}, unix.SockaddrInet6{},
		unix.SockaddrUnix{}),
	cmpopts.EquateEmpty(),
}

// sameValue fails the fuzz run when got differs from want.
func sameValue(t *testing.T, what string, want, got any) {
	t.Helper()
	if diff := cmp.Diff(want, got, fuzzOpts); diff != "" {
		t.Fatalf("%s (-want +got):\n%s", what, diff)
	}
}

// sameBytesBut compares an encoding with the start of the bytes it was
// decoded from, except the ranges of padding and spares, which encoders zero.
func sameBytesBut(t *testing.T, what string, read, encoded []byte, skip ...[2]int) {
	t.Helper()
	want := bytes.Clone(read[:len(encoded)])
	for _, r := range skip {
		clear(want[r[0]:r[1]])
	}
	if !bytes.Equal(want, encoded) {
		t.Fatalf("%s re-encodes to\n%x\nfrom\n%x", what, encoded, want)
	}
}

// mustWrap fails the fuzz run unless err wraps one of the allowed errors.
func mustWrap(t *testing.T, what string, err error, allowed ...error) {
	t.Helper()
	for _, e := range allowed {
		if errors.Is(err, e) {
			return
		}
	}
	t.Fatalf("%s: undocumented error %v", what, err)
}

// mustBeShort fails the fuzz run unless a decoder refused a buffer of have
// bytes for being shorter than the need bytes of its structure.
func mustBeShort(t *testing.T, what string, err error, have, need int) {
	t.Helper()
	mustWrap(t, what, err, ErrShort)
	if have >= need {
		t.Fatalf("%s refused %d bytes, %d suffice: %v", what, have, need, err)
	}
}

// leftBits returns the bits a flag converter from Linux reported as having
// no NetBSD counterpart, failing the fuzz run if err is not a *BitsError.
func leftBits(t *testing.T, what string, err error) uint64 {
	t.Helper()
	if err == nil {
		return 0
	}
	var be *BitsError
	if !errors.As(err, &be) || !errors.Is(err, ErrNoEquivalent) || be.Bits == 0 {
		t.Fatalf("%s: %v is not a *BitsError", what, err)
	}
	return be.Bits
}

// FuzzStat reads arbitrary bytes as a NetBSD stat, a Linux stat and a Linux
// statx. Each re-encodes to its bytes, padding and spares zeroed, and decodes
// again to an equal value. A NetBSD stat taken to Linux and back through
// StatFromLinux keeps every field a Linux stat holds; the birth time,
// st_flags and st_gen are lost, and an rdev of 0 or NODEV comes back as the
// one its file type calls for. A Linux stat survives NetBSD and back when
// its link count and block size fit 32 bits and its rdev is not NODEV. The
// statx of a NetBSD stat carries its device numbers without loss.
func FuzzStat(f *testing.F) {
	s := Stat{Dev: 0x10300, Mode: S_IFCHR | 0o620, Ino: 7, Nlink: 1, Uid: 1, Gid: 5,
		Rdev: 0x8801, Blksize: 512, Flags: 4, Gen: 9,
		Birthtim: unix.Timespec{Sec: 5, Nsec: 6}, Mtim: unix.Timespec{Sec: -1, Nsec: 7}}
	f.Add(s.Encode())
	s.Mode, s.Rdev = S_IFREG|0o644, NODEV
	f.Add(s.Encode())
	st := s.ToLinux()
	f.Add(EncodeLinuxStat(&st))
	x := s.Statx()
	f.Add(EncodeLinuxStatx(&x))

	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzNetBSDStat(t, data)
		fuzzLinuxStat(t, data)
		fuzzLinuxStatx(t, data)
	})
}

func fuzzNetBSDStat(t *testing.T, data []byte) {
	s, err := DecodeStat(data)
	if err != nil {
		mustBeShort(t, "DecodeStat", err, len(data), StatSize)
		return
	}
	enc := s.Encode()
	sameBytesBut(t, "NetBSD stat", data, enc, [2]int{12, 16}, [2]int{36, 40},
		[2]int{140, StatSize})
	again, err := DecodeStat(enc)
	mustNot(t, err)
	sameValue(t, "NetBSD stat decoded again", s, again)

	st := s.ToLinux()
	want := s
	want.Birthtim, want.Flags, want.Gen = unix.Timespec{}, 0, 0
	if want.Mode&S_IFMT == S_IFLNK {
		want.Mode |= 0o777 // Linux shows every link with all permissions
	}
	if want.Rdev == 0 || want.Rdev == NODEV {
		want.Rdev = NODEV
		if isDevice(want.Mode) {
			want.Rdev = 0
		}
	}
	sameValue(t, "NetBSD stat through Linux", want, StatFromLinux(&st))
	sameValue(t, "Linux stat of NetBSD through NetBSD", st, StatFromLinux(&st).ToLinux())

	x := s.Statx()
	if unix.Mkdev(x.Dev_major, x.Dev_minor) != st.Dev ||
		unix.Mkdev(x.Rdev_major, x.Rdev_minor) != st.Rdev {
		t.Fatalf("statx devices %d:%d and %d:%d, stat %#x and %#x",
			x.Dev_major, x.Dev_minor, x.Rdev_major, x.Rdev_minor, st.Dev, st.Rdev)
	}
	if x.Mask&unix.STATX_BTIME != 0 && x.Btime.Sec != s.Birthtim.Sec {
		t.Fatalf("statx birth time %d, stat %d", x.Btime.Sec, s.Birthtim.Sec)
	}
}

func fuzzLinuxStat(t *testing.T, data []byte) {
	st, err := DecodeLinuxStat(data)
	if err != nil {
		mustBeShort(t, "DecodeLinuxStat", err, len(data), LinuxStatSize)
		return
	}
	enc := EncodeLinuxStat(&st)
	sameBytesBut(t, "Linux stat", data, enc, [2]int{36, 40}, [2]int{120, LinuxStatSize})
	again, err := DecodeLinuxStat(enc)
	mustNot(t, err)
	sameValue(t, "Linux stat decoded again", st, again)

	if st.Nlink <= math.MaxUint32 && st.Blksize >= 0 && st.Blksize <= math.MaxUint32 &&
		st.Rdev != NODEV {
		want := st
		if want.Mode&S_IFMT == S_IFLNK {
			want.Mode |= 0o777 // every link has all permissions on Linux
		}
		sameValue(t, "Linux stat through NetBSD", want, StatFromLinux(&st).ToLinux())
	}
}

func fuzzLinuxStatx(t *testing.T, data []byte) {
	x, err := DecodeLinuxStatx(data)
	if err != nil {
		mustBeShort(t, "DecodeLinuxStatx", err, len(data), LinuxStatxSize)
		return
	}
	enc := EncodeLinuxStatx(&x)
	sameBytesBut(t, "Linux statx", data, enc, [2]int{30, 32}, [2]int{statxAtime + 12, statxBtime},
		[2]int{statxBtime + 12, statxCtime}, [2]int{statxCtime + 12, statxMtime},
		[2]int{statxMtime + 12, 128}, [2]int{152, LinuxStatxSize})
	again, err := DecodeLinuxStatx(enc)
	mustNot(t, err)
	sameValue(t, "Linux statx decoded again", x, again)
}

// FuzzStatvfs reads arbitrary bytes as a NetBSD statvfs and a Linux statfs.
// The numeric fields re-encode to their bytes. A name re-encodes unchanged
// when it is shorter than its field; one that fills its field, which no
// NetBSD kernel writes, loses its last byte to the NUL, so only the value
// decoded again is a fixed point. The Linux statfs made from a statvfs
// survives NetBSD and back exactly. A host statfs comes back from NetBSD with
// its counts and ids, its block size replaced by its fragment size, its type
// only if NetBSD knows it, and its flags cut to the ST_* bits with a NetBSD
// twin, plus ST_VALID.
func FuzzStatvfs(f *testing.F) {
	s := Statvfs{Flag: MNT_RDONLY | MNT_LOCAL, Bsize: 4096, Frsize: 512, Iosize: 65536,
		Blocks: 100, Bfree: 50, Bavail: 40, Bresvd: 10, Files: 10, Ffree: 5, Favail: 5,
		Fsidx: [2]int32{1, -2}, Fsid: 1, Namemax: 255, Owner: 1000,
		Fstypename: "ffs", Mntonname: "/", Mntfromname: "/dev/wd0a"}
	f.Add(s.Encode())
	st := s.ToLinux()
	f.Add(EncodeLinuxStatfs(&st))

	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzNetBSDStatvfs(t, data)
		fuzzLinuxStatfs(t, data)
	})
}

func fuzzNetBSDStatvfs(t *testing.T, data []byte) {
	s, err := DecodeStatvfs(data)
	if err != nil {
		mustBeShort(t, "DecodeStatvfs", err, len(data), StatvfsSize)
		return
	}
	enc := s.Encode()
	sameBytesBut(t, "NetBSD statvfs numbers", data[:statvfsOwner+4], enc[:statvfsOwner+4])
	cut := func(name string, field int) string { return name[:min(len(name), field-1)] }
	want := s
	want.Fstypename = cut(s.Fstypename, VFS_NAMELEN)
	want.Mntonname = cut(s.Mntonname, VFS_MNAMELEN)
	want.Mntfromname = cut(s.Mntfromname, VFS_MNAMELEN)
	again, err := DecodeStatvfs(enc)
	mustNot(t, err)
	sameValue(t, "NetBSD statvfs decoded again", want, again)
	again, err = DecodeStatvfs(again.Encode())
	mustNot(t, err)
	sameValue(t, "NetBSD statvfs decoded a third time", want, again)

	st := s.ToLinux()
	lst, err := DecodeLinuxStatfs(EncodeLinuxStatfs(&st))
	mustNot(t, err)
	sameValue(t, "Linux statfs of NetBSD decoded again", st, lst)
	sameValue(t, "Linux statfs of NetBSD through NetBSD", st, StatvfsFromLinux(&st).ToLinux())
}

func fuzzLinuxStatfs(t *testing.T, data []byte) {
	st, err := DecodeLinuxStatfs(data)
	if err != nil {
		mustBeShort(t, "DecodeLinuxStatfs", err, len(data), LinuxStatfsSize)
		return
	}
	enc := EncodeLinuxStatfs(&st)
	sameBytesBut(t, "Linux statfs", data, enc, [2]int{88, LinuxStatfsSize})
	again, err := DecodeLinuxStatfs(enc)
	mustNot(t, err)
	sameValue(t, "Linux statfs decoded again", st, again)

	want := st
	if want.Frsize == 0 {
		want.Frsize = want.Bsize
	}
	want.Bsize = want.Frsize
	known := false
	for _, magic := range linuxFSMagic {
		known = known || magic == st.Type
	}
	if !known {
		want.Type = 0
	}
	var mapped int64
	for _, p := range mountFlagPairs {
		mapped |= int64(p.linux)
	}
	want.Flags = st.Flags&mapped | LinuxST_VALID
	sameValue(t, "Linux statfs through NetBSD", want, StatvfsFromLinux(&st).ToLinux())
}

// FuzzFlock reads arbitrary bytes as a NetBSD and a Linux struct flock. Each
// re-encodes to its bytes, padding zeroed. Lock translation is a bijection
// on the three lock types: a flock of a known type survives the other ABI
// and back exactly, and one of any other type is refused with ErrInvalid.
func FuzzFlock(f *testing.F) {
	nb := Flock{Start: 10, Len: -1, Pid: 42, Type: F_WRLCK, Whence: 1}
	f.Add(nb.Encode())
	l, err := nb.ToLinux()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(EncodeLinuxFlock(&l))

	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzNetBSDFlock(t, data)
		fuzzLinuxFlock(t, data)
	})
}

func fuzzNetBSDFlock(t *testing.T, data []byte) {
	fl, err := DecodeFlock(data)
	if err != nil {
		mustBeShort(t, "DecodeFlock", err, len(data), FlockSize)
		return
	}
	sameBytesBut(t, "NetBSD flock", data, fl.Encode())
	l, err := fl.ToLinux()
	known := fl.Type == F_RDLCK || fl.Type == F_WRLCK || fl.Type == F_UNLCK
	if err != nil {
		mustWrap(t, "Flock.ToLinux", err, ErrInvalid)
		if known {
			t.Fatalf("lock type %d refused: %v", fl.Type, err)
		}
		return
	}
	if !known {
		t.Fatalf("lock type %d translated to %d", fl.Type, l.Type)
	}
	back, err := FlockFromLinux(&l)
	mustNot(t, err)
	sameValue(t, "NetBSD flock through Linux", fl, back)
}

func fuzzLinuxFlock(t *testing.T, data []byte) {
	l, err := DecodeLinuxFlock(data)
	if err != nil {
		mustBeShort(t, "DecodeLinuxFlock", err, len(data), LinuxFlockSize)
		return
	}
	sameBytesBut(t, "Linux flock", data, EncodeLinuxFlock(&l), [2]int{4, 8}, [2]int{28, 32})
	nb, err := FlockFromLinux(&l)
	known := l.Type == unix.F_RDLCK || l.Type == unix.F_WRLCK || l.Type == unix.F_UNLCK
	if err != nil {
		mustWrap(t, "FlockFromLinux", err, ErrInvalid)
		if known {
			t.Fatalf("lock type %d refused: %v", l.Type, err)
		}
		return
	}
	back, err := nb.ToLinux()
	mustNot(t, err)
	sameValue(t, "Linux flock through NetBSD", l, back)
}

// FuzzSockaddr reads arbitrary bytes as a Linux and as a NetBSD socket
// address. Every NetBSD address made from a Linux one has an sa_len equal to
// its length and converts back to a Linux address that gives the same NetBSD
// one again, but for a path of 108 bytes: its Linux form then has the
// terminating NUL too, 111 bytes, as Linux's getsockname reports it and its
// connect refuses it. A Linux address made from a NetBSD one converts to
// NetBSD and back unchanged, except for those Linux itself refuses to bind
// or connect to, unnamed AF_UNIX ones and those with paths too long for
// sun_path, and AF_UNSPEC ones longer than a sockaddr_storage, which are cut
// to its size. The x/sys/unix address of a NetBSD one never names an
// abstract socket, and encodes back to NetBSD and parses to an equal value,
// unless its path is too long for sa_len.
func FuzzSockaddr(f *testing.F) {
	for _, sa := range []unix.Sockaddr{
		&unix.SockaddrInet4{Port: 80, Addr: [4]byte{127, 0, 0, 1}},
		&unix.SockaddrInet6{Port: 443, ZoneId: 3, Addr: [16]byte{15: 1}},
		&unix.SockaddrUnix{Name: "/tmp/rump.sock"},
		&unix.SockaddrUnix{},
	} {
		nb, err := EncodeSockaddr(sa)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(nb)
		l, err := SockaddrToLinux(nb)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(l)
	}
	f.Add([]byte{unix.AF_UNSPEC, 0, 1, 2, 3, 4})

	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzSockaddrFromLinux(t, data)
		fuzzSockaddrToLinux(t, data)
		fuzzParseSockaddr(t, data)
	})
}

func fuzzSockaddrFromLinux(t *testing.T, data []byte) {
	nb, err := SockaddrFromLinux(data)
	if err != nil {
		mustWrap(t, "SockaddrFromLinux", err, ErrShort, ErrInvalid, ErrNoEquivalent)
		return
	}
	if int(nb[0]) != len(nb) {
		t.Fatalf("sa_len %d of a %d-byte address %x", nb[0], len(nb), nb)
	}
	l, err := SockaddrToLinux(nb)
	mustNot(t, err)
	if nb[1] == AF_LOCAL && len(l) == LinuxSockaddrUnSize+1 {
		return
	}
	again, err := SockaddrFromLinux(l)
	mustNot(t, err)
	sameValue(t, "NetBSD address through Linux", nb, again)
}

func fuzzSockaddrToLinux(t *testing.T, data []byte) {
	l, err := SockaddrToLinux(data)
	if err != nil {
		mustWrap(t, "SockaddrToLinux", err, ErrShort, ErrNoEquivalent)
		return
	}
	family := binary.LittleEndian.Uint16(l)
	nb, err := SockaddrFromLinux(l)
	if err != nil {
		unnamed := family == unix.AF_UNIX && len(l) == 2
		tooLong := family == unix.AF_UNIX && len(l) > LinuxSockaddrUnSize
		if !unnamed && !tooLong {
			t.Fatalf("Linux address %x made from NetBSD refused: %v", l, err)
		}
		return
	}
	back, err := SockaddrToLinux(nb)
	mustNot(t, err)
	want := l
	if family == unix.AF_UNSPEC {
		want = l[:min(len(l), SockaddrStorageSize)]
	}
	sameValue(t, "Linux address through NetBSD", want, back)
}

func fuzzParseSockaddr(t *testing.T, data []byte) {
	sa, err := ParseSockaddr(data)
	if err != nil {
		mustWrap(t, "ParseSockaddr", err, ErrShort, ErrNoEquivalent)
		return
	}
	if u, ok := sa.(*unix.SockaddrUnix); ok && u.Name != "" && u.Name[0] == '@' {
		t.Fatalf("NetBSD path of %x reaches Linux's abstract namespace as %q", data, u.Name)
	}
	nb, err := EncodeSockaddr(sa)
	if err != nil {
		u, ok := sa.(*unix.SockaddrUnix)
		if !ok || len(u.Name)+3 <= maxNetBSDSockaddrLen {
			t.Fatalf("EncodeSockaddr(%+v) of parsed %x: %v", sa, data, err)
		}
		return
	}
	again, err := ParseSockaddr(nb)
	mustNot(t, err)
	sameValue(t, "x/sys/unix address through NetBSD", sa, again)
}

// FuzzMsghdr reads arbitrary bytes as NetBSD and Linux msghdr and mmsghdr,
// and as a count followed by iovecs. Each re-encodes to its bytes, padding
// zeroed. A NetBSD msghdr widened to Linux narrows back to itself, but for a
// negative iovec count, which becomes 0, and msg_flags bits Linux lacks. A
// Linux msghdr whose counts fit NetBSD's fields narrows and widens back to
// itself, but for msg_flags bits NetBSD lacks; one whose counts do not fit
// is refused with ErrInvalid.
func FuzzMsghdr(f *testing.F) {
	m := Msghdr{Name: 0x7000, Namelen: 16, Iov: 0x7100, Iovlen: 2, Control: 0x7200,
		Controllen: 24, Flags: MSG_CTRUNC | MSG_EOR}
	f.Add(m.Encode())
	f.Add(m.ToLinux().Encode())
	f.Add(Mmsghdr{Hdr: m, Len: 5}.Encode())
	f.Add(LinuxMmsghdr{Hdr: m.ToLinux(), Len: 5}.Encode())
	f.Add(append([]byte{2}, EncodeIovecs([]Iovec{{0x7100, 5}, {0x7200, 7}})...))

	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzNetBSDMsghdr(t, data)
		fuzzLinuxMsghdr(t, data)
		fuzzIovecs(t, data)
	})
}

func fuzzNetBSDMsghdr(t *testing.T, data []byte) {
	if mm, err := DecodeMmsghdr(data); err != nil {
		mustBeShort(t, "DecodeMmsghdr", err, len(data), MmsghdrSize)
	} else {
		sameBytesBut(t, "NetBSD mmsghdr", data, mm.Encode(), [2]int{12, 16}, [2]int{28, 32},
			[2]int{52, 56})
	}

	m, err := DecodeMsghdr(data)
	if err != nil {
		mustBeShort(t, "DecodeMsghdr", err, len(data), MsghdrSize)
		return
	}
	sameBytesBut(t, "NetBSD msghdr", data, m.Encode(), [2]int{12, 16}, [2]int{28, 32})
	l := m.ToLinux()
	again, err := DecodeLinuxMsghdr(l.Encode())
	mustNot(t, err)
	sameValue(t, "Linux msghdr of NetBSD decoded again", l, again)

	back, err := MsghdrFromLinux(l)
	mustNot(t, err)
	want := m
	want.Iovlen = max(m.Iovlen, 0)
	_, dropped := MsgFlagsToLinux(int(m.Flags))
	want.Flags = int32(uint32(m.Flags) &^ uint32(dropped))
	sameValue(t, "NetBSD msghdr through Linux", want, back)
}

func fuzzLinuxMsghdr(t *testing.T, data []byte) {
	if mm, err := DecodeLinuxMmsghdr(data); err != nil {
		mustBeShort(t, "DecodeLinuxMmsghdr", err, len(data), LinuxMmsghdrSize)
	} else {
		sameBytesBut(t, "Linux mmsghdr", data, mm.Encode(), [2]int{12, 16}, [2]int{52, 56},
			[2]int{60, 64})
	}

	l, err := DecodeLinuxMsghdr(data)
	if err != nil {
		mustBeShort(t, "DecodeLinuxMsghdr", err, len(data), LinuxMsghdrSize)
		return
	}
	sameBytesBut(t, "Linux msghdr", data, l.Encode(), [2]int{12, 16}, [2]int{52, 56})
	fits := l.Iovlen <= math.MaxInt32 && l.Controllen <= math.MaxUint32
	m, err := MsghdrFromLinux(l)
	if err != nil {
		mustWrap(t, "MsghdrFromLinux", err, ErrInvalid)
		if fits {
			t.Fatalf("msghdr %+v refused: %v", l, err)
		}
		return
	}
	if !fits {
		t.Fatalf("msghdr %+v narrowed to %+v", l, m)
	}
	again, err := DecodeMsghdr(m.Encode())
	mustNot(t, err)
	sameValue(t, "NetBSD msghdr of Linux decoded again", m, again)

	want := l
	_, err = MsgFlagsFromLinux(int(l.Flags))
	want.Flags = int32(uint32(l.Flags) &^ uint32(leftBits(t, "msg_flags", err)))
	sameValue(t, "Linux msghdr through NetBSD", want, m.ToLinux())
}

// fuzzIovecs reads the first byte as a signed count and the rest as iovecs.
func fuzzIovecs(t *testing.T, data []byte) {
	if len(data) == 0 {
		return
	}
	n, b := int(int8(data[0])), data[1:]
	iov, err := DecodeIovecs(b, n)
	if err != nil {
		if n < 0 {
			mustWrap(t, "DecodeIovecs", err, ErrInvalid)
			return
		}
		mustBeShort(t, "DecodeIovecs", err, len(b), n*IovecSize)
		return
	}
	if len(iov) != n {
		t.Fatalf("%d iovecs asked, %d decoded", n, len(iov))
	}
	sameBytesBut(t, "iovecs", b, EncodeIovecs(iov))
}

// FuzzControl reads arbitrary bytes as NetBSD and Linux control buffers,
// SCM_RIGHTS data and a Linux ucred. A parsed buffer re-encodes to one that
// parses to the same messages; a NetBSD message truncated by the end of the
// buffer comes back with the data that was there. A message translated to
// the other ABI and back is equal: SCM_RIGHTS exactly, SCM_TIMESTAMP as the
// timeval it holds. SCM_CREDS becomes a ucred of the sender's pid and
// effective ids, which cannot be sent back since NetBSD makes its own
// credentials. Rights and a ucred made into sockcred data come back exact.
func FuzzControl(f *testing.F) {
	cred, err := SockcredFromLinux([]byte{1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0})
	if err != nil {
		f.Fatal(err)
	}
	nb := []Cmsg{
		{Level: SOL_SOCKET, Type: SCM_RIGHTS, Data: EncodeRights([]int32{3, 4, 5})},
		{Level: SOL_SOCKET, Type: SCM_TIMESTAMP,
			Data: Timeval{Sec: 1700000000, Usec: 250000}.Encode()},
		{Level: SOL_SOCKET, Type: SCM_CREDS, Data: cred},
	}
	f.Add(EncodeControl(nb))
	var linux []Cmsg
	for _, c := range nb {
		l, err := CmsgToLinux(c)
		if err != nil {
			f.Fatal(err)
		}
		linux = append(linux, l)
	}
	f.Add(EncodeLinuxControl(linux))

	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzNetBSDControl(t, data)
		fuzzLinuxControl(t, data)

		sameBytesBut(t, "SCM_RIGHTS data", data, EncodeRights(ParseRights(data)))
		cred, err := SockcredFromLinux(data)
		if err != nil {
			mustBeShort(t, "SockcredFromLinux", err, len(data), LinuxUcredSize)
			return
		}
		l, err := CmsgToLinux(Cmsg{Level: SOL_SOCKET, Type: SCM_CREDS, Data: cred})
		mustNot(t, err)
		sameValue(t, "ucred through sockcred", data[:LinuxUcredSize], l.Data)
	})
}

func fuzzNetBSDControl(t *testing.T, data []byte) {
	msgs, err := ParseControl(data)
	if err != nil {
		mustWrap(t, "ParseControl", err, ErrInvalid)
		return
	}
	again, err := ParseControl(EncodeControl(msgs))
	mustNot(t, err)
	sameValue(t, "NetBSD control parsed again", msgs, again)

	var sent, linux []Cmsg
	for _, m := range msgs {
		l, err := CmsgToLinux(m)
		if err != nil {
			mustWrap(t, "CmsgToLinux", err, ErrNoEquivalent, ErrShort)
			continue
		}
		sent, linux = append(sent, m), append(linux, l)
	}
	lagain, err := ParseLinuxControl(EncodeLinuxControl(linux))
	mustNot(t, err)
	sameValue(t, "Linux control of NetBSD parsed again", linux, lagain)

	le := binary.LittleEndian
	for i, l := range linux {
		m := sent[i]
		back, err := CmsgFromLinux(l)
		switch m.Type {
		case SCM_RIGHTS:
			mustNot(t, err)
			sameValue(t, "SCM_RIGHTS through Linux", m, back)
		case SCM_TIMESTAMP:
			mustNot(t, err)
			tv, err := DecodeTimeval(m.Data)
			mustNot(t, err)
			want := Cmsg{Level: m.Level, Type: m.Type, Data: tv.Encode()}
			sameValue(t, "SCM_TIMESTAMP through Linux", want, back)
		case SCM_CREDS:
			mustWrap(t, "CmsgFromLinux of SCM_CREDENTIALS", err, ErrNoEquivalent)
			want := []uint32{le.Uint32(m.Data), le.Uint32(m.Data[8:]), le.Uint32(m.Data[16:])}
			got := []uint32{le.Uint32(l.Data), le.Uint32(l.Data[4:]), le.Uint32(l.Data[8:])}
			sameValue(t, "ucred of sockcred", want, got)
		}
	}
}

func fuzzLinuxControl(t *testing.T, data []byte) {
	msgs, err := ParseLinuxControl(data)
	if err != nil {
		mustWrap(t, "ParseLinuxControl", err, ErrInvalid)
		return
	}
	again, err := ParseLinuxControl(EncodeLinuxControl(msgs))
	mustNot(t, err)
	sameValue(t, "Linux control parsed again", msgs, again)

	var sent, nb []Cmsg
	for _, m := range msgs {
		c, err := CmsgFromLinux(m)
		if err != nil {
			mustWrap(t, "CmsgFromLinux", err, ErrNoEquivalent, ErrShort, ErrInvalid)
			continue
		}
		sent, nb = append(sent, m), append(nb, c)
	}
	nagain, err := ParseControl(EncodeControl(nb))
	mustNot(t, err)
	sameValue(t, "NetBSD control of Linux parsed again", nb, nagain)

	for i, c := range nb {
		m := sent[i]
		back, err := CmsgToLinux(c)
		mustNot(t, err)
		if m.Type == unix.SCM_TIMESTAMP {
			m.Data = m.Data[:TimevalSize]
		}
		sameValue(t, "control message through NetBSD", m, back)
	}
}

// direntFormat is one directory record format, with its encoder and parser.
type direntFormat struct {
	name     string
	append   func([]byte, Dirent) ([]byte, error)
	parse    func([]byte) ([]Dirent, error)
	keepsOff bool
}

var direntFormats = []direntFormat{
	{"NetBSD dirent", AppendDirent, ParseDirents, false},
	{"linux_dirent64", AppendLinuxDirent64, ParseLinuxDirents64, true},
	{"linux_dirent", AppendLinuxDirent, ParseLinuxDirents, true},
}

// FuzzDirents parses arbitrary bytes in each of the three directory record
// formats. The entries parsed from one format are written in each format and
// parsed back equal, d_off excepted where the target format has none. An
// entry an encoder refuses must have a name no directory holds (empty, too
// long, or with a NUL or a slash), and the refusal must leave the buffer as
// it was.
func FuzzDirents(f *testing.F) {
	ents := []Dirent{{Ino: 2, Off: 1, Type: DT_DIR, Name: "."},
		{Ino: 1, Off: 2, Type: DT_DIR, Name: ".."},
		{Ino: 12, Off: 3, Type: DT_REG, Name: "a-rather-long-file-name.txt"},
		{Ino: 13, Off: 4, Type: DT_WHT, Name: strings.Repeat("n", MAXNAMLEN)}}
	for _, format := range direntFormats {
		var all []byte
		for _, d := range ents {
			one, err := format.append(nil, d)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(one)
			all = append(all, one...)
		}
		f.Add(all)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, from := range direntFormats {
			ds, err := from.parse(data)
			if err != nil {
				mustWrap(t, from.name, err, ErrShort, ErrInvalid)
				continue
			}
			for _, to := range direntFormats {
				rewriteDirents(t, from.name, ds, to)
			}
		}
	})
}

// rewriteDirents writes the entries parsed from one format in another and
// parses them back.
func rewriteDirents(t *testing.T, from string, ds []Dirent, to direntFormat) {
	t.Helper()
	var b []byte
	var want []Dirent
	for _, d := range ds {
		nb, err := to.append(b, d)
		if err != nil {
			mustWrap(t, to.name, err, ErrInvalid)
			if d.Name != "" && len(d.Name) <= MAXNAMLEN && !strings.ContainsAny(d.Name, "\x00/") {
				t.Fatalf("%s refused %s entry %+v: %v", to.name, from, d, err)
			}
			if !bytes.Equal(nb, b) {
				t.Fatalf("%s changed the buffer while refusing %+v", to.name, d)
			}
			continue
		}
		b = nb
		if !to.keepsOff {
			d.Off = 0
		}
		want = append(want, d)
	}
	got, err := to.parse(b)
	mustNot(t, err)
	sameValue(t, from+" entries as "+to.name, want, got)
}

// FuzzPollFds reads the first byte as a signed count and the rest as
// pollfds, which re-encode to their bytes. Poll events are a bijection but
// for NetBSD's POLLOUT, which stands for Linux POLLOUT and POLLWRNORM both:
// Linux events without a NetBSD bit are reported, the rest come back from
// NetBSD with the POLLOUT twin added. NetBSD events come back from Linux
// exactly, less the bits Linux lacks. revents answered to a Linux poll hold
// only requested events and the three always reported. The fd_set sizes of
// the count hold its bits, Linux's in whole words of 64.
func FuzzPollFds(f *testing.F) {
	fds := []unix.PollFd{
		{Fd: 3, Events: unix.POLLIN | unix.POLLOUT, Revents: POLLIN | POLLRDNORM},
		{Fd: -1, Events: LinuxPOLLWRBAND | unix.POLLRDHUP, Revents: POLLHUP | POLLWRBAND},
	}
	f.Add(append([]byte{2}, EncodePollFds(fds)...))

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		n, b := int(int8(data[0])), data[1:]
		checkFdSetSizes(t, n)
		fds, err := DecodePollFds(b, n)
		if err != nil {
			if n < 0 {
				mustWrap(t, "DecodePollFds", err, ErrInvalid)
				return
			}
			mustBeShort(t, "DecodePollFds", err, len(b), n*PollFdSize)
			return
		}
		if len(fds) != n {
			t.Fatalf("%d pollfds asked, %d decoded", n, len(fds))
		}
		sameBytesBut(t, "pollfds", b, EncodePollFds(fds))
		for _, p := range fds {
			pollEventsRoundTrip(t, uint16(p.Events), uint16(p.Revents))
		}
	})
}

func pollEventsRoundTrip(t *testing.T, linux, netbsd uint16) {
	t.Helper()
	const twins = unix.POLLOUT | LinuxPOLLWRNORM
	nb, err := PollEventsFromLinux(int16(linux))
	rest := leftBits(t, "PollEventsFromLinux", err)
	if rest&^uint64(linux) != 0 {
		t.Fatalf("Linux events %#x: %#x reported left over", linux, rest)
	}
	back, dropped := PollEventsToLinux(nb)
	want := linux &^ uint16(rest)
	if want&twins != 0 {
		want |= twins
	}
	if dropped != 0 || uint16(back) != want {
		t.Fatalf("Linux events %#x through NetBSD %#x: %#x, dropped %#x, want %#x",
			linux, nb, back, dropped, want)
	}

	l, dropped := PollEventsToLinux(int16(netbsd))
	nback, err := PollEventsFromLinux(l)
	mustNot(t, err)
	if uint16(nback) != netbsd&^uint16(dropped) {
		t.Fatalf("NetBSD events %#x through Linux %#x: %#x, dropped %#x",
			netbsd, l, nback, dropped)
	}
	r := uint16(PollReventsToLinux(int16(netbsd), int16(linux)))
	if r&^(linux|unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 || r&^uint16(l) != 0 {
		t.Fatalf("revents %#x for requested %#x: %#x", netbsd, linux, r)
	}
}

func checkFdSetSizes(t *testing.T, nd int) {
	t.Helper()
	nb, l := FdSetSize(nd), LinuxFdSetSize(nd)
	if nb%4 != 0 || l%8 != 0 || 8*nb < nd || nb > l || l-nb > 4 {
		t.Fatalf("fd_set sizes of %d descriptors: NetBSD %d, Linux %d", nd, nb, l)
	}
}

// FuzzTime reads arbitrary bytes as a timespec, NetBSD and Linux timevals,
// a NetBSD sigset and a Linux kernel sigset. Each re-encodes to its bytes,
// padding zeroed. A NetBSD timeval widened to Linux narrows back to itself;
// a Linux one narrows when its tv_usec fits 32 bits, and widens back to
// itself, and is refused with ErrInvalid otherwise. Has and Add agree on
// every bit of a sigset. A sigset translated to the other ABI and back loses
// exactly the signals the translation reported as having no counterpart.
func FuzzTime(f *testing.F) {
	f.Add(EncodeTimespec(unix.Timespec{Sec: 1, Nsec: UTIME_OMIT}))
	f.Add(Timeval{Sec: -1, Usec: 999999}.Encode())
	f.Add(EncodeLinuxTimeval(unix.Timeval{Sec: 5, Usec: math.MaxInt32 + 1}))
	var s Sigset
	for _, sig := range []Signal{SIGINT, SIGINFO, SIGPWR, 100} {
		s.Add(sig)
	}
	f.Add(s.Encode())

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < TimespecSize {
			_, err := DecodeTimespec(data)
			mustBeShort(t, "DecodeTimespec", err, len(data), TimespecSize)
			_, err = DecodeTimeval(data)
			mustBeShort(t, "DecodeTimeval", err, len(data), TimevalSize)
			_, err = DecodeLinuxTimeval(data)
			mustBeShort(t, "DecodeLinuxTimeval", err, len(data), TimevalSize)
			_, err = DecodeSigset(data)
			mustBeShort(t, "DecodeSigset", err, len(data), SigsetSize)
			return
		}
		fuzzTimes(t, data)
		fuzzSigsets(t, data)
	})
}

func fuzzTimes(t *testing.T, data []byte) {
	ts, err := DecodeTimespec(data)
	mustNot(t, err)
	sameBytesBut(t, "timespec", data, EncodeTimespec(ts))

	tv, err := DecodeTimeval(data)
	mustNot(t, err)
	sameBytesBut(t, "NetBSD timeval", data, tv.Encode(), [2]int{12, 16})
	back, err := TimevalFromLinux(tv.ToLinux())
	mustNot(t, err)
	sameValue(t, "NetBSD timeval through Linux", tv, back)

	ltv, err := DecodeLinuxTimeval(data)
	mustNot(t, err)
	sameBytesBut(t, "Linux timeval", data, EncodeLinuxTimeval(ltv))
	fits := ltv.Usec >= math.MinInt32 && ltv.Usec <= math.MaxInt32
	nb, err := TimevalFromLinux(ltv)
	if err != nil {
		mustWrap(t, "TimevalFromLinux", err, ErrInvalid)
		if fits {
			t.Fatalf("timeval %+v refused: %v", ltv, err)
		}
		return
	}
	if !fits {
		t.Fatalf("timeval %+v narrowed to %+v", ltv, nb)
	}
	sameValue(t, "Linux timeval through NetBSD", ltv, nb.ToLinux())
}

func fuzzSigsets(t *testing.T, data []byte) {
	s, err := DecodeSigset(data)
	mustNot(t, err)
	sameBytesBut(t, "NetBSD sigset", data, s.Encode())
	var rebuilt Sigset
	for sig := Signal(-1); sig <= sigsetBits+1; sig++ {
		if s.Has(sig) {
			rebuilt.Add(sig)
		}
	}
	sameValue(t, "sigset rebuilt with Has and Add", s, rebuilt)

	mask, dropped := s.ToLinux()
	back, err := SigsetFromLinux(mask)
	mustNot(t, err)
	want := s
	for i := range want {
		want[i] &^= dropped[i]
	}
	sameValue(t, "NetBSD sigset through Linux", want, back)

	lmask := binary.LittleEndian.Uint64(data)
	nb, err := SigsetFromLinux(lmask)
	rest := leftBits(t, "SigsetFromLinux", err)
	lback, dropped := nb.ToLinux()
	if rest&^lmask != 0 || dropped != (Sigset{}) || lback != lmask&^rest {
		t.Fatalf("Linux sigset %#x through NetBSD: %#x, %#x left, %v dropped",
			lmask, lback, rest, dropped)
	}
}

// FuzzIoctl takes arbitrary NetBSD and Linux commands and command parts. The
// encoding of a NetBSD command is a bijection: its direction, length, group
// and number rebuild it, and the IO* builders give back the parts they were
// built from, the length cut to 13 bits. Renumbering is a bijection on the
// commands it knows; a Linux command is read as an unsigned int, as the
// Linux kernel reads it, and everything else wraps ErrNoEquivalent.
func FuzzIoctl(f *testing.F) {
	f.Add(uint32(FIONREAD), uint64(LinuxFIONREAD), byte('f'), byte(127), 4)
	f.Add(uint32(SIOCGIFCONF), uint64(unix.SIOCATMARK)|1<<32, byte('i'), byte(38), IfconfSize)
	f.Add(uint32(TIOCGETA), uint64(unix.TCGETS), byte('t'), byte(19), -1)

	f.Fuzz(func(t *testing.T, cmd uint32, linux uint64, group, num byte, size int) {
		if got := IOC(IoctlDir(cmd), IoctlGroup(cmd), IoctlNum(cmd), IoctlLen(cmd)); got != cmd {
			t.Fatalf("command %#x rebuilt from its parts as %#x", cmd, got)
		}
		for _, c := range []struct {
			dir, cmd uint32
			size     int
		}{
			{IOC_VOID, IO(group, num), 0},
			{IOC_OUT, IOR(group, num, size), size & IOCPARM_MASK},
			{IOC_IN, IOW(group, num, size), size & IOCPARM_MASK},
			{IOC_INOUT, IOWR(group, num, size), size & IOCPARM_MASK},
		} {
			if IoctlDir(c.cmd) != c.dir || IoctlGroup(c.cmd) != group ||
				IoctlNum(c.cmd) != num || IoctlLen(c.cmd) != c.size {
				t.Fatalf("command %#x built from %#x %q %d %d", c.cmd, c.dir, group, num, size)
			}
		}

		if nb, err := IoctlFromLinux(linux); err != nil {
			mustWrap(t, "IoctlFromLinux", err, ErrNoEquivalent)
		} else if back, err := IoctlToLinux(nb); err != nil || back != linux&math.MaxUint32 {
			t.Fatalf("Linux ioctl %#x through NetBSD %#x: %#x, %v", linux, nb, back, err)
		}
		if l, err := IoctlToLinux(cmd); err != nil {
			mustWrap(t, "IoctlToLinux", err, ErrNoEquivalent)
		} else if back, err := IoctlFromLinux(l); err != nil || back != cmd {
			t.Fatalf("NetBSD ioctl %#x through Linux %#x: %#x, %v", cmd, l, back, err)
		}
	})
}

// FuzzOpenFlags translates arbitrary open, *at and umount2 flags both ways.
// From Linux, the bits reported left over are bits of the input, and the
// rest survive NetBSD and back, less O_LARGEFILE and AT_NO_AUTOMOUNT, whose
// behaviour is NetBSD's default. From NetBSD, the bits not reported dropped
// survive Linux and back, with two widenings Linux forces: O_SYNC, one bit
// on NetBSD, is two on Linux and comes back with O_DSYNC, which it implies;
// and AT_EACCESS shares Linux's 0x200 with AT_REMOVEDIR, which it comes
// back as outside faccessat. faccessat flags survive NetBSD and back.
func FuzzOpenFlags(f *testing.F) {
	f.Add(uint32(unix.O_RDWR|unix.O_CREAT|unix.O_SYNC|unix.O_CLOEXEC|LinuxO_LARGEFILE),
		uint32(O_WRONLY|O_SYNC|O_EXLOCK), uint32(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH),
		uint32(AT_EACCESS|AT_SYMLINK_FOLLOW))
	f.Add(uint32(unix.O_PATH|unix.O_TMPFILE), uint32(O_DSYNC|O_NOSIGPIPE|O_DIRECTORY),
		uint32(unix.AT_EACCESS|unix.AT_NO_AUTOMOUNT), uint32(AT_REMOVEDIR|AT_SYMLINK_NOFOLLOW))

	f.Fuzz(func(t *testing.T, linux, netbsd, linuxAt, netbsdAt uint32) {
		nb, err := OpenFlagsFromLinux(linux)
		rest := uint32(leftBits(t, "OpenFlagsFromLinux", err))
		back, dropped := OpenFlagsToLinux(nb)
		if rest&^linux != 0 || dropped != 0 || back != linux&^LinuxO_LARGEFILE&^rest {
			t.Fatalf("Linux open flags %#x through NetBSD %#x: %#x, %#x left, %#x dropped",
				linux, nb, back, rest, dropped)
		}
		l, dropped := OpenFlagsToLinux(netbsd)
		nback, err := OpenFlagsFromLinux(l)
		want := netbsd &^ dropped
		if want&O_SYNC != 0 {
			want |= O_DSYNC
		}
		if err != nil || nback != want {
			t.Fatalf("NetBSD open flags %#x through Linux %#x: %#x, %v, want %#x",
				netbsd, l, nback, err, want)
		}

		atFlagsRoundTrip(t, linuxAt, netbsdAt)

		um, err := UnmountFlagsFromLinux(linux)
		if got := uint32(leftBits(t, "UnmountFlagsFromLinux", err)); got != linux&^unix.MNT_FORCE ||
			(um == MNT_FORCE) != (linux&unix.MNT_FORCE != 0) || um&^MNT_FORCE != 0 {
			t.Fatalf("umount2 flags %#x: %#x, %#x left", linux, um, got)
		}
	})
}

func atFlagsRoundTrip(t *testing.T, linux, netbsd uint32) {
	t.Helper()
	nb, err := AtFlagsFromLinux(linux)
	rest := uint32(leftBits(t, "AtFlagsFromLinux", err))
	back, dropped := AtFlagsToLinux(nb)
	if rest&^linux != 0 || dropped != 0 || back != linux&^unix.AT_NO_AUTOMOUNT&^rest {
		t.Fatalf("Linux at flags %#x through NetBSD %#x: %#x, %#x left, %#x dropped",
			linux, nb, back, rest, dropped)
	}

	nb, err = FaccessatFlagsFromLinux(linux)
	rest = uint32(leftBits(t, "FaccessatFlagsFromLinux", err))
	back, dropped = AtFlagsToLinux(nb)
	if rest&^linux != 0 || dropped != 0 || back != linux&^rest {
		t.Fatalf("Linux faccessat flags %#x through NetBSD %#x: %#x, %#x left, %#x dropped",
			linux, nb, back, rest, dropped)
	}

	l, dropped := AtFlagsToLinux(netbsd)
	nback, err := AtFlagsFromLinux(l)
	want := netbsd &^ dropped
	if want&AT_EACCESS != 0 {
		want = want&^AT_EACCESS | AT_REMOVEDIR
	}
	if err != nil || nback != want {
		t.Fatalf("NetBSD at flags %#x through Linux %#x: %#x, %v, want %#x",
			netbsd, l, nback, err, want)
	}
}

// FuzzSocketFlags translates arbitrary socket type words and message flags
// both ways. From Linux, the bits reported left over are bits of the input
// and the rest survive NetBSD and back. From NetBSD, the bits not reported
// dropped survive Linux and back.
func FuzzSocketFlags(f *testing.F) {
	f.Add(int32(unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC),
		int32(SOCK_DGRAM|SOCK_NOSIGPIPE), int32(unix.MSG_PEEK|unix.MSG_MORE),
		int32(MSG_BCAST|MSG_EOR))
	f.Add(int32(unix.SOCK_PACKET), int32(SOCK_SEQPACKET|SOCK_CLOEXEC),
		int32(unix.MSG_CMSG_CLOEXEC|unix.MSG_WAITFORONE), int32(MSG_NOTIFICATION))

	f.Fuzz(func(t *testing.T, linuxType, netbsdType, linuxMsg, netbsdMsg int32) {
		lt := int(linuxType)
		nb, err := SocketTypeFromLinux(lt)
		rest := leftBits(t, "SocketTypeFromLinux", err)
		back, dropped := SocketTypeToLinux(nb)
		if rest&^uint64(lt) != 0 || dropped != 0 || uint64(back) != uint64(lt)&^rest {
			t.Fatalf("Linux socket type %#x through NetBSD %#x: %#x, %#x left, %#x dropped",
				lt, nb, back, rest, dropped)
		}
		nb, err = SocketFlagsFromLinux(lt)
		rest = leftBits(t, "SocketFlagsFromLinux", err)
		back, dropped = SocketTypeToLinux(nb)
		if rest&^uint64(lt) != 0 || dropped != 0 || uint64(back) != uint64(lt)&^rest {
			t.Fatalf("Linux socket flags %#x through NetBSD %#x: %#x, %#x left, %#x dropped",
				lt, nb, back, rest, dropped)
		}
		nt := int(netbsdType)
		l, dropped := SocketTypeToLinux(nt)
		nback, err := SocketTypeFromLinux(l)
		if err != nil || dropped&^nt != 0 || nback != nt&^dropped {
			t.Fatalf("NetBSD socket type %#x through Linux %#x: %#x, %v, %#x dropped",
				nt, l, nback, err, dropped)
		}

		msgFlagsRoundTrip(t, uint32(linuxMsg), uint32(netbsdMsg))
	})
}

func msgFlagsRoundTrip(t *testing.T, linux, netbsd uint32) {
	t.Helper()
	nb, err := MsgFlagsFromLinux(int(linux))
	rest := uint32(leftBits(t, "MsgFlagsFromLinux", err))
	back, dropped := MsgFlagsToLinux(nb)
	if rest&^linux != 0 || dropped != 0 || uint32(back) != linux&^rest {
		t.Fatalf("Linux message flags %#x through NetBSD %#x: %#x, %#x left, %#x dropped",
			linux, nb, back, rest, dropped)
	}
	l, dropped := MsgFlagsToLinux(int(netbsd))
	nback, err := MsgFlagsFromLinux(l)
	if err != nil || uint32(nback) != netbsd&^uint32(dropped) {
		t.Fatalf("NetBSD message flags %#x through Linux %#x: %#x, %v, %#x dropped",
			netbsd, l, nback, err, dropped)
	}
}

// FuzzSockopt translates arbitrary option levels, names and values. Option
// names are a bijection on the options the tables know, with SOL_SOCKET
// renumbered. A Linux value survives NetBSD and back: a timeout as the
// timeval it holds, SO_ERROR as its errno or EIO when NetBSD has no such
// error, a multicast TTL or loop flag as its int (Linux's -1 TTL as 1), and
// everything else byte for byte. A NetBSD value survives Linux and back the
// same way, SO_ERROR keeping its meaning to a Linux program.
func FuzzSockopt(f *testing.F) {
	f.Add(int32(unix.SOL_SOCKET), int32(unix.SO_RCVTIMEO),
		EncodeLinuxTimeval(unix.Timeval{Sec: 2, Usec: 500000}))
	f.Add(int32(unix.SOL_SOCKET), int32(unix.SO_ERROR), intBytes(int32(unix.ECONNREFUSED)))
	f.Add(int32(unix.IPPROTO_IP), int32(unix.IP_MULTICAST_TTL), intBytes(-1))
	f.Add(int32(unix.IPPROTO_IP), int32(unix.IP_MULTICAST_LOOP), []byte{1})
	f.Add(int32(SOL_SOCKET), int32(SO_SNDTIMEO), Timeval{Sec: 1, Usec: 7}.Encode())
	f.Add(int32(unix.IPPROTO_TCP), int32(unix.TCP_CONGESTION), []byte("cubic\x00"))

	f.Fuzz(func(t *testing.T, level, name int32, val []byte) {
		lv, nm := int(level), int(name)
		if nl, nn, err := SockoptFromLinux(lv, nm); err != nil {
			mustWrap(t, "SockoptFromLinux", err, ErrNoEquivalent)
		} else if ll, ln, err := SockoptToLinux(nl, nn); err != nil || ll != lv || ln != nm {
			t.Fatalf("Linux option %d/%d through NetBSD %d/%d: %d/%d, %v",
				lv, nm, nl, nn, ll, ln, err)
		}
		if ll, ln, err := SockoptToLinux(lv, nm); err != nil {
			mustWrap(t, "SockoptToLinux", err, ErrNoEquivalent)
		} else if nl, nn, err := SockoptFromLinux(ll, ln); err != nil || nl != lv || nn != nm {
			t.Fatalf("NetBSD option %d/%d through Linux %d/%d: %d/%d, %v",
				lv, nm, ll, ln, nl, nn, err)
		}

		sockoptValueFromLinux(t, lv, nm, val)
		sockoptValueToLinux(t, lv, nm, val)
	})
}

// sockoptKind sorts the option values that SockoptValueFromLinux and
// SockoptValueToLinux translate; level and name are Linux's.
func sockoptKind(level, name int) string {
	switch {
	case level == unix.SOL_SOCKET && (name == unix.SO_RCVTIMEO || name == unix.SO_SNDTIMEO):
		return "timeout"
	case level == unix.SOL_SOCKET && name == unix.SO_ERROR:
		return "errno"
	case level == unix.IPPROTO_TCP && name == unix.TCP_NODELAY:
		return "flag"
	case level == unix.IPPROTO_IP &&
		(name == unix.IP_MULTICAST_TTL || name == unix.IP_MULTICAST_LOOP):
		return "multicast"
	}
	return ""
}

func sockoptValueFromLinux(t *testing.T, level, name int, val []byte) {
	nb, err := SockoptValueFromLinux(level, name, val)
	if err != nil {
		mustWrap(t, "SockoptValueFromLinux", err, ErrShort, ErrInvalid)
		return
	}
	back, err := SockoptValueToLinux(level, name, nb)
	mustNot(t, err)

	want := val
	switch sockoptKind(level, name) {
	case "timeout":
		want = val[:TimevalSize]
	case "errno":
		e := unix.Errno(binary.LittleEndian.Uint32(val))
		if _, ok := fromLinuxErrno[e]; !ok && e != 0 {
			e = unix.EIO
		}
		want = intBytes(int32(e))
	case "flag":
		if len(val) == 4 {
			want = intBytes(0)
			if binary.LittleEndian.Uint32(val) != 0 {
				want = intBytes(1)
			}
		}
	case "multicast":
		if len(val) >= 4 {
			v := int32(binary.LittleEndian.Uint32(val))
			if v == -1 && name == unix.IP_MULTICAST_TTL {
				v = 1
			}
			want = intBytes(v)
		} else if len(val) == 1 {
			want = intBytes(int32(val[0]))
		}
	}
	sameValue(t, "Linux option value through NetBSD", want, back)
}

func sockoptValueToLinux(t *testing.T, level, name int, val []byte) {
	l, err := SockoptValueToLinux(level, name, val)
	if err != nil {
		mustWrap(t, "SockoptValueToLinux", err, ErrShort)
		return
	}
	kind := sockoptKind(level, name)
	if kind == "multicast" && len(val) >= 4 {
		return // no NetBSD kernel answers these options with more than a byte
	}
	back, err := SockoptValueFromLinux(level, name, l)
	mustNot(t, err)

	le := binary.LittleEndian
	switch kind {
	case "timeout":
		tv, err := DecodeTimeval(val)
		mustNot(t, err)
		sameValue(t, "NetBSD timeout through Linux", tv.Encode(), back)
	case "errno":
		got, want := Errno(le.Uint32(back)), Errno(le.Uint32(val))
		if ErrnoToLinux(got) != ErrnoToLinux(want) {
			t.Fatalf("NetBSD SO_ERROR %d through Linux: %d", want, got)
		}
	case "flag":
		if len(val) == 4 && (le.Uint32(val) != 0) != (le.Uint32(back) != 0) {
			t.Fatalf("NetBSD flag %x through Linux: %x", val, back)
		}
	default:
		sameValue(t, "NetBSD option value through Linux", val, back)
	}
}

// FuzzNumbers translates arbitrary errnos, signals, clock ids, fcntl
// commands and address families both ways. Signals, clocks, commands and
// families are bijections on the numbers the tables know. A Linux errno
// with a NetBSD meaning survives NetBSD and back, any other becomes EIO; a
// Linux errno reached from NetBSD is a fixed point of the trip. Names of
// numbers never panic.
func FuzzNumbers(f *testing.F) {
	f.Add(int32(unix.ENODATA), int32(ENOTSUP))
	f.Add(int32(34), int32(SIGINFO)) // SIGRTMIN
	f.Add(int32(unix.F_DUPFD_CLOEXEC), int32(F_CLOSEM))
	f.Add(int32(unix.AF_NETLINK), int32(AF_ROUTE))
	f.Add(int32(-1), int32(ELAST+1))

	f.Fuzz(func(t *testing.T, linux, netbsd int32) {
		e := unix.Errno(uint32(linux))
		nb := ErrnoFromLinux(e)
		if back := ErrnoToLinux(nb); back != e && (nb != EIO || back != unix.EIO) {
			t.Fatalf("Linux errno %d through NetBSD %v: %d", e, nb, back)
		}
		l := ErrnoToLinux(Errno(netbsd))
		if back := ErrnoToLinux(ErrnoFromLinux(l)); back != l {
			t.Fatalf("Linux errno %d of NetBSD %d: %d after a trip", l, netbsd, back)
		}
		_, _ = Errno(netbsd).String(), Signal(netbsd).String()

		if s, ok := SignalFromLinux(unix.Signal(linux)); ok {
			if back, ok := SignalToLinux(s); !ok || back != unix.Signal(linux) {
				t.Fatalf("Linux signal %d through NetBSD %v: %d, %v", linux, s, back, ok)
			}
		}
		if sig, ok := SignalToLinux(Signal(netbsd)); ok {
			if back, ok := SignalFromLinux(sig); !ok || back != Signal(netbsd) {
				t.Fatalf("NetBSD signal %d through Linux %d: %d, %v", netbsd, sig, back, ok)
			}
		}

		numberRoundTrip(t, "clock", int64(linux), int64(netbsd),
			func(v int64) (int64, error) { c, err := ClockFromLinux(int32(v)); return int64(c), err },
			func(v int64) (int64, error) { c, err := ClockToLinux(int32(v)); return int64(c), err })
		numberRoundTrip(t, "fcntl command", int64(linux), int64(netbsd),
			func(v int64) (int64, error) { c, err := FcntlCmdFromLinux(int(v)); return int64(c), err },
			func(v int64) (int64, error) { c, err := FcntlCmdToLinux(int(v)); return int64(c), err })
		numberRoundTrip(t, "address family", int64(linux), int64(netbsd),
			func(v int64) (int64, error) { c, err := FamilyFromLinux(int(v)); return int64(c), err },
			func(v int64) (int64, error) { c, err := FamilyToLinux(int(v)); return int64(c), err })
	})
}

// numberRoundTrip checks that a number translator pair is a bijection on the
// numbers it accepts, and refuses the others with ErrNoEquivalent.
func numberRoundTrip(t *testing.T, what string, linux, netbsd int64,
	fromLinux, toLinux func(int64) (int64, error)) {
	t.Helper()
	if nb, err := fromLinux(linux); err != nil {
		mustWrap(t, what, err, ErrNoEquivalent)
	} else if back, err := toLinux(nb); err != nil || back != linux {
		t.Fatalf("Linux %s %d through NetBSD %d: %d, %v", what, linux, nb, back, err)
	}
	if l, err := toLinux(netbsd); err != nil {
		mustWrap(t, what, err, ErrNoEquivalent)
	} else if back, err := fromLinux(l); err != nil || back != netbsd {
		t.Fatalf("NetBSD %s %d through Linux %d: %d, %v", what, netbsd, l, back, err)
	}
}
