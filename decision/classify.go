package decision

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Decision says where a trapped call is executed.
type Decision uint8

const (
	// Host calls are let through to the host kernel unchanged.
	Host Decision = iota
	// Rump calls are performed in the session's rump kernel.
	Rump
	// Refused calls fail at once with the errno of the Verdict, as the
	// reference library fails them (for example EXDEV for a rename from the
	// host into the rump kernel).
	Refused
)

func (d Decision) String() string {
	switch d {
	case Host:
		return "host"
	case Rump:
		return "rump"
	case Refused:
		return "refused"
	}
	return "unknown"
}

// Verdict is the outcome of classifying one call.
type Verdict struct {
	Decision Decision
	// Errno is the failure of a Refused call.
	Errno unix.Errno
	// RumpPaths holds, for a Rump path call, each path argument as the rump
	// kernel must see it (the path prefix stripped), in argument order.
	RumpPaths []string
	// ViaFD is set when the call's only path names a rump descriptor
	// through /proc (/proc/self/fd/N, as glibc's fchmodat names one): the
	// call is about descriptor FD itself, and RumpPaths[0] is empty.
	ViaFD bool
	FD    int
	// Sysctl is set when the call's paths name the sysctl tree through
	// /proc/sys and the policy sends sysctl to the rump kernel; RumpPaths
	// then hold the node names below /proc/sys, "kern/hostname" for
	// /proc/sys/kern/hostname, "" for /proc/sys itself.
	Sysctl bool
	// Mounts is set when the call opens a mount table (/proc/self/mounts,
	// /proc/self/mountinfo and their kin) and the policy selects
	// vfs=getvfsstat: the table read must describe the rump kernel's file
	// systems too. RumpPaths[0] is then the /proc path itself.
	Mounts bool
}

// Target is what classification needs to know of the calling process.
type Target interface {
	// IsRumpFD reports whether fd names a rump descriptor of the process.
	IsRumpFD(fd int) bool
	// CwdInRump reports whether the working directory is in the rump
	// kernel.
	CwdInRump() bool
}

// RumpProcessTarget is a Target that can also tell whether the process has
// a rump process, which decides ClassSync calls. A Target without the
// method is taken to have one only while its working directory is in the
// rump kernel.
type RumpProcessTarget interface {
	Target
	// HasRumpProcess reports whether the process has a rump process.
	HasRumpProcess() bool
}

// Path is one path argument as read from target memory.
type Path struct {
	// Name is the path. It is meaningful only when OK is set.
	Name string
	// OK is false when the path could not be read (a bad address or no NUL
	// within PATH_MAX).
	OK bool
}

// Classify decides where call sc with arguments args belongs for target t.
// paths holds the call's path arguments, read from target memory in the
// order of sc.Paths; it is ignored for other classes.
//
// The rules are the reference library's: an absolute path is rump when it
// matches the path prefix or a blanket prefix; a relative one follows its
// directory descriptor, or the working directory for AT_FDCWD. A path that
// could not be read is decided by its directory descriptor alone, so that
// the kernel that owns the directory reports the fault. A descriptor call is
// rump when any of its descriptors is a rump descriptor. sync is rump when
// the process has a rump process; its handler lets the host run it too.
func (p *Policy) Classify(sc *Syscall, args [6]uint64, paths []Path, t Target) Verdict {
	switch sc.Class {
	case ClassPath:
		return p.classifyPaths(sc, args, paths, t)
	case ClassFD:
		for _, i := range sc.FDs {
			if t.IsRumpFD(int(int32(args[i]))) {
				return Verdict{Decision: Rump}
			}
		}
	case ClassSocket:
		family := int(int32(args[0]))
		for _, f := range p.Sockets.LinuxFamilies() {
			if f == family {
				return Verdict{Decision: Rump}
			}
		}
	case ClassCwd:
		if len(sc.FDs) > 0 {
			// fchdir follows its descriptor.
			if t.IsRumpFD(int(int32(args[sc.FDs[0]]))) {
				return Verdict{Decision: Rump}
			}
		} else if t.CwdInRump() {
			return Verdict{Decision: Rump}
		}
	case ClassVFS:
		if p.VFS.Has(sc.VFS) {
			return Verdict{Decision: Rump}
		}
	case ClassSync:
		rp, ok := t.(RumpProcessTarget)
		if t.CwdInRump() || ok && rp.HasRumpProcess() {
			return Verdict{Decision: Rump}
		}
	}
	return Verdict{Decision: Host}
}

