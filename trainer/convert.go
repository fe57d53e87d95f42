package trainer

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/trainer/checkpoint"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// Formats of the checkpoints of earlier versions, which ConvertV1 reads.
const (
	formatV1  = "iresnet-go/density/v1"
	formatV11 = "iresnet-go/density/v1.1" // v1 with applied/ weights and a checksum
)

// ConvertV1 reads a checkpoint written by an earlier version of this
// library (formats iresnet-go/density/v1 and v1.1: a toy or image
// configuration in one structure, blocks numbered with the squeezes and
// ActNorms, w/u and w/v for the power-iteration vectors, σ̂ and the ActNorm
// flags as lists in the metadata) and writes the same run as a CheckpointFormat
// checkpoint at dst: the same weights, power-iteration state, optimizer
// moments, EMA, step and random state, so the converted run evaluates,
// samples and resumes as the original would. Every tensor of the old file
// must find its place in the new one, and the result passes every check
// Load makes. A v1 file (without applied/ weights) gets them certified
// anew. opts are as for Load.
func ConvertV1(src, dst string, opts ...Option) error {
	f, err := checkpoint.Load(src)
	if err != nil {
		return err
	}
	var format string
	if err := checkpoint.GetJSON(f.Metadata, "format", &format); err != nil {
		return errors.Wrapf(err, "trainer: %s", src)
	}
	switch format {
	case formatV11:
		if err := checkpoint.Verify(f); err != nil {
			return errors.Wrapf(err, "trainer: %s", src)
		}
	case formatV1: // written before checksums
	case CheckpointFormat:
		return errors.Errorf("trainer: %s is already in format %s", src, CheckpointFormat)
	default:
		return errors.Errorf("trainer: %s has format %q, not one of the earlier formats %q, %q", src, format, formatV1, formatV11)
	}
	cfg, err := configV1(f.Metadata["config"])
	if err != nil {
		return errors.Wrapf(err, "trainer: the configuration of %s", src)
	}
	t, err := construct(cfg, false, buildOptions(opts))
	if err != nil {
		return errors.Wrapf(err, "trainer: rebuilding the model of %s", src)
	}
	defer t.Close()
	g, applied, err := t.fromV1(f)
	if err != nil {
		return errors.Wrapf(err, "trainer: %s", src)
	}
	if err := t.restore(g); err != nil {
		return errors.Wrapf(err, "trainer: the converted %s", src)
	}
	if !applied { // v1 kept no certified weights: Save certifies them
		t.applied, t.restored, t.cert = nil, false, Certification{}
	}
	return t.Save(dst)
}

// fromV1 renames the tensors of a v1 file to this model's names and turns
// its positional metadata into tensors. applied reports whether the file
// holds certified applied/ weights (v1.1); without them, g holds
// placeholders that restore accepts and the caller discards.
func (t *Trainer) fromV1(f checkpoint.File) (g checkpoint.File, applied bool, err error) {
	g = checkpoint.File{Tensors: map[string]*tensor.Dense{}, Metadata: map[string]string{}}
	for _, k := range []string{"step", "optim_t", "rng"} {
		v, ok := f.Metadata[k]
		if !ok {
			return g, false, errors.Errorf("metadata %q is missing", k)
		}
		g.Metadata[k] = v
	}
	var sigmas [][]float64
	var inits []bool
	if err := checkpoint.GetJSON(f.Metadata, "sigmas", &sigmas); err != nil {
		return g, false, err
	}
	if err := checkpoint.GetJSON(f.Metadata, "actnorm_initialized", &inits); err != nil {
		return g, false, err
	}
	var flat []float64
	for _, s := range sigmas {
		flat = append(flat, s...)
	}
	rename, err := t.v1Namer()
	if err != nil {
		return g, false, err
	}
	used := map[string]bool{}
	take := func(newName, oldName string) error {
		v, ok := f.Tensors[oldName]
		if !ok {
			return errors.Errorf("tensor %q (now %q) is missing", oldName, newName)
		}
		used[oldName] = true
		g.Tensors[newName] = v
		return nil
	}
	nSigma, nInit := 0, 0
	for _, nt := range t.tensors() {
		name := prefixModel + nt.Name
		switch {
		case strings.HasSuffix(nt.Name, "/weight_sigma"):
			if nSigma >= len(flat) {
				return g, false, errors.Errorf("%d σ̂ values for more spectrally normalized layers", len(flat))
			}
			g.Tensors[name] = tensor.New(tensor.WithShape(nt.Value.Shape()...), tensor.WithBacking([]float64{flat[nSigma]}))
			nSigma++
		case strings.HasSuffix(nt.Name, "/initialized"):
			if nInit >= len(inits) {
				return g, false, errors.Errorf("%d ActNorm flags for more ActNorm layers", len(inits))
			}
			v := 0.0
			if inits[nInit] {
				v = 1
			}
			g.Tensors[name] = tensor.New(tensor.WithShape(nt.Value.Shape()...), tensor.WithBacking([]float64{v}))
			nInit++
		default:
			if err := take(name, prefixModel+rename(nt.Name)); err != nil {
				return g, false, err
			}
		}
	}
	if nSigma != len(flat) || nInit != len(inits) {
		return g, false, errors.Errorf("%d σ̂ values and %d ActNorm flags for %d and %d layers", len(flat), len(inits), nSigma, nInit)
	}
	for _, p := range t.params {
		old := rename(p.Name)
		for _, pre := range []string{prefixM, prefixV} {
			if err := take(pre+p.Name, pre+old); err != nil {
				return g, false, err
			}
		}
		if t.ema != nil {
			if err := take(prefixEMA+p.Name, prefixEMA+old); err != nil {
				return g, false, err
			}
		}
	}
	sp := t.spectralParams()
	hasApplied := len(sp) > 0
	if hasApplied {
		_, hasApplied = f.Tensors[prefixApplied+rename(sp[0].Name)]
	}
	for _, p := range sp {
		if !hasApplied { // v1: certified anew by Save
			g.Tensors[prefixApplied+p.Name] = p.Value.Clone().(*tensor.Dense)
			continue
		}
		if err := take(prefixApplied+p.Name, prefixApplied+rename(p.Name)); err != nil {
			return g, false, err
		}
	}
	for name := range f.Tensors {
		if !used[name] {
			return g, false, errors.Errorf("tensor %q has no place in the model of the configuration", name)
		}
	}
	return g, hasApplied, nil
}

