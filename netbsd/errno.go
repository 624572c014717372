package netbsd

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// Errno is a NetBSD error number, as found in the error field of a sysproxy
// response, in SO_ERROR and in the retval of the errno-returning calls.
type Errno int32

// NetBSD error numbers (sys/errno.h). 1–10 and 12–34 equal Linux's.
const (
	EPERM           Errno = 1
	ENOENT          Errno = 2
	ESRCH           Errno = 3
	EINTR           Errno = 4
	EIO             Errno = 5
	ENXIO           Errno = 6
	E2BIG           Errno = 7
	ENOEXEC         Errno = 8
	EBADF           Errno = 9
	ECHILD          Errno = 10
	EDEADLK         Errno = 11
	ENOMEM          Errno = 12
	EACCES          Errno = 13
	EFAULT          Errno = 14
	ENOTBLK         Errno = 15
	EBUSY           Errno = 16
	EEXIST          Errno = 17
	EXDEV           Errno = 18
	ENODEV          Errno = 19
	ENOTDIR         Errno = 20
	EISDIR          Errno = 21
	EINVAL          Errno = 22
	ENFILE          Errno = 23
	EMFILE          Errno = 24
	ENOTTY          Errno = 25
	ETXTBSY         Errno = 26
	EFBIG           Errno = 27
	ENOSPC          Errno = 28
	ESPIPE          Errno = 29
	EROFS           Errno = 30
	EMLINK          Errno = 31
	EPIPE           Errno = 32
	EDOM            Errno = 33
	ERANGE          Errno = 34
	EAGAIN          Errno = 35
	EWOULDBLOCK     Errno = EAGAIN
	EINPROGRESS     Errno = 36
	EALREADY        Errno = 37
	ENOTSOCK        Errno = 38
	EDESTADDRREQ    Errno = 39
	EMSGSIZE        Errno = 40
	EPROTOTYPE      Errno = 41
	ENOPROTOOPT     Errno = 42
	EPROTONOSUPPORT Errno = 43
	ESOCKTNOSUPPORT Errno = 44
	EOPNOTSUPP      Errno = 45
	EPFNOSUPPORT    Errno = 46
	EAFNOSUPPORT    Errno = 47
	EADDRINUSE      Errno = 48
	EADDRNOTAVAIL   Errno = 49
	ENETDOWN        Errno = 50
	ENETUNREACH     Errno = 51
	ENETRESET       Errno = 52
	ECONNABORTED    Errno = 53
	ECONNRESET      Errno = 54
	ENOBUFS         Errno = 55
	EISCONN         Errno = 56
	ENOTCONN        Errno = 57
	ESHUTDOWN       Errno = 58
	ETOOMANYREFS    Errno = 59
	ETIMEDOUT       Errno = 60
	ECONNREFUSED    Errno = 61
	ELOOP           Errno = 62
	ENAMETOOLONG    Errno = 63
	EHOSTDOWN       Errno = 64
	EHOSTUNREACH    Errno = 65
	ENOTEMPTY       Errno = 66
	EPROCLIM        Errno = 67
	EUSERS          Errno = 68
	EDQUOT          Errno = 69
	ESTALE          Errno = 70
	EREMOTE         Errno = 71
	EBADRPC         Errno = 72
	ERPCMISMATCH    Errno = 73
	EPROGUNAVAIL    Errno = 74
	EPROGMISMATCH   Errno = 75
	EPROCUNAVAIL    Errno = 76
	ENOLCK          Errno = 77
	ENOSYS          Errno = 78
	EFTYPE          Errno = 79
	EAUTH           Errno = 80
	ENEEDAUTH       Errno = 81
	EIDRM           Errno = 82
	ENOMSG          Errno = 83
	EOVERFLOW       Errno = 84
	EILSEQ          Errno = 85
	ENOTSUP         Errno = 86
	ECANCELED       Errno = 87
	EBADMSG         Errno = 88
	ENODATA         Errno = 89
	ENOSR           Errno = 90
	ENOSTR          Errno = 91
	ETIME           Errno = 92
	ENOATTR         Errno = 93
	EMULTIHOP       Errno = 94
	ENOLINK         Errno = 95
	EPROTO          Errno = 96
	ELAST           Errno = 96
)

