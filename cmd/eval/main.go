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
// Certificate: for every spectrally normalized layer of every residual
// block (numbered in model order), σ̂ is the power-iteration estimate of
// the operator norm of the layer's raw training weight after -power-iters
// steps from the vectors stored in the checkpoint (a lower bound that lags
// the true norm during training); "raw bound" is a certified upper bound of
// that weight's norm (exact SVD for dense layers, the circular-convolution
// bound for convolutions); "applied" is the certified upper bound of the
// weight the evaluation actually applies: the checkpoint's applied/ weights
// (the EMA average when kept, rescaled to W/max(1, B/c) when it was saved),
// or, for checkpoints without them, the same certification done here. Per
// block, Lip(g) ≤ Π applied over its layers (the activations are
// 1-Lipschitz). A layer above c·(1 + 1e-6) is flagged with a warning; a
// block whose bound is ≥ 1 is not certified invertible and makes the
// command exit with status 1. A vanilla network has no bound: its table
// lists its raw weights and nothing fails.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/internal/console"
	"github.com/iresnet/iresnet/trainer"
	"github.com/pkg/errors"
	"github.com/schollz/progressbar/v3"
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

// boundSlack is the relative tolerance of the check applied ≤ c: the
// rounding of the float32 weights, far below any real violation.
const boundSlack = 1e-6

// report is everything eval prints; -json writes it as one object.
type report struct {
	Checkpoint string `json:"checkpoint"`
	Step       int    `json:"step"`
	Images     bool   `json:"images"`
	Shape      []int  `json:"shape"`       // (C, H, W) or (D)
	TestPoints int    `json:"test_points"` // configured held-out size (images: at most the test set)
	EMA        bool   `json:"ema"`         // evaluated with the EMA weights
	ExactLD    bool   `json:"exact_log_det"`

	Model   string `json:"model"`          // architecture: dense flow, multi-scale, or a family (glow, maf, …)
	Task    string `json:"task,omitempty"` // images: density, classify or hybrid
	Vanilla bool   `json:"vanilla"`        // spectral normalization off: no bound, no inverse expected

	NLL   float64  `json:"nll"`    // nats, model input space (0 for classifiers)
	NLLSE float64  `json:"nll_se"` // standard error of the mean
	BPD   *float64 `json:"bits_per_dim,omitempty"`
	BPDSE *float64 `json:"bits_per_dim_se,omitempty"` // NLLSE/(d·ln 2)

	TestError   *float64 `json:"test_error,omitempty"`    // classifiers: fraction of held-out images misclassified
	TestErrorSE *float64 `json:"test_error_se,omitempty"` // its binomial standard error √(p(1−p)/n)

	Reconstruction *reconstruction `json:"reconstruction,omitempty"`

	PowerIters    int          `json:"power_iters"`
	SpectralNorms []layerNorm  `json:"spectral_norms"`
	Blocks        []blockBound `json:"blocks"`
	Exceeding     int          `json:"exceeding"`      // layers whose applied bound exceeds c(1+1e-6)
	Uncertified   int          `json:"uncertified"`    // blocks whose Lipschitz bound is ≥ 1
	StoredWeights bool         `json:"stored_weights"` // applied weights read from the checkpoint
	CertifyMS     float64      `json:"certify_ms"`     // time to bound (and rescale) every layer
}

