// Command anderson compares the two fixed-point inverses of blocks.Residual,
// plain iteration (blocks.MethodPlain) and Anderson acceleration
// (blocks.MethodAnderson), by evaluations of g and wall time.
//
// Synthetic cases, for each coefficient c of -coeffs, in float64 with σ̂
// converged: a linear dense block on d = 2 (raw weights scaled by -gain so
// that spectral normalization is active), dense 16-16-16 ELU blocks with
// orthogonal and with symmetric weights, and a conv block (4×14×14,
// hidden 4, ELU) with a near-symmetric Jacobian; see synthetic. Each
// inverts y = F(x*) for Gaussian x*.
//
// Trained cases, from -models name=checkpoint,...: the whole model's
// inverse (every residual block, in its own dtype) of y = F(x) for
// held-out data x: toy points for a toy model, the MNIST test images
// preprocessed as the trainer does for an image model. Iterations are
// summed over the blocks.
//
// Wall time is the median of -reps inverses after one untimed run (which
// compiles g). It prints a Markdown table, then one JSON object.
//
//	go run -tags openblas ./notebooks/cmd/anderson -models 8gaussians=runs/8gaussians/checkpoint.safetensors
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/trainer"
	"github.com/pkg/errors"
	"gonum.org/v1/gonum/mat"
	"gorgonia.org/tensor"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "anderson:", err)
		os.Exit(1)
	}
}

// settings are the program's flags.
type settings struct {
	Coeffs    []float64 `json:"coeffs"`
	Tol       float64   `json:"tol"`
	MaxIter   int       `json:"max_iter"`
	Reps      int       `json:"reps"`
	Window    int       `json:"window"`
	Damping   float64   `json:"damping"`
	Points    int       `json:"points"`
	Images    int       `json:"images"`
	Gain      float64   `json:"gain"`
	Seed      uint64    `json:"seed"`
	Synthetic bool      `json:"synthetic"`
	Models    []string  `json:"models"`
}

// Row is one case measured with both methods.
type Row struct {
	Case string `json:"case"`
	// Lipschitz is the largest L = Residual.LipschitzBound of its blocks.
	Lipschitz float64 `json:"lipschitz"`
	Blocks    int     `json:"blocks"`
	Plain     Result  `json:"plain"`
	Anderson  Result  `json:"anderson"`
}

// Result is one method's inverse of one case.
type Result struct {
	Iter      int     `json:"iter"`      // evaluations of g, summed over blocks
	Fallbacks int     `json:"fallbacks"` // rejected Anderson steps, summed
	WallMS    float64 `json:"wall_ms"`   // median wall time of the inverse
	MaxError  float64 `json:"max_error"` // max |x − x*|
	Error     string  `json:"error,omitempty"`
}

