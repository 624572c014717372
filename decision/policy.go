package decision

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// PolicyVar is the environment variable that holds the policy text.
const PolicyVar = "RUMPHIJACK"

// DefaultPolicy is the RUMPHIJACK value used when the variable is unset. Local
// sockets stay on the host so that X clients keep reaching the X server.
const DefaultPolicy = "path=/rump,socket=all:nolocal"

// DefaultFDOff is the descriptor offset used when RUMPHIJACK has no fdoff
// item. It is the value rumphijack(3) documents: half of NetBSD's FD_SETSIZE.
const DefaultFDOff = 128

// fdoff bounds. Descriptors 0 to 2 always belong to the host, and the upper
// bound keeps fdoff plus a rump descriptor number within a C int.
const (
	minFDOff = 3
	maxFDOff = math.MaxInt32/2 - 1
)

// Policy is a parsed RUMPHIJACK value: which system calls of a target go to
// the rump kernel. The zero Policy is not valid (its FDOff is 0); obtain one
// from ParsePolicy or PolicyFromEnv.
type Policy struct {
	// Path is the prefix of the absolute paths that go to the rump kernel with
	// the prefix removed, or "" when no path= item was given.
	Path string

	// Blankets are the prefixes of the absolute paths that go to the rump
	// kernel unchanged, in the order given; nil when no blanket= item was
	// given.
	Blankets []string

	// Sockets are the socket families whose new sockets are created in the
	// rump kernel.
	Sockets SocketSet

	// VFS are the file system calls without a path argument that go to the
	// rump kernel.
	VFS VFSSet

	// Sysctl reports whether sysctl reads and writes go to the rump kernel.
	Sysctl bool

	// FDOff is the lowest descriptor number at which rump descriptors appear
	// in the target; DefaultFDOff unless an fdoff= item was given.
	FDOff int

	// namedSockets and namedVFS are the selections made by name rather
	// than through "all", for Unsupported.
	namedSockets SocketSet
	namedVFS     VFSSet
}

// PolicyFromEnv parses the RUMPHIJACK variable as the caller found it: value
// is its value and set whether it is set at all (as os.LookupEnv reports). An
// unset variable means DefaultPolicy; a set but empty one hijacks nothing.
// Errors are *PolicyError.
func PolicyFromEnv(value string, set bool) (*Policy, error) {
	if !set {
		value = DefaultPolicy
	}
	return ParsePolicy(value)
}

// ParsePolicy parses a RUMPHIJACK value. It returns a *PolicyError naming the
// first bad item when s is malformed.
//
// The value is a comma-separated list of items, applied in order to a policy
// that starts with nothing hijacked and fdoff at DefaultFDOff, so the empty
// string hijacks nothing. An item is name=value, where name is socket, path,
// blanket, vfs, sysctl or fdoff, or any abbreviation of one; an abbreviation
// means the first of those names, in that order, that it begins (so "s" is
// socket, "sy" sysctl). Only sysctl may be written without "=value".
//
//   - socket=LIST and vfs=LIST edit the current selection with a
//     colon-separated list: "all" as the first element selects every name,
//     a name selects it and "no" before a name deselects it. Socket names are
//     local, inet, link, oroute, route, inet6 and mpls; vfs names are nfssvc,
//     getvfsstat and fhcalls.
//   - path=PREFIX is an absolute path of at least two characters that ends
//     in "/" only if it consists of nothing but slashes.
//   - blanket=P1:P2:... lists absolute prefixes that do not end in "/".
//   - sysctl, sysctl=yes, y, yep or tottakai turn sysctl on; sysctl=no or n
//     turn it off; the value is matched regardless of ASCII case.
//   - fdoff=N is a decimal number from 3 to 1073741822.
//
// A repeated item is applied again: socket and vfs lists keep editing the
// same selection, and a later path, blanket, sysctl or fdoff replaces the
// earlier one. Empty items, and empty elements of socket and vfs lists, are
// skipped.
//
// These rules are NetBSD's, with its accidents turned into errors: an item
// with an empty name ("=inet") is rejected rather than taken as socket; "all"
// must be a whole element ("allinet" is not "all:inet"); an empty blanket
// prefix ("blanket=", "/a::/b") is rejected rather than leaving the prefix
// table with an uninitialised entry; fdoff accepts digits only, where NetBSD
// also took leading blanks and a "+"; and a value longer than 1023 bytes is
// parsed, where NetBSD silently fell back to the default policy.
func ParsePolicy(s string) (*Policy, error) {
	p := &Policy{FDOff: DefaultFDOff}
	for item := range strings.SplitSeq(s, ",") {
		if item == "" {
			continue
		}
		if err := p.apply(item); err != nil {
			return nil, &PolicyError{Var: PolicyVar, Item: item, Reason: err.Error()}
		}
	}
	return p, nil
}

