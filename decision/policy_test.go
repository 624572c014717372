package decision

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"
)

// sockets builds a SocketSet from family names.
func sockets(names ...string) SocketSet {
	var set SocketSet
	for _, name := range names {
		i := slices.Index(socketNames, name)
		if i < 0 {
			panic("unknown socket family " + name)
		}
		set |= 1 << i
	}
	return set
}

// vfs builds a VFSSet from selector names.
func vfs(names ...string) VFSSet {
	var set VFSSet
	for _, name := range names {
		i := slices.Index(vfsNames, name)
		if i < 0 {
			panic("unknown vfs selector " + name)
		}
		set |= 1 << i
	}
	return set
}

var allSockets = sockets(socketNames...)

// acceptedPolicies are RUMPHIJACK values ParsePolicy accepts, with the policy
// each means. The round-trip test and the fuzz seeds use them too.
var acceptedPolicies = []struct {
	name string
	in   string
	want Policy
}{
	{"the default takes /rump and every family but local", DefaultPolicy,
		Policy{Path: "/rump", Sockets: allSockets &^ sockets("local"), FDOff: 128}},
	{"an empty string hijacks nothing", "", Policy{FDOff: 128}},
	{"a lone comma hijacks nothing", ",", Policy{FDOff: 128}},
	{"empty items are skipped", ",path=/rump,,socket=inet,",
		Policy{Path: "/rump", Sockets: sockets("inet"), FDOff: 128}},

	{"s abbreviates socket", "s=inet", Policy{Sockets: sockets("inet"), FDOff: 128}},
	{"sock abbreviates socket", "sock=inet6", Policy{Sockets: sockets("inet6"), FDOff: 128}},
	{"the full name socket is accepted", "socket=route",
		Policy{Sockets: sockets("route"), FDOff: 128}},
	{"p abbreviates path", "p=/rump", Policy{Path: "/rump", FDOff: 128}},
	{"b abbreviates blanket", "b=/dev/bpf", Policy{Blankets: []string{"/dev/bpf"}, FDOff: 128}},
	{"v abbreviates vfs", "v=fhcalls", Policy{VFS: vfs("fhcalls"), FDOff: 128}},
	{"sy abbreviates sysctl", "sy", Policy{Sysctl: true, FDOff: 128}},
	{"f abbreviates fdoff", "f=200", Policy{FDOff: 200}},

	{"a socket list selects each family", "socket=inet:inet6",
		Policy{Sockets: sockets("inet", "inet6"), FDOff: 128}},
	{"socket all selects every family", "socket=all", Policy{Sockets: allSockets, FDOff: 128}},
	{"no after all deselects one family", "socket=all:noinet",
		Policy{Sockets: allSockets &^ sockets("inet"), FDOff: 128}},
	{"several no elements deselect several families", "socket=all:nolocal:noinet6",
		Policy{Sockets: allSockets &^ sockets("local", "inet6"), FDOff: 128}},
	{"no undoes an earlier element of the same list", "socket=inet:inet6:noinet",
		Policy{Sockets: sockets("inet6"), FDOff: 128}},
	{"an empty socket list selects nothing", "socket=", Policy{FDOff: 128}},
	{"empty socket list elements are skipped", "socket=inet::inet6:",
		Policy{Sockets: sockets("inet", "inet6"), FDOff: 128}},
	{"families Linux lacks are accepted", "socket=link:oroute:mpls",
		Policy{Sockets: sockets("link", "oroute", "mpls"), FDOff: 128}},
	{"a repeated socket item adds to the selection", "socket=inet,socket=inet6",
		Policy{Sockets: sockets("inet", "inet6"), FDOff: 128}},
	{"a repeated socket item can deselect", "socket=all,socket=nolocal",
		Policy{Sockets: allSockets &^ sockets("local"), FDOff: 128}},

	{"vfs all selects every selector", "vfs=all", Policy{VFS: vfs(vfsNames...), FDOff: 128}},
	{"a vfs list selects each selector", "vfs=getvfsstat:fhcalls",
		Policy{VFS: vfs("getvfsstat", "fhcalls"), FDOff: 128}},
	{"no after all deselects one vfs selector", "vfs=all:nonfssvc",
		Policy{VFS: vfs("getvfsstat", "fhcalls"), FDOff: 128}},

	{"a path may be nested", "path=/rump/dir", Policy{Path: "/rump/dir", FDOff: 128}},
	{"a path of two slashes is accepted", "path=//", Policy{Path: "//", FDOff: 128}},
	{"a path of three slashes is accepted", "path=///", Policy{Path: "///", FDOff: 128}},
	{"a path may contain an equals sign", "path=/a=b", Policy{Path: "/a=b", FDOff: 128}},
	{"a path may contain a colon", "path=/a:b", Policy{Path: "/a:b", FDOff: 128}},
	{"a later path replaces an earlier one", "path=/a,path=/b",
		Policy{Path: "/b", FDOff: 128}},

	{"a blanket list keeps its order", "blanket=/dev/tap:/dev/bpf",
		Policy{Blankets: []string{"/dev/tap", "/dev/bpf"}, FDOff: 128}},
	{"a blanket prefix may be deep", "blanket=/var/run/rump",
		Policy{Blankets: []string{"/var/run/rump"}, FDOff: 128}},
	{"a later blanket replaces an earlier one", "blanket=/a:/b,blanket=/c",
		Policy{Blankets: []string{"/c"}, FDOff: 128}},

	{"sysctl alone turns sysctl on", "sysctl", Policy{Sysctl: true, FDOff: 128}},
	{"sysctl=yes turns sysctl on", "sysctl=yes", Policy{Sysctl: true, FDOff: 128}},
	{"sysctl=Y turns sysctl on", "sysctl=Y", Policy{Sysctl: true, FDOff: 128}},
	{"sysctl=yep turns sysctl on", "sysctl=yep", Policy{Sysctl: true, FDOff: 128}},
	{"sysctl=TotTakai turns sysctl on", "sysctl=TotTakai", Policy{Sysctl: true, FDOff: 128}},
	{"sysctl=no leaves sysctl off", "sysctl=no", Policy{FDOff: 128}},
	{"sysctl=N leaves sysctl off", "sysctl=N", Policy{FDOff: 128}},
	{"a later sysctl=no turns sysctl off again", "sysctl,sysctl=no", Policy{FDOff: 128}},

	{"fdoff 3 is the lowest accepted", "fdoff=3", Policy{FDOff: 3}},
	{"fdoff 1073741822 is the highest accepted", "fdoff=1073741822",
		Policy{FDOff: 1073741822}},
	{"fdoff with leading zeros is decimal", "fdoff=0512", Policy{FDOff: 512}},
	{"fdoff equal to the default is accepted", "fdoff=128", Policy{FDOff: 128}},
	{"a later fdoff replaces an earlier one", "fdoff=300,fdoff=400", Policy{FDOff: 400}},

	{"every item together", "path=/rump,blanket=/dev/bpf,socket=inet,vfs=fhcalls,sysctl=yes," +
		"fdoff=256", Policy{
		Path:     "/rump",
		Blankets: []string{"/dev/bpf"},
		Sockets:  sockets("inet"),
		VFS:      vfs("fhcalls"),
		Sysctl:   true,
		FDOff:    256,
	}},
}

