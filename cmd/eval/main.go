// Command eval evaluates a trained i-ResNet on held-out data and checks its
// invertibility: test NLL (and bits/dim for image density models) and test
// error for classifiers, with standard errors, the reconstruction error and
// fixed-point iterations of the inverse, and every residual layer's
// spectral-norm estimate against its bound c.
//
// Usage:
//
//	go run ./cmd/eval -checkpoint runs/mnist
//	go run ./cmd/eval -checkpoint runs/8gaussians -json
//
// # What is printed
//
// Test NLL is the mean −log p over the held-out set in nats, in the model's
// input space (after dequantization and the logit transform for images),
// with the standard error of the mean. The log-det is exact for models of
// at most 16 dimensions (all toy models) and a power-series estimate
// otherwise. The EMA weights are used when the run keeps an average.
//
// Bits/dim (images only) is the usual code length of the 8-bit pixels,
// 8 − (log p(y) + L)/(d·ln 2) averaged over images, d = C·H·W and L the
// preprocessing log-det. Its standard error is reported as
// SE(NLL)/(d·ln 2): exact without a logit transform, and an approximation
// with one, since it ignores the spread of L across images.
//
// Reconstruction (images only) maps -recon test images forward and back,
// F⁻¹(F(x)), and reports the largest error in the input space and in
// pixels, and the fixed-point iterations each residual block's inverse
// needed (min, mean, max over blocks). An inverse that does not converge
// is reported and makes the command exit with status 1, except for a
// vanilla network (cmd/train -vanilla), whose inverse is not expected to
// work: its failing fixed point runs leniently and the report says how far
// from the test images it lands.
//
// Test error (classifiers) is the fraction of held-out images whose
// predicted class is wrong, with the binomial standard error √(p(1−p)/n).
//
// Spectral norms: for every spectrally normalized layer of every residual
// block (numbered in model order), σ̂ is the power-iteration estimate of
// the operator norm of the layer's raw weight (not the EMA average) after
// -power-iters steps from the vectors stored in the checkpoint (one step
// gives the value the next training step would use), and the normalized
// norm min(σ̂, c) = σ̂/max(1, σ̂/c) is that of the weight the model
// actually applies. A layer whose normalized norm exceeds c·(1 + 1e-4) is
// flagged, and the command exits with status 1; that should never happen.
// A vanilla network has no bound: its table lists the raw σ̂.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/trainer"
	"github.com/iresnet/iresnet/trainer/checkpoint"
	"github.com/pkg/errors"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
}

// boundSlack is the relative tolerance of the check normalized ≤ c.
const boundSlack = 1e-4

// report is everything eval prints; -json writes it as one object.
type report struct {
	Checkpoint string `json:"checkpoint"`
	Step       int    `json:"step"`
	Images     bool   `json:"images"`
	Shape      []int  `json:"shape"`       // (C, H, W) or (D)
	TestPoints int    `json:"test_points"` // configured held-out size (images: at most the test set)
	EMA        bool   `json:"ema"`         // evaluated with the EMA weights
	ExactLD    bool   `json:"exact_log_det"`

	Task    string `json:"task,omitempty"` // images: density, classify or hybrid
	Vanilla bool   `json:"vanilla"`        // spectral normalization off: no bound, no inverse expected

	NLL   float64  `json:"nll"`    // nats, model input space (0 for classifiers)
	NLLSE float64  `json:"nll_se"` // standard error of the mean
	BPD   *float64 `json:"bits_per_dim,omitempty"`
	BPDSE *float64 `json:"bits_per_dim_se,omitempty"` // NLLSE/(d·ln 2)

	TestError   *float64 `json:"test_error,omitempty"`    // classifiers: fraction of held-out images misclassified
	TestErrorSE *float64 `json:"test_error_se,omitempty"` // its binomial standard error √(p(1−p)/n)

	Reconstruction *reconstruction `json:"reconstruction,omitempty"`

	PowerIters    int         `json:"power_iters"`
	SpectralNorms []layerNorm `json:"spectral_norms"`
	Exceeding     int         `json:"exceeding"` // layers whose normalized norm exceeds c(1+1e-4)
}