// subject is something to invert: its residual blocks and an inverse of
// the prepared y that returns x and the per-block stats.
type subject struct {
	name   string
	blocks []*blocks.Residual
	xStar  []float64
	invert func() (*tensor.Dense, []blocks.FixedPointStats, error)
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("anderson", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: anderson [flags]\n\nCompares plain fixed-point iteration with Anderson acceleration for the\ninverse of residual blocks and trained models: iterations and wall time.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	coeffs := fs.String("coeffs", "0.5,0.9,0.99", "spectral-norm coefficients c of the synthetic blocks, comma separated")
	models := fs.String("models", "", "trained models as name=checkpoint, comma separated")
	s := settings{}
	fs.Float64Var(&s.Tol, "tol", 1e-5, "fixed-point tolerance")
	fs.IntVar(&s.MaxIter, "max-iter", 5000, "iterations at most per block")
	fs.IntVar(&s.Reps, "reps", 5, "timed inverses per case and method (median)")
	fs.IntVar(&s.Window, "window", 0, "Anderson window (0: the library default)")
	fs.Float64Var(&s.Damping, "damping", 0, "Anderson damping β (0: the library default)")
	fs.IntVar(&s.Points, "points", 256, "points in a toy batch")
	fs.IntVar(&s.Images, "images", 32, "images in an image batch")
	fs.Float64Var(&s.Gain, "gain", 10, "factor on the initial weights of the synthetic linear block")
	fs.Uint64Var(&s.Seed, "seed", 1, "random seed")
	fs.BoolVar(&s.Synthetic, "synthetic", true, "measure the synthetic dense and conv blocks")
	useBLAS := fs.Bool("blas", true, "use the fast BLAS for g (graph.UseFastBLAS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.Errorf("unexpected arguments %q", fs.Args())
	}
	if *useBLAS {
		graph.UseFastBLAS()
	}
	var err error
	if s.Coeffs, err = parseFloats(*coeffs); err != nil {
		return errors.Wrap(err, "-coeffs")
	}
	if strings.TrimSpace(*models) != "" {
		s.Models = strings.Split(*models, ",")
	}
	if s.Reps < 1 || s.Points < 1 || s.Images < 1 || !(s.Tol > 0) || s.MaxIter < 1 {
		return errors.Errorf("-reps %d, -points %d, -images %d, -max-iter %d must be ≥ 1 and -tol %g > 0", s.Reps, s.Points, s.Images, s.MaxIter, s.Tol)
	}
	var rows []Row
	measure := func(sub subject) error {
		row, err := compare(sub, s)
		if err != nil {
			return errors.Wrap(err, sub.name)
		}
		fmt.Fprintf(stderr, "%s: plain %d, anderson %d\n", row.Case, row.Plain.Iter, row.Anderson.Iter)
		rows = append(rows, row)
		return nil
	}
	if s.Synthetic {
		for i, c := range s.Coeffs {
			for _, kind := range []string{"linear", "dense", "symmetric", "conv"} {
				rng := rand.New(rand.NewPCG(s.Seed, uint64(i)))
				sub, err := synthetic(kind, c, s, rng)
				if err != nil {
					return errors.Wrapf(err, "%s block at c = %g", kind, c)
				}
				if err := measure(sub); err != nil {
					return err
				}
			}
		}
	}
	for _, m := range s.Models {
		name, path, ok := strings.Cut(m, "=")
		if !ok {
			return errors.Errorf("-models entry %q is not name=checkpoint", m)
		}
		sub, closeFn, err := trained(name, path, s)
		if err != nil {
			return errors.Wrapf(err, "model %s", name)
		}
		err = measure(sub)
		closeFn()
		if err != nil {
			return err
		}
	}
	writeTable(stdout, rows, s)
	enc := json.NewEncoder(stdout)
	return errors.Wrap(enc.Encode(struct {
		Settings settings `json:"settings"`
		Rows     []Row    `json:"rows"`
	}{s, rows}), "writing the report")
}

// compare inverts sub with both methods: one untimed run each (it
// compiles g and gives the counts and errors), then s.Reps timed runs of
// each, alternating between the methods so that a change in the machine's
// load affects both alike.
func compare(sub subject, s settings) (Row, error) {
	row := Row{Case: sub.name, Blocks: len(sub.blocks)}
	for _, r := range sub.blocks {
		row.Lipschitz = math.Max(row.Lipschitz, r.LipschitzBound())
	}
	methods := []struct {
		method blocks.InverseMethod
		out    *Result
		walls  []float64
	}{{method: blocks.MethodPlain, out: &row.Plain}, {method: blocks.MethodAnderson, out: &row.Anderson}}
	for rep := 0; rep <= s.Reps; rep++ {
		for i := range methods {
			m := &methods[i]
			if m.out.Error != "" {
				continue
			}
			fp := blocks.FixedPoint{Tol: s.Tol, MaxIter: s.MaxIter, Method: m.method,
				Anderson: blocks.AndersonConfig{Window: s.Window, Damping: s.Damping}}
			for _, r := range sub.blocks {
				if err := r.SetInverse(fp); err != nil {
					return row, err
				}
			}
			start := time.Now()
			x, stats, err := sub.invert()
			wall := time.Since(start).Seconds() * 1000
			if rep > 0 {
				m.walls = append(m.walls, wall)
				continue
			}
			for _, st := range stats {
				m.out.Iter += st.Iter
				m.out.Fallbacks += st.Fallbacks
			}
			if err != nil {
				m.out.Error = err.Error()
				continue
			}
			for i, v := range floats(x) {
				m.out.MaxError = math.Max(m.out.MaxError, math.Abs(v-sub.xStar[i]))
			}
		}
	}
	for _, m := range methods {
		m.out.WallMS = median(m.walls)
	}
	return row, nil
}

// synthetic builds a block of the given kind with coefficient c and its
// y = F(x*). Random initial weights give blocks whose g contracts far more
// than the bound ∏ cᵢ (a handful of iterations at any c), so the weights
// here are orthogonal, which spectral normalization scales to exactly c in
// every direction:
//
//   - "linear": g(x) = W̃x + b on d = 2, the block of notebooks/cmd/fixedpoint
//     (Lip(g) = c; affine, so Anderson solves it in a few steps);
//   - "dense": d = 16, one hidden layer of 16, ELU, W̃ᵢ = c·Qᵢ (Lip ≤ c²),
//     whose Jacobian c²Q₂DQ₁ has eigenvalues spread around a circle: the
//     worst case for Anderson (and any Krylov method);
//   - "symmetric": the same with W₂ = W₁ᵀ, so the Jacobian c²Q₁ᵀDQ₁ is
//     symmetric with eigenvalues in [0, c²];
//   - "conv": 4×14×14, 4 hidden channels, ELU, g = W₃ ∘ φ ∘ W₂ ∘ φ ∘ W₁ with
//     W₁ a 3×3 convolution whose centre tap is an orthogonal 4×4 matrix plus
//     N(0, 0.05²) on every tap, W₂ = I (1×1) and W₃ = W₁ᵀ (channels swapped,
//     kernel flipped), each normalized as an operator (Lip ≤ c³, Jacobian
//     close to symmetric).
func synthetic(kind string, c float64, s settings, rng *rand.Rand) (subject, error) {
	lip := blocks.Lipschitz{Coeff: c, Act: graph.ELU, Dtype: tensor.Float64}
	var (
		r     *blocks.Residual
		shape []int
		err   error
		name  string
	)
	switch kind {
	case "linear":
		r, err = blocks.NewDense(blocks.DenseConfig{Dim: 2, Hidden: []int{}, Lipschitz: lip}, rng)
		shape, name = []int{s.Points, 2}, fmt.Sprintf("dense d=2 linear g, c = %g", c)
	case "dense":
		r, err = blocks.NewDense(blocks.DenseConfig{Dim: 16, Hidden: []int{16}, Lipschitz: lip}, rng)
		shape, name = []int{s.Points, 16}, fmt.Sprintf("dense 16-16-16 orthogonal, c = %g", c)
	case "symmetric":
		r, err = blocks.NewDense(blocks.DenseConfig{Dim: 16, Hidden: []int{16}, Lipschitz: lip}, rng)
		shape, name = []int{s.Points, 16}, fmt.Sprintf("dense 16-16-16 symmetric, c = %g", c)
	default:
		r, err = blocks.NewConv(blocks.ConvConfig{Channels: 4, Height: 14, Width: 14, Hidden: 4, Lipschitz: lip}, rng)
		shape, name = []int{s.Images, 4, 14, 14}, fmt.Sprintf("conv 4×14×14 h4 symmetric, c = %g", c)
	}
	if err != nil {
		return subject{}, err
	}
	var (
		q     *mat.Dense // the symmetric case's first weight
		first []float64  // the conv case's first kernel
	)
	for _, t := range r.Tensors() {
		if !t.Learnable || t.Value.Dims() < 2 {
			continue
		}
		w := t.Value.Data().([]float64)
		sh := t.Value.Shape()
		switch {
		case kind == "linear":
			for i := range w {
				w[i] *= s.Gain
			}
		case kind == "symmetric": // W₂ = W₁ᵀ
			if q == nil {
				q = orthogonal(sh[0], rng)
				copy(w, q.RawMatrix().Data)
			} else {
				copy(w, mat.DenseCopyOf(q.T()).RawMatrix().Data)
			}
		case len(sh) == 2: // (in, out), square
			copy(w, orthogonal(sh[0], rng).RawMatrix().Data)
		case sh[2] == 1: // the 1×1 conv: identity
			for a := 0; a < sh[0]; a++ {
				w[a*sh[1]+a] = 1
			}
		default: // (O, C, K, K) with O = C
			o, ci, kh, kw := sh[0], sh[1], sh[2], sh[3]
			if first == nil {
				q := orthogonal(o, rng) // centre tap
				for a := 0; a < o; a++ {
					for b := 0; b < ci; b++ {
						for i := 0; i < kh*kw; i++ {
							v := 0.05 * rng.NormFloat64()
							if i == (kh/2)*kw+kw/2 {
								v += q.At(a, b)
							}
							w[((a*ci+b)*kh*kw)+i] = v
						}
					}
				}
				first = append([]float64(nil), w...)
				continue
			}
			// The transpose of the first convolution: channels swapped,
			// kernel flipped.
			for a := 0; a < o; a++ {
				for b := 0; b < ci; b++ {
					for i := 0; i < kh*kw; i++ {
						w[((a*ci+b)*kh*kw)+i] = first[((b*o+a)*kh*kw)+kh*kw-1-i]
					}
				}
			}
		}
	}
	if err := r.UpdateSpectralNorms(500); err != nil {
		return subject{}, err
	}
	x := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float64))
	xs := x.Data().([]float64)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	y, err := blocks.Apply(r, x)
	if err != nil {
		return subject{}, errors.Wrap(err, "forward pass")
	}
	return subject{name: name, blocks: []*blocks.Residual{r}, xStar: xs,
		invert: func() (*tensor.Dense, []blocks.FixedPointStats, error) {
			x, st, err := r.InverseWithStats(y)
			return x, []blocks.FixedPointStats{st}, err
		}}, nil
}

