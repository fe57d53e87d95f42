package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readLines reads every metrics line of dir.
func readLines(t *testing.T, dir string) []Metric {
	t.Helper()
	ms, err := ReadMetrics(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestResumeContinuesElapsed: a resumed run's elapsed_s continues from the
// last line of the first session instead of restarting at 0, and its
// progress lines count from the resumed step.
func TestResumeContinuesElapsed(t *testing.T) {
	dir := t.TempDir()
	tr := newTrainer(t, tinyConfig(4))
	if _, err := tr.Run(context.Background(), RunOptions{OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	first := readLines(t, dir)
	end := first[len(first)-1].Elapsed
	// Pretend the first session took an hour, as a real one might.
	data, err := os.ReadFile(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var m Metric
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatal(err)
	}
	m.Elapsed = end + 3600
	b, _ := json.Marshal(m)
	lines[len(lines)-1] = string(b)
	if err := os.WriteFile(filepath.Join(dir, MetricsFile), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resumed, err := Load(filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	if err := resumed.SetSteps(16); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if _, err := resumed.Run(context.Background(), RunOptions{OutDir: dir, Progress: &log}); err != nil {
		t.Fatal(err)
	}
	all := readLines(t, dir)
	if len(all) <= len(first) {
		t.Fatalf("no new lines after resuming: %d then %d", len(first), len(all))
	}
	for _, m := range all[len(first):] {
		if m.Elapsed < end+3600 {
			t.Errorf("step %d: elapsed_s %g restarted (the first session ended at %g)", m.Step, m.Elapsed, end+3600)
		}
	}
	if !strings.Contains(log.String(), "step 14/16") {
		t.Errorf("resumed log lines do not count to the new total:\n%s", log.String())
	}
}

// TestResumedBarCountsThisSession: the progress bar of a run resumed at
// step 90 of 100 starts empty and fills over the ten remaining steps, so
// its rate and time estimate are this session's.
func TestResumedBarCountsThisSession(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(RunOptions{Progress: &out, Interactive: true}, 90, 100)
	if s := p.bar.State(); s.CurrentNum != 0 || s.Max != 10 {
		t.Errorf("bar at %d of %d after resuming at step 90 of 100, want 0 of 10", s.CurrentNum, s.Max)
	}
	p.tick(95)
	if s := p.bar.State(); s.CurrentPercent != 0.5 {
		t.Errorf("bar at %.0f%% at step 95, want 50%%", 100*s.CurrentPercent)
	}
	p.finish()
}

// TestLogLineSaysWhatItShows: the σ̂ column says it is the raw weight's
// norm with the bound the layer is used at (or that there is none), and
// test numbers say they are of the averaged weights.
func TestLogLineSaysWhatItShows(t *testing.T) {
	nll, se := 3.2, 0.01
	for _, c := range []struct {
		unconstrained, ema, normalized bool
		want, not                      []string
	}{
		{false, true, true, []string{"raw max σ̂ 3.700 (used as ≤ 0.9)", "[EMA weights]"}, nil},
		{true, false, true, []string{"max σ̂ 3.700 (no normalization)"}, []string{"EMA", "≤"}},
		// Another family (Glow, say) has no spectral norms: no σ̂ column.
		{false, false, false, []string{"loss 3.3000", "ms/step"}, []string{"σ̂"}},
	} {
		var out bytes.Buffer
		p := &progress{w: &out, total: 10, start: time.Now(), coeff: 0.9, unconstrained: c.unconstrained, ema: c.ema, normalized: c.normalized}
		p.report(Metric{Step: 5, Loss: 3.3, LR: 1e-3, MaxSigma: 3.7, TestNLL: &nll, TestNLLSE: &se})
		for _, w := range c.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("line %q lacks %q", out.String(), w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(out.String(), w) {
				t.Errorf("line %q has %q", out.String(), w)
			}
		}
	}
}

// TestEarlyStopLineKeepsTrainingStats: a run stopped by its time limit
// writes a last line with the last step's loss and learning rate, not
// zeros; a session that trained no step marks its line evaluation-only,
// and says so in the log.
func TestEarlyStopLineKeepsTrainingStats(t *testing.T) {
	dir := t.TempDir()
	tr := newTrainer(t, tinyConfig(6))
	if _, err := tr.Run(context.Background(), RunOptions{OutDir: dir, TimeLimit: time.Nanosecond}); err != nil {
		t.Fatal(err)
	}
	ms := readLines(t, dir)
	last := ms[len(ms)-1]
	if last.Step != 1 || last.Loss == 0 || last.LR == 0 || last.EvalOnly || last.TestNLL == nil {
		t.Errorf("early-stop line %+v: want step 1 with its loss, lr and the test NLL", last)
	}
	var log bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // interrupted before the first step of this session
	if _, err := tr.Run(ctx, RunOptions{OutDir: dir, Progress: &log}); err != nil {
		t.Fatal(err)
	}
	ms = readLines(t, dir)
	if last := ms[len(ms)-1]; !last.EvalOnly || last.TestNLL == nil {
		t.Errorf("line of a session without steps %+v: want evaluation only", last)
	}
	if !strings.Contains(log.String(), "interrupted at step 1, saved "+filepath.Join(dir, CheckpointFile)) {
		t.Errorf("an interrupted run does not say so:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "evaluation only") || strings.Contains(log.String(), "loss 0.0000") {
		t.Errorf("log of a session without steps:\n%s", log.String())
	}
}

// TestLongPhasesAreShown: a phase such as an evaluation names itself and
// counts its seconds on the bar, and a loud one gets a line before it and
// its duration after it in a log; a quiet one in a log prints nothing.
func TestLongPhasesAreShown(t *testing.T) {
	var bar bytes.Buffer
	p := newProgress(RunOptions{Progress: &bar, Interactive: true}, 0, 10)
	if err := p.during(false, "evaluating on the held-out set at step 5", func() error {
		time.Sleep(1300 * time.Millisecond)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p.finish()
	if !strings.Contains(bar.String(), "evaluating on the held-out set at step 5… 1s") {
		t.Errorf("the bar does not count the phase's seconds:\n%q", bar.String())
	}
	var log bytes.Buffer
	p = newProgress(RunOptions{Progress: &log}, 0, 10)
	_ = p.during(false, "periodic", func() error { return nil })
	_ = p.during(true, "final evaluation", func() error { return nil })
	if strings.Contains(log.String(), "periodic") || !strings.Contains(log.String(), "final evaluation…\n") || !strings.Contains(log.String(), "final evaluation: done in") {
		t.Errorf("log of a quiet and a loud phase:\n%s", log.String())
	}
}

// TestLongPhaseLogsItsBatches: a long evaluation in a log (not a terminal)
// says every interval how far it got, then how long it took.
func TestLongPhaseLogsItsBatches(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, logEvery: 5 * time.Millisecond}
	p.evalTotal.Store(50)
	p.evalDone.Store(12)
	if err := p.during(true, "final evaluation", func() error { time.Sleep(60 * time.Millisecond); return nil }); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"final evaluation…\n", "final evaluation… 12/50 batches, ", "final evaluation: done in "} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
}

// TestEvaluationCountsItsBatches: 300 held-out points in batches of 128
// report batches 1, 2 and 3 of 3 as they finish.
func TestEvaluationCountsItsBatches(t *testing.T) {
	tr := newTrainer(t, tinyConfig(1)) // eval size 300, eval batch 128
	var seen []string
	tr.onEvalBatch = func(done, total int) { seen = append(seen, fmt.Sprintf("%d/%d", done, total)) }
	if _, err := tr.Evaluate(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seen, " "); got != "1/3 2/3 3/3" {
		t.Errorf("batches reported %q, want 1/3 2/3 3/3", got)
	}
}
