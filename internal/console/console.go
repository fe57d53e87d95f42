// Package console holds the progress output the commands share: whether
// an output is a terminal, a bar over a known amount of work, and a
// spinner with the elapsed time for work of unknown length (an outside
// program such as graphviz). On anything but a terminal the commands print
// plain lines instead, which logs and pipes keep readable.
package console

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// IsTerminal reports whether w is a terminal (a file whose descriptor is
// one), where a bar redrawn in place can be shown.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Bar returns a progress bar on w over total items of the named unit
// ("batches"), with the given description, the count, the rate and the
// time left; it is cleared when it reaches total.
func Bar(w io.Writer, total int, description, unit string) *progressbar.ProgressBar {
	return progressbar.NewOptions(max(total, 1),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(description),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// Spinner draws "⠋ description (12 s)" on w, redrawn every interval, until
// the returned stop is called, which clears the line; stop may be called
// more than once. It is for a terminal: elsewhere print a line instead.
func Spinner(w io.Writer, description string, interval time.Duration) (stop func()) {
	frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
	start := time.Now()
	done := make(chan struct{})
	finished := make(chan struct{})
	draw := func(i int) {
		fmt.Fprintf(w, "\r%c %s (%d s)", frames[i%len(frames)], description, int(time.Since(start).Seconds()))
	}
	go func() {
		defer close(finished)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		draw(0)
		for i := 1; ; i++ {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K") // clear the line
				return
			case <-tick.C:
				draw(i)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-finished
		})
	}
}