// errnoTable maps every NetBSD errno, by value, to its name and Linux value.
// Entries whose names differ from the Linux name are choices for NetBSD-only
// errors; the rest are name-for-name matches.
var errnoTable = [...]struct {
	name  string
	linux unix.Errno
}{
	EPERM:           {"EPERM", unix.EPERM},
	ENOENT:          {"ENOENT", unix.ENOENT},
	ESRCH:           {"ESRCH", unix.ESRCH},
	EINTR:           {"EINTR", unix.EINTR},
	EIO:             {"EIO", unix.EIO},
	ENXIO:           {"ENXIO", unix.ENXIO},
	E2BIG:           {"E2BIG", unix.E2BIG},
	ENOEXEC:         {"ENOEXEC", unix.ENOEXEC},
	EBADF:           {"EBADF", unix.EBADF},
	ECHILD:          {"ECHILD", unix.ECHILD},
	EDEADLK:         {"EDEADLK", unix.EDEADLK},
	ENOMEM:          {"ENOMEM", unix.ENOMEM},
	EACCES:          {"EACCES", unix.EACCES},
	EFAULT:          {"EFAULT", unix.EFAULT},
	ENOTBLK:         {"ENOTBLK", unix.ENOTBLK},
	EBUSY:           {"EBUSY", unix.EBUSY},
	EEXIST:          {"EEXIST", unix.EEXIST},
	EXDEV:           {"EXDEV", unix.EXDEV},
	ENODEV:          {"ENODEV", unix.ENODEV},
	ENOTDIR:         {"ENOTDIR", unix.ENOTDIR},
	EISDIR:          {"EISDIR", unix.EISDIR},
	EINVAL:          {"EINVAL", unix.EINVAL},
	ENFILE:          {"ENFILE", unix.ENFILE},
	EMFILE:          {"EMFILE", unix.EMFILE},
	ENOTTY:          {"ENOTTY", unix.ENOTTY},
	ETXTBSY:         {"ETXTBSY", unix.ETXTBSY},
	EFBIG:           {"EFBIG", unix.EFBIG},
	ENOSPC:          {"ENOSPC", unix.ENOSPC},
	ESPIPE:          {"ESPIPE", unix.ESPIPE},
	EROFS:           {"EROFS", unix.EROFS},
	EMLINK:          {"EMLINK", unix.EMLINK},
	EPIPE:           {"EPIPE", unix.EPIPE},
	EDOM:            {"EDOM", unix.EDOM},
	ERANGE:          {"ERANGE", unix.ERANGE},
	EAGAIN:          {"EAGAIN", unix.EAGAIN},
	EINPROGRESS:     {"EINPROGRESS", unix.EINPROGRESS},
	EALREADY:        {"EALREADY", unix.EALREADY},
	ENOTSOCK:        {"ENOTSOCK", unix.ENOTSOCK},
	EDESTADDRREQ:    {"EDESTADDRREQ", unix.EDESTADDRREQ},
	EMSGSIZE:        {"EMSGSIZE", unix.EMSGSIZE},
	EPROTOTYPE:      {"EPROTOTYPE", unix.EPROTOTYPE},
	ENOPROTOOPT:     {"ENOPROTOOPT", unix.ENOPROTOOPT},
	EPROTONOSUPPORT: {"EPROTONOSUPPORT", unix.EPROTONOSUPPORT},
	ESOCKTNOSUPPORT: {"ESOCKTNOSUPPORT", unix.ESOCKTNOSUPPORT},
	EOPNOTSUPP:      {"EOPNOTSUPP", unix.EOPNOTSUPP},
	EPFNOSUPPORT:    {"EPFNOSUPPORT", unix.EPFNOSUPPORT},
	EAFNOSUPPORT:    {"EAFNOSUPPORT", unix.EAFNOSUPPORT},
	EADDRINUSE:      {"EADDRINUSE", unix.EADDRINUSE},
	EADDRNOTAVAIL:   {"EADDRNOTAVAIL", unix.EADDRNOTAVAIL},
	ENETDOWN:        {"ENETDOWN", unix.ENETDOWN},
	ENETUNREACH:     {"ENETUNREACH", unix.ENETUNREACH},
	ENETRESET:       {"ENETRESET", unix.ENETRESET},
	ECONNABORTED:    {"ECONNABORTED", unix.ECONNABORTED},
	ECONNRESET:      {"ECONNRESET", unix.ECONNRESET},
	ENOBUFS:         {"ENOBUFS", unix.ENOBUFS},
	EISCONN:         {"EISCONN", unix.EISCONN},
	ENOTCONN:        {"ENOTCONN", unix.ENOTCONN},
	ESHUTDOWN:       {"ESHUTDOWN", unix.ESHUTDOWN},
	ETOOMANYREFS:    {"ETOOMANYREFS", unix.ETOOMANYREFS},
	ETIMEDOUT:       {"ETIMEDOUT", unix.ETIMEDOUT},
	ECONNREFUSED:    {"ECONNREFUSED", unix.ECONNREFUSED},
	ELOOP:           {"ELOOP", unix.ELOOP},
	ENAMETOOLONG:    {"ENAMETOOLONG", unix.ENAMETOOLONG},
	EHOSTDOWN:       {"EHOSTDOWN", unix.EHOSTDOWN},
	EHOSTUNREACH:    {"EHOSTUNREACH", unix.EHOSTUNREACH},
	ENOTEMPTY:       {"ENOTEMPTY", unix.ENOTEMPTY},
	// Too many processes: EAGAIN is what Linux fork answers in that case.
	EPROCLIM: {"EPROCLIM", unix.EAGAIN},
	EUSERS:   {"EUSERS", unix.EUSERS},
	EDQUOT:   {"EDQUOT", unix.EDQUOT},
	ESTALE:   {"ESTALE", unix.ESTALE},
	EREMOTE:  {"EREMOTE", unix.EREMOTE},
	// Sun RPC failures have no Linux errno; they are I/O failures to a caller.
	EBADRPC:       {"EBADRPC", unix.EIO},
	ERPCMISMATCH:  {"ERPCMISMATCH", unix.EIO},
	EPROGUNAVAIL:  {"EPROGUNAVAIL", unix.EIO},
	EPROGMISMATCH: {"EPROGMISMATCH", unix.EIO},
	EPROCUNAVAIL:  {"EPROCUNAVAIL", unix.EIO},
	ENOLCK:        {"ENOLCK", unix.ENOLCK},
	ENOSYS:        {"ENOSYS", unix.ENOSYS},
	// Inappropriate file type or format: EINVAL is what Linux gives for a bad
	// file format argument.
	EFTYPE: {"EFTYPE", unix.EINVAL},
	// Authentication errors of NFS mean access denied.
	EAUTH:     {"EAUTH", unix.EACCES},
	ENEEDAUTH: {"ENEEDAUTH", unix.EACCES},
	EIDRM:     {"EIDRM", unix.EIDRM},
	ENOMSG:    {"ENOMSG", unix.ENOMSG},
	EOVERFLOW: {"EOVERFLOW", unix.EOVERFLOW},
	EILSEQ:    {"EILSEQ", unix.EILSEQ},
	ENOTSUP:   {"ENOTSUP", unix.ENOTSUP},
	ECANCELED: {"ECANCELED", unix.ECANCELED},
	EBADMSG:   {"EBADMSG", unix.EBADMSG},
	ENODATA:   {"ENODATA", unix.ENODATA},
	ENOSR:     {"ENOSR", unix.ENOSR},
	ENOSTR:    {"ENOSTR", unix.ENOSTR},
	ETIME:     {"ETIME", unix.ETIME},
	// glibc defines ENOATTR as ENODATA.
	ENOATTR:   {"ENOATTR", unix.ENODATA},
	EMULTIHOP: {"EMULTIHOP", unix.EMULTIHOP},
	ENOLINK:   {"ENOLINK", unix.ENOLINK},
	EPROTO:    {"EPROTO", unix.EPROTO},
}

