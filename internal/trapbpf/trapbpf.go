// Package trapbpf builds the smallest seccomp program that traps a few system
// calls, for tests and benchmarks that need a listener without a policy.
// hijackd's own filters come from package decision/filter.
package trapbpf

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

type insn struct {
	code   uint16
	jt, jf uint8
	k      uint32
}

// Program returns a classic BPF program, as raw struct sock_filter
// instructions, that kills calls of any ABI but x86-64's, traps the x86-64
// system calls nrs with SECCOMP_RET_USER_NOTIF and allows the rest.
func Program(nrs ...uint32) []byte {
	const (
		ldAbs   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeqK    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		retK    = unix.BPF_RET | unix.BPF_K
		archOff = 4 // offsetof(struct seccomp_data, arch)
	)
	prog := []insn{
		{ldAbs, 0, 0, archOff},
		{jeqK, 1, 0, unix.AUDIT_ARCH_X86_64},
		{retK, 0, 0, unix.SECCOMP_RET_KILL_PROCESS},
		{ldAbs, 0, 0, 0},
	}
	for i, nr := range nrs {
		// A match jumps over the remaining comparisons and the allow.
		prog = append(prog, insn{jeqK, uint8(len(nrs) - i), 0, nr})
	}
	prog = append(prog, insn{retK, 0, 0, unix.SECCOMP_RET_ALLOW},
		insn{retK, 0, 0, unix.SECCOMP_RET_USER_NOTIF})
	out := make([]byte, 0, len(prog)*8)
	for _, in := range prog {
		out = binary.NativeEndian.AppendUint16(out, in.code)
		out = append(out, in.jt, in.jf)
		out = binary.NativeEndian.AppendUint32(out, in.k)
	}
	return out
}
