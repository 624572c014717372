package rumpserver

// The kernel's sysctl tree: a few nodes of NetBSD's kern and hw, enough for
// uname(3), gethostname(3), sethostname(3) and programs that ask for the page
// size or the number of CPUs, and the CTL_QUERY interface through which
// NetBSD's libc (sysctlbyname, sysctlnametomib) and Go's syscall package
// turn names into numbers.

import (
	"bytes"
	"encoding/binary"
	"runtime"

	"github.com/hijack-project/hijack/netbsd"
)

// NetBSD sysctl numbers and node flags (sys/sysctl.h).
const (
	ctlMaxName = 12 // CTL_MAXNAME
	ctlQuery   = -2 // CTL_QUERY

	ctlTypeNode   = 1
	ctlTypeInt    = 2
	ctlTypeString = 3

	ctlFlagReadWrite = 0x00000070
	ctlFlagPermanent = 0x00000200
	sysctlVers1      = 0x01000000
	sysctlVersMask   = 0xff000000

	// sysctlNodeSize is sizeof(struct sysctlnode) on amd64.
	sysctlNodeSize = 96
	sysctlNameLen  = 32

	maxHostNameLen = 256 // MAXHOSTNAMELEN

	netbsdVersion = 799003400 // __NetBSD_Version__ of 7.99.34
)

// sysctlNode is one node of the tree: a directory with kids, or a leaf whose
// value get returns, settable if set is not nil.
type sysctlNode struct {
	name string
	num  int32
	typ  uint32
	kids []*sysctlNode
	get  func(k *kernel) []byte
	set  func(k *kernel, v []byte) netbsd.Errno
}

func stringNode(num int32, name string, s string) *sysctlNode {
	return &sysctlNode{name: name, num: num, typ: ctlTypeString,
		get: func(*kernel) []byte { return append([]byte(s), 0) }}
}

func intNode(num int32, name string, v func(k *kernel) int32) *sysctlNode {
	return &sysctlNode{name: name, num: num, typ: ctlTypeInt,
		get: func(k *kernel) []byte { return intBytes(v(k)) }}
}

// nameNode is a settable string of the kernel, guarded by k.mu.
func nameNode(num int32, name string, field func(k *kernel) *string) *sysctlNode {
	return &sysctlNode{name: name, num: num, typ: ctlTypeString,
		get: func(k *kernel) []byte {
			k.mu.Lock()
			defer k.mu.Unlock()
			return append([]byte(*field(k)), 0)
		},
		set: func(k *kernel, v []byte) netbsd.Errno {
			if len(v) >= maxHostNameLen {
				return netbsd.EINVAL
			}
			if i := bytes.IndexByte(v, 0); i >= 0 {
				v = v[:i]
			}
			k.mu.Lock()
			defer k.mu.Unlock()
			*field(k) = string(v)
			return 0
		}}
}

// sysctlRoot is the tree, numbered as NetBSD numbers it.
var sysctlRoot = &sysctlNode{typ: ctlTypeNode, kids: []*sysctlNode{
	{name: "kern", num: 1, typ: ctlTypeNode, kids: []*sysctlNode{
		stringNode(1, "ostype", OSType),
		stringNode(2, "osrelease", OSRelease),
		intNode(3, "osrevision", func(*kernel) int32 { return netbsdVersion }),
		stringNode(4, "version", Version),
		intNode(7, "maxfiles", func(k *kernel) int32 { return int32(k.maxFiles) }),
		nameNode(10, "hostname", func(k *kernel) *string { return &k.hostname }),
		nameNode(22, "domainname", func(k *kernel) *string { return &k.domainname }),
		intNode(38, "iov_max", func(*kernel) int32 { return maxIovecs }),
	}},
	{name: "hw", num: 6, typ: ctlTypeNode, kids: []*sysctlNode{
		stringNode(1, "machine", Machine),
		intNode(3, "ncpu", func(*kernel) int32 { return int32(runtime.NumCPU()) }),
		intNode(4, "byteorder", func(*kernel) int32 { return 1234 }),
		intNode(7, "pagesize", func(*kernel) int32 { return 4096 }),
		stringNode(10, "machine_arch", MachineArch),
	}},
}}