type reconstruction struct {
	Images      int     `json:"images"`
	MaxAbsErr   float64 `json:"max_abs_err"`   // model input space
	MaxPixelErr float64 `json:"max_pixel_err"` // intensities in [0, 1]
	IterMin     int     `json:"iter_min"`
	IterMean    float64 `json:"iter_mean"`
	IterMax     int     `json:"iter_max"`
	IterMaxAt   string  `json:"iter_max_block"`
	Blocks      int     `json:"blocks"`
	Error       string  `json:"error,omitempty"` // the inverse failed
}

type layerNorm struct {
	Block      int     `json:"block"`
	Layer      string  `json:"layer"`
	Sigma      float64 `json:"sigma"`      // σ̂ of the raw weight
	Normalized float64 `json:"normalized"` // min(σ̂, c)
	Coeff      float64 `json:"c"`
	Exceeds    bool    `json:"exceeds"`
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: eval -checkpoint RUN [flags]\n\nEvaluates an i-ResNet: test error for classifiers, test NLL in nats (exact log-det\nfor toy models) and, for image density models, bits/dim with its standard error SE(NLL)/(d·ln 2)\n(d = C·H·W; approximate under a logit transform), the reconstruction error and\nfixed-point iterations of the inverse; then each residual layer's spectral-norm\nestimate σ̂ against its bound c. Exits with status 1 if an inverse fails or a\nnormalized norm min(σ̂, c) exceeds c·(1 + 1e-4).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	ckpt := fs.String("checkpoint", "", "checkpoint file, or a run folder holding "+trainer.CheckpointFile+" (required)")
	n := fs.Int("n", 0, "held-out points to evaluate on: the first n test images, or n points of the toy held-out stream (default: the checkpoint's configured eval size)")
	recon := fs.Int("recon", 16, "test images to reconstruct through the inverse (images only; 0: skip)")
	powerIters := fs.Int("power-iters", 1, "power-iteration steps from the checkpointed vectors before reading σ̂ (1: the estimate the next training step would use; more: closer to the true norm)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.Errorf("unexpected arguments %q (flags start with -)", fs.Args())
	}
	switch {
	case *ckpt == "":
		return errors.New("-checkpoint is required: a checkpoint file or a run folder written by cmd/train")
	case *n < 0:
		return errors.Errorf("-n %d: must be ≥ 1 (or 0 for the configured eval size)", *n)
	case *recon < 0:
		return errors.Errorf("-recon %d: must be ≥ 0", *recon)
	case *powerIters < 1:
		return errors.Errorf("-power-iters %d: must be ≥ 1", *powerIters)
	}
	path, err := trainer.CheckpointPath(*ckpt)
	if err != nil {
		return err
	}
	t, err := load(path, *n)
	if err != nil {
		return err
	}
	defer t.Close()
	rep, evalErr := evaluate(t, *recon, *powerIters)
	rep.Checkpoint = path
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return errors.Wrap(err, "writing JSON")
		}
	} else {
		writeText(stdout, rep)
	}
	return evalErr
}

// load restores the trainer of path. A held-out size n > 0 other than the
// configured one needs a trainer built for it: the checkpoint is copied
// with its configuration's eval size changed (a temporary file, removed
// again), since the held-out set is fixed when the trainer is built. The
// first n test images get the same dequantization noise either way.
func load(path string, n int) (*trainer.Trainer, error) {
	if n == 0 {
		return trainer.Load(path)
	}
	f, err := checkpoint.Load(path)
	if err != nil {
		return nil, err
	}
	var cfg trainer.Config
	if err := checkpoint.GetJSON(f.Metadata, "config", &cfg); err != nil {
		return nil, errors.Wrapf(err, "%s: reading the configuration", path)
	}
	if cfg.EvalSize == n {
		return trainer.Load(path)
	}
	cfg.EvalSize = n
	cfg.EvalBatch = min(cfg.EvalBatch, n)
	if err := checkpoint.PutJSON(f.Metadata, "config", cfg); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "iresnet-eval-*")
	if err != nil {
		return nil, errors.Wrap(err, "temporary checkpoint for -n")
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, trainer.CheckpointFile)
	if err := checkpoint.Save(tmp, f); err != nil {
		return nil, err
	}
	t, err := trainer.Load(tmp)
	return t, errors.Wrapf(err, "%s with -n %d", path, n)
}

