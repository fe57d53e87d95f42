package blocks_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestGaussianPrior checks the learned prior's log-density against the
// closed form, its gradients with respect to μ and log σ against their
// closed forms (Σₙ (z−μ)/σ² and Σₙ ((z−μ)²/σ² − 1)), and the mean and
// spread of its samples.
func TestGaussianPrior(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const n, d = 5, 3
	p, err := blocks.NewGaussianPrior(d, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	mu, ls := []float64{0.5, -1, 2}, []float64{0.1, -0.3, 0.7}
	for _, nt := range p.Tensors() {
		switch nt.Name {
		case "prior/mean":
			copy(nt.Value.Data().([]float64), mu)
		case "prior/logstd":
			copy(nt.Value.Data().([]float64), ls)
		}
	}
	z := randTensor(tensor.Float64, rng, n, d)
	zd := z.Data().([]float64)

	b, _ := graph.NewBuilder(tensor.Float64)
	zn, _ := b.Input("z", z)
	lp, err := p.LogProb(b, zn)
	if err != nil {
		t.Fatal(err)
	}
	total := G.Must(G.Sum(lp))
	one, _ := b.Scalar("one", 1)
	var wrt G.Nodes
	for _, prm := range b.Params() {
		wrt = append(wrt, prm.Node)
	}
	grads, err := graph.VJP(G.Nodes{total}, G.Nodes{one}, wrt)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	got := lp.Value().Data().([]float64)
	wantGrad := map[string][]float64{"prior/mean": make([]float64, d), "prior/logstd": make([]float64, d)}
	for i := 0; i < n; i++ {
		want := -0.5 * float64(d) * math.Log(2*math.Pi)
		for j := 0; j < d; j++ {
			u := (zd[i*d+j] - mu[j]) / math.Exp(ls[j])
			want += -0.5*u*u - ls[j]
			wantGrad["prior/mean"][j] += u / math.Exp(ls[j])
			wantGrad["prior/logstd"][j] += u*u - 1
		}
		if math.Abs(got[i]-want) > 1e-12 {
			t.Errorf("log p(z[%d]) = %.15g, want %.15g", i, got[i], want)
		}
	}
	for k, prm := range b.Params() {
		g := grads[k].Value().Data().([]float64)
		for j, w := range wantGrad[prm.Name] {
			if math.Abs(g[j]-w) > 1e-12 {
				t.Errorf("∂/∂%s[%d] = %.15g, want %.15g", prm.Name, j, g[j], w)
			}
		}
	}

	const draws = 20000
	s := p.Sample(rng, draws, 0.5).Data().([]float64)
	for j := 0; j < d; j++ {
		var sum, sq float64
		for i := 0; i < draws; i++ {
			sum += s[i*d+j]
			sq += s[i*d+j] * s[i*d+j]
		}
		mean := sum / draws
		sd := math.Sqrt(sq/draws - mean*mean)
		wantSD := 0.5 * math.Exp(ls[j])
		if math.Abs(mean-mu[j]) > 4*wantSD/math.Sqrt(draws) || math.Abs(sd/wantSD-1) > 0.03 {
			t.Errorf("dimension %d at T = 0.5: mean %.4f, sd %.4f; want %.4f, %.4f", j, mean, sd, mu[j], wantSD)
		}
	}
}