func TestParsePolicyAccepts(t *testing.T) {
	for _, tt := range acceptedPolicies {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePolicy(tt.in)
			if err != nil {
				t.Fatalf("ParsePolicy(%q) failed: %v", tt.in, err)
			}
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreUnexported(Policy{})); diff != "" {
				t.Errorf("ParsePolicy(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParsePolicyRejects(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		item   string // the item the error must name
		reason string // a part of the reason
	}{
		{"an empty name is not taken as socket", "=inet", "=inet", `no name before "="`},
		{"an unknown name is rejected", "bogus=1", "bogus=1", `unknown name "bogus"`},
		{"a name longer than the table name is rejected", "sockets=inet", "sockets=inet",
			`unknown name "sockets"`},
		{"names are case sensitive", "Path=/rump", "Path=/rump", `unknown name "Path"`},
		{"blanks are part of the name", " path=/rump", " path=/rump", `unknown name " path"`},
		{"modctl is not a name here", "modctl=yes", "modctl=yes", `unknown name "modctl"`},
		{"socket without a value is rejected", "socket", "socket",
			`socket needs a value, as in "socket=inet:inet6"`},
		{"an abbreviation without a value is rejected", "s", "s", "socket needs a value"},
		{"path without a value is rejected", "path", "path", "path needs a value"},
		{"blanket without a value is rejected", "blanket", "blanket", "blanket needs a value"},
		{"vfs without a value is rejected", "vfs", "vfs", "vfs needs a value"},
		{"fdoff without a value is rejected", "fd", "fd", "fdoff needs a value"},
		{"the first bad item is named", "path=/rump,socket=bogus,fdoff=1", "socket=bogus",
			`unknown socket family "bogus"`},

		{"an unknown socket family is rejected", "socket=inet:bogus", "socket=inet:bogus",
			`unknown socket family "bogus" (accepted: local, inet, link, oroute, route, ` +
				`inet6, mpls, "all" first, "no" prefix)`},
		{"all after a family is rejected", "socket=inet:all", "socket=inet:all",
			`"all" may only be the first element`},
		{"all after an empty element is rejected", "socket=:all", "socket=:all",
			`"all" may only be the first element`},
		{"all glued to a family is rejected", "socket=allinet", "socket=allinet",
			`unknown socket family "allinet"`},
		{"no alone is rejected", "socket=no", "socket=no", `unknown socket family "no"`},
		{"noall is rejected", "socket=noall", "socket=noall", `unknown socket family "noall"`},
		{"a double no is rejected", "socket=nonolocal", "socket=nonolocal",
			`unknown socket family "nonolocal"`},
		{"socket family names are case sensitive", "socket=INET", "socket=INET",
			`unknown socket family "INET"`},
		{"an unknown vfs selector is rejected", "vfs=mount", "vfs=mount",
			`unknown vfs selector "mount" (accepted: nfssvc, getvfsstat, fhcalls`},
		{"vfs all after a selector is rejected", "vfs=fhcalls:all", "vfs=fhcalls:all",
			`"all" may only be the first element`},

		{"an empty path is rejected", "path=", "path=", "path needs a value"},
		{"a relative path is rejected", "path=rump", "path=rump",
			`path must be absolute: write "/rump"`},
		{"the root as path is rejected", "path=/", "path=/", `path "/" would take every path`},
		{"a path ending in a slash is rejected", "path=/rump/", "path=/rump/",
			`path must not end in "/": write "/rump"`},
		{"a path ending in two slashes is rejected", "path=/rump//", "path=/rump//",
			`write "/rump"`},
		{"a path of slashes with a name between is rejected", "path=//a/", "path=//a/",
			`write "//a"`},

		{"an empty blanket is rejected", "blanket=", "blanket=", "blanket needs a value"},
		{"a relative blanket prefix is rejected", "blanket=dev/bpf", "blanket=dev/bpf",
			`blanket prefix "dev/bpf" must be absolute: write "/dev/bpf"`},
		{"a blanket prefix ending in a slash is rejected", "blanket=/dev/", "blanket=/dev/",
			`blanket prefix "/dev/" must not end in "/": write "/dev"`},
		{"the root as blanket is rejected", "blanket=/", "blanket=/",
			`blanket prefix "/" would take every path`},
		{"two slashes as blanket are rejected", "blanket=//", "blanket=//",
			`blanket prefix "//" would take every path`},
		{"an empty blanket prefix in the middle is rejected", "blanket=/a::/b",
			"blanket=/a::/b", "blanket has an empty prefix"},
		{"a trailing colon in a blanket is rejected", "blanket=/a:", "blanket=/a:",
			"blanket has an empty prefix"},
		{"a leading colon in a blanket is rejected", "blanket=:/a", "blanket=:/a",
			"blanket has an empty prefix"},
		{"a bad second blanket prefix is rejected", "blanket=/a:b", "blanket=/a:b",
			`blanket prefix "b" must be absolute`},

		{"sysctl with an empty value is rejected", "sysctl=", "sysctl=",
			`sysctl must be "sysctl", "sysctl=yes" or "sysctl=no"`},
		{"sysctl=maybe is rejected", "sysctl=maybe", "sysctl=maybe", "sysctl must be"},
		{"sysctl=yess is rejected", "sysctl=yess", "sysctl=yess", "sysctl must be"},
		{"sysctl=true is rejected", "sysctl=true", "sysctl=true", "sysctl must be"},
		{"sysctl does not fold Unicode case", "sysctl=totta\u212Aai", "sysctl=totta\u212Aai",
			"sysctl must be"},

		{"fdoff 2 is too low", "fdoff=2", "fdoff=2",
			"fdoff must be a decimal number from 3 to 1073741822"},
		{"fdoff 0 is too low", "fdoff=0", "fdoff=0", "from 3 to 1073741822"},
		{"fdoff 1073741823 is too high", "fdoff=1073741823", "fdoff=1073741823",
			"from 3 to 1073741822"},
		{"an empty fdoff is rejected", "fdoff=", "fdoff=", "from 3 to 1073741822"},
		{"a negative fdoff is rejected", "fdoff=-5", "fdoff=-5", "from 3 to 1073741822"},
		{"a plus sign in fdoff is rejected", "fdoff=+5", "fdoff=+5", "from 3 to 1073741822"},
		{"a blank in fdoff is rejected", "fdoff= 5", "fdoff= 5", "from 3 to 1073741822"},
		{"junk after fdoff is rejected", "fdoff=12x", "fdoff=12x", "from 3 to 1073741822"},
		{"hexadecimal fdoff is rejected", "fdoff=0x80", "fdoff=0x80", "from 3 to 1073741822"},
		{"an fdoff overflowing 64 bits is rejected", "fdoff=99999999999999999999999",
			"fdoff=99999999999999999999999", "from 3 to 1073741822"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePolicy(tt.in)
			if err == nil {
				t.Fatalf("ParsePolicy(%q) = %v, want an error", tt.in, got)
			}
			var perr *PolicyError
			if !errors.As(err, &perr) {
				t.Fatalf("ParsePolicy(%q) error %T is not a *PolicyError: %v", tt.in, err, err)
			}
			if perr.Var != "RUMPHIJACK" || perr.Item != tt.item {
				t.Errorf("ParsePolicy(%q) error names %s item %q, want RUMPHIJACK item %q",
					tt.in, perr.Var, perr.Item, tt.item)
			}
			if !strings.Contains(perr.Reason, tt.reason) {
				t.Errorf("ParsePolicy(%q) reason %q does not contain %q",
					tt.in, perr.Reason, tt.reason)
			}
			if quoted := strconv.Quote(tt.item); !strings.Contains(err.Error(), quoted) {
				t.Errorf("error %q does not quote the item %s", err, quoted)
			}
		})
	}
}

