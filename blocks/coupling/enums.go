package coupling

import (
	"strconv"

	"github.com/pkg/errors"
)

// Kind is the form of a coupling layer's map of the transformed part.
type Kind int

// Coupling kinds.
const (
	// Affine is y_b = x_b ⊙ exp(s(x_a)) + t(x_a) (Dinh et al. 2017, eq. 4–5).
	Affine Kind = iota
	// Additive is y_b = x_b + t(x_a) (Dinh et al. 2014, §3.2), volume
	// preserving.
	Additive
)

var kindNames = [...]string{"affine", "additive"}

// String returns "affine" or "additive".
func (k Kind) String() string { return enumString("Kind", int(k), kindNames[:]) }

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) { return enumMarshal("kind", int(k), kindNames[:]) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Kind) UnmarshalText(b []byte) error {
	return enumUnmarshal("kind", b, (*int)(k), kindNames[:])
}

// Partition says how a coupling layer splits its input into the
// conditioning part x_a and the transformed part x_b.
type Partition int

// Partitions. The first three are binary masks b (1 marks x_a) applied as
// in Dinh et al. (2017, eq. 9); Channels splits the channel axis with
// blocks.SplitChannels.
const (
	// Alternate puts even feature indices of (N, d) in x_a (Dinh et al.
	// 2014, §5.1: odd and even dimensions alternate between layers).
	Alternate Partition = iota
	// Halves puts the first ⌊d/2⌋ features of (N, d) in x_a.
	Halves
	// Checkerboard puts pixels (i, j) of (N, C, H, W) with i + j even in
	// x_a, in every channel (Dinh et al. 2017, §3.4, Figure 3 left).
	Checkerboard
	// Channels puts the first half of the channels of (N, C, H, W) in x_a
	// (Dinh et al. 2017, §3.4, Figure 3 right; Kingma & Dhariwal 2018, §3.3).
	Channels
)

var partitionNames = [...]string{"alternate", "halves", "checkerboard", "channels"}

// String returns the partition's lower-case name.
func (p Partition) String() string { return enumString("Partition", int(p), partitionNames[:]) }

// MarshalText implements encoding.TextMarshaler.
func (p Partition) MarshalText() ([]byte, error) {
	return enumMarshal("partition", int(p), partitionNames[:])
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Partition) UnmarshalText(b []byte) error {
	return enumUnmarshal("partition", b, (*int)(p), partitionNames[:])
}

func (p Partition) dense() bool { return p == Alternate || p == Halves }

// ScaleFunc maps the raw scale output h of an affine coupling net to the
// log-scale s, keeping exp(s) in a range where training is stable.
type ScaleFunc int

// Scale functions.
const (
	// ScaleDefault is the model's own choice: ScaleTanh for NICE-style
	// and Real NVP layers, ScaleSigmoid for Glow.
	ScaleDefault ScaleFunc = iota
	// ScaleTanh is s = α ⊙ tanh(h) with a learned per-channel (or
	// per-feature) factor α, initialized to 1: Real NVP's bounded scale
	// (Dinh et al. 2017, §4.1 and its code).
	ScaleTanh
	// ScaleSigmoid is s = log σ(h + 2), so exp(s) ∈ (0, 1) and starts near
	// 0.88 (Glow's code, Kingma & Dhariwal 2018).
	ScaleSigmoid
	// ScaleExp is s = h, unbounded (Dinh et al. 2017, eq. 4 as written).
	ScaleExp
)

var scaleNames = [...]string{"default", "tanh", "sigmoid", "exp"}

// String returns "default", "tanh", "sigmoid" or "exp".
func (s ScaleFunc) String() string { return enumString("ScaleFunc", int(s), scaleNames[:]) }

// MarshalText implements encoding.TextMarshaler.
func (s ScaleFunc) MarshalText() ([]byte, error) {
	return enumMarshal("scale function", int(s), scaleNames[:])
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *ScaleFunc) UnmarshalText(b []byte) error {
	return enumUnmarshal("scale function", b, (*int)(s), scaleNames[:])
}

// Mixing is the invertible channel mixing between Glow's couplings.
type Mixing int

// Mixings (Kingma & Dhariwal 2018, §3.2 and §5.1).
const (
	// Conv1x1 is the learned invertible 1×1 convolution in LU form.
	Conv1x1 Mixing = iota
	// Reverse reverses the order of the channels (fixed, volume preserving).
	Reverse
)

var mixingNames = [...]string{"conv1x1", "reverse"}

// String returns "conv1x1" or "reverse".
func (m Mixing) String() string { return enumString("Mixing", int(m), mixingNames[:]) }

// MarshalText implements encoding.TextMarshaler.
func (m Mixing) MarshalText() ([]byte, error) { return enumMarshal("mixing", int(m), mixingNames[:]) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Mixing) UnmarshalText(b []byte) error {
	return enumUnmarshal("mixing", b, (*int)(m), mixingNames[:])
}

func enumString(typ string, v int, names []string) string {
	if v < 0 || v >= len(names) {
		return typ + "(" + strconv.Itoa(v) + ")"
	}
	return names[v]
}

func enumMarshal(what string, v int, names []string) ([]byte, error) {
	if v < 0 || v >= len(names) {
		return nil, errors.Errorf("coupling: unknown %s %d", what, v)
	}
	return []byte(names[v]), nil
}

func enumUnmarshal(what string, b []byte, v *int, names []string) error {
	for i, n := range names {
		if n == string(b) {
			*v = i
			return nil
		}
	}
	return errors.Errorf("coupling: unknown %s %q (want one of %q)", what, b, names)
}

func enumValid(v, n int) bool { return v >= 0 && v < n }

// or returns s, or def when s is ScaleDefault.
func (s ScaleFunc) or(def ScaleFunc) ScaleFunc {
	if s == ScaleDefault {
		return def
	}
	return s
}
