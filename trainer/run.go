package trainer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/pkg/errors"
	"github.com/schollz/progressbar/v3"
)

// File names Run writes in its output folder.
const (
	CheckpointFile = "checkpoint.safetensors"
	MetricsFile    = "metrics.jsonl"
)

// Metric is one line of the metrics file (JSON lines). Test fields are set
// on evaluation steps only.
type Metric struct {
	Step       int      `json:"step"`
	Loss       float64  `json:"loss"`                  // training −mean log p, nats
	LogDet     float64  `json:"logdet"`                // training mean log-det
	LR         float64  `json:"lr"`                    // learning rate
	GradNorm   float64  `json:"grad_norm"`             // before clipping
	MaxSigma   float64  `json:"max_sigma"`             // largest σ̂ of a raw weight, before W/max(1, σ̂/c) scales it to ≤ c
	Epoch      float64  `json:"epoch,omitempty"`       // images: passes over the training set so far (steps × batch / images)
	StepTimeMS float64  `json:"step_ms"`               // mean step time since the last line
	TestNLL    *float64 `json:"test_nll,omitempty"`    // held-out NLL, nats
	TestNLLSE  *float64 `json:"test_nll_se,omitempty"` // its standard error
	TestLogDet *float64 `json:"test_logdet,omitempty"`
	TestBPD    *float64 `json:"test_bpd,omitempty"`   // images: held-out bits/dim
	TestError  *float64 `json:"test_error,omitempty"` // classifiers: held-out error, a fraction
	Elapsed    float64  `json:"elapsed_s"`            // wall time since the run began, summed over resumed sessions
	// EvalOnly marks the evaluation line of a run that stopped early (time
	// limit, interrupt) without training in this session: it carries no
	// training loss.
	EvalOnly bool `json:"eval_only,omitempty"`
}

// HasTrainingLoss reports whether m carries a training loss: an
// evaluation-only line (in older files: loss and lr 0) has none.
func (m Metric) HasTrainingLoss() bool { return !m.EvalOnly && !(m.Loss == 0 && m.LR == 0) }

// ReadMetrics reads every line of a metrics file (MetricsFile in a run
// folder).
func ReadMetrics(path string) ([]Metric, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Metric
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var m Metric
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, errors.Wrapf(err, "trainer: %s line %d", path, line)
		}
		out = append(out, m)
	}
	return out, errors.Wrapf(sc.Err(), "trainer: %s", path)
}

// RunOptions configures Run. The zero value trains silently without
// writing files.
type RunOptions struct {
	OutDir string // checkpoint and metrics go here; "" writes nothing
	// Checkpoint names the checkpoint file in OutDir; "" means
	// CheckpointFile. A resumed run passes the name of the file it was
	// loaded from, so it continues that file (with its own metrics file,
	// see CheckpointFile) instead of overwriting another.
	Checkpoint string
	// Overwrite lets a fresh run replace the checkpoint and metrics of
	// another run in OutDir (and a resumed run replace a checkpoint that is
	// further along). Without it Run returns an *ExistingRunError.
	Overwrite   bool
	Progress    io.Writer     // progress output; nil for none
	Interactive bool          // draw a progress bar (terminal) instead of log lines
	TimeLimit   time.Duration // stop after this much training time; 0 means none
}

// Summary reports a finished Run.
type Summary struct {
	Steps    int           // steps completed in total
	Final    EvalStats     // last evaluation
	Wall     time.Duration // wall time of this call
	StepMean time.Duration // mean step time in this call
}

