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
}

// Target is what classification needs to know of the calling process.
type Target interface {
	// IsRumpFD reports whether fd names a rump descriptor of the process.
	IsRumpFD(fd int) bool
	// CwdInRump reports whether the working directory is in the rump
	// kernel.
	CwdInRump() bool
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
// rump when any of its descriptors is a rump descriptor.
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
	}
	return Verdict{Decision: Host}
}

func (p *Policy) classifyPaths(sc *Syscall, args [6]uint64, paths []Path, t Target) Verdict {
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