func (p *Policy) classifyPaths(sc *Syscall, args [6]uint64, paths []Path, t Target) Verdict {
	if len(sc.Paths) == 1 && len(paths) == 1 && paths[0].OK {
		if fd, ok := procFD(paths[0].Name); ok && t.IsRumpFD(fd) {
			return Verdict{Decision: Rump, RumpPaths: []string{""}, ViaFD: true, FD: fd}
		}
	}
	if p.Sysctl {
		if v, ok := classifySysctl(paths); ok {
			return v
		}
	}
	if p.VFS.Has("getvfsstat") && isOpen(sc.Nr) && len(paths) > 0 && paths[0].OK &&
		IsMountTable(paths[0].Name) {
		return Verdict{Decision: Rump, RumpPaths: []string{paths[0].Name}, Mounts: true}
	}
	var rumpPaths []string
	host, rump := false, false
	for i, arg := range sc.Paths {
		var pa Path
		if i < len(paths) {
			pa = paths[i]
		}
		inRump, name := p.place(arg, args, pa, t)
		if inRump {
			rump = true
			rumpPaths = append(rumpPaths, name)
		} else {
			host = true
		}
	}
	switch {
	case rump && host:
		return Verdict{Decision: Refused, Errno: unix.EXDEV}
	case rump:
		return Verdict{Decision: Rump, RumpPaths: rumpPaths}
	}
	return Verdict{Decision: Host}
}

// place decides one path argument and returns the name the rump kernel must
// see when it is rump.
func (p *Policy) place(arg PathArg, args [6]uint64, pa Path, t Target) (bool, string) {
	if pa.OK && strings.HasPrefix(pa.Name, "/") {
		name, ok := p.MatchPath(pa.Name)
		return ok, name
	}
	if arg.Dirfd == NoDirfd || int32(args[arg.Dirfd]) == unix.AT_FDCWD {
		if !pa.OK {
			// The kernel of the working directory would fault
			// alike; let the host report it.
			return false, ""
		}
		return t.CwdInRump(), pa.Name
	}
	return t.IsRumpFD(int(int32(args[arg.Dirfd]))), pa.Name
}

// procFD returns N for a path that names the calling thread's descriptor N
// through /proc: /proc/self/fd/N or /proc/thread-self/fd/N, exactly. Other
// forms (a pid, a trailing component) are the host's to resolve.
func procFD(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "/proc/self/fd/")
	if !ok {
		if rest, ok = strings.CutPrefix(name, "/proc/thread-self/fd/"); !ok {
			return 0, false
		}
	}
	if rest == "" || len(rest) > 9 {
		return 0, false
	}
	fd := 0
	for _, r := range rest {
		if r < '0' || r > '9' {
			return 0, false
		}
		fd = fd*10 + int(r-'0')
	}
	return fd, true
}

// classifySysctl decides a path call of a policy with sysctl=yes whose
// first path is below /proc/sys.
func classifySysctl(paths []Path) (Verdict, bool) {
	var names []string
	for i, pa := range paths {
		name, ok := sysctlName(pa)
		if !ok {
			if i == 0 {
				return Verdict{}, false
			}
			return Verdict{Decision: Refused, Errno: unix.EXDEV}, true
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return Verdict{}, false
	}
	return Verdict{Decision: Rump, RumpPaths: names, Sysctl: true}, true
}

// sysctlName returns the node name of an absolute path below /proc/sys.
func sysctlName(pa Path) (string, bool) {
	if !pa.OK {
		return "", false
	}
	rest, ok := strings.CutPrefix(pa.Name, "/proc/sys")
	if !ok || rest != "" && rest[0] != '/' {
		return "", false
	}
	return strings.Trim(rest, "/"), true
}

func isOpen(nr int) bool {
	return nr == unix.SYS_OPEN || nr == unix.SYS_OPENAT || nr == unix.SYS_OPENAT2
}

// IsMountTable reports whether name is a mount table in /proc: mounts or
// mountinfo of /proc, /proc/self, /proc/thread-self or /proc/PID, or
// /proc/PID/task/TID.
func IsMountTable(name string) bool {
	base := name[strings.LastIndexByte(name, '/')+1:]
	if base != "mounts" && base != "mountinfo" {
		return false
	}
	dir := strings.TrimSuffix(strings.TrimSuffix(name, base), "/")
	if dir == "/proc" && base == "mounts" {
		return true
	}
	elems := strings.Split(strings.TrimPrefix(dir, "/proc/"), "/")
	if !strings.HasPrefix(dir, "/proc/") || len(elems) == 0 {
		return false
	}
	isNum := func(s string) bool {
		if s == "" {
			return false
		}
		for _, r := range s {
			if r < '0' || r > '9' {
				return false
			}
		}
		return true
	}
	switch {
	case len(elems) == 1:
		return elems[0] == "self" || elems[0] == "thread-self" || isNum(elems[0])
	case len(elems) == 3:
		return (elems[0] == "self" || isNum(elems[0])) && elems[1] == "task" && isNum(elems[2])
	}
	return false
}