// fromLinuxErrno is the reverse of errnoTable for the Linux values that have
// a NetBSD meaning. Where several NetBSD errnos share a Linux value, the
// name-for-name match is chosen, except for ENODATA: Linux returns it almost
// only from the xattr calls, where NetBSD programs expect ENOATTR.
var fromLinuxErrno = func() map[unix.Errno]Errno {
	m := make(map[unix.Errno]Errno)
	for nb := Errno(1); nb <= ELAST; nb++ {
		e := errnoTable[nb]
		if e.name == unix.ErrnoName(e.linux) {
			m[e.linux] = nb
		}
	}
	m[unix.ENODATA] = ENOATTR
	m[unix.EOPNOTSUPP] = EOPNOTSUPP // also ENOTSUP on Linux; sockets use this name
	return m
}()

// String returns the NetBSD name of the error.
func (e Errno) String() string {
	if e > 0 && e <= ELAST {
		return errnoTable[e].name
	}
	return "errno(" + strconv.Itoa(int(e)) + ")"
}

// ErrnoToLinux translates a NetBSD errno. Zero stays zero. Values outside
// NetBSD's range, including the kernel-internal negative ones (ERESTART,
// EJUSTRETURN) that a server should never send, become EIO: a caller that
// retried on EINTR could loop forever on a value that keeps coming back.
func ErrnoToLinux(e Errno) unix.Errno {
	if e == 0 {
		return 0
	}
	if e < 0 || e > ELAST {
		return unix.EIO
	}
	return errnoTable[e].linux
}

// ErrnoFromLinux translates a Linux errno, as an embedded server does with
// the host's answers. Zero stays zero; Linux errors with no NetBSD meaning
// (EBADFD, ENOMEDIUM, EOWNERDEAD, ...) become EIO.
func ErrnoFromLinux(e unix.Errno) Errno {
	if e == 0 {
		return 0
	}
	if nb, ok := fromLinuxErrno[e]; ok {
		return nb
	}
	return EIO
}
