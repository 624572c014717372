package filter

import "runtime"

// Keep the main goroutine on the main thread, so that no test target runs
// there: a goroutine that exits while locked to the main thread leaves it
// wedged rather than ended, and its seccomp filter would never lose its last
// user.
func init() { runtime.LockOSThread() }