// evaluate fills the report. A failing inverse or a violated bound is
// returned as the error after the report is complete.
func evaluate(t *trainer.Trainer, recon, powerIters int) (report, error) {
	cfg := t.Config()
	rep := report{Step: t.Steps(), Images: cfg.Images != nil, TestPoints: cfg.EvalSize, PowerIters: powerIters}
	d := cfg.Model.Dim
	rep.Shape = []int{d}
	if cfg.Images != nil {
		m := cfg.Images.Model
		rep.Shape = []int{m.Channels, m.Height, m.Width}
		d = m.Channels * m.Height * m.Width
	}
	ev, err := t.Evaluate()
	if err != nil {
		return rep, errors.Wrap(err, "evaluating the held-out NLL")
	}
	rep.NLL, rep.NLLSE, rep.EMA, rep.ExactLD = ev.NLL, ev.NLLStd, ev.UsedEMA, ev.Exact
	var failed []string
	if cfg.Images != nil {
		rep.Task = cfg.Images.Task.String()
		if ms, ok := t.Model().(*blocks.MultiScale); ok {
			rep.Vanilla = ms.Config().Unconstrained
		}
		if cfg.Images.Task != trainer.Classify {
			se := ev.NLLStd / (float64(d) * math.Ln2)
			rep.BPD, rep.BPDSE = &ev.BPD, &se
		}
		if cfg.Images.Task != trainer.Density {
			p := ev.Error
			se := math.Sqrt(p * (1 - p) / float64(cfg.EvalSize))
			rep.TestError, rep.TestErrorSE = &p, &se
		}
		if recon > 0 {
			rep.Reconstruction = reconstruct(t, recon, rep.Vanilla)
			if e := rep.Reconstruction.Error; e != "" && !rep.Vanilla {
				failed = append(failed, "reconstruction: "+e)
			}
		}
	}
	// σ̂ last: the power iteration moves the vectors the graphs read.
	for i, r := range t.Model().Residuals() {
		if err := r.UpdateSpectralNorms(powerIters); err != nil {
			return rep, errors.Wrapf(err, "power iteration of residual block %d", i)
		}
		norms := r.SpectralNorms()
		for _, layer := range sortedLayers(norms) {
			s := norms[layer]
			l := layerNorm{Block: i, Layer: layer, Sigma: s[0], Normalized: math.Min(s[0], s[1]), Coeff: s[1]}
			if rep.Vanilla { // nothing normalizes the weights: they are what they are
				l.Normalized = s[0]
			} else {
				l.Exceeds = !(l.Normalized <= l.Coeff*(1+boundSlack)) // NaN exceeds too
			}
			if l.Exceeds {
				rep.Exceeding++
			}
			rep.SpectralNorms = append(rep.SpectralNorms, l)
		}
	}
	if rep.Exceeding > 0 {
		failed = append(failed, fmt.Sprintf("%d layers have a normalized spectral norm above c·(1 + %g)", rep.Exceeding, boundSlack))
	}
	if len(failed) > 0 {
		return rep, errors.New(strings.Join(failed, "; "))
	}
	return rep, nil
}

// reconstruct inverts the first n test images. A vanilla model's inverse
// runs leniently, so the report says how far its failing fixed point lands.
func reconstruct(t *trainer.Trainer, n int, vanilla bool) *reconstruction {
	recon := t.Reconstruct
	if vanilla {
		recon = t.ReconstructLenient
	}
	r, err := recon(n)
	out := &reconstruction{Images: r.Original.N}
	if err != nil {
		out.Error = err.Error()
	}
	if r.Reconstructed.N == 0 {
		return out
	}
	out.MaxAbsErr, out.MaxPixelErr = r.MaxAbsErr, trainer.MaxPixelError(r)
	it := trainer.SummarizeIterations(r.Stats)
	out.Blocks, out.IterMin, out.IterMean, out.IterMax, out.IterMaxAt = it.Blocks, it.Min, it.Mean, it.Max, it.MaxBlock
	return out
}

