package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// rerunGraph builds, on a fresh graph, a conv residual branch
// g(x) = conv1x1(elu(conv3x3(x, w1) + b), w2) and the gradient of
// f = Σ (vᵀJv − ½ vᵀJ²v) + Σ g(x)[:, 0]² (two VJPs, as the power series
// builds them, and a slice) with respect to w1, b and w2: every kind of op
// the training graph runs, in place (bias, activation, cotangent sums) and
// not, and an accumulator (the slice's derivative); and matrix products of
// p (4 × 3), q (3 × 5) and r (3) and their gradients with respect to p, q.
func rerunGraph(t *testing.T, x, v, w1, b, w2, p, q, r *tensor.Dense) (outs G.Nodes) {
	t.Helper()
	g := G.NewGraph()
	node := func(name string, d *tensor.Dense) *G.Node {
		return G.NewTensor(g, G.Float64, d.Dims(), G.WithShape(d.Shape()...), G.WithName(name), G.WithValue(d))
	}
	xn, vn, w1n, bn, w2n := node("x", x), node("v", v), node("w1", w1), node("b", b), node("w2", w2)
	h := G.Must(Conv2d(xn, w1n, 1, 1))
	h = G.Must(AddBias(h, bn))
	h = G.Must(Activate(ELU, h))
	gx := G.Must(Conv2d(h, w2n, 1, 0))
	vj, err := VJP(G.Nodes{gx}, G.Nodes{vn}, G.Nodes{xn})
	if err != nil {
		t.Fatal(err)
	}
	vjj, err := VJP(G.Nodes{gx}, G.Nodes{vj[0]}, G.Nodes{xn})
	if err != nil {
		t.Fatal(err)
	}
	t1 := G.Must(G.Sum(G.Must(G.HadamardProd(vj[0], vn))))
	t2 := G.Must(G.Sum(G.Must(G.HadamardProd(vjj[0], vn))))
	half := G.NewScalar(g, G.Float64, G.WithName("half"), G.WithValue(0.5))
	f := G.Must(G.Sub(t1, G.Must(G.Mul(half, t2))))
	// A slice of the output, whose derivative (gorgonia's sliceIncrOp)
	// adds into a buffer that must start each run at zero.
	t3 := G.Must(G.Sum(G.Must(G.Square(G.Must(G.Slice(gx, nil, G.S(0, 1)))))))
	f = G.Must(G.Add(f, t3))
	// Matrix products (gorgonia's linAlgBinOp, run into a register that an
	// Alloc instruction fills and a Runner keeps): matrix × matrix, matrix ×
	// vector and an outer product, and in the gradient their transposed
	// forms.
	pn, qn, rn := node("p", p), node("q", q), node("r", r)
	mm := G.Must(G.Mul(pn, qn))
	mv := G.Must(G.Mul(pn, rn))
	op := G.Must(G.OuterProd(rn, rn))
	for _, term := range []*G.Node{mm, mv, op} {
		f = G.Must(G.Add(f, G.Must(G.Sum(G.Must(G.Square(term))))))
	}
	one := G.NewScalar(g, G.Float64, G.WithName("one"), G.WithValue(1.0))
	grads, err := VJP(G.Nodes{f}, G.Nodes{one}, G.Nodes{w1n, bn, w2n, pn, qn})
	if err != nil {
		t.Fatal(err)
	}
	return append(G.Nodes{f, gx, vjj[0], mm, mv, op}, grads...)
}

// TestRerunMatchesReset runs the same graph, built twice, on changing
// inputs with a Runner (registers kept) and with Reset then RunAll (fresh
// outputs every run) and requires bit-identical results every run: an op
// handed its own previous output must overwrite it, never accumulate into
// it or read it. It also checks that the Runner does keep the registers: the
// outputs of later runs are the tensors of the first.
func TestRerunMatchesReset(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const n, c, hid = 3, 2, 5
	shapes := [][]int{{n, c, 6, 6}, {n, c, 6, 6}, {hid, c, 3, 3}, {hid}, {c, hid, 1, 1}, {4, 3}, {3, 5}, {3}}
	mk := func() []*tensor.Dense {
		out := make([]*tensor.Dense, len(shapes))
		for i, s := range shapes {
			out[i] = tensor.New(tensor.WithShape(s...), tensor.Of(tensor.Float64))
		}
		return out
	}
	inA, inB := mk(), mk()
	outA := rerunGraph(t, inA[0], inA[1], inA[2], inA[3], inA[4], inA[5], inA[6], inA[7])
	outB := rerunGraph(t, inB[0], inB[1], inB[2], inB[3], inB[4], inB[5], inB[6], inB[7])
	mA := G.NewTapeMachine(outA[0].Graph())
	mB := G.NewTapeMachine(outB[0].Graph())
	defer mA.Close()
	defer mB.Close()
	if registers(mA) == nil {
		t.Fatal("a Runner cannot reach the tape machine's registers: it would reset them like Reset")
	}
	rA := NewRunner(mA)
	var first []*tensor.Dense
	for run := range 4 {
		for i := range inA {
			a, b := inA[i].Data().([]float64), inB[i].Data().([]float64)
			for j := range a {
				a[j] = 0.5 * rng.NormFloat64()
				b[j] = a[j]
			}
		}
		if err := rA.Run(); err != nil {
			t.Fatal(err)
		}
		mB.Reset()
		if err := mB.RunAll(); err != nil {
			t.Fatal(err)
		}
		for i := range outA {
			a, b := outA[i].Value(), outB[i].Value()
			var ad, bd []float64
			switch av := a.(type) {
			case *tensor.Dense:
				ad, bd = av.Data().([]float64), b.(*tensor.Dense).Data().([]float64)
				if run == 0 {
					first = append(first, av)
				} else if kept := i >= 3 && i != 7 && i != 9; kept && av != first[i] { // the products, the filter gradients, ∂f/∂q
					t.Errorf("run %d: output %d (%v) is a new tensor: the registers were not kept", run, i, outA[i].Name())
				}
			default:
				ad, bd = []float64{a.Data().(float64)}, []float64{b.Data().(float64)}
				if run == 0 {
					first = append(first, nil)
				}
			}
			for j := range ad {
				if ad[j] != bd[j] {
					t.Fatalf("run %d: output %d (%v) element %d: Runner %v, Reset %v", run, i, outA[i].Name(), j, ad[j], bd[j])
				}
			}
		}
	}
}

