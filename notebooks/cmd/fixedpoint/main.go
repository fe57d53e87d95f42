// Command fixedpoint records how the fixed-point inverse of an i-ResNet
// residual block converges, for notebooks/02-invertibility-and-logdet.ipynb.
//
// For each spectral-norm coefficient c it builds one dense residual block
// F(x) = x + g(x) with blocks.Lipschitz{Coeff: c}, maps a batch of Gaussian
// points x* forward to y = F(x*), and runs the Banach iteration
// x_{k+1} = y − g(x_k) from x_0 = y, recording after every iteration the
// step ‖x_{k+1} − x_k‖ and the true error ‖x_k − x*‖ (per-sample Euclidean
// norms, worst sample of the batch) next to the a-priori bound
// L^k/(1−L)·‖x_1 − x_0‖ for L = Lip(g).
//
// blocks.Residual inverts with exactly this iteration but reports only the
// final residual and the iteration count (InverseWithStats), so the program
// repeats the iteration itself on the block's own branch g
// (Residual.Branch compiled with graph.NewFunc) and also calls
// InverseWithStats with blocks.MethodPlain to show that the library stops
// where the recorded curve says it should. Next to it, the library's
// default for such a block, Anderson acceleration (blocks.MethodAnderson),
// inverts the same y; notebooks/cmd/anderson compares the two at length.
//
// It prints one JSON object. Usage:
//
//	go run -tags openblas ./notebooks/cmd/fixedpoint -coeffs 0.5,0.9,0.99
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "fixedpoint:", err)
		os.Exit(1)
	}
}

// settings are the program's flags.
type settings struct {
	Coeffs  []float64 `json:"coeffs"`
	Dim     int       `json:"dim"`
	Hidden  []int     `json:"hidden"`
	Points  int       `json:"points"`
	Scale   float64   `json:"scale"`
	MaxIter int       `json:"max_iter"`
	Floor   float64   `json:"floor"`
	Gain    float64   `json:"gain"`
	Seed    uint64    `json:"seed"`
}

// Report is the JSON the program prints.
type Report struct {
	Settings settings `json:"settings"`
	Runs     []Run    `json:"runs"`
}

// Run is the record of one coefficient c.
type Run struct {
	Coeff float64 `json:"coeff"`
	// Lipschitz is L = ∏ min(σ̂ᵢ, c) (Residual.LipschitzBound), the
	// contraction constant the spectral normalization guarantees for g.
	Lipschitz float64 `json:"lipschitz"`
	// Step[k] is max over the batch of ‖x_{k+1} − x_k‖₂, k = 0, 1, …
	Step []float64 `json:"step"`
	// Error[k] is max over the batch of ‖x_k − x*‖₂.
	Error []float64 `json:"error"`
	// Bound[k] is L^k/(1−L)·max over the batch of ‖x_1 − x_0‖₂, which
	// Banach's theorem says Error[k] cannot exceed.
	Bound []float64 `json:"bound"`
	// BoundRatio is the largest per-sample ratio error/bound over all k;
	// it must stay ≤ 1 (up to rounding once the error reaches it).
	BoundRatio float64 `json:"bound_ratio"`
	// Rate is the observed contraction per iteration: the geometric mean
	// of Step[k+1]/Step[k] while the step is above the floor.
	Rate float64 `json:"rate"`
	// Library is what Residual.InverseWithStats reports for the same y
	// with plain iteration, the iteration recorded above.
	Library LibraryInverse `json:"library"`
	// Anderson is the same with Anderson acceleration, the library's
	// default for spectrally normalized blocks.
	Anderson LibraryInverse `json:"anderson"`
}