func TestPolicyErrorMessages(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"an unknown family lists the accepted ones", "socket=inet:bogus",
			`RUMPHIJACK: "socket=inet:bogus": unknown socket family "bogus" (accepted: ` +
				`local, inet, link, oroute, route, inet6, mpls, "all" first, "no" prefix)`},
		{"a low fdoff gives the range", "fdoff=2",
			`RUMPHIJACK: "fdoff=2": fdoff must be a decimal number from 3 to 1073741822`},
		{"an unknown name lists the accepted names", "path=/rump,mount=/x",
			`RUMPHIJACK: "mount=/x": unknown name "mount" (accepted: socket, path, ` +
				`blanket, vfs, sysctl, fdoff, or an abbreviation such as "s" for socket)`},
		{"a relative path says what to write", "path=rump",
			`RUMPHIJACK: "path=rump": path must be absolute: write "/rump"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy(tt.in)
			if err == nil {
				t.Fatalf("ParsePolicy(%q) succeeded, want an error", tt.in)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("ParsePolicy(%q) error mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestPolicyFromEnv(t *testing.T) {
	tests := []struct {
		name  string
		value string
		set   bool
		want  Policy
	}{
		{"an unset variable means the default policy", "", false,
			Policy{Path: "/rump", Sockets: allSockets &^ sockets("local"), FDOff: 128}},
		{"an unset variable ignores the value", "socket=inet", false,
			Policy{Path: "/rump", Sockets: allSockets &^ sockets("local"), FDOff: 128}},
		{"a set empty variable hijacks nothing", "", true, Policy{FDOff: 128}},
		{"a set variable is parsed", "socket=inet", true,
			Policy{Sockets: sockets("inet"), FDOff: 128}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PolicyFromEnv(tt.value, tt.set)
			if err != nil {
				t.Fatalf("PolicyFromEnv(%q, %v) failed: %v", tt.value, tt.set, err)
			}
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreUnexported(Policy{})); diff != "" {
				t.Errorf("PolicyFromEnv(%q, %v) mismatch (-want +got):\n%s",
					tt.value, tt.set, diff)
			}
		})
	}

	t.Run("a set malformed variable is an error", func(t *testing.T) {
		if _, err := PolicyFromEnv("socket=bogus", true); err == nil {
			t.Error(`PolicyFromEnv("socket=bogus", true) succeeded, want an error`)
		}
	})
}

func TestPolicyString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"the default is its own canonical text", DefaultPolicy, DefaultPolicy},
		{"nothing hijacked is the empty string", "", ""},
		{"abbreviations are written out", "s=inet,p=/rump", "path=/rump,socket=inet"},
		{"families come in table order", "socket=inet6:local", "socket=local:inet6"},
		{"every family is all", "socket=local:inet:link:oroute:route:inet6:mpls",
			"socket=all"},
		{"most families are all with exceptions", "socket=local:inet:link:oroute:route",
			"socket=all:noinet6:nompls"},
		{"half the families or fewer are listed", "socket=all:nolocal:noinet:nolink:nooroute",
			"socket=route:inet6:mpls"},
		{"an empty selection is left out", "socket=inet:noinet", ""},
		{"two of three vfs selectors are all with an exception", "vfs=getvfsstat:fhcalls",
			"vfs=all:nonfssvc"},
		{"one vfs selector is listed", "vfs=all:nonfssvc:nofhcalls", "vfs=getvfsstat"},
		{"sysctl off is left out", "sysctl=no", ""},
		{"sysctl on is written as yes", "sy=YEP", "sysctl=yes"},
		{"the default fdoff is left out", "fdoff=128", ""},
		{"fdoff is written without leading zeros", "fdoff=0300", "fdoff=300"},
		{"blankets keep their order", "blanket=/b:/a", "blanket=/b:/a"},
		{"items come in a fixed order", "fdoff=9,sysctl,vfs=fhcalls,socket=inet," +
			"blanket=/dev/bpf,path=/rump",
			"path=/rump,blanket=/dev/bpf,socket=inet,vfs=fhcalls,sysctl=yes,fdoff=9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy(tt.in)
			if err != nil {
				t.Fatalf("ParsePolicy(%q) failed: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, p.String()); diff != "" {
				t.Errorf("ParsePolicy(%q).String() mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestPolicyStringRoundTrip(t *testing.T) {
	for _, tt := range acceptedPolicies {
		t.Run(tt.name, func(t *testing.T) {
			text := tt.want.String()
			got, err := ParsePolicy(text)
			if err != nil {
				t.Fatalf("ParsePolicy(%q) of the canonical text failed: %v", text, err)
			}
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreUnexported(Policy{})); diff != "" {
				t.Errorf("ParsePolicy(%q) mismatch (-want +got):\n%s", text, diff)
			}
		})
	}
}

func TestMatchPath(t *testing.T) {
	tests := []struct {
		name     string
		policy   string
		path     string
		wantPath string
		wantOK   bool
	}{
		{"the prefix itself is the rump root", "path=/rump", "/rump", "/", true},
		{"a path under the prefix loses the prefix", "path=/rump", "/rump/x", "/x", true},
		{"a deep path under the prefix loses the prefix", "path=/rump", "/rump/a/b/",
			"/a/b/", true},
		{"a prefix followed by a slash is the rump root", "path=/rump", "/rump/", "/", true},
		{"a name merely starting with the prefix is host", "path=/rump", "/rumpfoo", "", false},
		{"a shorter path is host", "path=/rump", "/rum", "", false},
		{"an unrelated path is host", "path=/rump", "/etc/passwd", "", false},
		{"dot-dot is not resolved", "path=/rump", "/rump/../etc", "/../etc", true},
		{"a relative path is not matched", "path=/rump", "rump/x", "", false},
		{"a relative path is not matched by a blanket", "blanket=/dev/bpf", "dev/bpf", "",
			false},
		{"the empty path is not matched", "path=/rump", "", "", false},
		{"a blanket passes its own path unchanged", "blanket=/dev/bpf", "/dev/bpf",
			"/dev/bpf", true},
		{"a blanket ignores directory borders", "blanket=/dev/bpf", "/dev/bpf0",
			"/dev/bpf0", true},
		{"a blanket passes a path below it unchanged", "blanket=/dev", "/dev/tap/x",
			"/dev/tap/x", true},
		{"a path beside a blanket is host", "blanket=/dev/bpf", "/dev/tap", "", false},
		{"any of several blankets matches", "blanket=/dev/bpf:/dev/tap", "/dev/tap0",
			"/dev/tap0", true},
		{"the prefix wins over a blanket", "path=/rump,blanket=/rump", "/rump/x", "/x", true},
		{"a blanket catches what the prefix misses", "path=/rump,blanket=/rump",
			"/rumpfoo", "/rumpfoo", true},
		{"with both, a blanket path is unchanged", "path=/rump,blanket=/dev/bpf",
			"/dev/bpf0", "/dev/bpf0", true},
		{"with both, other paths are host", "path=/rump,blanket=/dev/bpf", "/tmp", "",
			false},
		{"a slashes-only prefix takes a path after it", "path=//", "///x", "/x", true},
		{"a slashes-only prefix matches itself", "path=//", "//", "/", true},
		{"a slashes-only prefix needs a slash after it", "path=//", "//x", "", false},
		{"nothing configured matches nothing", "socket=all", "/rump", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy(tt.policy)
			if err != nil {
				t.Fatalf("ParsePolicy(%q) failed: %v", tt.policy, err)
			}
			gotPath, gotOK := p.MatchPath(tt.path)
			if gotPath != tt.wantPath || gotOK != tt.wantOK {
				t.Errorf("with %q, MatchPath(%q) = %q, %v; want %q, %v",
					tt.policy, tt.path, gotPath, gotOK, tt.wantPath, tt.wantOK)
			}
		})
	}
}

func TestPolicySelections(t *testing.T) {
	tests := []struct {
		name            string
		policy          string
		wantPaths       bool
		wantAnything    bool
		wantFamilies    []int
		wantUnsupported []string
	}{
		{"the default takes paths and Linux's inet families and netlink", DefaultPolicy,
			true, true, []int{unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK}, nil},
		{"the empty policy takes nothing", "", false, false, nil, nil},
		{"a blanket alone takes paths", "blanket=/dev/bpf", true, true, nil, nil},
		{"local is AF_UNIX", "socket=local", false, true, []int{unix.AF_UNIX}, nil},
		{"every family maps to four Linux families", "socket=all", false, true,
			[]int{unix.AF_UNIX, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK}, nil},
		{"a NetBSD-only family named after all is reported", "socket=all:link", false, true,
			[]int{unix.AF_UNIX, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK},
			[]string{"socket=link"}},
		{"a family named and then deselected is not reported", "socket=link:nolink",
			false, false, nil, nil},
		{"mpls alone selects no Linux family", "socket=mpls", false, true, nil,
			[]string{"socket=mpls"}},
		{"nfssvc is unsupported", "vfs=nfssvc", false, true, nil, []string{"vfs=nfssvc"}},
		{"all selects nfssvc without a report", "vfs=all", false, true, nil, nil},
		{"getvfsstat is supported", "vfs=getvfsstat", false, true, nil, nil},
		{"sysctl alone takes something", "sysctl", false, true, nil, nil},
		{"sockets come before vfs in the unsupported list", "vfs=nfssvc,socket=link",
			false, true, nil, []string{"socket=link", "vfs=nfssvc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy(tt.policy)
			if err != nil {
				t.Fatalf("ParsePolicy(%q) failed: %v", tt.policy, err)
			}
			if got := p.HijacksPaths(); got != tt.wantPaths {
				t.Errorf("HijacksPaths() = %v, want %v", got, tt.wantPaths)
			}
			if got := p.HijacksAnything(); got != tt.wantAnything {
				t.Errorf("HijacksAnything() = %v, want %v", got, tt.wantAnything)
			}
			if diff := cmp.Diff(tt.wantFamilies, p.Sockets.LinuxFamilies()); diff != "" {
				t.Errorf("Sockets.LinuxFamilies() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantUnsupported, p.Unsupported()); diff != "" {
				t.Errorf("Unsupported() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSocketSetNames(t *testing.T) {
	set := sockets("inet6", "local", "route")
	if diff := cmp.Diff([]string{"local", "route", "inet6"}, set.Names()); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		name string
		want bool
	}{{"local", true}, {"inet", false}, {"inet6", true}, {"bogus", false}, {"", false}} {
		if got := set.Has(tt.name); got != tt.want {
			t.Errorf("Has(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := SocketSet(0).Names(); got != nil {
		t.Errorf("the empty set's Names() = %q, want nil", got)
	}
}

func TestVFSSetNames(t *testing.T) {
	set := vfs("fhcalls", "nfssvc")
	if diff := cmp.Diff([]string{"nfssvc", "fhcalls"}, set.Names()); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		name string
		want bool
	}{{"nfssvc", true}, {"getvfsstat", false}, {"fhcalls", true}, {"all", false}} {
		if got := set.Has(tt.name); got != tt.want {
			t.Errorf("Has(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