// Run trains until the configured number of steps, the time limit, or the
// context's end, logging metrics every LogEvery steps, evaluating every
// EvalEvery steps and at the end, and checkpointing every SaveEvery steps
// and at the end. On error (a NaN loss, say) the last checkpoint written
// stays in place and the error names the step.
func (t *Trainer) Run(ctx context.Context, o RunOptions) (Summary, error) {
	start := time.Now()
	var sum Summary
	var metrics io.Writer = io.Discard
	var elapsedBefore float64 // elapsed_s of the last line kept from earlier sessions
	files := newRunFiles(o.OutDir, o.Checkpoint)
	if o.OutDir != "" {
		if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
			return sum, errors.Wrap(err, "trainer: creating the output folder")
		}
		unlock, err := lockDir(o.OutDir)
		if err != nil {
			return sum, err
		}
		defer unlock()
		if !o.Overwrite {
			if err := files.checkOwnership(t.step); err != nil {
				return sum, err
			}
		}
		if err := files.removeStaleTemps(); err != nil {
			return sum, err
		}
		f, before, err := openMetrics(files.metrics, t.step)
		if err != nil {
			return sum, err
		}
		elapsedBefore = before
		defer f.Close()
		metrics = f
	}
	p := newProgress(o, t.step, t.cfg.Steps)
	defer p.finish()
	p.ema = t.ema != nil
	p.coeff, p.unconstrained = t.constraint()
	p.normalized = len(t.spectralParams()) > 0 || p.unconstrained
	enc := json.NewEncoder(metrics)
	var window time.Duration
	var windowSteps int
	var trainTime time.Duration
	startStep := t.step
	var lastTrain Metric // the training stats of the latest step of this session
	trained := false
	for t.step < t.cfg.Steps {
		if err := ctx.Err(); err != nil {
			break
		}
		if o.TimeLimit > 0 && trainTime >= o.TimeLimit {
			p.printf("time limit %v reached at step %d\n", o.TimeLimit, t.step)
			break
		}
		st, err := t.Step()
		if err != nil {
			if o.OutDir != "" {
				err = fmt.Errorf("%w; %s", err, describeCheckpoints(files))
			}
			return sum, err
		}
		trainTime += st.Duration
		window += st.Duration
		windowSteps++
		last := t.step == t.cfg.Steps
		m := Metric{Step: t.step, Loss: st.Loss, LogDet: st.LogDet, LR: st.LR, GradNorm: st.GradNorm, MaxSigma: st.MaxSigma, Epoch: t.Epoch()}
		lastTrain, trained = m, true
		evalNow := t.step%t.cfg.EvalEvery == 0 || last
		if evalNow {
			ev, err := p.evaluate(t, last, fmt.Sprintf("evaluating on the held-out set at step %d", t.step))
			if err != nil {
				err = errors.Wrapf(err, "trainer: step %d: evaluation", t.step)
				if o.OutDir != "" {
					err = fmt.Errorf("%w; %s", err, describeCheckpoints(files))
				}
				return sum, err
			}
			sum.Final = ev
			t.fillEval(&m, ev)
		}
		if evalNow || t.step%t.cfg.LogEvery == 0 || last {
			m.StepTimeMS = float64(window.Microseconds()) / 1000 / float64(windowSteps)
			m.Elapsed = elapsedBefore + time.Since(start).Seconds()
			if err := enc.Encode(m); err != nil {
				return sum, errors.Wrap(err, "trainer: writing metrics")
			}
			p.report(m)
			window, windowSteps = 0, 0
		}
		p.tick(t.step)
		if o.OutDir != "" && (t.step%t.cfg.SaveEvery == 0 || last) {
			if err := t.saveRotating(files); err != nil {
				return sum, err
			}
		}
	}
	if sum.Final.Step != t.step { // stopped early: evaluate and save where we are
		ev, err := p.evaluate(t, true, fmt.Sprintf("stopped at step %d: evaluating on the held-out set", t.step))
		if err != nil {
			return sum, err
		}
		sum.Final = ev
		// The line keeps the training stats of the last step, so that no
		// metric reads 0; a session that trained no step has none.
		m := Metric{Step: t.step, EvalOnly: true}
		if trained {
			m = lastTrain
			if windowSteps > 0 {
				m.StepTimeMS = float64(window.Microseconds()) / 1000 / float64(windowSteps)
			}
		}
		m.Epoch, m.Elapsed = t.Epoch(), elapsedBefore+time.Since(start).Seconds()
		t.fillEval(&m, ev)
		if err := enc.Encode(m); err != nil {
			return sum, errors.Wrap(err, "trainer: writing metrics")
		}
		p.report(m)
		if o.OutDir != "" {
			if err := t.saveRotating(files); err != nil {
				return sum, err
			}
		}
	}
	if ctx.Err() != nil {
		saved := "nothing saved (no output folder)"
		if o.OutDir != "" {
			saved = "saved " + files.checkpoint
		}
		p.printf("interrupted at step %d, %s\n", t.step, saved)
	}
	sum.Steps = t.step
	sum.Wall = time.Since(start)
	if n := t.step - startStep; n > 0 {
		sum.StepMean = trainTime / time.Duration(n)
	}
	return sum, nil
}

