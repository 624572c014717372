// Package filter compiles a policy's trap set into a seccomp BPF program with
// libseccomp. It is kept apart from package decision because it needs cgo,
// and hijack-exec, which only installs the program, must build without it.
package filter

import (
	"fmt"
	"io"
	"math"
	"os"

	seccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/decision"
)

// Compile returns the classic BPF program, as raw struct sock_filter
// instructions, that traps what policy p can redirect and allows everything
// else:
//
//   - path calls and getcwd, when p has a path or blanket prefix;
//   - socket and socketpair, only for the families p selects (decided by the
//     filter on the family argument, so host sockets cost nothing);
//   - descriptor calls whose descriptor argument is at or above p.FDOff,
//     when p can create rump descriptors at all, and then also sync;
//   - io_uring_setup fails with ENOSYS, since io_uring submissions bypass
//     seccomp.
//
// The program checks the architecture first and kills a process that makes
// a call of any ABI but x86-64's (i386 or x32), which it could otherwise use
// to bypass the trap set. It dispatches on the system call number before
// looking at any argument, so that calls it does not trap stay in the
// kernel's per-number allow cache.
func Compile(p *decision.Policy) ([]byte, error) {
	f, err := seccomp.NewFilter(seccomp.ActAllow)
	if err != nil {
		return nil, fmt.Errorf("create seccomp filter: %w", err)
	}
	defer f.Release()
	if err := f.SetBadArchAction(seccomp.ActKillProcess); err != nil {
		return nil, fmt.Errorf("set bad-architecture action: %w", err)
	}
	// The policy is the only source of rules: libseccomp must not set
	// no_new_privs or anything else when the program is loaded elsewhere.
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return nil, fmt.Errorf("clear no_new_privs attribute: %w", err)
	}
	// A binary tree of system call numbers keeps the cost of reaching a
	// trapped number logarithmic in the size of the trap set.
	if err := f.SetOptimize(2); err != nil {
		return nil, fmt.Errorf("set filter optimization: %w", err)
	}

	if err := addRules(f, p); err != nil {
		return nil, err
	}
	return export(f)
}

func addRules(f *seccomp.ScmpFilter, p *decision.Policy) error {
	families := p.Sockets.LinuxFamilies()
	// sysctl=yes serves /proc/sys, and vfs=getvfsstat the mount tables,
	// through path calls and files of their own.
	paths := p.HijacksPaths() || p.Sysctl || p.VFS.Has("getvfsstat")
	rumpFDs := paths || len(families) > 0 || p.VFS.Has("fhcalls")
	if p.HijacksAnything() {
		enosys := seccomp.ActErrno.SetReturnCode(int16(unix.ENOSYS))
		if err := f.AddRule(seccomp.ScmpSyscall(unix.SYS_IO_URING_SETUP), enosys); err != nil {
			return fmt.Errorf("add io_uring_setup rule: %w", err)
		}
	}
	for i := range decision.Syscalls {
		sc := &decision.Syscalls[i]
		var err error
		switch sc.Class {
		case decision.ClassPath, decision.ClassCwd:
			if paths {
				err = f.AddRule(seccomp.ScmpSyscall(sc.Nr), seccomp.ActNotify)
			}
		case decision.ClassSocket:
			for _, fam := range families {
				if err = trapIf(f, sc, cond(0, seccomp.CompareEqual, uint64(fam))); err != nil {
					break
				}
			}
		case decision.ClassFD:
			if rumpFDs {
				err = addFDRules(f, sc, p.FDOff)
			}
		case decision.ClassVFS:
			if p.VFS.Has(sc.VFS) {
				err = f.AddRule(seccomp.ScmpSyscall(sc.Nr), seccomp.ActNotify)
			}
		case decision.ClassSync:
			if rumpFDs {
				err = f.AddRule(seccomp.ScmpSyscall(sc.Nr), seccomp.ActNotify)
			}
		}
		if err != nil {
			return fmt.Errorf("add %s rule: %w", sc.Name, err)
		}
	}
	return nil
}

// addFDRules traps sc when any of its descriptor arguments is at or above
// fdoff. The comparison is on all 64 bits, so a negative descriptor, which a
// caller sign-extends, is trapped too and let through by hijackd; that costs
// a round trip for such rare calls but never misses a shadow.
func addFDRules(f *seccomp.ScmpFilter, sc *decision.Syscall, fdoff int) error {
	for _, arg := range sc.FDs {
		conds := []seccomp.ScmpCondition{cond(uint(arg), seccomp.CompareGreaterEqual,
			uint64(fdoff))}
		if sc.Nr == unix.SYS_MMAP {
			// Anonymous mappings pass -1 as the descriptor and are
			// far too frequent to trap.
			conds = append(conds, cond(3, seccomp.CompareMaskedEqual,
				unix.MAP_ANONYMOUS, 0))
		}
		if err := trapIf(f, sc, conds...); err != nil {
			return err
		}
	}
	return nil
}

func cond(arg uint, op seccomp.ScmpCompareOp, values ...uint64) seccomp.ScmpCondition {
	c, err := seccomp.MakeCondition(arg, op, values...)
	if err != nil {
		// The arguments are constants of this package.
		panic(fmt.Sprintf("seccomp condition on argument %d: %v", arg, err))
	}
	return c
}

func trapIf(f *seccomp.ScmpFilter, sc *decision.Syscall, conds ...seccomp.ScmpCondition) error {
	return f.AddRuleConditional(seccomp.ScmpSyscall(sc.Nr), seccomp.ActNotify, conds)
}

// export writes the program to an anonymous file (libseccomp 2.5 exports only
// to a descriptor) and returns its bytes.
func export(f *seccomp.ScmpFilter) ([]byte, error) {
	fd, err := unix.MemfdCreate("hijack-filter", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("create memfd for filter: %w", err)
	}
	file := os.NewFile(uintptr(fd), "hijack-filter")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("export filter: %w", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read back filter: %w", err)
	}
	prog, err := io.ReadAll(io.LimitReader(file, math.MaxUint16*8))
	if err != nil {
		return nil, fmt.Errorf("read back filter: %w", err)
	}
	return prog, nil
}
