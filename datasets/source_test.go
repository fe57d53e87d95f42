package datasets_test

import (
	"strings"
	"testing"

	"github.com/iresnet/iresnet/datasets"
)

func TestSourceConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  datasets.SourceConfig
		want string // "" for valid
	}{
		{"toy", datasets.SourceConfig{Name: "8gaussians"}, ""},
		{"mnist padded", datasets.SourceConfig{Name: "mnist", Pad: 2, LogitAlpha: 1e-6}, ""},
		{"unknown", datasets.SourceConfig{Name: "9gaussians"}, "unknown data"},
		{"toy with padding", datasets.SourceConfig{Name: "2moons", Pad: 1}, "apply to image data"},
		{"toy with a folder", datasets.SourceConfig{Name: "2moons", Dir: "/x"}, "apply to image data"},
		{"negative padding", datasets.SourceConfig{Name: "mnist", Pad: -1}, "padding"},
		{"huge padding", datasets.SourceConfig{Name: "mnist", Pad: 1000}, "padding"},
		{"alpha 0.5", datasets.SourceConfig{Name: "cifar10", LogitAlpha: 0.5}, "logit"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if c.want == "" && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

// TestOpenRefusesMismatchedSplits writes a training split of 4×4 images
// and a test split of 2×8 images (the same pixel count), which a model
// would otherwise read as 4×4.
func TestOpenRefusesMismatchedSplits(t *testing.T) {
	dir := t.TempDir()
	write := func(split datasets.Split, h, w int) {
		im := &datasets.Images{N: 3, C: 1, H: h, W: w, Pixels: make([]uint8, 3*h*w), Labels: []int{0, 1, 2}, Classes: 10}
		if err := datasets.WriteMNIST(dir, split, im, false); err != nil {
			t.Fatal(err)
		}
	}
	write(datasets.Train, 4, 4)
	write(datasets.Test, 2, 8)
	_, err := datasets.SourceConfig{Name: "mnist", Dir: dir}.Open(1, 3)
	if err == nil || !strings.Contains(err.Error(), "mnist in "+dir+": test images are 1×2×8, training images 1×4×4") {
		t.Fatalf("Open = %v, want an error naming both shapes", err)
	}
	write(datasets.Test, 4, 4)
	src, err := datasets.SourceConfig{Name: "mnist", Dir: dir, Pad: 1}.Open(1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := src.Shape(); len(got) != 3 || got[0] != 1 || got[1] != 6 || got[2] != 6 {
		t.Errorf("padded shape %v, want [1 6 6]", got)
	}
	if h := src.HeldOut(); len(h.Points) != 3*36 || len(h.Labels) != 3 {
		t.Errorf("held-out set has %d values and %d labels, want 108 and 3", len(h.Points), len(h.Labels))
	}
}
