package console

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the spinner's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, w := range map[string]any{"buffer": &bytes.Buffer{}, "file": f} {
		if IsTerminal(w.(interface{ Write([]byte) (int, error) })) {
			t.Errorf("%s: IsTerminal = true", name)
		}
	}
}

// TestSpinner checks that the spinner redraws its line with the
// description, that stop clears the line and returns only once the
// spinner has stopped writing, and that a second stop is harmless.
func TestSpinner(t *testing.T) {
	var w syncBuffer
	stop := Spinner(&w, "graphviz: laying out 254 nodes", 5*time.Millisecond)
	time.Sleep(40 * time.Millisecond)
	stop()
	out := w.String()
	if n := strings.Count(out, "graphviz: laying out 254 nodes (0 s)"); n < 2 {
		t.Errorf("the line was drawn %d times in 40 ms at a 5 ms interval, want several:\n%q", n, out)
	}
	if !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("stop did not clear the line: output ends %q", out[max(0, len(out)-20):])
	}
	stop()
	time.Sleep(20 * time.Millisecond)
	if after := w.String(); after != out {
		t.Errorf("the spinner wrote after stop: %q", after[len(out):])
	}
}

// TestBar checks the bar's text: description, count and unit.
func TestBar(t *testing.T) {
	var w bytes.Buffer
	b := Bar(&w, 4, "evaluating", "batches")
	_ = b.Set(2)
	_ = b.Finish()
	out := w.String()
	for _, want := range []string{"evaluating", "2/4", "batches"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar output lacks %q:\n%q", want, out)
		}
	}
}
