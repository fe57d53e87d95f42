package graph

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestAddBias checks AddBias's values against a plain loop, and its
// vector-Jacobian product against the definition (the cotangent itself for
// x, its per-channel sums for b), for dense (N, C) and image (N, C, H, W)
// shapes in both element types, with a batch large enough to be split over
// the cores.
func TestAddBias(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, shape := range []tensor.Shape{{5, 3}, {700, 64}, {3, 4, 5, 6}, {64, 8, 7, 7}} {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			n, c := shape[0], shape[1]
			inner := shape.TotalSize() / (n * c)
			xs, bs, ws := randSlice(rng, shape.TotalSize()), randSlice(rng, c), randSlice(rng, shape.TotalSize())
			g := G.NewGraph()
			x := G.NewTensor(g, dt, shape.Dims(), G.WithShape(shape...), G.WithName("x"), G.WithValue(denseShaped(dt, xs, shape)))
			b := G.NewVector(g, dt, G.WithShape(c), G.WithName("b"), G.WithValue(denseShaped(dt, bs, tensor.Shape{c})))
			w := G.NewTensor(g, dt, shape.Dims(), G.WithShape(shape...), G.WithName("w"), G.WithValue(denseShaped(dt, ws, shape)))
			y, err := AddBias(x, b)
			if err != nil {
				t.Fatal(err)
			}
			grads, err := VJP(G.Nodes{y}, G.Nodes{w}, G.Nodes{x, b})
			if err != nil {
				t.Fatal(err)
			}
			m := G.NewTapeMachine(g)
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			tol := 1e-15
			if dt == tensor.Float32 {
				tol = 1e-5
			}
			round := func(v float64) float64 {
				if dt == tensor.Float32 {
					return float64(float32(v))
				}
				return v
			}
			got, dx, db := asFloat64(y.Value().(*tensor.Dense)), asFloat64(grads[0].Value().(*tensor.Dense)), asFloat64(grads[1].Value().(*tensor.Dense))
			wantDB := make([]float64, c)
			for i := range xs {
				ch := i / inner % c
				if want := round(xs[i]) + round(bs[ch]); math.Abs(got[i]-want) > tol*math.Max(1, math.Abs(want)) {
					t.Fatalf("%v %v: y[%d] = %g, want %g", dt, shape, i, got[i], want)
				}
				if dx[i] != round(ws[i]) {
					t.Fatalf("%v %v: dx[%d] = %g, want %g", dt, shape, i, dx[i], round(ws[i]))
				}
				wantDB[ch] += round(ws[i])
			}
			for ch, want := range wantDB {
				if math.Abs(db[ch]-want) > tol*float64(n*inner)*math.Max(1, math.Abs(want)) {
					t.Fatalf("%v %v: db[%d] = %g, want %g", dt, shape, ch, db[ch], want)
				}
			}
			m.Close()
		}
	}
}

func denseShaped(dt tensor.Dtype, v []float64, shape tensor.Shape) *tensor.Dense {
	if dt == tensor.Float32 {
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(f32(v)))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float64(nil), v...)))
}

// TestChannelKernelRows checks BroadcastChannels and SumChannels on dense
// (N, C) tensors, which take the kernel's whole-row path.
func TestChannelKernelRows(t *testing.T) {
	const n, c = 4, 3
	v := []float64{1, 2, 3}
	out := make([]float64, n*c)
	channelKernel(false, n, c, 1, v, out)
	sum := make([]float64, c)
	channelKernel(true, n, c, 1, out, sum)
	for i, x := range out {
		if x != v[i%c] {
			t.Fatalf("broadcast[%d] = %g, want %g", i, x, v[i%c])
		}
	}
	for ch, s := range sum {
		if s != n*v[ch] {
			t.Fatalf("sum[%d] = %g, want %g", ch, s, n*v[ch])
		}
	}
}

// TestChannelKernelLarge checks broadcast and sum on (N, C, inner) tensors
// large enough to be split over the cores, against loops written out here:
// a channel a worker skipped or summed twice, or a batch image it left out,
// shows.
func TestChannelKernelLarge(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][3]int{{8, 5, 1000}, {3, 40, 170}, {2, 1, 9000}} {
		n, c, inner := s[0], s[1], s[2]
		if n*c*inner < actChunk {
			t.Fatalf("%v takes the serial path", s)
		}
		v := randSlice(rng, c)
		out := make([]float64, n*c*inner)
		channelKernel(false, n, c, inner, v, out)
		x := randSlice(rng, n*c*inner)
		sum := make([]float64, c)
		channelKernel(true, n, c, inner, x, sum)
		for b := 0; b < n; b++ {
			for ch := 0; ch < c; ch++ {
				for i := 0; i < inner; i++ {
					if got := out[(b*c+ch)*inner+i]; got != v[ch] {
						t.Fatalf("%v: broadcast[%d, %d, %d] = %g, want %g", s, b, ch, i, got, v[ch])
					}
				}
			}
		}
		for ch := 0; ch < c; ch++ {
			want := 0.0
			for b := 0; b < n; b++ {
				for i := 0; i < inner; i++ {
					want += x[(b*c+ch)*inner+i]
				}
			}
			if math.Abs(sum[ch]-want) > 1e-10 {
				t.Errorf("%v: sum[%d] = %.15g, want %.15g", s, ch, sum[ch], want)
			}
		}
	}
}
