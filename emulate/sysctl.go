package emulate

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/fdinject"
	"github.com/hijack-project/hijack/netbsd"
	"github.com/hijack-project/hijack/notify"
	"github.com/hijack-project/hijack/rumpconn"
)

// /proc/sys with sysctl=yes: the rump kernel's sysctl tree by name, node
// kern.hostname at /proc/sys/kern/hostname. Opening a leaf gives an
// anonymous file holding its value as Linux formats /proc/sys values (the
// value and a newline); what the program writes there is set in the rump
// kernel when it closes the file. Opening a node gives a directory listing
// its children, made on the host for the purpose. The files are ordinary
// host descriptors, numbered at fdoff or above so that their close is
// trapped, and recorded in the shadow table as fdinject.Foreign.

// SysctlFiles are the open /proc/sys files of one process.
type SysctlFiles struct {
	mu    sync.Mutex
	files map[int]*sysctlFile // by number in the target; guarded by mu
	// kept are files duplicated where closes are not trapped (a shell's
	// "> /proc/sys/..."), whose writes are set by Flush; guarded by mu.
	kept map[*sysctlFile]bool
}

type sysctlFile struct {
	mib     []int32
	typ     uint32
	content *os.File // hijackd's own reference to a leaf's file
	written bool     // open for writing
	dir     string   // a node's listing, removed at close
	set     string   // what was last set from it
}

// NewSysctlFiles returns an empty set.
func NewSysctlFiles() *SysctlFiles { return &SysctlFiles{files: make(map[int]*sysctlFile)} }

func (sf *SysctlFiles) add(fd int, f *sysctlFile) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if old := sf.files[fd]; old != nil {
		old.release()
	}
	sf.files[fd] = f
}

func (sf *SysctlFiles) take(fd int) *sysctlFile {
	if sf == nil {
		return nil
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	f := sf.files[fd]
	delete(sf.files, fd)
	return f
}

// Forget drops the file at fd, which the process no longer has, without
// setting anything.
func (sf *SysctlFiles) Forget(fd int) {
	if f := sf.take(fd); f != nil {
		sf.mu.Lock()
		kept := sf.kept[f]
		sf.mu.Unlock()
		if !kept {
			f.release()
		}
	}
}

// keep marks the file at fd as duplicated below fdoff.
func (sf *SysctlFiles) keep(fd int) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if f := sf.files[fd]; f != nil && f.written {
		if sf.kept == nil {
			sf.kept = make(map[*sysctlFile]bool)
		}
		sf.kept[f] = true
	}
}

// Flush sets what was written through files of sf duplicated below fdoff
// since they were last flushed, with the rump process on conn; hijackd
// calls it when the process exits.
func (sf *SysctlFiles) Flush(ctx context.Context, conn *rumpconn.Conn, staging *rumpconn.Staging) {
	(&Call{Conn: conn, Staging: staging, Sysctl: sf}).flushSysctl(ctx)
}

// flushSysctl sets what was written through kept files since they were
// last flushed.
func (c *Call) flushSysctl(ctx context.Context) {
	sf := c.Sysctl
	if sf == nil {
		return
	}
	sf.mu.Lock()
	if len(sf.kept) == 0 {
		sf.mu.Unlock()
		return
	}
	kept := make([]*sysctlFile, 0, len(sf.kept))
	for f := range sf.kept {
		kept = append(kept, f)
	}
	sf.mu.Unlock()
	for _, f := range kept {
		c.setFrom(ctx, f)
	}
}

