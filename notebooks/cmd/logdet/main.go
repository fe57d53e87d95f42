// Command logdet compares the log-determinant estimators of the estimator
// package with the exact value on one small dense residual block, for
// notebooks/02-invertibility-and-logdet.ipynb:
//
//   - the truncated power series (estimator.PowerSeries) with 1, 2, …
//     terms against the exact log-det (estimator.Exact) and the truncation
//     bound estimator.WeakBound;
//   - the spread of the Hutchinson trace estimates with 1 probe and with
//     many (PowerSeries.Probes);
//   - the Russian-roulette estimator (estimator.RussianRoulette): the mean
//     of many draws against the exact value, with its standard error.
//
// Every estimate is a node of the block's graph, evaluated with
// graph.NewFunc on a batch that repeats each test point R times, so one run
// draws R independent probes (and term counts) per point.
//
// It prints one JSON object. Usage:
//
//	go run -tags openblas ./notebooks/cmd/logdet -draws 2000
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
	"github.com/iresnet/iresnet/estimator"
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
		fmt.Fprintln(os.Stderr, "logdet:", err)
		os.Exit(1)
	}
}

// settings are the program's flags.
type settings struct {
	Coeff      float64 `json:"coeff"`
	Dim        int     `json:"dim"`
	Hidden     []int   `json:"hidden"`
	Gain       float64 `json:"gain"`
	Points     int     `json:"points"`
	Draws      int     `json:"draws"`
	MaxTerms   int     `json:"max_terms"`
	Probes     []int   `json:"probes"`
	ProbeTerms int     `json:"probe_terms"`
	Seed       uint64  `json:"seed"`
}

// Report is the JSON the program prints. Per-point slices are indexed like
// Points.
type Report struct {
	Settings settings `json:"settings"`
	// Lipschitz is L = ∏ min(σ̂ᵢ, c), the bound on ‖J_g‖₂ that
	// spectral normalization guarantees.
	Lipschitz float64     `json:"lipschitz"`
	Points    [][]float64 `json:"points"`
	Exact     []float64   `json:"exact"` // log|det(I + J_g(x))| by LU
	Terms     []TermsRow  `json:"terms"`
	Probes    []ProbesRow `json:"probes"`
	Roulette  Roulette    `json:"roulette"`
}

// TermsRow is the n-term power series.
type TermsRow struct {
	Terms int `json:"terms"`
	// Series is the n-term series with exact traces, the expectation of
	// the Hutchinson estimate: probes √d·e_1, …, √d·e_d instead of random
	// vectors.
	Series []float64 `json:"series"`
	Mean   []float64 `json:"mean"` // mean of the one-probe estimate over the draws
	SE     []float64 `json:"se"`   // its standard error
	// Bound is WeakBound(L, d, n), the largest possible truncation error
	// |E[estimate] − exact|.
	Bound float64 `json:"bound"`
}

// ProbesRow is the spread of the ProbeTerms-term series with m probes.
type ProbesRow struct {
	Probes int       `json:"probes"`
	Mean   []float64 `json:"mean"`
	Std    []float64 `json:"std"` // standard deviation of one estimate
	// First holds the first draws for point 0, for a histogram.
	First []float64 `json:"first"`
}

// Roulette is the Russian-roulette estimator's record.
type Roulette struct {
	Estimator string    `json:"estimator"`
	Mean      []float64 `json:"mean"`
	SE        []float64 `json:"se"`
	Std       []float64 `json:"std"`
	// Z is (mean − exact)/SE per point: about standard normal if the
	// estimator is unbiased.
	Z []float64 `json:"z"`
	// Draws are every draw for point 0, in order.
	Draws []float64 `json:"draws"`
	// Survival is P(N ≥ k) for k = 1 … MaxTerms, the weight 1/P(N ≥ k)
	// that term k gets when it is reached.
	Survival []float64 `json:"survival"`
	// MeanTerms is E[N] = Σ_k P(N ≥ k), the terms computed on average by
	// an implementation that stops at N (this one computes all MaxTerms
	// and masks, see estimator.RussianRoulette).
	MeanTerms float64 `json:"mean_terms"`
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logdet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: logdet [flags]\n\nCompares power-series and Russian-roulette log-det estimates of a small dense\nresidual block with the exact log-det; prints JSON.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	hidden := fs.String("hidden", "", "hidden widths of g, comma separated; empty: g is one linear layer, whose Jacobian has norm c everywhere")
	probes := fs.String("probes", "1,2,4,8,16,32", "Hutchinson probe counts m to compare")
	s := settings{}
	fs.Float64Var(&s.Coeff, "coeff", 0.9, "spectral-norm coefficient c")
	fs.IntVar(&s.Dim, "dim", 2, "data dimension d")
	fs.Float64Var(&s.Gain, "gain", 10, "factor on the initial weights, so that spectral normalization is active in every layer")
	fs.IntVar(&s.Points, "points", 1, "test points x (a linear g has the same log-det everywhere)")
	fs.IntVar(&s.Draws, "draws", 20000, "independent draws R of each estimator per point")
	fs.IntVar(&s.MaxTerms, "max-terms", 12, "largest number of power-series terms")
	fs.IntVar(&s.ProbeTerms, "probe-terms", 10, "power-series terms in the probe comparison")
	fs.Uint64Var(&s.Seed, "seed", 1, "random seed: weights, points, probes, term counts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if s.Hidden, err = parseInts(*hidden, true); err != nil {
		return errors.Wrap(err, "-hidden")
	}
	if s.Probes, err = parseInts(*probes, false); err != nil {
		return errors.Wrap(err, "-probes")
	}
	if !(s.Coeff > 0 && s.Coeff < 1) || !(s.Gain > 0) {
		return errors.Errorf("-coeff %g must lie in (0, 1) and -gain %g be > 0", s.Coeff, s.Gain)
	}
	if s.Dim < 1 || s.Points < 1 || s.Draws < 2 || s.MaxTerms < 1 || s.ProbeTerms < 1 {
		return errors.Errorf("-dim %d, -points %d, -max-terms %d, -probe-terms %d must be ≥ 1 and -draws %d ≥ 2", s.Dim, s.Points, s.MaxTerms, s.ProbeTerms, s.Draws)
	}
	rep, err := compare(s, rand.New(rand.NewPCG(s.Seed, 0)))
	if err != nil {
		return err
	}
	return errors.Wrap(json.NewEncoder(stdout).Encode(rep), "writing the report")
}