type blockBound struct {
	Block     int    `json:"block"`
	Name      string `json:"name"`      // scope path, as the checkpoint names its tensors
	Lipschitz number `json:"lipschitz"` // Π of the layers' applied bounds
	Certified bool   `json:"certified"` // Lipschitz < 1: invertible by the fixed point
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

// number is a float64 that JSON writes as null when it is NaN or infinite
// (a diverged weight's bound, say), which encoding/json refuses to write.
type number float64

// MarshalJSON implements json.Marshaler.
func (n number) MarshalJSON() ([]byte, error) {
	if f := float64(n); math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

type layerNorm struct {
	Block    int     `json:"block"`
	Name     string  `json:"name"` // the block's scope path, e.g. scale0/block1
	Layer    string  `json:"layer"`
	Sigma    number  `json:"sigma"`     // power-iteration σ̂ of the raw training weight
	RawBound number  `json:"raw_bound"` // certified bound of the raw training weight
	Applied  number  `json:"applied"`   // certified bound of the weight the evaluation applies
	Coeff    float64 `json:"c"`         // 0 for a vanilla network
	Exceeds  bool    `json:"exceeds"`
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: eval -checkpoint RUN [flags]\n\nEvaluates an i-ResNet: test error for classifiers, test NLL in nats (exact log-det\nfor toy models) and, for image density models, bits/dim with its standard error SE(NLL)/(d·ln 2)\n(d = C·H·W; approximate under a logit transform), the reconstruction error and\nfixed-point iterations of the inverse; then the certificate: per layer the\npower-iteration σ̂ of the raw weight and certified upper bounds of the raw and\nof the applied weight's operator norm against c, per block the bound on Lip(g).\nWarns when a layer exceeds c·(1 + 1e-6); exits with status 1 if an inverse fails\nor a block's bound is ≥ 1.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	ckpt := fs.String("checkpoint", "", "checkpoint file, or a run folder holding "+trainer.CheckpointFile+" (required)")
	n := fs.Int("n", 0, "held-out points to evaluate on: the first n test images, or n points of the toy held-out stream (default: the checkpoint's configured eval size)")
	recon := fs.Int("recon", 16, "test images to reconstruct through the inverse (images only; 0: skip)")
	powerIters := fs.Int("power-iters", 1, "power-iteration steps from the checkpointed vectors before reading σ̂ (1: the estimate the next training step would use; more: closer to the true norm)")
	var limits trainer.Limits
	fs.Var(&limits, "limit", trainer.LimitsUsage)
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
	case *powerIters < 1 || *powerIters > limits.WithDefaults().PowerIters:
		return errors.Errorf("-power-iters %d: must lie in [1, %d] (more needs -limit power_iters=N)", *powerIters, limits.WithDefaults().PowerIters)
	}
	path, err := trainer.CheckpointPath(*ckpt)
	if err != nil {
		return err
	}
	t, err := trainer.Open(path, trainer.WithLimits(limits))
	if err != nil {
		return err
	}
	defer t.Close()
	given := map[string]bool{} // flags set on the command line
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if given["recon"] && !t.Config().Data.Quantized() {
		return errors.Errorf("-recon reconstructs test images, and %s is a model of the toy density %s (cmd/sample draws its inverse)", path, t.Config().Data.Name)
	}
	if given["power-iters"] && len(t.Model().Residuals()) == 0 {
		return errors.Errorf("-power-iters refines σ̂ of spectrally normalized layers, and the %s model in %s has none", t.Config().Model.Name(), path)
	}
	held, err := t.HeldOut(*n)
	if err != nil {
		return err
	}
	points := len(held.Points) / dim(t.InputShape())
	if console.IsTerminal(stderr) {
		t.OnEvalBatch(evalBar(stderr, points))
	} else {
		t.OnEvalBatch(evalProgress(stderr, points))
	}
	rep, evalErr := evaluate(t, held, *recon, *powerIters, stderr)
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

// evaluate fills the report. A failing inverse or a violated bound is
// returned as the error after the report is complete.
func evaluate(t *trainer.Trained, held datasets.HeldOut, recon, powerIters int, stderr io.Writer) (report, error) {
	cfg := t.Config()
	rep := report{Step: t.Steps(), Images: cfg.Data.Quantized(), PowerIters: powerIters}
	rep.Shape = t.InputShape()
	rep.Model = cfg.Model.Name()
	d := dim(rep.Shape)
	rep.TestPoints = len(held.Points) / d
	ev, err := t.Evaluate(held)
	if err != nil {
		return rep, errors.Wrap(err, "evaluating the held-out NLL")
	}
	rep.NLL, rep.NLLSE, rep.EMA, rep.ExactLD = ev.NLL, ev.NLLStd, ev.UsedEMA, ev.Exact
	var failed []string
	if cfg.Data.Quantized() {
		rep.Task = cfg.Objective.Task.String()
		rep.Vanilla = cfg.Model.Lipschitz().Unconstrained
		if cfg.Objective.Task != trainer.Classify {
			se := ev.NLLStd / (float64(d) * math.Ln2)
			rep.BPD, rep.BPDSE = &ev.BPD, &se
		}
		if cfg.Objective.Task != trainer.Density {
			p := ev.Error
			se := math.Sqrt(p * (1 - p) / float64(rep.TestPoints))
			rep.TestError, rep.TestErrorSE = &p, &se
		}
		if recon > 0 {
			rep.Reconstruction = reconstruct(t, held.Points[:min(recon, rep.TestPoints)*d], rep.Vanilla)
			if e := rep.Reconstruction.Error; e != "" && !rep.Vanilla {
				failed = append(failed, "reconstruction: "+e)
			}
		}
	}
	cert, err := t.Certificates() // of the weights the evaluation above used
	if err != nil {
		return rep, errors.Wrap(err, "certifying the evaluation weights")
	}
	rep.StoredWeights, rep.CertifyMS = cert.Stored, float64(cert.Duration.Microseconds())/1000
	// σ̂ last: the power iteration moves the vectors the graphs read.
	names := t.BlockNames()
	for i, r := range t.Model().Residuals() {
		if err := r.UpdateSpectralNorms(powerIters); err != nil {
			return rep, errors.Wrapf(err, "power iteration of residual block %d", i)
		}
		raw, err := r.Bounds() // the training weights as they are
		if err != nil {
			return rep, errors.Wrapf(err, "residual block %d", i)
		}
		bc := cert.Blocks[i]
		for j, l := range bc.Layers {
			ln := layerNorm{Block: i, Name: names[i], Layer: l.Layer, Sigma: number(raw.Layers[j].Sigma), RawBound: number(raw.Layers[j].Bound), Applied: number(l.Bound), Coeff: l.Coeff}
			if !rep.Vanilla {
				ln.Exceeds = !(l.Bound <= l.Coeff*(1+boundSlack)) // NaN exceeds too
			}
			if ln.Exceeds {
				rep.Exceeding++
			}
			rep.SpectralNorms = append(rep.SpectralNorms, ln)
		}
		b := blockBound{Block: i, Name: names[i], Lipschitz: number(bc.Lipschitz), Certified: bc.Lipschitz < 1}
		if !b.Certified && !rep.Vanilla {
			rep.Uncertified++
		}
		rep.Blocks = append(rep.Blocks, b)
	}
	if rep.Exceeding > 0 {
		fmt.Fprintf(stderr, "eval: warning: %d layers apply a weight whose certified norm bound exceeds c·(1 + %g)\n", rep.Exceeding, boundSlack)
	}
	if rep.Uncertified > 0 {
		failed = append(failed, fmt.Sprintf("%d residual blocks have a certified Lipschitz bound ≥ 1: their inverse is not guaranteed", rep.Uncertified))
	}
	if len(failed) > 0 {
		return rep, errors.New(strings.Join(failed, "; "))
	}
	return rep, nil
}

// dim is the number of values of one sample of the given shape.
func dim(shape []int) int {
	d := 1
	for _, s := range shape {
		d *= s
	}
	return d
}

// evalBar returns what the evaluation calls after each batch on a
// terminal: a bar over the batches with the rate and the time left,
// cleared when the last batch is done.
func evalBar(w io.Writer, points int) func(done, total int) {
	var bar *progressbar.ProgressBar
	return func(done, total int) {
		if bar == nil {
			bar = console.Bar(w, total, fmt.Sprintf("evaluating %d held-out points", points), "batches")
		}
		_ = bar.Set(done)
		if done == total {
			_ = bar.Finish()
		}
	}
}

// evalProgress returns what the evaluation calls after each batch: a line
// on w when it has run for 10 s and every 30 s after, and the last batch,
// so that a long evaluation (10,000 test images take minutes on a laptop)
// is never silent.
func evalProgress(w io.Writer, points int) func(done, total int) {
	start := time.Now()
	next := 10 * time.Second
	return func(done, total int) {
		el := time.Since(start)
		if el < next && !(done == total && el > 10*time.Second) {
			return
		}
		next = el + 30*time.Second
		left := time.Duration(float64(el) / float64(done) * float64(total-done))
		fmt.Fprintf(w, "eval: %d/%d batches of %d held-out points, %v elapsed, about %v left\n", done, total, points, el.Round(time.Second), left.Round(time.Second))
	}
}

// reconstruct inverts the given test images. A vanilla model's inverse
// runs leniently, so the report says how far its failing fixed point lands.
func reconstruct(t *trainer.Trained, images []float64, vanilla bool) *reconstruction {
	recon := t.Reconstruct
	if vanilla {
		recon = t.ReconstructLenient
	}
	r, err := recon(images)
	out := &reconstruction{Images: r.Original.N}
	if err != nil {
		out.Error = err.Error()
	}
	if r.Reconstructed.N == 0 {
		return out
	}
	out.MaxAbsErr, out.MaxPixelErr = r.MaxAbsErr, r.MaxPixelError()
	it := r.Iterations()
	out.Blocks, out.IterMin, out.IterMean, out.IterMax, out.IterMaxAt = it.Blocks, it.Min, it.Mean, it.Max, it.MaxBlock
	return out
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
			if rc.Blocks > 0 {
				fmt.Fprintf(w, "inverse iterations per block: min %d, mean %.1f, max %d (%s) over %d blocks\n", rc.IterMin, rc.IterMean, rc.IterMax, rc.IterMaxAt, rc.Blocks)
			}
		}
	}
	if len(r.SpectralNorms) == 0 && len(r.Blocks) == 0 {
		fmt.Fprintf(w, "certificate: none needed: the %s model has no residual blocks; its inverse is analytic (coupling, autoregressive or ODE layers), not a fixed point\n", r.Model)
		return
	}
	steps := "1 power-iteration step"
	if r.PowerIters != 1 {
		steps = fmt.Sprintf("%d power-iteration steps", r.PowerIters)
	}
	src := "certified here"
	if r.StoredWeights {
		src = "the checkpoint's applied weights"
	}
	fmt.Fprintf(w, "certificate (%s, %.0f ms): σ̂ = power iteration of the raw weight after %s;\n", src, r.CertifyMS, steps)
	fmt.Fprintf(w, "  raw bound and applied = certified upper bounds of the raw and of the applied weight's operator norm\n")
	lw, bw := len("layer"), len("block")
	for _, l := range r.SpectralNorms {
		lw, bw = max(lw, len(l.Layer)), max(bw, len(l.Name))
	}
	// "σ̂" is two runes shown as one column: pad its cell by one more.
	fmt.Fprintf(w, "%-*s  %-*s  %10s  %9s  %9s  %6s\n", bw, "block", lw, "layer", "σ̂", "raw bound", "applied", "c")
	blk := 0
	for k, l := range r.SpectralNorms {
		flag := ""
		if l.Exceeds {
			flag = fmt.Sprintf("  EXCEEDS c·(1 + %g)", boundSlack)
		}
		fmt.Fprintf(w, "%-*s  %-*s  %9.4f  %9.4f  %9.6f  %6.4f%s\n", bw, l.Name, lw, l.Layer, l.Sigma, l.RawBound, l.Applied, l.Coeff, flag)
		if last := k+1 == len(r.SpectralNorms) || r.SpectralNorms[k+1].Block != l.Block; last && blk < len(r.Blocks) {
			b := r.Blocks[blk]
			verdict := "certified invertible"
			switch {
			case r.Vanilla:
				verdict = "no bound (vanilla)"
			case !b.Certified:
				verdict = "NOT CERTIFIED (≥ 1)"
			}
			fmt.Fprintf(w, "%-*s  %-*s  Lip(g) ≤ %.6f  %s\n", bw, "", lw, "block", b.Lipschitz, verdict)
			blk++
		}
	}
	if r.Exceeding > 0 {
		fmt.Fprintf(w, "%d layers exceed c\n", r.Exceeding)
	}
	if r.Uncertified > 0 {
		fmt.Fprintf(w, "%d blocks are not certified invertible\n", r.Uncertified)
	}
}