// fillEval puts what the task measures of ev into m: NLL (and bits/dim for
// images) for densities, test error for classifiers, both for hybrids.
func (t *Trainer) fillEval(m *Metric, ev EvalStats) {
	task := t.cfg.Objective.Task
	if task != Classify {
		m.TestNLL, m.TestNLLSE, m.TestLogDet = &ev.NLL, &ev.NLLStd, &ev.LogDet
		if t.cfg.Data.Quantized() {
			m.TestBPD = &ev.BPD
		}
	}
	if task != Density {
		m.TestError = &ev.Error
	}
}

// openMetrics opens the metrics file for appending, first dropping lines
// beyond step (left by a run that crashed after its last checkpoint): the
// kept lines go to a temporary file that replaces the old one by a rename,
// so a kill at any moment leaves either file whole. A symbolic link is
// refused rather than followed out of the run folder. It returns the
// largest elapsed_s of the lines kept, where a resumed run's clock
// continues.
func openMetrics(path string, step int) (*os.File, float64, error) {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, 0, errors.Errorf("trainer: %s is not a regular file (mode %v); metrics are not written through links", path, fi.Mode())
	}
	elapsed := 0.0
	if step > 0 {
		data, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			return nil, 0, errors.Wrap(err, "trainer: reading metrics")
		}
		var kept bytes.Buffer
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var m Metric
			if json.Unmarshal(sc.Bytes(), &m) == nil && m.Step <= step {
				kept.Write(sc.Bytes())
				kept.WriteByte('\n')
				elapsed = max(elapsed, m.Elapsed)
			}
		}
		if err := replaceFile(path, kept.Bytes()); err != nil {
			return nil, 0, errors.Wrap(err, "trainer: rewriting metrics")
		}
	} else if err := replaceFile(path, nil); err != nil {
		return nil, 0, errors.Wrap(err, "trainer: creating metrics")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|noFollow, 0o644)
	return f, elapsed, errors.Wrap(err, "trainer: opening metrics")
}

// replaceFile atomically replaces path with data: a temporary file in the
// same folder, synced, then renamed over path.
func replaceFile(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// constraint returns the spectral-norm coefficient c of the model's
// residual blocks, or unconstrained = true for a vanilla network.
func (t *Trainer) constraint() (c float64, unconstrained bool) {
	l := t.cfg.Model.Lipschitz()
	if l.Coeff == 0 {
		l.Coeff = 0.9 // blocks.Lipschitz's default
	}
	return l.Coeff, l.Unconstrained
}

// progress shows a bar on terminals and plain lines elsewhere.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	desc  string // the bar's description while training
	total int
	start time.Time
	from  int
	// ema says evaluations use the averaged weights; coeff and
	// unconstrained describe the spectral normalization, for the σ̂ column.
	ema           bool
	coeff         float64
	unconstrained bool
	normalized    bool // the model has spectrally normalized layers (i-ResNets)
	// evalDone and evalTotal count the batches of a running evaluation
	// (written by the evaluation, read by the ticker).
	evalDone, evalTotal atomic.Int64
	// logEvery is the interval of a long phase's log lines; 0 means 30 s.
	logEvery time.Duration
}

