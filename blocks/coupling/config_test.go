package coupling_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/blocks/coupling"
	"gorgonia.org/tensor"
)

// TestInvalidConfigs checks that every out-of-range field is rejected by
// Validate and by the constructor, with a message naming it.
func TestInvalidConfigs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		name string
		err  func() (error, error) // Validate's and the constructor's
		want string
	}{
		{"coupling dim", cfgErr(coupling.CouplingConfig{Partition: coupling.Alternate, Dim: 1}, rng), "dim ≥ 2"},
		{"coupling kind", cfgErr(coupling.CouplingConfig{Kind: 7, Dim: 4}, rng), "unknown kind"},
		{"coupling partition", cfgErr(coupling.CouplingConfig{Partition: -1, Dim: 4}, rng), "unknown partition"},
		{"coupling scale", cfgErr(coupling.CouplingConfig{Scale: 9, Dim: 4}, rng), "unknown scale"},
		{"coupling odd channels", cfgErr(coupling.CouplingConfig{Partition: coupling.Channels, Channels: 3, Height: 2, Width: 2}, rng), "even channel count"},
		{"coupling image size", cfgErr(coupling.CouplingConfig{Partition: coupling.Checkerboard, Channels: 1, Height: 0, Width: 2}, rng), "must be positive"},
		{"coupling 1×1 checkerboard", cfgErr(coupling.CouplingConfig{Partition: coupling.Checkerboard, Channels: 2, Height: 1, Width: 1}, rng), "H·W ≥ 2"},
		{"coupling hidden", cfgErr(coupling.CouplingConfig{Dim: 4, Hidden: []int{8, 0}}, rng), "hidden width 1 is 0"},
		{"coupling res blocks", cfgErr(coupling.CouplingConfig{Partition: coupling.Checkerboard, Channels: 1, Height: 2, Width: 2, ResBlocks: 65}, rng), "res_blocks = 65"},
		{"coupling dtype", cfgErr(coupling.CouplingConfig{Dim: 4, Dtype: tensor.Int}, rng), "dtype"},
		{"nice dim", pair(coupling.NICEConfig{Dim: 1}.Validate, func() error { _, err := coupling.NewNICE(coupling.NICEConfig{Dim: 1}, rng); return err }), "dim ≥ 2"},
		{"nice layers", pair(coupling.NICEConfig{Dim: 4, Layers: -1}.Validate, func() error { _, err := coupling.NewNICE(coupling.NICEConfig{Dim: 4, Layers: -1}, rng); return err }), "layers = -1"},
		{"nice image dim", pair(coupling.NICEConfig{Dim: 5, Channels: 1, Height: 2, Width: 2}.Validate, func() error {
			_, err := coupling.NewNICE(coupling.NICEConfig{Dim: 5, Channels: 1, Height: 2, Width: 2}, rng)
			return err
		}), "disagrees"},
		{"realnvp odd", pair(coupling.RealNVPConfig{Channels: 1, Height: 28, Width: 28, Scales: 4}.Validate, func() error {
			_, err := coupling.NewRealNVP(coupling.RealNVPConfig{Channels: 1, Height: 28, Width: 28, Scales: 4}, rng)
			return err
		}), "odd size"},
		{"realnvp res blocks", pair(coupling.RealNVPConfig{Channels: 1, Height: 4, Width: 4, ResBlocks: -2}.Validate, func() error {
			_, err := coupling.NewRealNVP(coupling.RealNVPConfig{Channels: 1, Height: 4, Width: 4, ResBlocks: -2}, rng)
			return err
		}), "res_blocks = -2"},
		{"dense realnvp dim", pair(coupling.DenseRealNVPConfig{Dim: 0}.Validate, func() error { _, err := coupling.NewDenseRealNVP(coupling.DenseRealNVPConfig{}, rng); return err }), "dim ≥ 2"},
		{"glow levels", pair(coupling.GlowConfig{Channels: 1, Height: 28, Width: 28, Levels: 3}.Validate, func() error {
			_, err := coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 28, Width: 28, Levels: 3}, rng)
			return err
		}), "odd size"},
		{"glow mixing", pair(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Mixing: 5}.Validate, func() error {
			_, err := coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Mixing: 5}, rng)
			return err
		}), "unknown Glow mixing"},
		{"glow level_hidden count", pair(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Levels: 2, LevelHidden: []int{8}}.Validate, func() error {
			_, err := coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Levels: 2, LevelHidden: []int{8}}, rng)
			return err
		}), "1 widths for 2 levels"},
		{"glow level_hidden width", pair(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Levels: 2, LevelHidden: []int{8, 0}}.Validate, func() error {
			_, err := coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Levels: 2, LevelHidden: []int{8, 0}}, rng)
			return err
		}), "level_hidden[1] = 0"},
		{"glow steps", pair(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Steps: 2000}.Validate, func() error {
			_, err := coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Steps: 2000}, rng)
			return err
		}), "steps = 2000"},
		{"dense glow hidden", pair(coupling.DenseGlowConfig{Dim: 2, Hidden: []int{-1}}.Validate, func() error {
			_, err := coupling.NewDenseGlow(coupling.DenseGlowConfig{Dim: 2, Hidden: []int{-1}}, rng)
			return err
		}), "hidden width 0 is -1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, ec := c.err()
			for i, err := range []error{ev, ec} {
				what := [...]string{"Validate", "constructor"}[i]
				if err == nil {
					t.Errorf("%s accepted the config", what)
				} else if !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s error %q does not mention %q", what, err, c.want)
				}
			}
		})
	}
	// The defaults themselves validate.
	for _, err := range []error{
		coupling.CouplingConfig{Dim: 2}.Validate(),
		coupling.NICEConfig{Dim: 2}.Validate(),
		coupling.NICEMNIST().Validate(),
		coupling.RealNVPConfig{Channels: 1, Height: 28, Width: 28}.Validate(),
		coupling.DenseRealNVPConfig{Dim: 2}.Validate(),
		coupling.GlowConfig{Channels: 1, Height: 28, Width: 28}.Validate(),
		coupling.GlowPaper().Validate(),
		coupling.DenseGlowConfig{Dim: 2}.Validate(),
	} {
		if err != nil {
			t.Errorf("a default configuration failed: %v", err)
		}
	}
}