// sortedLayers orders layer names by prefix, then numerically by their
// trailing index (conv2 before conv10).
func sortedLayers(norms map[string][2]float64) []string {
	names := make([]string, 0, len(norms))
	for k := range norms {
		names = append(names, k)
	}
	split := func(s string) (string, int) {
		i := len(s)
		for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
			i--
		}
		v, _ := strconv.Atoi(s[i:])
		return s[:i], v
	}
	sort.Slice(names, func(a, b int) bool {
		pa, na := split(names[a])
		pb, nb := split(names[b])
		if pa != pb {
			return pa < pb
		}
		if na != nb {
			return na < nb
		}
		return names[a] < names[b]
	})
	return names
}

func writeText(w io.Writer, r report) {
	kind := fmt.Sprintf("%d-D toy model", r.Shape[0])
	held := fmt.Sprintf("%d points", r.TestPoints)
	if r.Images {
		kind = fmt.Sprintf("%d×%d×%d images", r.Shape[0], r.Shape[1], r.Shape[2])
		held = fmt.Sprintf("the first %d test images", r.TestPoints)
	}
	weights := "raw weights"
	if r.EMA {
		weights = "EMA weights"
	}
	ld := "power-series log-det estimate"
	if r.ExactLD {
		ld = "exact log-det"
	}
	fmt.Fprintf(w, "checkpoint %s: step %d, %s\n", r.Checkpoint, r.Step, kind)
	fmt.Fprintf(w, "held-out set: %s, %s, %s\n", held, weights, ld)
	if r.Images {
		if r.Vanilla {
			fmt.Fprintf(w, "vanilla network: spectral normalization off; no Lipschitz bound, no inverse expected\n")
		}
		if r.BPD != nil {
			fmt.Fprintf(w, "test NLL:      %.4f ± %.4f nats (model input space)\n", r.NLL, r.NLLSE)
			fmt.Fprintf(w, "test bits/dim: %.4f ± %.4f\n", *r.BPD, *r.BPDSE)
		}
		if r.TestError != nil {
			fmt.Fprintf(w, "test error:    %.2f%% ± %.2f%%\n", 100**r.TestError, 100**r.TestErrorSE)
		}
	} else {
		fmt.Fprintf(w, "test NLL: %.4f ± %.4f nats\n", r.NLL, r.NLLSE)
	}
	if rc := r.Reconstruction; rc != nil {
		switch {
		case rc.Error != "" && r.Vanilla && rc.Blocks > 0:
			fmt.Fprintf(w, "reconstruction: FAILED, as expected without spectral normalization: %s\n", rc.Error)
			fmt.Fprintf(w, "  the failing fixed point lands %.3g away (input space), %.3g in pixels\n", rc.MaxAbsErr, rc.MaxPixelErr)
		case rc.Error != "":
			fmt.Fprintf(w, "reconstruction: FAILED: %s\n", rc.Error)
		default:
			fmt.Fprintf(w, "reconstruction of %d test images: max error %.3g (input space), %.3g (pixels)\n", rc.Images, rc.MaxAbsErr, rc.MaxPixelErr)
			fmt.Fprintf(w, "inverse iterations per block: min %d, mean %.1f, max %d (%s) over %d blocks\n", rc.IterMin, rc.IterMean, rc.IterMax, rc.IterMaxAt, rc.Blocks)
		}
	}
	steps := "1 power-iteration step"
	if r.PowerIters != 1 {
		steps = fmt.Sprintf("%d power-iteration steps", r.PowerIters)
	}
	fmt.Fprintf(w, "spectral norms (σ̂ of the raw weights after %s from the checkpoint; normalized = min(σ̂, c)):\n", steps)
	lw := len("layer")
	for _, l := range r.SpectralNorms {
		lw = max(lw, len(l.Layer))
	}
	// "σ̂" is two runes shown as one column: pad its cell by one more.
	fmt.Fprintf(w, "%5s  %-*s  %10s  %10s  %6s\n", "block", lw, "layer", "σ̂", "normalized", "c")
	for _, l := range r.SpectralNorms {
		flag := ""
		if l.Exceeds {
			flag = fmt.Sprintf("  EXCEEDS c·(1 + %g)", boundSlack)
		}
		fmt.Fprintf(w, "%5d  %-*s  %9.4f  %10.4f  %6.4f%s\n", l.Block, lw, l.Layer, l.Sigma, l.Normalized, l.Coeff, flag)
	}
	if r.Exceeding > 0 {
		fmt.Fprintf(w, "%d layers exceed their bound\n", r.Exceeding)
	}
}
