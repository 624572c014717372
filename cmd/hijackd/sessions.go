package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hijack-project/hijack/control"
)

// sessions is "hijackd sessions": it asks a running hijackd for its live
// sessions over the control socket and prints them.
func sessions(args []string) error {
	fs := flag.NewFlagSet("hijackd sessions", flag.ContinueOnError)
	socket := fs.String("socket", control.DefaultSocket, "control socket `path` of the hijackd")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := control.Dial(*socket)
	if err != nil {
		return fmt.Errorf("cannot reach hijackd at %s: %w", *socket, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := c.Send(control.TypeList, control.List{}); err != nil {
		return err
	}
	var out control.Sessions
	if _, err := c.Receive(control.TypeSessions, &out); err != nil {
		return fmt.Errorf("hijackd at %s: %w", *socket, err)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SESSION\tPID\tUID\tSERVER\tCALLS\tPROCESSES\tSHADOWS\tSTARTED\tCOMMAND")
	for _, s := range out.Sessions {
		fmt.Fprintf(w, "%d\t%d\t%d\t%s\t%d\t%d\t%d\t%s\t%s\n", s.ID, s.PID, s.UID, s.Server,
			s.Served, s.Processes, s.Shadows, s.Started, strings.Join(s.Argv, " "))
	}
	return w.Flush()
}
