package decision

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParsePolicy checks that ParsePolicy never panics, that every error is a
// *PolicyError naming an item of the input, and that the canonical text of
// every accepted policy parses back to the same policy.
func FuzzParsePolicy(f *testing.F) {
	for _, tt := range acceptedPolicies {
		f.Add(tt.in)
	}
	for _, seed := range []string{
		"=", "=inet", ",,,", "s", "socket", "socket=all:", "socket=:all", "socket=no",
		"socket=allinet", "path=/", "path=//", "path=/rump/", "path=rump", "blanket=",
		"blanket=/a::/b", "blanket=/:", "sysctl=", "sysctl=tottakai", "fdoff=2",
		"fdoff=1073741823", "fdoff=-0", "fdoff=99999999999999999999", "path=/a=b=c",
		"\x00", "path=/\xff", "socket=\xffinet",
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePolicy(s)
		if err != nil {
			var perr *PolicyError
			if !errors.As(err, &perr) {
				t.Fatalf("ParsePolicy(%q) error %T is not a *PolicyError", s, err)
			}
			if perr.Item == "" || !strings.Contains(s, perr.Item) {
				t.Fatalf("ParsePolicy(%q) error names item %q, not part of the input",
					s, perr.Item)
			}
			return
		}

		text := p.String()
		again, err := ParsePolicy(text)
		if err != nil {
			t.Fatalf("ParsePolicy(%q) accepted, but its text %q fails: %v", s, text, err)
		}
		if diff := cmp.Diff(p, again, cmpopts.IgnoreUnexported(Policy{})); diff != "" {
			t.Fatalf("ParsePolicy(%q) reparsed from %q differs (-first +again):\n%s",
				s, text, diff)
		}
		if again.String() != text {
			t.Fatalf("canonical text %q is not stable: %q", text, again.String())
		}
	})
}

// FuzzParseRetry checks that ParseRetry never panics, rejects with a
// *PolicyError, and that String writes every accepted value back as text that
// parses to it.
func FuzzParseRetry(f *testing.F) {
	for _, seed := range []string{
		"inftime", "once", "die", "0", "1", "30", "2147483647", "2147483648", "-1",
		"+5", " 5", "", "007", "99999999999999999999",
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRetry(s)
		if err != nil {
			var perr *PolicyError
			if !errors.As(err, &perr) || perr.Item != s {
				t.Fatalf("ParseRetry(%q) error %v does not name the input", s, err)
			}
			return
		}
		if r < RetryDie {
			t.Fatalf("ParseRetry(%q) = %d, which has no meaning", s, int(r))
		}
		back, err := ParseRetry(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRetry(%q) = %v, but ParseRetry(%q) = %v, %v",
				s, r, r.String(), back, err)
		}
	})
}