// LibraryInverse summarizes blocks.Residual.InverseWithStats.
type LibraryInverse struct {
	Iter     int     `json:"iter"`
	Residual float64 `json:"residual"`  // its final max |G(x) − x| (plain: max |x_{i+1} − x_i|)
	MaxError float64 `json:"max_error"` // max |x − x*| of its answer
	Error    string  `json:"error,omitempty"`
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fixedpoint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: fixedpoint [flags]\n\nRecords the fixed-point inverse of a dense residual block per iteration, for\nseveral spectral-norm coefficients c, against the Banach bound; prints JSON.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	coeffs := fs.String("coeffs", "0.5,0.9,0.99", "spectral-norm coefficients c, comma separated")
	hidden := fs.String("hidden", "", "hidden widths of g, comma separated; empty: g is one linear layer, so Lip(g) = c")
	s := settings{}
	fs.IntVar(&s.Dim, "dim", 2, "data dimension d")
	fs.IntVar(&s.Points, "points", 256, "points x* in the batch")
	fs.Float64Var(&s.Scale, "scale", 2, "standard deviation of the points x*")
	fs.IntVar(&s.MaxIter, "max-iter", 3000, "iterations at most, per coefficient")
	fs.Float64Var(&s.Floor, "floor", 1e-13, "stop once the step falls below this (float64 rounding)")
	fs.Float64Var(&s.Gain, "gain", 10, "factor on the initial weights, so that spectral normalization is active in every layer")
	fs.Uint64Var(&s.Seed, "seed", 1, "random seed: weights and points")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if s.Coeffs, err = parseFloats(*coeffs); err != nil {
		return errors.Wrap(err, "-coeffs")
	}
	if s.Hidden, err = parseInts(*hidden); err != nil {
		return errors.Wrap(err, "-hidden")
	}
	if s.Dim < 1 || s.Points < 1 || s.MaxIter < 1 || !(s.Scale > 0) || !(s.Floor > 0) || !(s.Gain > 0) {
		return errors.Errorf("-dim %d, -points %d, -max-iter %d must be ≥ 1 and -scale %g, -floor %g, -gain %g > 0", s.Dim, s.Points, s.MaxIter, s.Scale, s.Floor, s.Gain)
	}
	rep := Report{Settings: s}
	for i, c := range s.Coeffs {
		rng := rand.New(rand.NewPCG(s.Seed, uint64(i)))
		r, err := record(s, c, rng)
		if err != nil {
			return errors.Wrapf(err, "c = %g", c)
		}
		rep.Runs = append(rep.Runs, r)
	}
	enc := json.NewEncoder(stdout)
	return errors.Wrap(enc.Encode(rep), "writing the report")
}

// record builds a block with coefficient c from rng and records its
// fixed-point inverse.
func record(s settings, c float64, rng *rand.Rand) (Run, error) {
	if !(c > 0 && c < 1) {
		return Run{}, errors.Errorf("coefficient %g must lie in (0, 1)", c)
	}
	lip := blocks.Lipschitz{
		Coeff:   c,
		Act:     graph.ELU,
		Dtype:   tensor.Float64,
		Inverse: blocks.FixedPoint{MaxIter: s.MaxIter, Method: blocks.MethodPlain},
	}
	r, err := blocks.NewDense(blocks.DenseConfig{Dim: s.Dim, Hidden: s.Hidden, Lipschitz: lip}, rng)
	if err != nil {
		return Run{}, err
	}
	// Scale the raw weights so that every layer's σ̂ exceeds c and the
	// normalization W̃ = W·c/σ̂ is active, as it is in a trained model; then
	// converge σ̂ so that L is the bound the weights really satisfy.
	for _, t := range r.Tensors() {
		if strings.HasSuffix(t.Name, "/weight") {
			if _, err := t.Value.MulScalar(s.Gain, true, tensor.UseUnsafe()); err != nil {
				return Run{}, errors.Wrapf(err, "scaling %s", t.Name)
			}
		}
	}
	if err := r.UpdateSpectralNorms(500); err != nil {
		return Run{}, err
	}
	out := Run{Coeff: c, Lipschitz: r.LipschitzBound()}

	xs := make([]float64, s.Points*s.Dim)
	for i := range xs {
		xs[i] = s.Scale * rng.NormFloat64()
	}
	xStar := tensor.New(tensor.WithShape(s.Points, s.Dim), tensor.WithBacking(xs))
	y, err := blocks.Apply(r, xStar)
	if err != nil {
		return out, errors.Wrap(err, "forward pass y = F(x*)")
	}
	g, err := graph.NewFunc(tensor.Float64, []int{s.Points, s.Dim}, func(b *graph.Builder, x *G.Node) (*G.Node, error) {
		return r.Branch(b, x)
	})
	if err != nil {
		return out, errors.Wrap(err, "compiling g")
	}
	defer g.Close()

	if err := iterate(&out, g, y.Data().([]float64), xs, s); err != nil {
		return out, err
	}

	out.Library = libraryInverse(r, y, xs)
	if err := r.SetInverse(blocks.FixedPoint{MaxIter: s.MaxIter, Method: blocks.MethodAnderson}); err != nil {
		return out, err
	}
	out.Anderson = libraryInverse(r, y, xs)
	return out, nil
}

