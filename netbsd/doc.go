// Package netbsd owns the Linux x86-64 ↔ NetBSD amd64 ABI: syscall numbers
// and argument slots, flags, errno, struct layouts, sockaddrs and dirents. It
// does no I/O and imports nothing of the project.
//
// Conventions, used the same way in every file:
//
//   - Constants named like their C counterparts (O_CREAT, EAGAIN, SOL_SOCKET)
//     hold NetBSD values; netbsd.O_CREAT is NetBSD's O_CREAT. Linux values come
//     from golang.org/x/sys/unix, and the few it lacks are exported here with a
//     Linux prefix (LinuxFIONREAD).
//   - Types without a prefix mirror NetBSD structures (Stat, Flock, Msghdr).
//     Linux structures are the x/sys/unix types where those hold no Go
//     pointers (unix.Stat_t, unix.Flock_t), and Linux-prefixed types here
//     otherwise (LinuxMsghdr), because their pointer fields are addresses in a
//     traced process.
//   - XFromLinux builds the NetBSD value from a Linux one; XToLinux (or the
//     ToLinux method) goes the other way.
//   - A Linux value with no NetBSD meaning is never dropped silently: flag
//     converters from Linux return a *BitsError naming the bits, along with
//     the translation of the bits that did map, so a caller that may tolerate
//     some bits can decide. Converters towards Linux return the NetBSD bits
//     that Linux cannot express, since those are answers of a NetBSD kernel
//     that a Linux program has no use for.
//   - Decoders check the length and return an error wrapping ErrShort on short
//     input; nothing here panics on any input.
package netbsd