// countingVM records the calls a Runner makes on a VM that is not a tape
// machine.
type countingVM struct{ resets, runs int }

func (m *countingVM) RunAll() error { m.runs++; return nil }
func (m *countingVM) Reset()        { m.resets++ }
func (m *countingVM) Close() error  { return nil }

// TestRerunOtherVM: a Runner resets and runs a VM that is not a tape machine.
func TestRerunOtherVM(t *testing.T) {
	m := &countingVM{}
	if registers(m) != nil {
		t.Fatal("registers found in a VM that is not a tape machine")
	}
	r := NewRunner(m)
	for range 2 {
		if err := r.Run(); err != nil {
			t.Fatal(err)
		}
	}
	if m.resets != 2 || m.runs != 2 {
		t.Fatalf("2 reruns: %d resets and %d runs", m.resets, m.runs)
	}
}

// TestValueBytes counts every node's value once.
func TestValueBytes(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, G.Float32, G.WithShape(3, 4), G.WithName("x"))
	y := G.NewMatrix(g, G.Float32, G.WithShape(3, 4), G.WithName("y"))
	s := G.Must(G.Sum(G.Must(G.Add(x, y))))
	_ = s
	if got, want := ValueBytes(g), int64(4*(12+12+12+1)); got != want {
		t.Fatalf("ValueBytes = %d, want %d (two 3×4 inputs, their sum, a scalar)", got, want)
	}
}

// TestRunnersShareAGraph runs two tape machines compiled over one graph,
// each through its own Runner, in turn: machine A computes Q = LipSwish(P)
// for the product P = a·b (gorgonia computes Q in place in P's register,
// so Q's value is the product's tensor), machine B computes P and its sum.
// Each run of B must leave A's output as A left it, and each machine's
// results must match a fresh Reset-and-run: a Runner that put back the
// tensor bound to P's node at the time (A's, after A ran) would make B
// write its product into A's output.
func TestRunnersShareAGraph(t *testing.T) {
	g := G.NewGraph()
	a := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float64{1, 2, 3, 4, 5, 6}))
	b := tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float64{.1, .2, .3, .4, .5, .6}))
	an := G.NewMatrix(g, G.Float64, G.WithShape(2, 3), G.WithName("a"), G.WithValue(a))
	bn := G.NewMatrix(g, G.Float64, G.WithShape(3, 2), G.WithName("b"), G.WithValue(b))
	p := G.Must(G.Mul(an, bn))
	q := G.Must(Activate(LipSwish, p))
	s := G.Must(G.Sum(p))
	rA := NewRunner(G.NewTapeMachine(g.ExactSubgraphRoots(q)))
	rB := NewRunner(G.NewTapeMachine(g.ExactSubgraphRoots(p, s)))
	defer rA.Close()
	defer rB.Close()
	if len(rA.prog.products) == 0 || len(rB.prog.products) == 0 {
		t.Fatal("no matrix product found in the machines' programs: the test does not exercise what it is about")
	}
	// The expected values, by hand: P = a·b, Q = LipSwish(P) = P·σ(βP)/1.1
	// with β = 1 (LipSwish's initial β), and ΣP.
	var wantP [4]float64
	for i := range 2 {
		for j := range 2 {
			for k := range 3 {
				wantP[2*i+j] += a.Data().([]float64)[3*i+k] * b.Data().([]float64)[2*k+j]
			}
		}
	}
	sumP := wantP[0] + wantP[1] + wantP[2] + wantP[3]
	for run := range 3 {
		if err := rA.Run(); err != nil {
			t.Fatal(err)
		}
		qA := q.Value().Data().([]float64)
		if err := rB.Run(); err != nil {
			t.Fatal(err)
		}
		for i, v := range wantP {
			want := v / (1 + math.Exp(-v)) / 1.1
			if math.Abs(qA[i]-want) > 1e-12 {
				t.Fatalf("run %d: after B ran, A's output LipSwish(P)[%d] = %v, want %v", run, i, qA[i], want)
			}
		}
		if got := s.Value().Data().(float64); math.Abs(got-sumP) > 1e-12 {
			t.Fatalf("run %d: B's ΣP = %v, want %v", run, got, sumP)
		}
	}
}