// Close forgets every file without setting anything.
func (sf *SysctlFiles) Close() {
	if sf == nil {
		return
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	for fd, f := range sf.files {
		f.release()
		delete(sf.files, fd)
	}
	for f := range sf.kept {
		f.release()
		delete(sf.kept, f)
	}
}

func (f *sysctlFile) release() {
	if f.content != nil {
		f.content.Close()
	}
	if f.dir != "" {
		os.RemoveAll(f.dir)
	}
}

// serveSysctl serves a path call below /proc/sys.
func serveSysctl(ctx context.Context, c *Call) Reply {
	name := c.Verdict.RumpPaths[0]
	switch c.N.Nr {
	case unix.SYS_OPEN:
		return c.openSysctl(ctx, name, uint32(c.arg(1)))
	case unix.SYS_OPENAT:
		return c.openSysctl(ctx, name, uint32(c.arg(2)))
	case unix.SYS_CREAT:
		return c.openSysctl(ctx, name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC)
	case unix.SYS_OPENAT2:
		var how [8]byte
		if err := notify.ReadMemory(c.N.PID, c.N.Args[2], how[:]); err != nil {
			return Reply{Errno: unix.EFAULT}
		}
		return c.openSysctl(ctx, name, uint32(binary.LittleEndian.Uint64(how[:])))
	case unix.SYS_STAT, unix.SYS_LSTAT:
		return c.statSysctl(ctx, name, c.N.Args[1], false)
	case unix.SYS_NEWFSTATAT:
		return c.statSysctl(ctx, name, c.N.Args[2], false)
	case unix.SYS_STATX:
		return c.statSysctl(ctx, name, c.N.Args[4], true)
	case unix.SYS_ACCESS, unix.SYS_FACCESSAT, unix.SYS_FACCESSAT2:
		mode := c.arg(1)
		if c.N.Nr != unix.SYS_ACCESS {
			mode = c.arg(2)
		}
		_, node, dir, r := c.sysctlLookup(ctx, name)
		if r.Errno != 0 {
			return r
		}
		if mode&unix.W_OK != 0 && (dir || !node.Writable()) {
			return Reply{Errno: unix.EACCES}
		}
		return Reply{}
	case unix.SYS_READLINK, unix.SYS_READLINKAT:
		return Reply{Errno: unix.EINVAL}
	}
	return Reply{Errno: unix.EACCES} // /proc/sys holds no other kind of file
}

// sysctlLookup finds the node of a /proc/sys name: its MIB, what CTL_QUERY
// says of it, and whether it is a node with children ("" is the root).
func (c *Call) sysctlLookup(ctx context.Context, name string) ([]int32, netbsd.SysctlNode, bool, Reply) {
	var mib []int32
	node := netbsd.SysctlNode{Flags: netbsd.CTLTYPE_NODE}
	var parents []netbsd.SysctlNode
	for _, elem := range strings.Split(name, "/") {
		if elem == "" || elem == "." {
			continue
		}
		if elem == ".." {
			// Within the tree only, as /proc/sys/.. is not asked
			// for: sysctlName strips nothing above /proc/sys.
			if n := len(mib); n > 0 {
				mib, node, parents = mib[:n-1], parents[n-1], parents[:n-1]
			}
			continue
		}
		parents = append(parents, node)
		if node.Type() != netbsd.CTLTYPE_NODE {
			return nil, node, false, Reply{Errno: unix.ENOTDIR}
		}
		kids, r := c.sysctlChildren(ctx, mib)
		if r.Errno != 0 {
			return nil, node, false, r
		}
		found := false
		for _, k := range kids {
			if k.Name == elem {
				node, found = k, true
				mib = append(mib, k.Num)
				break
			}
		}
		if !found {
			return nil, node, false, Reply{Errno: unix.ENOENT}
		}
	}
	return mib, node, node.Type() == netbsd.CTLTYPE_NODE, Reply{}
}

// sysctl calls __sysctl on mib with a staged old value of size old (none
// for 0) and new value nv (none for nil), and returns the old value.
func (c *Call) sysctl(ctx context.Context, mib []int32, old int, nv []byte) ([]byte, Reply) {
	if len(mib) > netbsd.CTL_MAXNAME {
		return nil, Reply{Errno: unix.ENOENT}
	}
	var s staged
	defer s.release()
	nameBuf := make([]byte, 4*len(mib))
	for i, n := range mib {
		binary.LittleEndian.PutUint32(nameBuf[4*i:], uint32(n))
	}
	na, err := c.stage(&s, nameBuf)
	if err != nil {
		return nil, Reply{Errno: unix.ENOMEM}
	}
	var oa, la, nva uint64
	oldBuf := make([]byte, old)
	lenBuf := make([]byte, 8)
	binary.LittleEndian.PutUint64(lenBuf, uint64(old))
	if old > 0 {
		if oa, err = c.stage(&s, oldBuf); err == nil {
			la, err = c.stage(&s, lenBuf)
		}
		if err != nil {
			return nil, Reply{Errno: unix.ENOMEM}
		}
	}
	if nv != nil {
		if nva, err = c.stage(&s, nv); err != nil {
			return nil, Reply{Errno: unix.ENOMEM}
		}
	}
	r := c.rump(ctx, netbsd.SYS___SYSCTL, na, uint64(len(mib)), oa, la, nva, uint64(len(nv)))
	if r.Errno != 0 {
		return nil, r
	}
	n := min(binary.LittleEndian.Uint64(lenBuf), uint64(old)) // the server's word
	return oldBuf[:n], Reply{}
}

// sysctlChildren lists the children of node mib.
func (c *Call) sysctlChildren(ctx context.Context, mib []int32) ([]netbsd.SysctlNode, Reply) {
	q := append(append([]int32(nil), mib...), netbsd.CTL_QUERY)
	out, r := c.sysctl(ctx, q, 512*netbsd.SysctlNodeSize, netbsd.SysctlQueryNode())
	if r.Errno != 0 {
		return nil, r
	}
	return netbsd.DecodeSysctlNodes(out), Reply{}
}

// sysctlText reads leaf mib of type typ as /proc/sys shows a value.
func (c *Call) sysctlText(ctx context.Context, mib []int32, typ uint32) (string, Reply) {
	v, r := c.sysctl(ctx, mib, 4096, nil)
	if r.Errno != 0 {
		return "", r
	}
	switch {
	case typ == netbsd.CTLTYPE_STRING:
		if i := strings.IndexByte(string(v), 0); i >= 0 {
			v = v[:i]
		}
		return string(v) + "\n", Reply{}
	case typ == netbsd.CTLTYPE_INT && len(v) >= 4:
		return strconv.Itoa(int(int32(binary.LittleEndian.Uint32(v)))) + "\n", Reply{}
	case typ == netbsd.CTLTYPE_QUAD && len(v) >= 8:
		return strconv.FormatInt(int64(binary.LittleEndian.Uint64(v)), 10) + "\n", Reply{}
	case typ == netbsd.CTLTYPE_BOOL && len(v) >= 1:
		return strconv.Itoa(int(v[0])) + "\n", Reply{}
	}
	return "", Reply{Errno: unix.EIO} // a structure: no text form
}

// sysctlValue encodes text, as a program wrote it to a /proc/sys file, as
// a value of type typ.
func sysctlValue(text string, typ uint32) ([]byte, bool) {
	text = strings.TrimRight(text, "\n")
	switch typ {
	case netbsd.CTLTYPE_STRING:
		return append([]byte(text), 0), true
	case netbsd.CTLTYPE_INT:
		v, err := strconv.ParseInt(strings.TrimSpace(text), 10, 32)
		return binary.LittleEndian.AppendUint32(nil, uint32(v)), err == nil
	case netbsd.CTLTYPE_QUAD:
		v, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		return binary.LittleEndian.AppendUint64(nil, uint64(v)), err == nil
	case netbsd.CTLTYPE_BOOL:
		v, err := strconv.ParseUint(strings.TrimSpace(text), 10, 1)
		return []byte{byte(v)}, err == nil
	}
	return nil, false
}

func (c *Call) openSysctl(ctx context.Context, name string, flags uint32) Reply {
	mib, node, dir, r := c.sysctlLookup(ctx, name)
	if r.Errno != 0 {
		return r
	}
	acc := flags & unix.O_ACCMODE
	writing := acc == unix.O_WRONLY || acc == unix.O_RDWR
	if writing && (dir || !node.Writable()) {
		return Reply{Errno: unix.EACCES}
	}
	f := &sysctlFile{mib: mib, typ: node.Type(), written: writing}
	var host *os.File
	if dir {
		kids, r := c.sysctlChildren(ctx, mib)
		if r.Errno != 0 {
			return r
		}
		// On tmpfs a directory lists "." and ".." first and then its
		// entries newest first, as procps's sysctl expects of /proc/sys.
		listing, err := os.MkdirTemp("/dev/shm", "hijack-sysctl-")
		if err != nil {
			listing, err = os.MkdirTemp("", "hijack-sysctl-")
		}
		if err != nil {
			return Reply{Errno: unix.ENOMEM}
		}
		f.dir = listing
		slices.Reverse(kids)
		for _, k := range kids {
			if strings.ContainsAny(k.Name, "/\x00") || k.Name == "" || k.Name == "." || k.Name == ".." {
				continue
			}
			p := filepath.Join(listing, k.Name)
			if k.Type() == netbsd.CTLTYPE_NODE {
				err = os.Mkdir(p, 0o555)
			} else {
				err = os.WriteFile(p, nil, 0o444)
			}
			if err != nil {
				f.release()
				return Reply{Errno: unix.ENOMEM}
			}
		}
		os.Chmod(listing, 0o555)
		host, err = os.OpenFile(listing, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			f.release()
			return Reply{Errno: unix.ENOMEM}
		}
	} else {
		text, r := c.sysctlText(ctx, mib, f.typ)
		if r.Errno != 0 {
			return r
		}
		mfd, err := unix.MemfdCreate("hijack-shadow-sysctl", unix.MFD_CLOEXEC)
		if err != nil {
			return Reply{Errno: unix.ENOMEM}
		}
		f.content = os.NewFile(uintptr(mfd), "sysctl "+name)
		// A write sets the value whatever the file held, as on Linux:
		// a file opened for writing starts empty.
		if !writing {
			f.content.WriteString(text)
		}
		host, err = os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", mfd), int(acc)|unix.O_CLOEXEC, 0)
		if err != nil {
			f.release()
			return Reply{Errno: unix.ENOMEM}
		}
	}
	defer host.Close()
	num, err := c.Shadows.Reserve(c.PID, c.FDOff, fdinject.Foreign)
	if err != nil {
		f.release()
		return Reply{Errno: unix.EMFILE}
	}
	c.Sysctl.add(num, f)
	if err := c.Inject(int(host.Fd()), num, flags&unix.O_CLOEXEC != 0); err != nil {
		c.Shadows.Remove(num)
		c.Sysctl.take(num).release()
		if err == notify.ErrGone {
			return Reply{Sent: true}
		}
		return Reply{Errno: unix.EMFILE}
	}
	return Reply{Sent: true}
}

// closeSysctl sets what the program wrote to /proc/sys file fd, which it
// is closing, in the rump kernel. The close itself succeeds whatever the
// outcome, as a host close does.
func (c *Call) closeSysctl(ctx context.Context, fd int) {
	f := c.Sysctl.take(fd)
	if f == nil {
		return
	}
	c.setFrom(ctx, f)
	c.Sysctl.mu.Lock()
	kept := c.Sysctl.kept[f]
	c.Sysctl.mu.Unlock()
	if !kept {
		f.release()
	}
}

// setFrom sets what f holds, when it was written and differs from what was
// last set from it.
func (c *Call) setFrom(ctx context.Context, f *sysctlFile) {
	if !f.written || f.content == nil {
		return
	}
	var st unix.Stat_t
	if unix.Fstat(int(f.content.Fd()), &st) != nil {
		return
	}
	buf := make([]byte, min(st.Size, 4096))
	n, _ := f.content.ReadAt(buf, 0)
	text := string(buf[:n])
	if text == "" || text == f.set {
		return
	}
	if v, ok := sysctlValue(text, f.typ); ok {
		if _, r := c.sysctl(ctx, f.mib, 0, v); r.Errno == 0 {
			f.set = text
		}
	}
}

// statSysctl writes a stat of a /proc/sys name: a directory for a node, a
// regular file of size 0 for a leaf, writable if the node is, as Linux
// shows them.
func (c *Call) statSysctl(ctx context.Context, name string, addr uint64, statx bool) Reply {
	_, node, dir, r := c.sysctlLookup(ctx, name)
	if r.Errno != 0 {
		return r
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	st := unix.Stat_t{Ino: h.Sum64(), Nlink: 1, Blksize: 1024}
	switch {
	case dir:
		st.Mode, st.Nlink = unix.S_IFDIR|0o555, 2
	case node.Writable():
		st.Mode = unix.S_IFREG | 0o644
	default:
		st.Mode = unix.S_IFREG | 0o444
	}
	if statx {
		x := unix.Statx_t{Mask: unix.STATX_BASIC_STATS, Blksize: 1024, Nlink: uint32(st.Nlink),
			Mode: uint16(st.Mode), Ino: st.Ino}
		return c.result(addr, netbsd.EncodeLinuxStatx(&x))
	}
	return c.result(addr, netbsd.EncodeLinuxStat(&st))
}