// orthogonal returns the Q factor of an n×n Gaussian matrix.
func orthogonal(n int, rng *rand.Rand) *mat.Dense {
	a := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			a.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(a)
	var q mat.Dense
	qr.QTo(&q)
	return &q
}

// statsModel is a trained model with per-block inverse stats.
type statsModel interface {
	trainer.Model
	InverseWithStats(y *tensor.Dense) (*tensor.Dense, map[string]blocks.FixedPointStats, error)
}

// trained loads a checkpoint and prepares y = F(x) for held-out data x.
func trained(name, path string, s settings) (subject, func(), error) {
	t, err := trainer.Load(path)
	if err != nil {
		return subject{}, nil, err
	}
	closeFn := func() { t.Close() }
	m, ok := t.Model().(statsModel)
	if !ok {
		closeFn()
		return subject{}, nil, errors.Errorf("model %T has no InverseWithStats", t.Model())
	}
	cfg := t.Config()
	// The held-out set of the run's data, preprocessed as the trainer
	// does (padding, dequantization, logit transform).
	n := s.Points
	if cfg.Data.Quantized() {
		n = s.Images
	}
	src, err := cfg.Data.Open(s.Seed, n)
	if err != nil {
		closeFn()
		return subject{}, nil, err
	}
	pts := src.HeldOut().Points
	d := 1
	for _, v := range t.InputShape() {
		d *= v
	}
	shape := append([]int{len(pts) / d}, t.InputShape()...)
	x := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	store32(x, pts)
	y, err := blocks.Apply(m, x)
	if err != nil {
		closeFn()
		return subject{}, nil, errors.Wrap(err, "forward pass")
	}
	return subject{name: fmt.Sprintf("%s (trained, c = %g, %d blocks)", name, coeff(cfg), len(m.Residuals())), blocks: m.Residuals(), xStar: floats(x),
		invert: func() (*tensor.Dense, []blocks.FixedPointStats, error) {
			x, st, err := m.InverseWithStats(y)
			keys := make([]string, 0, len(st))
			for k := range st {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			out := make([]blocks.FixedPointStats, len(keys))
			for i, k := range keys {
				out[i] = st[k]
			}
			return x, out, err
		}}, closeFn, nil
}

func coeff(cfg trainer.Config) float64 { return cfg.Model.Lipschitz().Coeff }

func writeTable(w io.Writer, rows []Row, s settings) {
	fmt.Fprintf(w, "Fixed-point inverse to tol %g: evaluations of g (summed over blocks) and median wall time of %d runs.\n\n", s.Tol, s.Reps)
	fmt.Fprintln(w, "| case | max L | plain iters | Anderson iters | ratio | plain ms | Anderson ms | speed-up | fallbacks | max err plain | max err Anderson |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %.3f | %s | %s | %.2f | %.1f | %.1f | %.1f× | %d | %.1e | %.1e |\n",
			r.Case, r.Lipschitz, iters(r.Plain), iters(r.Anderson), float64(r.Anderson.Iter)/float64(r.Plain.Iter),
			r.Plain.WallMS, r.Anderson.WallMS, r.Plain.WallMS/r.Anderson.WallMS, r.Anderson.Fallbacks, r.Plain.MaxError, r.Anderson.MaxError)
	}
	fmt.Fprintln(w)
}

func iters(r Result) string {
	if r.Error != "" {
		return strconv.Itoa(r.Iter) + " (failed)"
	}
	return strconv.Itoa(r.Iter)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = append([]float64(nil), v...)
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func floats(t *tensor.Dense) []float64 {
	switch d := t.Data().(type) {
	case []float64:
		return d
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	}
	return nil
}

func store32(t *tensor.Dense, v []float64) {
	d := t.Data().([]float32)
	for i := range d {
		d[i] = float32(v[i])
	}
}

// parseFloats parses a comma-separated list of numbers.
func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, errors.Errorf("%q is not a comma-separated list of numbers", s)
		}
		out = append(out, v)
	}
	return out, nil
}