// rouletteTerms caps the Russian-roulette term count (the estimator's
// default): the estimate is unbiased for the 20-term series, which is
// within WeakBound(L, d, 20) of the exact log-det.
const rouletteTerms = 20

// newBlock builds the float64 dense residual block of s with weights drawn
// from rng and multiplied by s.Gain, so that, as in a trained model, every
// layer's σ̂ exceeds c and each normalized weight has norm c. σ̂ is
// converged, so that LipschitzBound is a true bound.
func newBlock(s settings, rng *rand.Rand) (*blocks.Residual, error) {
	lip := blocks.Lipschitz{Coeff: s.Coeff, Act: graph.ELU, Dtype: tensor.Float64}
	r, err := blocks.NewDense(blocks.DenseConfig{Dim: s.Dim, Hidden: s.Hidden, Lipschitz: lip}, rng)
	if err != nil {
		return nil, err
	}
	for _, t := range r.Tensors() {
		if strings.HasSuffix(t.Name, "/weight") {
			if _, err := t.Value.MulScalar(s.Gain, true, tensor.UseUnsafe()); err != nil {
				return nil, errors.Wrapf(err, "scaling %s", t.Name)
			}
		}
	}
	if err := r.UpdateSpectralNorms(500); err != nil {
		return nil, err
	}
	return r, nil
}

// compare builds the block and the test points from rng and runs every
// estimator on them.
func compare(s settings, rng *rand.Rand) (Report, error) {
	r, err := newBlock(s, rng)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Settings: s, Lipschitz: r.LipschitzBound()}
	pts := make([]float64, s.Points*s.Dim)
	for i := range pts {
		pts[i] = rng.NormFloat64()
	}
	for p := 0; p < s.Points; p++ {
		rep.Points = append(rep.Points, pts[p*s.Dim:(p+1)*s.Dim])
	}

	exact, err := evaluate(r, estimator.Exact{}, pts, s.Dim, 1, rng)
	if err != nil {
		return rep, errors.Wrap(err, "exact log-det")
	}
	for _, v := range exact {
		rep.Exact = append(rep.Exact, v[0])
	}

	for n := 1; n <= s.MaxTerms; n++ {
		draws, err := evaluate(r, estimator.PowerSeries{Terms: n, Probes: 1}, pts, s.Dim, s.Draws, rng)
		if err != nil {
			return rep, errors.Wrapf(err, "%d-term power series", n)
		}
		row := TermsRow{Terms: n, Bound: estimator.WeakBound(rep.Lipschitz, s.Dim, n)}
		if row.Series, err = series(r, n, pts, s.Dim); err != nil {
			return rep, errors.Wrapf(err, "%d-term series with exact traces", n)
		}
		for _, d := range draws {
			m, sd := meanStd(d)
			row.Mean = append(row.Mean, m)
			row.SE = append(row.SE, sd/math.Sqrt(float64(len(d))))
		}
		rep.Terms = append(rep.Terms, row)
	}

	for _, m := range s.Probes {
		est := estimator.PowerSeries{Terms: s.ProbeTerms, Probes: m}
		draws, err := evaluate(r, est, pts, s.Dim, s.Draws, rng)
		if err != nil {
			return rep, errors.Wrapf(err, "%v", est)
		}
		row := ProbesRow{Probes: m, First: draws[0][:min(len(draws[0]), 500)]}
		for _, d := range draws {
			mean, sd := meanStd(d)
			row.Mean = append(row.Mean, mean)
			row.Std = append(row.Std, sd)
		}
		rep.Probes = append(rep.Probes, row)
	}

	rr := estimator.RussianRoulette{MaxTerms: rouletteTerms}
	draws, err := evaluate(r, rr, pts, s.Dim, s.Draws, rng)
	if err != nil {
		return rep, errors.Wrapf(err, "%v", rr)
	}
	rep.Roulette = Roulette{Estimator: rr.String(), Draws: draws[0]}
	for p, d := range draws {
		m, sd := meanStd(d)
		se := sd / math.Sqrt(float64(len(d)))
		rep.Roulette.Mean = append(rep.Roulette.Mean, m)
		rep.Roulette.Std = append(rep.Roulette.Std, sd)
		rep.Roulette.SE = append(rep.Roulette.SE, se)
		rep.Roulette.Z = append(rep.Roulette.Z, (m-rep.Exact[p])/se)
	}
	for k := 1; k <= rouletteTerms; k++ {
		rep.Roulette.Survival = append(rep.Roulette.Survival, rr.Survival(k))
		rep.Roulette.MeanTerms += rr.Survival(k)
	}
	return rep, nil
}