// selector is one name a RUMPHIJACK item can start with.
type selector struct {
	name string

	// example is a well-formed item, shown when the value is missing.
	example string

	// needsValue is false when the name may stand alone, without "=".
	needsValue bool

	// apply changes p as the item says. hasValue is false for a lone name.
	apply func(p *Policy, value string, hasValue bool) error
}

// selectors is in NetBSD's order, which decides what an abbreviation means.
var selectors = []selector{
	{"socket", "socket=inet:inet6", true, applySocket},
	{"path", "path=/rump", true, applyPath},
	{"blanket", "blanket=/dev/bpf", true, applyBlanket},
	{"vfs", "vfs=getvfsstat", true, applyVFS},
	{"sysctl", "sysctl=yes", false, applySysctl},
	{"fdoff", "fdoff=128", true, applyFDOff},
}

const acceptedNames = `accepted: socket, path, blanket, vfs, sysctl, fdoff, ` +
	`or an abbreviation such as "s" for socket`

func (p *Policy) apply(item string) error {
	name, value, hasValue := strings.Cut(item, "=")
	if name == "" {
		return errors.New(`the item has no name before "=" (` + acceptedNames + `)`)
	}

	i := slices.IndexFunc(selectors, func(s selector) bool {
		return strings.HasPrefix(s.name, name)
	})
	if i < 0 {
		return fmt.Errorf("unknown name %q (%s)", name, acceptedNames)
	}
	sel := selectors[i]

	if !hasValue && sel.needsValue {
		return fmt.Errorf("%s needs a value, as in %q", sel.name, sel.example)
	}
	return sel.apply(p, value, hasValue)
}

func applySocket(p *Policy, value string, _ bool) error {
	set, named, err := editSelection(uint32(p.Sockets), value, socketNames, "socket family",
		"socket=all:nolocal")
	if err != nil {
		return err
	}
	p.Sockets = SocketSet(set)
	p.namedSockets |= SocketSet(named)
	return nil
}

func applyVFS(p *Policy, value string, _ bool) error {
	set, named, err := editSelection(uint32(p.VFS), value, vfsNames, "vfs selector",
		"vfs=all:nonfssvc")
	if err != nil {
		return err
	}
	p.VFS = VFSSet(set)
	p.namedVFS |= VFSSet(named)
	return nil
}

// editSelection applies a socket= or vfs= list to the selection set, a bit
// per entry of names, and returns the new selection and the names the list
// selects by name rather than through "all". what and example word the
// errors.
func editSelection(set uint32, list string, names []string, what, example string) (uint32,
	uint32, error) {
	var named uint32
	for i, elem := range strings.Split(list, ":") {
		if elem == "" {
			continue
		}
		if elem == "all" {
			if i != 0 {
				return 0, 0, fmt.Errorf(`"all" may only be the first element, as in %q`,
					example)
			}
			set = 1<<len(names) - 1
			continue
		}

		name, off := strings.CutPrefix(elem, "no")
		bit := slices.Index(names, name)
		if bit < 0 {
			return 0, 0, fmt.Errorf(`unknown %s %q (accepted: %s, "all" first, "no" prefix)`,
				what, elem, strings.Join(names, ", "))
		}
		if off {
			set &^= 1 << bit
			named &^= 1 << bit
		} else {
			set |= 1 << bit
			named |= 1 << bit
		}
	}
	return set, named, nil
}

func applyPath(p *Policy, value string, _ bool) error {
	switch {
	case value == "":
		return errors.New(`path needs a value, as in "path=/rump"`)
	case value[0] != '/':
		return fmt.Errorf("path must be absolute: write %q", "/"+value)
	case len(value) < 2:
		return errors.New(`path "/" would take every path; give a directory such as "/rump"`)
	case strings.HasSuffix(value, "/") && strings.Trim(value, "/") != "":
		return fmt.Errorf(`path must not end in "/": write %q`, strings.TrimRight(value, "/"))
	}
	p.Path = value
	return nil
}

func applyBlanket(p *Policy, value string, _ bool) error {
	if value == "" {
		return errors.New(`blanket needs a value, as in "blanket=/dev/bpf:/dev/tap"`)
	}

	prefixes := strings.Split(value, ":")
	for _, prefix := range prefixes {
		switch {
		case prefix == "":
			return errors.New(`blanket has an empty prefix: separate absolute prefixes ` +
				`with single colons, as in "blanket=/dev/bpf:/dev/tap"`)
		case prefix[0] != '/':
			return fmt.Errorf("blanket prefix %q must be absolute: write %q",
				prefix, "/"+prefix)
		case strings.Trim(prefix, "/") == "":
			return fmt.Errorf("blanket prefix %q would take every path; "+
				`name specific prefixes such as "/dev/bpf"`, prefix)
		case strings.HasSuffix(prefix, "/"):
			return fmt.Errorf(`blanket prefix %q must not end in "/": write %q`,
				prefix, strings.TrimRight(prefix, "/"))
		}
	}
	p.Blankets = prefixes
	return nil
}

