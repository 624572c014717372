package netbsd

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// d6 is the errno table of D.6: NetBSD value, name, the Linux value the
// document gives, and the x/sys/unix errno of that name (or of the suggested
// substitute for NetBSD-only errors).
var d6 = []struct {
	netbsd Errno
	name   string
	linux  int
	unixed unix.Errno
}{
	{1, "EPERM", 1, unix.EPERM}, {2, "ENOENT", 2, unix.ENOENT}, {3, "ESRCH", 3, unix.ESRCH},
	{4, "EINTR", 4, unix.EINTR}, {5, "EIO", 5, unix.EIO}, {6, "ENXIO", 6, unix.ENXIO},
	{7, "E2BIG", 7, unix.E2BIG}, {8, "ENOEXEC", 8, unix.ENOEXEC}, {9, "EBADF", 9, unix.EBADF},
	{10, "ECHILD", 10, unix.ECHILD},
	{11, "EDEADLK", 35, unix.EDEADLK},
	{12, "ENOMEM", 12, unix.ENOMEM}, {13, "EACCES", 13, unix.EACCES},
	{14, "EFAULT", 14, unix.EFAULT}, {15, "ENOTBLK", 15, unix.ENOTBLK},
	{16, "EBUSY", 16, unix.EBUSY}, {17, "EEXIST", 17, unix.EEXIST}, {18, "EXDEV", 18, unix.EXDEV},
	{19, "ENODEV", 19, unix.ENODEV}, {20, "ENOTDIR", 20, unix.ENOTDIR},
	{21, "EISDIR", 21, unix.EISDIR}, {22, "EINVAL", 22, unix.EINVAL},
	{23, "ENFILE", 23, unix.ENFILE}, {24, "EMFILE", 24, unix.EMFILE},
	{25, "ENOTTY", 25, unix.ENOTTY}, {26, "ETXTBSY", 26, unix.ETXTBSY},
	{27, "EFBIG", 27, unix.EFBIG}, {28, "ENOSPC", 28, unix.ENOSPC},
	{29, "ESPIPE", 29, unix.ESPIPE}, {30, "EROFS", 30, unix.EROFS},
	{31, "EMLINK", 31, unix.EMLINK}, {32, "EPIPE", 32, unix.EPIPE}, {33, "EDOM", 33, unix.EDOM},
	{34, "ERANGE", 34, unix.ERANGE},
	{35, "EAGAIN", 11, unix.EAGAIN},
	{36, "EINPROGRESS", 115, unix.EINPROGRESS},
	{37, "EALREADY", 114, unix.EALREADY},
	{38, "ENOTSOCK", 88, unix.ENOTSOCK},
	{39, "EDESTADDRREQ", 89, unix.EDESTADDRREQ},
	{40, "EMSGSIZE", 90, unix.EMSGSIZE},
	{41, "EPROTOTYPE", 91, unix.EPROTOTYPE},
	{42, "ENOPROTOOPT", 92, unix.ENOPROTOOPT},
	{43, "EPROTONOSUPPORT", 93, unix.EPROTONOSUPPORT},
	{44, "ESOCKTNOSUPPORT", 94, unix.ESOCKTNOSUPPORT},
	{45, "EOPNOTSUPP", 95, unix.EOPNOTSUPP},
	{46, "EPFNOSUPPORT", 96, unix.EPFNOSUPPORT},
	{47, "EAFNOSUPPORT", 97, unix.EAFNOSUPPORT},
	{48, "EADDRINUSE", 98, unix.EADDRINUSE},
	{49, "EADDRNOTAVAIL", 99, unix.EADDRNOTAVAIL},
	{50, "ENETDOWN", 100, unix.ENETDOWN},
	{51, "ENETUNREACH", 101, unix.ENETUNREACH},
	{52, "ENETRESET", 102, unix.ENETRESET},
	{53, "ECONNABORTED", 103, unix.ECONNABORTED},
	{54, "ECONNRESET", 104, unix.ECONNRESET},
	{55, "ENOBUFS", 105, unix.ENOBUFS},
	{56, "EISCONN", 106, unix.EISCONN},
	{57, "ENOTCONN", 107, unix.ENOTCONN},
	{58, "ESHUTDOWN", 108, unix.ESHUTDOWN},
	{59, "ETOOMANYREFS", 109, unix.ETOOMANYREFS},
	{60, "ETIMEDOUT", 110, unix.ETIMEDOUT},
	{61, "ECONNREFUSED", 111, unix.ECONNREFUSED},
	{62, "ELOOP", 40, unix.ELOOP},
	{63, "ENAMETOOLONG", 36, unix.ENAMETOOLONG},
	{64, "EHOSTDOWN", 112, unix.EHOSTDOWN},
	{65, "EHOSTUNREACH", 113, unix.EHOSTUNREACH},
	{66, "ENOTEMPTY", 39, unix.ENOTEMPTY},
	{67, "EPROCLIM", 11, unix.EAGAIN}, // suggested
	{68, "EUSERS", 87, unix.EUSERS},
	{69, "EDQUOT", 122, unix.EDQUOT},
	{70, "ESTALE", 116, unix.ESTALE},
	{71, "EREMOTE", 66, unix.EREMOTE},
	{72, "EBADRPC", 5, unix.EIO}, // suggested
	{73, "ERPCMISMATCH", 5, unix.EIO},
	{74, "EPROGUNAVAIL", 5, unix.EIO},
	{75, "EPROGMISMATCH", 5, unix.EIO},
	{76, "EPROCUNAVAIL", 5, unix.EIO},
	{77, "ENOLCK", 37, unix.ENOLCK},
	{78, "ENOSYS", 38, unix.ENOSYS},
	{79, "EFTYPE", 22, unix.EINVAL},    // suggested
	{80, "EAUTH", 13, unix.EACCES},     // suggested
	{81, "ENEEDAUTH", 13, unix.EACCES}, // suggested
	{82, "EIDRM", 43, unix.EIDRM},
	{83, "ENOMSG", 42, unix.ENOMSG},
	{84, "EOVERFLOW", 75, unix.EOVERFLOW},
	{85, "EILSEQ", 84, unix.EILSEQ},
	{86, "ENOTSUP", 95, unix.ENOTSUP},
	{87, "ECANCELED", 125, unix.ECANCELED},
	{88, "EBADMSG", 74, unix.EBADMSG},
	{89, "ENODATA", 61, unix.ENODATA},
	{90, "ENOSR", 63, unix.ENOSR},
	{91, "ENOSTR", 60, unix.ENOSTR},
	{92, "ETIME", 62, unix.ETIME},
	{93, "ENOATTR", 61, unix.ENODATA},
	{94, "EMULTIHOP", 72, unix.EMULTIHOP},
	{95, "ENOLINK", 67, unix.ENOLINK},
	{96, "EPROTO", 71, unix.EPROTO},
}

