// Command svdcheck checks the spectral norms of a checkpoint's layers
// independently of package normalize: it builds every layer's operator as
// an explicit matrix from the definition of the layer (a dense y = x·W, or
// the zero-padded strided cross-correlation written out here, one basis
// vector at a time) and takes its largest singular value with gonum
// (SVD for dense layers, the largest eigenvalue of the smaller Gram matrix
// AᵀA or AAᵀ for convolutions). A 1×1 stride-1 convolution without padding
// applies the same O×C matrix at every pixel (the operator is I ⊗ W), so its
// norm is that of W.
//
// For every spectrally normalized layer it reports three weights:
//
//   - train: the raw weight as training applies it, W / max(1, σ̂/c) with
//     the σ̂ stored in the checkpoint;
//   - ema-old: the EMA weight normalized with the raw weight's power-
//     iteration vectors, W_ema / max(1, ⟨v, A_ema u⟩/c): what evaluation
//     applied before certification (absent without EMA);
//   - applied: the checkpoint's applied/ weight, used as it is.
//
// It prints, per kind, how many layers exceed c·(1 + tol) and the largest
// norm, then exits with status 1 if any applied weight exceeds c·(1+1e-6).
//
// Usage:
//
//	go run ./notebooks/cmd/svdcheck -checkpoint runs/8gaussians
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/oracle"
	"github.com/iresnet/iresnet/trainer"
	"github.com/iresnet/iresnet/trainer/checkpoint"
	"github.com/pkg/errors"
	"gonum.org/v1/gonum/mat"
	"gorgonia.org/tensor"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "svdcheck:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("svdcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ckpt := fs.String("checkpoint", "", "checkpoint file or run folder (required)")
	tol := fs.Float64("tol", 1e-4, "relative slack of the counts: a layer exceeds c when its norm is above c·(1 + tol)")
	verbose := fs.Bool("v", false, "print every layer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ckpt == "" {
		return errors.New("-checkpoint is required")
	}
	path, err := trainer.CheckpointPath(*ckpt)
	if err != nil {
		return err
	}
	t, err := trainer.Load(path)
	if err != nil {
		return err
	}
	defer t.Close()
	f, err := checkpoint.Load(path)
	if err != nil {
		return err
	}
	names := map[*tensor.Dense]string{}
	for _, p := range t.Builder().Params() {
		names[p.Value] = p.Name
	}
	type tally struct {
		n, over int
		max     float64
	}
	kinds := []string{"train", "ema-old", "applied"}
	tallies := map[string]*tally{}
	for _, k := range kinds {
		tallies[k] = &tally{}
	}
	add := func(kind string, v float64, c float64) {
		tl := tallies[kind]
		tl.n++
		tl.max = math.Max(tl.max, v)
		if v > c*(1+*tol) {
			tl.over++
		}
	}
	appliedOver := 0
	for bi, r := range t.Model().Residuals() {
		for _, l := range r.SpectralLayers() {
			name := names[l.Weight]
			c := l.Norm.Coeff()
			geom, isConv := l.Norm.Conv()
			norm := func(w []float64) float64 { return operatorNorm(w, l.Weight.Shape(), geom, isConv) }
			raw := floats(f.Tensors["model/"+name])
			train := norm(raw) / math.Max(1, l.Norm.Sigma()/c)
			add("train", train, c)
			line := fmt.Sprintf("block %2d %-6s train %.6f", bi, l.Name, train)
			if e, ok := f.Tensors["ema/"+name]; ok {
				ema := floats(e)
				// PyTorch's names: weight_v is the input-space vector.
				u, v := floats(f.Tensors["model/"+name+"_v"]), floats(f.Tensors["model/"+name+"_u"])
				est := bilinear(ema, l.Weight.Shape(), geom, isConv, u, v)
				old := norm(ema) / math.Max(1, est/c)
				add("ema-old", old, c)
				line += fmt.Sprintf("  ema-old %.6f", old)
			}
			if a, ok := f.Tensors["applied/"+name]; ok {
				ap := norm(floats(a))
				add("applied", ap, c)
				if ap > c*(1+1e-6) {
					appliedOver++
				}
				line += fmt.Sprintf("  applied %.8f", ap)
			}
			if *verbose {
				fmt.Fprintf(stdout, "%s  (c = %g)\n", line, c)
			}
		}
	}
	fmt.Fprintf(stdout, "%s: step %d\n", path, t.Steps())
	for _, k := range kinds {
		tl := tallies[k]
		if tl.n == 0 {
			continue
		}
		fmt.Fprintf(stdout, "%-8s %3d / %3d layers above c·(1+%g), largest %.6f\n", k, tl.over, tl.n, *tol, tl.max)
	}
	if tallies["applied"].n == 0 {
		return errors.New("the checkpoint has no applied/ weights (written before certification)")
	}
	if appliedOver > 0 {
		return errors.Errorf("%d applied weights exceed c·(1 + 1e-6)", appliedOver)
	}
	return nil
}

func floats(t *tensor.Dense) []float64 {
	d := t.Data().([]float32)
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v)
	}
	return out
}

// operatorNorm is the largest singular value of the layer's operator.
func operatorNorm(w []float64, shape tensor.Shape, g graph.ConvGeom, isConv bool) float64 {
	var m mat.Matrix
	switch {
	case !isConv:
		m = mat.NewDense(shape[0], shape[1], w)
	case g.KH == 1 && g.KW == 1 && g.Stride == 1 && g.Pad == 0:
		m = mat.NewDense(g.O, g.C, w)
	default:
		m = oracle.ConvMatrix(g, w)
	}
	n, err := oracle.Norm(m)
	if err != nil {
		panic(err)
	}
	return n
}

// bilinear returns ⟨v, A u⟩ for the layer's operator A with weight w: the
// σ̂ the graph computes from the power-iteration vectors u (input space)
// and v (output space).
func bilinear(w []float64, shape tensor.Shape, g graph.ConvGeom, isConv bool, u, v []float64) float64 {
	var a mat.Matrix
	if isConv {
		if g.KH == 1 && g.KW == 1 && g.Stride == 1 && g.Pad == 0 {
			// Per pixel: out[o, p] = Σ_c W[o, c]·in[c, p].
			hw := g.H * g.W
			s := 0.0
			for o := 0; o < g.O; o++ {
				for c := 0; c < g.C; c++ {
					for p := 0; p < hw; p++ {
						s += v[o*hw+p] * w[o*g.C+c] * u[c*hw+p]
					}
				}
			}
			return s
		}
		a = oracle.ConvMatrix(g, w)
	} else {
		a = mat.NewDense(shape[0], shape[1], w).T()
	}
	return mat.Inner(mat.NewVecDense(len(v), v), a, mat.NewVecDense(len(u), u))
}