func applySysctl(p *Policy, value string, hasValue bool) error {
	if !hasValue {
		p.Sysctl = true
		return nil
	}
	switch lowerASCII(value) {
	case "yes", "y", "yep", "tottakai":
		p.Sysctl = true
	case "no", "n":
		p.Sysctl = false
	default:
		return errors.New(`sysctl must be "sysctl", "sysctl=yes" or "sysctl=no"`)
	}
	return nil
}

// lowerASCII lowers the ASCII letters of s and nothing else, so that no
// Unicode case folding turns a stranger's word into "yes".
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func applyFDOff(p *Policy, value string, _ bool) error {
	n, ok := parseDecimal(value, maxFDOff)
	if !ok || n < minFDOff {
		return fmt.Errorf("fdoff must be a decimal number from %d to %d", minFDOff, maxFDOff)
	}
	p.FDOff = n
	return nil
}

// parseDecimal parses s, digits only, as a number from 0 to limit. Signs,
// blanks and values over limit report false.
func parseDecimal(s string, limit int) (int, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > uint64(limit) {
		return 0, false
	}
	return int(n), true
}

// String returns p as canonical RUMPHIJACK text: ParsePolicy(p.String())
// equals p for every Policy ParsePolicy returns. Items come in the order path,
// blanket, socket, vfs, sysctl, fdoff, and are left out when they would change
// nothing; DefaultPolicy is its own canonical text.
func (p *Policy) String() string {
	var items []string
	if p.Path != "" {
		items = append(items, "path="+p.Path)
	}
	if len(p.Blankets) > 0 {
		items = append(items, "blanket="+strings.Join(p.Blankets, ":"))
	}
	if p.Sockets != 0 {
		items = append(items, "socket="+selectionText(uint32(p.Sockets), socketNames))
	}
	if p.VFS != 0 {
		items = append(items, "vfs="+selectionText(uint32(p.VFS), vfsNames))
	}
	if p.Sysctl {
		items = append(items, "sysctl=yes")
	}
	if p.FDOff != DefaultFDOff {
		items = append(items, "fdoff="+strconv.Itoa(p.FDOff))
	}
	return strings.Join(items, ",")
}

// selectionText writes a non-empty selection as the shorter of its two list
// forms: the selected names, or "all" followed by the names left out.
func selectionText(set uint32, names []string) string {
	all := uint32(1)<<len(names) - 1
	set &= all
	if set == all {
		return "all"
	}

	var elems []string
	byExclusion := 2*bits.OnesCount32(set) > len(names)
	if byExclusion {
		elems = append(elems, "all")
	}
	for i, name := range names {
		selected := set&(1<<i) != 0
		switch {
		case byExclusion && !selected:
			elems = append(elems, "no"+name)
		case !byExclusion && selected:
			elems = append(elems, name)
		}
	}
	return strings.Join(elems, ":")
}

// HijacksPaths reports whether any path goes to the rump kernel, that is
// whether a path or a blanket is configured.
func (p *Policy) HijacksPaths() bool {
	return p.Path != "" || len(p.Blankets) > 0
}

// HijacksAnything reports whether p selects anything for the rump kernel. It
// counts selections that mean nothing on Linux (see Unsupported) too.
func (p *Policy) HijacksAnything() bool {
	return p.HijacksPaths() || p.Sockets != 0 || p.VFS != 0 || p.Sysctl
}

// MatchPath decides where the absolute path abs belongs. It returns the path
// to give the rump kernel and true when abs is rump-bound:
//
//   - abs equals Path or continues it with "/": Path is removed, and an empty
//     remainder becomes "/" (with Path "/rump", "/rump/x" is "/x" and
//     "/rumpfoo" is not rump-bound);
//   - otherwise abs begins with a blanket prefix, compared byte by byte
//     without regard for directory borders ("/dev/bpf" takes "/dev/bpf0"):
//     abs is returned unchanged.
//
// A path that is not absolute reports false: whether a relative path is
// rump-bound depends on the target's working directory, not on the policy.
// Neither ".." nor symbolic links are resolved, so "/rump/../etc" is rump-bound
// as "/../etc".
func (p *Policy) MatchPath(abs string) (rumpPath string, ok bool) {
	if !strings.HasPrefix(abs, "/") {
		return "", false
	}

	if p.Path != "" {
		if rest, found := strings.CutPrefix(abs, p.Path); found {
			if rest == "" {
				return "/", true
			}
			if rest[0] == '/' {
				return rest, true
			}
		}
	}

	for _, prefix := range p.Blankets {
		if strings.HasPrefix(abs, prefix) {
			return abs, true
		}
	}
	return "", false
}