func TestErrnoFollowsD6(t *testing.T) {
	if len(d6) != int(ELAST) {
		t.Fatalf("the table lists %d errnos, NetBSD has %d", len(d6), ELAST)
	}
	for _, tt := range d6 {
		t.Run(fmt.Sprintf("NetBSD %s %d becomes Linux %d", tt.name, tt.netbsd, tt.linux),
			func(t *testing.T) {
				if int(tt.unixed) != tt.linux {
					t.Fatalf("x/sys/unix has %d", tt.unixed)
				}
				if got := ErrnoToLinux(tt.netbsd); got != tt.unixed {
					t.Errorf("ErrnoToLinux = %d (%v)", got, got)
				}
				if got := tt.netbsd.String(); got != tt.name {
					t.Errorf("String = %q", got)
				}
			})
	}
}

func TestErrnoFromLinuxInvertsD6(t *testing.T) {
	for _, tt := range d6 {
		want := tt.netbsd
		switch tt.name {
		case "EPROCLIM", "EBADRPC", "ERPCMISMATCH", "EPROGUNAVAIL", "EPROGMISMATCH",
			"EPROCUNAVAIL", "EFTYPE", "EAUTH", "ENEEDAUTH":
			continue // substitutes, not inverses
		case "ENOTSUP":
			continue // Linux's single 95 goes back as EOPNOTSUPP
		case "ENODATA":
			want = ENOATTR // Linux's ENODATA comes from xattr calls
		}
		t.Run(fmt.Sprintf("Linux %d goes back to NetBSD %v", tt.linux, want), func(t *testing.T) {
			if got := ErrnoFromLinux(tt.unixed); got != want {
				t.Errorf("ErrnoFromLinux(%d) = %v", tt.unixed, got)
			}
		})
	}
	t.Run("Linux EAGAIN 11 is NetBSD 35, not NetBSD EDEADLK", func(t *testing.T) {
		if got := ErrnoFromLinux(unix.EAGAIN); got != 35 {
			t.Errorf("= %d", got)
		}
	})
}

func TestErrnoFallbacks(t *testing.T) {
	tests := []struct {
		name string
		nb   Errno
		want unix.Errno
	}{
		{"zero stays zero", 0, 0},
		{"ERESTART (-3) becomes EIO", -3, unix.EIO},
		{"EJUSTRETURN (-2) becomes EIO", -2, unix.EIO},
		{"a number past ELAST becomes EIO", 97, unix.EIO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrnoToLinux(tt.nb); got != tt.want {
				t.Errorf("ErrnoToLinux(%d) = %d", tt.nb, got)
			}
		})
	}
	for _, e := range []unix.Errno{unix.EBADFD, unix.ENOMEDIUM, unix.EOWNERDEAD, unix.ECHRNG,
		unix.EKEYEXPIRED, unix.EHWPOISON, 4095} {
		t.Run(fmt.Sprintf("Linux-only %v becomes NetBSD EIO", e), func(t *testing.T) {
			if got := ErrnoFromLinux(e); got != EIO {
				t.Errorf("= %v", got)
			}
		})
	}
	if got := ErrnoFromLinux(0); got != 0 {
		t.Errorf("ErrnoFromLinux(0) = %v", got)
	}
	if got := Errno(-3).String(); got != "errno(-3)" {
		t.Errorf("String = %q", got)
	}
}