func cfgErr(c coupling.CouplingConfig, rng *rand.Rand) func() (error, error) {
	return func() (error, error) {
		_, err := coupling.NewCoupling(c, rng)
		return c.Validate(), err
	}
}

func pair(validate, construct func() error) func() (error, error) {
	return func() (error, error) { return validate(), construct() }
}

// TestConfigJSON checks that configurations survive JSON with snake_case
// keys and enums written as names.
func TestConfigJSON(t *testing.T) {
	in := coupling.GlowConfig{Channels: 1, Height: 28, Width: 28, Levels: 2, Steps: 3, HiddenChannels: 16, LevelHidden: []int{8, 16},
		Coupling: coupling.Additive, Mixing: coupling.Reverse, Scale: coupling.ScaleSigmoid, NoSplit: true}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"hidden_channels":16`, `"coupling":"additive"`, `"mixing":"reverse"`, `"scale":"sigmoid"`, `"no_split":true`, `"level_hidden":[8,16]`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON %s lacks %s", b, key)
		}
	}
	var out coupling.GlowConfig
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip gave %+v, want %+v", out, in)
	}
	if err := json.Unmarshal([]byte(`{"mixing":"shuffle"}`), &out); err == nil || !strings.Contains(err.Error(), "unknown mixing") {
		t.Errorf("unknown mixing name: error %v", err)
	}
	rn := coupling.RealNVPConfig{Channels: 3, Height: 32, Width: 32, Scales: 3, ResBlocks: 8, NoSplit: true}
	if b, err = json.Marshal(rn); err != nil {
		t.Fatal(err)
	}
	var rn2 coupling.RealNVPConfig
	if err := json.Unmarshal(b, &rn2); err != nil || !reflect.DeepEqual(rn, rn2) {
		t.Errorf("Real NVP config round trip: %+v, %v (JSON %s)", rn2, err, b)
	}
}
