package coupling_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/coupling"
	"gorgonia.org/tensor"
)

// actNormTol bounds the per-channel mean and the deviation of the spread
// from 1 of an ActNorm's output on the batch it was initialized from:
// float64 rounding plus ActNorm's 1e-6 added to the spread.
const actNormTol = 1e-5

// TestGlowInitFromBatch checks MultiScale.InitFromBatch: after it, every
// ActNorm of a two-level Glow, fed the batch as it arrives there (through
// the blocks before it and the first level's split, pushed here block by
// block), outputs zero mean and unit spread in every channel.
func TestGlowInitFromBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	glow, err := coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Levels: 2, Steps: 2, HiddenChannels: 4, Dtype: tensor.Float64}, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, nt := range glow.Tensors() { // make the couplings non-trivial
		if nt.Learnable {
			addNoise(nt.Value, 0.2, rng)
		}
	}
	x := gaussian(tensor.Float64, rng, []int{8, 1, 4, 4})
	d := x.Data().([]float64)
	for i := range d {
		d[i] = 3*d[i] + 1 // far from normalized
	}
	if err := glow.InitFromBatch(x); err != nil {
		t.Fatal(err)
	}
	h, seen := x, 0
	for s, sc := range glow.Scales() {
		for i, bl := range sc.Blocks() {
			if h, err = blocks.Apply(bl, h); err != nil {
				t.Fatal(err)
			}
			if _, ok := bl.(*blocks.ActNorm); !ok {
				continue
			}
			seen++
			for c, st := range channelStats(h) {
				if math.Abs(st[0]) > actNormTol || math.Abs(st[1]-1) > actNormTol {
					t.Errorf("scale %d block %d channel %d: mean %.3g, spread %.6g after init, want 0 and 1", s, i, c, st[0], st[1])
				}
			}
		}
		if s == 0 {
			if _, h, err = blocks.SplitTensor(h); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := 4; seen != want {
		t.Errorf("found %d ActNorm layers, want %d", seen, want)
	}
	if got := len(glow.ActNorms()); got != seen {
		t.Errorf("ActNorms() lists %d layers, the scales hold %d", got, seen)
	}
}

// channelStats returns the mean and spread (population standard
// deviation) of every channel of x (N, C, H, W).
func channelStats(x *tensor.Dense) [][2]float64 {
	s := x.Shape()
	n, c, inner := s[0], s[1], s[2]*s[3]
	d := x.Data().([]float64)
	out := make([][2]float64, c)
	for ch := range out {
		var sum, sq float64
		for r := 0; r < n; r++ {
			for _, v := range d[(r*c+ch)*inner : (r*c+ch+1)*inner] {
				sum += v
				sq += v * v
			}
		}
		m := sum / float64(n*inner)
		out[ch] = [2]float64{m, math.Sqrt(sq/float64(n*inner) - m*m)}
	}
	return out
}
