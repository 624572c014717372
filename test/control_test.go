package test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hijack-project/hijack/control"
)

// rawConn opens a control connection that sends whatever a test wants.
func rawConn(t *testing.T, d *daemon) *net.UnixConn {
	t.Helper()
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: d.socket, Net: "unixpacket"})
	if err != nil {
		t.Fatalf("dial hijackd: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(15 * time.Second))
	return c
}

// refusal reads what hijackd answers to a bad message: an error message or
// the end of the connection.
func refusal(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, control.MaxMessage)
	n, err := c.Read(buf)
	if err != nil || n == 0 {
		return "connection closed"
	}
	var e control.Error
	if err := control.Unmarshal(buf[:n], control.TypeError, &e); err != nil {
		t.Fatalf("hijackd answered a bad message with %q: %v", buf[:n], err)
	}
	// After refusing, hijackd closes the connection.
	if n, err := c.Read(buf); n != 0 || err == nil {
		t.Errorf("hijackd kept the connection open after refusing")
	}
	return e.Message
}

func mustMarshal(t *testing.T, typ control.Type, body any) []byte {
	t.Helper()
	b, err := control.Marshal(typ, body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBadControlMessagesAffectNoOtherSession(t *testing.T) {
	d := startDaemon(t)

	// A program that runs throughout, making trapped calls, stands for
	// the sessions that must carry on.
	stopFile := filepath.Join(t.TempDir(), "stop")
	long := make(chan result, 1)
	go func() {
		long <- run(t, d, nil, "sh", "-c",
			fmt.Sprintf("n=0; while [ ! -e %s ]; do cat /etc/hostname >/dev/null; "+
				"n=$((n+1)); done; echo looped", stopFile))
	}()
	eventually(t, "the long-running session opened", func() (bool, string) {
		n := d.metric(t, "hijack_sessions")
		return n == 1, fmt.Sprintf("%v sessions", n)
	})

	register := control.Register{Policy: "", PolicySet: true, Argv: []string{"x"}, Cwd: "/"}
	tests := []struct {
		name       string
		send       func(t *testing.T, c *net.UnixConn)
		wantResult string
		wantReason string
	}{
		{"garbage is refused", func(t *testing.T, c *net.UnixConn) {
			c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		}, "malformed", "no protocol header"},
		{"an oversize packet is refused", func(t *testing.T, c *net.UnixConn) {
			big := append(mustMarshal(t, control.TypeRegister, register),
				bytes.Repeat([]byte{' '}, 2*control.MaxMessage)...)
			c.SetWriteBuffer(4 * control.MaxMessage)
			if _, err := c.Write(big); err != nil {
				t.Fatalf("write oversize packet: %v", err)
			}
		}, "malformed", "longer than"},
		{"another protocol version is refused", func(t *testing.T, c *net.UnixConn) {
			msg := mustMarshal(t, control.TypeRegister, register)
			msg[4] = 99
			c.Write(msg)
		}, "malformed", "protocol version 99"},
		{"a listener before registering is refused", func(t *testing.T, c *net.UnixConn) {
			c.Write(mustMarshal(t, control.TypeListener, control.Listener{}))
		}, "malformed", "got listener, want register"},
		{"unknown fields are refused", func(t *testing.T, c *net.UnixConn) {
			msg := mustMarshal(t, control.TypeRegister, map[string]any{"policy": "", "x": 1})
			c.Write(msg)
		}, "malformed", "unknown field"},
		{"a bad policy is named in the refusal", func(t *testing.T, c *net.UnixConn) {
			r := register
			r.Policy = "fdoff=1"
			c.Write(mustMarshal(t, control.TypeRegister, r))
		}, "bad_policy", `"fdoff=1"`},
		{"a descriptor that is no listener is refused", func(t *testing.T, c *net.UnixConn) {
			c.Write(mustMarshal(t, control.TypeRegister, register))
			readFilter(t, c)
			r, w, _ := os.Pipe()
			defer r.Close()
			defer w.Close()
			c.WriteMsgUnix(mustMarshal(t, control.TypeListener, control.Listener{}),
				unix.UnixRights(int(r.Fd())), nil)
		}, "malformed", "not a seccomp listener"},
		{"a listener message without a descriptor is refused",
			func(t *testing.T, c *net.UnixConn) {
				c.Write(mustMarshal(t, control.TypeRegister, register))
				readFilter(t, c)
				c.Write(mustMarshal(t, control.TypeListener, control.Listener{}))
			}, "malformed", "carries 0 descriptors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := d.metric(t, "hijack_registrations_total", "result="+tt.wantResult)
			c := rawConn(t, d)
			tt.send(t, c)
			if got := refusal(t, c); !strings.Contains(got, tt.wantReason) {
				t.Errorf("refusal %q, want one containing %q", got, tt.wantReason)
			}
			eventually(t, "the refusal counted", func() (bool, string) {
				n := d.metric(t, "hijack_registrations_total", "result="+tt.wantResult)
				return n == before+1, fmt.Sprintf("%s went from %v to %v",
					tt.wantResult, before, n)
			})
			// The log quotes the reason, escaping its quotes.
			if !strings.Contains(d.log.String(), strings.Trim(tt.wantReason, `"`)) {
				t.Errorf("hijackd's log does not give the reason %q", tt.wantReason)
			}
		})
	}

	t.Run("a stalled peer does not hold up a registration", func(t *testing.T) {
		rawConn(t, d) // connects and never sends
		got := run(t, d, nil, "echo", "still served")
		if got.code != 0 || got.stdout != "still served\n" {
			t.Errorf("program beside a stalled peer: %+v", got)
		}
	})

	os.WriteFile(stopFile, nil, 0o644)
	select {
	case r := <-long:
		if r.code != 0 || r.stdout != "looped\n" {
			t.Errorf("the long-running program ended with %+v", r)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the long-running program did not finish")
	}
	if strings.Contains(d.log.String(), "panic") {
		t.Errorf("hijackd panicked:\n%s", d.log)
	}
}

func readFilter(t *testing.T, c *net.UnixConn) {
	t.Helper()
	buf := make([]byte, control.MaxMessage)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("read filter: %v", err)
	}
	var f control.Filter
	if err := control.Unmarshal(buf[:n], control.TypeFilter, &f); err != nil {
		t.Fatalf("read filter: %v", err)
	}
}

func TestHijackdListsSessions(t *testing.T) {
	d := startDaemon(t)
	stop := filepath.Join(t.TempDir(), "stop")
	done := make(chan result, 1)
	go func() {
		done <- run(t, d, nil, "sh", "-c", "while [ ! -e "+stop+" ]; do sleep 0.05; done")
	}()
	eventually(t, "the session opened", func() (bool, string) {
		n := d.metric(t, "hijack_sessions")
		return n == 1, fmt.Sprintf("%v sessions", n)
	})
	out, err := exec.Command(filepath.Join(bin, "hijackd"), "sessions", "--socket",
		d.socket).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "embedded") ||
		!strings.Contains(string(out), "sh -c while") {
		t.Errorf("hijackd sessions: %v\n%s", err, out)
	}
	os.WriteFile(stop, nil, 0o644)
	<-done
	eventually(t, "the list empty once the program ended", func() (bool, string) {
		out, err := exec.Command(filepath.Join(bin, "hijackd"), "sessions", "--socket",
			d.socket, "--json").CombinedOutput()
		return err == nil && strings.TrimSpace(string(out)) == "{\n  \"sessions\": null\n}",
			fmt.Sprintf("%v: %s", err, out)
	})
}
