package fdinject

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// memFile is a rump file in memory.
type memFile struct {
	mu     sync.Mutex
	data   bytes.Buffer
	closed bool
}

func (f *memFile) Read(_ context.Context, p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.data.Read(p)
	if err == io.EOF {
		return 0, nil
	}
	return n, err
}

func (f *memFile) Write(_ context.Context, p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.data.Write(p)
}

func (f *memFile) Close(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *memFile) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.data.String()
}

func waitDone(t *testing.T, p *Pump) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the pump did not end")
	}
}

func TestPumpToRumpDrainsBeforeLaterCalls(t *testing.T) {
	p, target, err := NewPump(ToRump)
	if err != nil {
		t.Fatal(err)
	}
	f := &memFile{}
	p.Start(context.Background(), f, nil)
	// More than a pipe holds, so the pump must move data while the
	// target writes.
	big := strings.Repeat("x", 3*pumpBuffer)
	for _, s := range []string{"first\n", big, "last\n"} {
		if _, err := target.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	// What was written is in the file once Drain returns, however far
	// the pump's own goroutine got.
	if err := p.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := f.String(), "first\n"+big+"last\n"; got != want {
		t.Fatalf("after Drain the file holds %d bytes, want %d", len(got), len(want))
	}
	target.Close()
	waitDone(t, p)
	if !f.closed {
		t.Error("the rump file was not closed at end of stream")
	}
}

func TestPumpFromRumpEndsWithTheFile(t *testing.T) {
	p, target, err := NewPump(FromRump)
	if err != nil {
		t.Fatal(err)
	}
	f := &memFile{}
	want := strings.Repeat("0123456789", 20000)
	f.data.WriteString(want)
	p.Start(context.Background(), f, nil)
	got, err := io.ReadAll(target)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("read %d bytes through the pump, want %d", len(got), len(want))
	}
	target.Close()
	waitDone(t, p)
}

func TestPumpBothWays(t *testing.T) {
	p, target, err := NewPump(ToRump | FromRump)
	if err != nil {
		t.Fatal(err)
	}
	f := &memFile{}
	f.data.WriteString("stored")
	done := make(chan struct{})
	p.Start(context.Background(), f, func() { close(done) })
	got, err := io.ReadAll(target)
	if err != nil || string(got) != "stored" {
		t.Fatalf("read %q, %v through the pump, want the stored data", got, err)
	}
	target.WriteString("more")
	if err := p.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := f.String(); s != "more" {
		t.Errorf("the file holds %q after a write, want %q", s, "more")
	}
	target.Close()
	<-done
}

func TestPumpClosedWhileTheTargetHoldsItsEnd(t *testing.T) {
	p, target, err := NewPump(ToRump)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	f := &memFile{}
	p.Start(context.Background(), f, nil)
	p.Close()
	if !f.closed {
		t.Error("Close returned before the rump file was closed")
	}
}