// Unsupported lists the selections of p that NetBSD has and Linux does not,
// so that they select nothing here, written as items ("socket=link",
// "vfs=nfssvc"), sockets before vfs, each in table order. Only selections
// made by name count: "all" means every family there is, and selecting
// NetBSD-only ones through it is no mistake. It is nil when every named
// selection has a meaning on Linux; callers may warn about the rest.
func (p *Policy) Unsupported() []string {
	var items []string
	for _, name := range (p.Sockets & p.namedSockets).Names() {
		if _, ok := linuxSocketFamilies[name]; !ok {
			items = append(items, "socket="+name)
		}
	}
	for _, name := range (p.VFS & p.namedVFS).Names() {
		if !linuxVFS[name] {
			items = append(items, "vfs="+name)
		}
	}
	return items
}

// socketNames are the socket= family names in the order of NetBSD's table.
// A name's bit in a SocketSet is its index here.
var socketNames = []string{"local", "inet", "link", "oroute", "route", "inet6", "mpls"}

// linuxSocketFamilies maps each socket= name that exists on Linux to its
// address family. route is the NetBSD routing socket, which a Linux program
// reaches as a netlink routing socket.
var linuxSocketFamilies = map[string]int{
	"local": unix.AF_UNIX,
	"inet":  unix.AF_INET,
	"route": unix.AF_NETLINK,
	"inet6": unix.AF_INET6,
}

// SocketSet is a selection of socket families by their RUMPHIJACK names, one
// bit per name in the order local, inet, link, oroute, route, inet6, mpls.
type SocketSet uint32

// Has reports whether the family called name is selected. An unknown name is
// never selected.
func (s SocketSet) Has(name string) bool {
	return hasName(uint32(s), socketNames, name)
}

// Names returns the selected family names in table order, nil if none.
func (s SocketSet) Names() []string {
	return selectedNames(uint32(s), socketNames)
}

// LinuxFamilies returns the Linux address families (unix.AF_*) of the
// selected names, in ascending order. link, oroute and mpls have no Linux
// family and contribute nothing.
func (s SocketSet) LinuxFamilies() []int {
	var families []int
	for _, name := range s.Names() {
		if family, ok := linuxSocketFamilies[name]; ok {
			families = append(families, family)
		}
	}
	slices.Sort(families)
	return families
}

// vfsNames are the vfs= selector names in the order of NetBSD's table. A
// name's bit in a VFSSet is its index here.
var vfsNames = []string{"nfssvc", "getvfsstat", "fhcalls"}

// linuxVFS holds the vfs= names that select Linux calls: getvfsstat the mount
// tables and statfs, fhcalls name_to_handle_at and open_by_handle_at. nfssvc
// has no Linux counterpart.
var linuxVFS = map[string]bool{"getvfsstat": true, "fhcalls": true}

// VFSSet is a selection of file system calls without a path argument, one
// bit per name in the order nfssvc, getvfsstat, fhcalls.
type VFSSet uint32

// Has reports whether the selector called name is selected. An unknown name
// is never selected.
func (v VFSSet) Has(name string) bool {
	return hasName(uint32(v), vfsNames, name)
}

// Names returns the selected names in table order, nil if none.
func (v VFSSet) Names() []string {
	return selectedNames(uint32(v), vfsNames)
}

func hasName(set uint32, names []string, name string) bool {
	i := slices.Index(names, name)
	return i >= 0 && set&(1<<i) != 0
}

func selectedNames(set uint32, names []string) []string {
	var selected []string
	for i, name := range names {
		if set&(1<<i) != 0 {
			selected = append(selected, name)
		}
	}
	return selected
}

// PolicyError reports a malformed RUMPHIJACK or RUMPHIJACK_RETRYCONNECT value.
type PolicyError struct {
	// Var is the environment variable: PolicyVar or RetryVar.
	Var string

	// Item is the offending text as written: one comma-separated item of
	// RUMPHIJACK, or the whole RUMPHIJACK_RETRYCONNECT value.
	Item string

	// Reason says what is wrong and what is accepted instead.
	Reason string
}

// Error names the variable, quotes the item and gives the reason, as in
// `RUMPHIJACK: "fdoff=2": fdoff must be a decimal number from 3 to 1073741822`.
func (e *PolicyError) Error() string {
	return fmt.Sprintf("%s: %q: %s", e.Var, e.Item, e.Reason)
}