// libraryInverse inverts y with the block's settings and compares the
// answer with the true preimage xStar; a failure is recorded in Error.
func libraryInverse(r *blocks.Residual, y *tensor.Dense, xStar []float64) LibraryInverse {
	xLib, st, err := r.InverseWithStats(y)
	out := LibraryInverse{Iter: st.Iter, Residual: st.Residual}
	if err != nil {
		out.Error = err.Error()
		return out
	}
	for i, v := range xLib.Data().([]float64) {
		out.MaxError = math.Max(out.MaxError, math.Abs(v-xStar[i]))
	}
	return out
}

// iterate runs x_{k+1} = y − g(x_k) from x_0 = y and fills out's curves;
// xStar is the true preimage. It stops at s.MaxIter iterations or once the
// step falls below s.Floor.
func iterate(out *Run, g *graph.Func, y, xStar []float64, s settings) error {
	n, d := s.Points, s.Dim
	x := append([]float64(nil), y...)
	step0 := make([]float64, n) // ‖x_1 − x_0‖ per sample
	L := out.Lipschitz
	var logRate float64
	var rated int
	for k := 0; k < s.MaxIter; k++ {
		gx, err := g.Call(tensor.New(tensor.WithShape(n, d), tensor.WithBacking(append([]float64(nil), x...))))
		if err != nil {
			return errors.Wrapf(err, "evaluating g at iteration %d", k)
		}
		gd := gx.Data().([]float64)
		var worstStep, worstErr, worstStep0 float64
		for p := 0; p < n; p++ {
			var st, er float64
			for j := p * d; j < (p+1)*d; j++ {
				next := y[j] - gd[j]
				st += (next - x[j]) * (next - x[j])
				er += (x[j] - xStar[j]) * (x[j] - xStar[j])
				x[j] = next
			}
			st, er = math.Sqrt(st), math.Sqrt(er)
			if k == 0 {
				step0[p] = st
			}
			bound := math.Pow(L, float64(k)) / (1 - L) * step0[p]
			if bound > 100*s.Floor { // below that, rounding dominates both
				out.BoundRatio = math.Max(out.BoundRatio, er/bound)
			}
			worstStep, worstErr = math.Max(worstStep, st), math.Max(worstErr, er)
			worstStep0 = math.Max(worstStep0, step0[p])
		}
		if k > 0 && worstStep > s.Floor {
			logRate += math.Log(worstStep / out.Step[k-1])
			rated++
		}
		out.Step = append(out.Step, worstStep)
		out.Error = append(out.Error, worstErr)
		out.Bound = append(out.Bound, math.Pow(L, float64(k))/(1-L)*worstStep0)
		if worstStep < s.Floor {
			break
		}
	}
	if rated > 0 {
		out.Rate = math.Exp(logRate / float64(rated))
	}
	return nil
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

// parseInts parses a comma-separated list of positive integers; an empty
// string is an empty list.
func parseInts(s string) ([]int, error) {
	out := []int{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, errors.Errorf("%q is not a comma-separated list of positive widths", s)
		}
		out = append(out, v)
	}
	return out, nil
}