// __sysctl(name, namelen, oldv, oldlenp, newv, newlen).
//
// As NetBSD's sysctl_lookup: with oldlenp, the old value's size is written
// back there; with oldv too, the value is copied out, cut to *oldlenp, in
// which case the call fails with ENOMEM after copying; a new value is
// applied after the old one is read, and refused with EPERM by a read-only
// node.
func (cl *call) sysSysctl() (int64, netbsd.Errno) {
	namelen := cl.uint(1)
	if namelen < 1 || namelen > ctlMaxName {
		return 0, netbsd.EINVAL
	}
	b, errno := cl.copyin(cl.ptr(0), int(namelen)*4)
	if errno != 0 {
		return 0, errno
	}
	name := make([]int32, namelen)
	for i := range name {
		name[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}

	node := sysctlRoot
	for i, n := range name {
		if n == ctlQuery && i == len(name)-1 {
			return cl.sysctlQuery(node)
		}
		if node.typ != ctlTypeNode {
			return 0, netbsd.ENOTDIR
		}
		if n < 0 {
			return 0, netbsd.EOPNOTSUPP
		}
		if node = node.kid(n); node == nil {
			return 0, netbsd.ENOENT
		}
	}
	if node.typ == ctlTypeNode {
		return 0, netbsd.EISDIR
	}

	if cl.ptr(4) != 0 && node.set == nil {
		return 0, netbsd.EPERM
	}
	errno = cl.sysctlOld(node.get(cl.k))
	if errno != 0 || cl.ptr(4) == 0 {
		return 0, errno
	}
	newlen := cl.args[5]
	if newlen >= maxHostNameLen {
		return 0, netbsd.EINVAL
	}
	v, errno := cl.copyin(cl.ptr(4), int(newlen))
	if errno != 0 {
		return 0, errno
	}
	return 0, node.set(cl.k, v)
}

func (n *sysctlNode) kid(num int32) *sysctlNode {
	for _, k := range n.kids {
		if k.num == num {
			return k
		}
	}
	return nil
}

// sysctlOld answers the old-value half of a sysctl with val.
func (cl *call) sysctlOld(val []byte) netbsd.Errno {
	oldp, oldlenp := cl.ptr(2), cl.ptr(3)
	if oldlenp == 0 {
		return 0
	}
	var errno netbsd.Errno
	if oldp != 0 {
		b, e := cl.copyin(oldlenp, 8)
		if e != 0 {
			return e
		}
		room := binary.LittleEndian.Uint64(b)
		out := val
		if uint64(len(out)) > room {
			out, errno = out[:room], netbsd.ENOMEM
		}
		if e := cl.copyout(oldp, out); e != 0 {
			return e
		}
	}
	if e := cl.copyout(oldlenp, binary.LittleEndian.AppendUint64(nil,
		uint64(len(val)))); e != 0 {
		return e
	}
	return errno
}

// sysctlQuery answers CTL_QUERY under node: the struct sysctlnode of each
// kid. The query node given as the new value, if any, must carry version 1.
func (cl *call) sysctlQuery(node *sysctlNode) (int64, netbsd.Errno) {
	if node.typ != ctlTypeNode {
		return 0, netbsd.ENOTDIR
	}
	if cl.ptr(4) != 0 {
		if cl.args[5] != sysctlNodeSize {
			return 0, netbsd.EINVAL
		}
		q, errno := cl.copyin(cl.ptr(4), sysctlNodeSize)
		if errno != 0 {
			return 0, errno
		}
		if binary.LittleEndian.Uint32(q)&sysctlVersMask != sysctlVers1 {
			return 0, netbsd.EINVAL
		}
	}
	var out []byte
	for _, k := range node.kids {
		out = append(out, k.encode(cl.k)...)
	}
	return 0, cl.sysctlOld(out)
}

// encode returns the struct sysctlnode describing n: flags, number, name,
// and for a leaf its size. No kernel address goes out.
func (n *sysctlNode) encode(k *kernel) []byte {
	b := make([]byte, sysctlNodeSize)
	flags := uint32(sysctlVers1 | ctlFlagPermanent | n.typ)
	if n.set != nil {
		flags |= ctlFlagReadWrite
	}
	binary.LittleEndian.PutUint32(b[0:], flags)
	binary.LittleEndian.PutUint32(b[4:], uint32(n.num))
	copy(b[8:8+sysctlNameLen-1], n.name)
	if n.typ == ctlTypeNode {
		// sysctl_csize and sysctl_clen, after the child pointer.
		binary.LittleEndian.PutUint32(b[56:], uint32(len(n.kids)))
		binary.LittleEndian.PutUint32(b[60:], uint32(len(n.kids)))
	} else {
		binary.LittleEndian.PutUint64(b[64:], uint64(len(n.get(k))))
	}
	return b
}