// newProgress starts the progress output of a run going from step from to
// total. The bar counts this session's steps (from → total), so that a
// resumed run's rate and time estimate start from zero instead of
// crediting the earlier session's steps to the first second.
func newProgress(o RunOptions, from, total int) *progress {
	p := &progress{w: o.Progress, total: total, start: time.Now(), from: from}
	if o.Progress != nil && o.Interactive {
		p.desc = "training"
		if from > 0 {
			p.desc = fmt.Sprintf("training (resumed at step %d of %d)", from, total)
		}
		p.bar = progressbar.NewOptions(max(total-from, 1),
			progressbar.OptionSetWriter(o.Progress),
			progressbar.OptionSetDescription(p.desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("steps"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// tick moves the bar to the given (absolute) step.
func (p *progress) tick(step int) {
	if p.bar != nil {
		_ = p.bar.Set(step - p.from)
	}
}

// evaluate runs t.Evaluate as a phase named what (see during).
func (p *progress) evaluate(t *Trainer, loud bool, what string) (EvalStats, error) {
	var ev EvalStats
	t.onEvalBatch = func(done, total int) {
		p.evalDone.Store(int64(done))
		p.evalTotal.Store(int64(total))
	}
	defer func() { t.onEvalBatch = nil; p.evalDone.Store(0); p.evalTotal.Store(0) }()
	err := p.during(loud, what, func() error {
		var err error
		ev, err = t.Evaluate()
		return err
	})
	return ev, err
}

// evalStatus is " 12/50 batches" while an evaluation runs, else "".
func (p *progress) evalStatus() string {
	if n := p.evalTotal.Load(); n > 0 {
		return fmt.Sprintf(" %d/%d batches", p.evalDone.Load(), n)
	}
	return ""
}

// during runs fn, a phase that may take a while (an evaluation, say),
// and shows that it is running: on a terminal the bar's description names
// the phase and counts its seconds; in a log, a loud phase (the final
// evaluation) gets a line before and one with its duration after, while
// periodic ones stay quiet so as not to double the log.
func (p *progress) during(loud bool, what string, fn func() error) error {
	start := time.Now()
	switch {
	case p.w == nil:
		return fn()
	case p.bar != nil:
		p.bar.Describe(what + "…")
		done := make(chan struct{})
		ticked := make(chan struct{})
		go func() {
			defer close(ticked)
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					p.bar.Describe(fmt.Sprintf("%s…%s %v", what, p.evalStatus(), time.Since(start).Round(time.Second)))
				}
			}
		}()
		err := fn()
		close(done)
		<-ticked
		p.bar.Describe(p.desc)
		return err
	case loud:
		fmt.Fprintf(p.w, "%s…\n", what)
		// A line every 30 s for a long phase, with its batches counted.
		done, exited := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(exited)
			every := p.logEvery
			if every == 0 {
				every = 30 * time.Second
			}
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					fmt.Fprintf(p.w, "%s…%s, %v\n", what, p.evalStatus(), time.Since(start).Round(time.Second))
				}
			}
		}()
		err := fn()
		close(done)
		<-exited
		if err == nil {
			fmt.Fprintf(p.w, "%s: done in %v\n", what, time.Since(start).Round(100*time.Millisecond))
		}
		return err
	}
	return fn()
}

func (p *progress) report(m Metric) {
	if p.w == nil {
		return
	}
	line := fmt.Sprintf("step %d/%d", m.Step, p.total)
	if m.Epoch > 0 {
		line += fmt.Sprintf(" (epoch %.2f)", m.Epoch)
	}
	if m.EvalOnly {
		line += "  evaluation only (no training step in this session)"
	} else {
		line += fmt.Sprintf("  loss %.4f", m.Loss)
		if m.LogDet != 0 {
			line += fmt.Sprintf("  logdet %.3f", m.LogDet)
		}
		line += fmt.Sprintf("  lr %.2g", m.LR)
		if p.normalized { // the other families have no σ̂
			line += "  " + p.sigma(m.MaxSigma)
		}
		line += fmt.Sprintf("  %.1f ms/step", m.StepTimeMS)
	}
	if m.TestError != nil {
		line += fmt.Sprintf("  test error %.2f%%", 100**m.TestError)
	}
	if m.TestNLL != nil {
		line += fmt.Sprintf("  test NLL %.4f ± %.4f nats", *m.TestNLL, *m.TestNLLSE)
		if m.TestBPD != nil {
			line += fmt.Sprintf(" (%.4f bits/dim)", *m.TestBPD)
		}
	}
	if (m.TestError != nil || m.TestNLL != nil) && p.ema {
		line += " [EMA weights]"
	}
	if done := m.Step - p.from; p.bar == nil && done > 0 {
		rate := float64(done) / time.Since(p.start).Seconds()
		eta := time.Duration(float64(p.total-m.Step)/rate) * time.Second
		line += fmt.Sprintf("  ETA %v", eta.Round(time.Second))
	}
	if p.bar != nil {
		if m.TestNLL != nil || m.TestError != nil { // keep evaluation lines above the bar
			_ = p.bar.Clear()
			fmt.Fprintln(p.w, line)
		} else {
			p.bar.Describe(fmt.Sprintf("loss %.3f", m.Loss))
		}
		return
	}
	fmt.Fprintln(p.w, line)
}

// sigma describes the largest raw σ̂ for a log line: the norm of a weight
// before normalization, which may well exceed c, since each layer is
// divided by max(1, σ̂/c) before use.
func (p *progress) sigma(s float64) string {
	if p.unconstrained {
		return fmt.Sprintf("max σ̂ %.3f (no normalization)", s)
	}
	return fmt.Sprintf("raw max σ̂ %.3f (used as ≤ %g)", s, p.coeff)
}

func (p *progress) printf(format string, args ...any) {
	if p.w != nil {
		if p.bar != nil {
			_ = p.bar.Clear()
		}
		fmt.Fprintf(p.w, format, args...)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
