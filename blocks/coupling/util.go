package coupling

import (
	"fmt"
	"math"

	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// checkDtype accepts float32 and float64; the zero dtype means float32.
func checkDtype(dt tensor.Dtype) (tensor.Dtype, error) {
	if dt == (tensor.Dtype{}) {
		return tensor.Float32, nil
	}
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return dt, errors.Errorf("coupling: dtype %v not supported (want float32 or float64)", dt)
	}
	return dt, nil
}

func fanIn(n int) float64 { return 1 / math.Sqrt(float64(n)) }

// zeroLogDet returns an input node of zeros with shape (N), the log-det of
// a volume-preserving map.
func zeroLogDet(b *graph.Builder, n int) (*G.Node, error) {
	return b.Input("zero_logdet", tensor.New(tensor.Of(b.Dtype()), tensor.WithShape(n)))
}

// constLogDet returns inner·Σ_c v_c as a node of shape (N) for a
// per-channel vector v (C) and an input of shape (N, C, ...) with inner
// entries per channel: the log-det of a per-channel scaling.
func constLogDet(b *graph.Builder, v *G.Node, shape tensor.Shape) (*G.Node, error) {
	ones := make([]int, shape.Dims())
	ones[0], ones[1] = shape[0], shape[1]
	for i := 2; i < len(ones); i++ {
		ones[i] = 1
	}
	vb, err := graph.BroadcastChannels(v, tensor.Shape(ones))
	if err != nil {
		return nil, err
	}
	ld, err := graph.SumPerSample(vb)
	if err != nil {
		return nil, err
	}
	if inner := shape.TotalSize() / (shape[0] * shape[1]); inner > 1 {
		k, err := b.Scalar("spatial", float64(inner))
		if err != nil {
			return nil, err
		}
		if ld, err = G.Mul(ld, k); err != nil {
			return nil, errors.Wrap(err, "coupling: scaling the log-det")
		}
	}
	return ld, nil
}

// inverter evaluates an inverse built as a graph, compiled once per input
// shape. Parameters are bound to the model's tensors, so later updates are
// seen without recompiling.
type inverter struct {
	fns map[string]*graph.Func
}

func (iv *inverter) run(dt tensor.Dtype, y *tensor.Dense, build func(b *graph.Builder, y *G.Node) (*G.Node, error)) (*tensor.Dense, error) {
	if y.Dtype() != dt {
		return nil, errors.Errorf("coupling: inverse of a %v layer got %v input", dt, y.Dtype())
	}
	key := fmt.Sprint(y.Shape())
	f, ok := iv.fns[key]
	if !ok {
		var err error
		if f, err = graph.NewFunc(dt, y.Shape(), build); err != nil {
			return nil, errors.Wrap(err, "coupling: compiling the inverse")
		}
		if iv.fns == nil {
			iv.fns = map[string]*graph.Func{}
		}
		iv.fns[key] = f
	}
	return f.Call(y)
}

// perSample returns the shape of one row of s.
func perSample(s tensor.Shape) []int { return append([]int(nil), s[1:]...) }

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
