package coupling_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/blocks/blockstest"
	"github.com/iresnet/iresnet/blocks/coupling"
	"gorgonia.org/tensor"
)

// TestPartitions checks which entries each partition passes through
// unchanged (x_a, where y = x exactly) and which it transforms, for both
// settings of Flip, against the papers' definitions written out here:
// alternating features, the first ⌊d/2⌋ features, the checkerboard
// (i + j even), the first half of the channels.
func TestPartitions(t *testing.T) {
	cases := []struct {
		cfg   coupling.CouplingConfig
		shape []int
		// passes reports whether entry (c, i, j) of a row is in x_a
		// (c is the feature index for vectors).
		passes func(c, i, j int) bool
	}{
		{coupling.CouplingConfig{Partition: coupling.Alternate, Dim: 5}, []int{2, 5}, func(c, _, _ int) bool { return c%2 == 0 }},
		{coupling.CouplingConfig{Partition: coupling.Halves, Dim: 5}, []int{2, 5}, func(c, _, _ int) bool { return c < 2 }},
		{coupling.CouplingConfig{Partition: coupling.Checkerboard, Channels: 2, Height: 3, Width: 4}, []int{2, 2, 3, 4}, func(_, i, j int) bool { return (i+j)%2 == 0 }},
		{coupling.CouplingConfig{Partition: coupling.Channels, Channels: 4, Height: 2, Width: 2}, []int{2, 4, 2, 2}, func(c, _, _ int) bool { return c < 2 }},
	}
	for _, c := range cases {
		for _, flip := range []bool{false, true} {
			name := c.cfg.Partition.String()
			if flip {
				name += "-flip"
			}
			t.Run(name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(2, 2))
				cfg := c.cfg
				cfg.Flip, cfg.Dtype, cfg.HiddenChannels, cfg.Hidden = flip, tensor.Float64, 4, []int{4}
				l, err := coupling.NewCoupling(cfg, rng)
				if err != nil {
					t.Fatal(err)
				}
				x := gaussian(tensor.Float64, rng, c.shape)
				y, _, err := blockstest.ForwardValues(l, x)
				if err != nil {
					t.Fatal(err)
				}
				xd, yd := x.Data().([]float64), y.Data().([]float64)
				per := len(xd) / c.shape[0]
				h, w := 1, 1
				if len(c.shape) == 4 {
					h, w = c.shape[2], c.shape[3]
				}
				for k := range xd {
					e := k % per
					ch, i, j := e/(h*w), e%(h*w)/w, e%w
					want := c.passes(ch, i, j) != flip
					if got := yd[k] == xd[k]; got != want {
						t.Errorf("entry %d (c %d, i %d, j %d): passed through = %v, want %v (x %.6g, y %.6g)", k, ch, i, j, got, want, xd[k], yd[k])
					}
				}
			})
		}
	}
}

// TestShapeErrors checks that layers reject inputs of the wrong shape and
// invalid permutations instead of computing something.
func TestShapeErrors(t *testing.T) {
	bad := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(make([]float64, 6)))
	p := coupling.Permute{Perm: []int{0, 0, 1}}
	if _, err := p.Inverse(bad); err == nil || !strings.Contains(err.Error(), "not a permutation") {
		t.Errorf("Permute{0, 0, 1}: error %v", err)
	}
	if _, err := (coupling.Flatten{Shape: []int{1, 2, 2}}).Inverse(bad); err == nil {
		t.Error("Flatten accepted (2, 3) for rows of 4")
	}
	s, err := coupling.NewScaling(4, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Inverse(bad); err == nil {
		t.Error("Scaling over 4 features accepted (2, 3)")
	}
	l, err := coupling.NewCoupling(coupling.CouplingConfig{Dim: 4, Dtype: tensor.Float64}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Inverse(bad); err == nil {
		t.Error("a coupling over 4 features accepted (2, 3)")
	}
	if _, _, err := blockstest.ForwardValues(l, bad); err == nil {
		t.Error("a coupling over 4 features built a graph for (2, 3)")
	}
	ic, err := coupling.NewInvConv1x1(4, tensor.Float64, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.Inverse(bad); err == nil {
		t.Error("a 1×1 convolution over 4 channels accepted (2, 3)")
	}
}
