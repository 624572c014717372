// Package decision decides, for every system call a hijacked program makes,
// whether the host kernel or the rump kernel serves it.
//
// It owns the user's side of that choice: parsing RUMPHIJACK into a Policy
// (which paths, socket families, VFS calls and sysctl go to the rump kernel,
// and where rump descriptors are numbered) and RUMPHIJACK_RETRYCONNECT into a
// Retry; classifying one trapped call as a host decision or a rump decision;
// and the table of system calls the seccomp filter traps.
//
// It does not talk to the rump kernel, read target memory or issue seccomp
// ioctls: callers hand it the numbers and strings it needs, and carry out the
// decision it returns. Everything here is pure computation, safe to call from
// any goroutine on values that are not being modified.
//
// The names and meanings of RUMPHIJACK follow NetBSD's rumphijack(3), so a
// value written for NetBSD works here. Where the NetBSD parser accepts a
// value by accident (an item with an empty name, an empty blanket prefix),
// this package rejects it with an error that names the item and says what to
// write instead; the differences are listed at ParsePolicy and ParseRetry.
package decision