// evaluate returns draws[p][i], the i-th of n independent estimates of the
// block's log-det at point p of pts (rows of width d): the points are
// repeated n times in one batch, and the estimator's random inputs are
// drawn from rng.
func evaluate(r *blocks.Residual, est estimator.Estimator, pts []float64, d, n int, rng *rand.Rand) ([][]float64, error) {
	np := len(pts) / d
	batch := make([]float64, 0, np*n*d)
	for p := 0; p < np; p++ {
		for i := 0; i < n; i++ {
			batch = append(batch, pts[p*d:(p+1)*d]...)
		}
	}
	f, err := graph.NewFunc(tensor.Float64, []int{np * n, d}, func(b *graph.Builder, x *G.Node) (*G.Node, error) {
		gx, err := r.Branch(b, x)
		if err != nil {
			return nil, err
		}
		return est.LogDet(b, x, gx)
	})
	if err != nil {
		return nil, errors.Wrap(err, "building the estimate")
	}
	defer f.Close()
	f.Builder().Resample(rng)
	out, err := f.Call(tensor.New(tensor.WithShape(np*n, d), tensor.WithBacking(batch)))
	if err != nil {
		return nil, errors.Wrap(err, "evaluating the estimate")
	}
	v := out.Data().([]float64)
	draws := make([][]float64, np)
	for p := range draws {
		draws[p] = append([]float64(nil), v[p*n:(p+1)*n]...)
	}
	return draws, nil
}

// series returns the n-term power series of the block's log-det at each
// point of pts with exact traces: d probes per sample set to √d·e_i, so
// that their average (1/d) Σᵢ d·e_iᵀJᵏe_i is tr(Jᵏ).
func series(r *blocks.Residual, n int, pts []float64, d int) ([]float64, error) {
	np := len(pts) / d
	f, err := graph.NewFunc(tensor.Float64, []int{np, d}, func(b *graph.Builder, x *G.Node) (*G.Node, error) {
		gx, err := r.Branch(b, x)
		if err != nil {
			return nil, err
		}
		return estimator.PowerSeries{Terms: n, Probes: d}.LogDet(b, x, gx)
	})
	if err != nil {
		return nil, errors.Wrap(err, "building the series")
	}
	defer f.Close()
	noise := f.Builder().Noise()
	if len(noise) != d {
		return nil, errors.Errorf("the series registered %d probe inputs, want %d", len(noise), d)
	}
	for i, pr := range noise {
		v, ok := pr.Value.Data().([]float64)
		if !ok || len(v) != np*d {
			return nil, errors.Errorf("probe %s has shape %v, want (%d, %d) float64", pr.Name, pr.Value.Shape(), np, d)
		}
		for p := 0; p < np; p++ {
			for j := 0; j < d; j++ {
				v[p*d+j] = 0
			}
			v[p*d+i] = math.Sqrt(float64(d))
		}
	}
	out, err := f.Call(tensor.New(tensor.WithShape(np, d), tensor.WithBacking(append([]float64(nil), pts...))))
	if err != nil {
		return nil, errors.Wrap(err, "evaluating the series")
	}
	return append([]float64(nil), out.Data().([]float64)...), nil
}

// meanStd returns the sample mean and the sample standard deviation (n − 1
// in the denominator) of v, which has at least two elements.
func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)-1))
}

// parseInts parses comma-separated positive integers; an empty string is
// an empty list when allowEmpty is set.
func parseInts(s string, allowEmpty bool) ([]int, error) {
	out := []int{}
	if strings.TrimSpace(s) == "" && allowEmpty {
		return out, nil
	}
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, errors.Errorf("%q is not a comma-separated list of positive integers", s)
		}
		out = append(out, v)
	}
	return out, nil
}