// layerScope matches the scope of a dense or convolutional layer, whose
// tensors v1 named w, b, w/u (input space) and w/v (output space).
var layerScope = regexp.MustCompile(`^(fc|conv)\d*$`)

// v1Namer returns the v1 name of each of this model's tensor names: v1
// numbered the blocks of a chain in order (block<i>, squeezes and ActNorms
// included) where this version numbers them per kind (block<k>,
// actnorm<k>, squeeze<k>).
func (t *Trainer) v1Namer() (func(string) string, error) {
	chains := map[string]*blocks.Chain{} // scope prefix → chain
	switch m := t.model.(type) {
	case *blocks.Chain:
		chains[""] = m
	case interface{ Scales() []*blocks.Chain }:
		for i, c := range m.Scales() {
			chains["scale"+strconv.Itoa(i)+"/"] = c
		}
	default:
		return nil, errors.Errorf("v1 checkpoints hold i-ResNets, not %T", t.model)
	}
	index := map[string]string{} // new scope path → v1 scope path
	for prefix, c := range chains {
		for i, n := range c.Names() {
			index[prefix+n] = prefix + "block" + strconv.Itoa(i)
		}
	}
	leaves := map[string]string{"weight": "w", "bias": "b", "weight_v": "w/u", "weight_u": "w/v"}
	return func(name string) string {
		parts := strings.Split(name, "/")
		for k := len(parts) - 1; k >= 1; k-- {
			if old, ok := index[strings.Join(parts[:k], "/")]; ok {
				parts = append(strings.Split(old, "/"), parts[k:]...)
				break
			}
		}
		if n := len(parts); n >= 2 && layerScope.MatchString(parts[n-2]) {
			if l, ok := leaves[parts[n-1]]; ok {
				parts[n-1] = l
			}
		}
		return strings.Join(parts, "/")
	}, nil
}

// configV1 translates the configuration of a v1 checkpoint: a toy density
// ("data", "model" a dense flow) or, when "images" is set, an image run
// whose multi-scale model had CamelCase keys.
func configV1(raw string) (Config, error) {
	var c Config
	var v1 map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &v1); err != nil {
		return c, err
	}
	out := map[string]any{}
	for k, v := range v1 {
		switch k {
		case "data", "model", "images":
		default:
			out[k] = v
		}
	}
	var toy string
	if err := json.Unmarshal(v1["data"], &toy); err != nil {
		return c, errors.Wrap(err, "data")
	}
	images, ok := v1["images"]
	if !ok || string(images) == "null" {
		out["data"] = map[string]any{"name": toy}
		out["model"] = map[string]any{"dense_flow": v1["model"]}
	} else {
		var im struct {
			Set          string                     `json:"set"`
			Dir          string                     `json:"dir"`
			Pad          int                        `json:"pad"`
			LogitAlpha   float64                    `json:"logit_alpha"`
			Model        map[string]json.RawMessage `json:"model"`
			Task         json.RawMessage            `json:"task"`
			LearnedPrior bool                       `json:"learned_prior"`
			HybridWeight float64                    `json:"hybrid_weight"`
		}
		if err := json.Unmarshal(images, &im); err != nil {
			return c, errors.Wrap(err, "images")
		}
		keys := map[string]string{"Channels": "channels", "Height": "height", "Width": "width", "Scales": "scales", "Blocks": "blocks",
			"Hidden": "hidden", "InitSqueeze": "init_squeeze", "ActNorm": "act_norm", "NoSplit": "no_split", "PadChannels": "pad_channels"}
		ms := map[string]json.RawMessage{}
		for k, v := range im.Model {
			if nk, ok := keys[k]; ok {
				k = nk
			}
			ms[k] = v
		}
		out["data"] = map[string]any{"name": im.Set, "dir": im.Dir, "pad": im.Pad, "logit_alpha": im.LogitAlpha}
		out["model"] = map[string]any{"multi_scale": ms, "learned_prior": im.LearnedPrior}
		out["objective"] = map[string]any{"task": im.Task, "hybrid_weight": im.HybridWeight}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return c, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	return c, dec.Decode(&c)
}
