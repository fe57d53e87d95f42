package datasets

import (
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// Split names the part of an image data set to load. Its zero value is
// Train.
type Split int

// The two splits every image data set here ships with.
const (
	// Train is the training split: 60,000 images for MNIST, 50,000 for
	// CIFAR-10 and CIFAR-100.
	Train Split = iota
	// Test is the held-out test split: 10,000 images for MNIST, CIFAR-10
	// and CIFAR-100.
	Test

	numSplits // number of splits; keep last
)

// Splits returns every split in declaration order. The slice is freshly
// allocated on each call.
func Splits() []Split {
	ss := make([]Split, numSplits)
	for i := range ss {
		ss[i] = Split(i)
	}
	return ss
}

// String returns "train" or "test". An out-of-range value gives "Split(N)".
func (s Split) String() string {
	switch s {
	case Train:
		return "train"
	case Test:
		return "test"
	}
	return "Split(" + strconv.Itoa(int(s)) + ")"
}

// ParseSplit returns the Split whose String is name. For an unknown name the
// error lists every known name.
func ParseSplit(name string) (Split, error) {
	names := make([]string, 0, numSplits)
	for _, s := range Splits() {
		if s.String() == name {
			return s, nil
		}
		names = append(names, strconv.Quote(s.String()))
	}
	return 0, errors.Errorf("datasets: unknown split %q (known: %s)", name, strings.Join(names, ", "))
}

// MarshalText implements encoding.TextMarshaler, so configurations store a
// split by name.
func (s Split) MarshalText() ([]byte, error) {
	if _, err := ParseSplit(s.String()); err != nil {
		return nil, err
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Split) UnmarshalText(b []byte) error {
	v, err := ParseSplit(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Images is a set of N images of C channels of H×W 8-bit pixels, with
// optional integer class labels.
type Images struct {
	// N, C, H and W are the number of images, the channels per image (1
	// for MNIST, 3 for CIFAR) and the height and width in pixels.
	N, C, H, W int
	// Pixels holds the N·C·H·W pixel values in NCHW order: the value of
	// channel c at row y, column x of image i is
	// Pixels[((i*C+c)*H+y)*W+x]. For CIFAR the channels are R, G, B.
	Pixels []uint8
	// Labels holds the class of each image, in 0..Classes-1, or is nil if
	// the set has no labels.
	Labels []int
	// Classes is the number of classes the labels are drawn from (10 for
	// MNIST and CIFAR-10, 20 or 100 for CIFAR-100), or 0 without labels.
	Classes int
}

// Dim returns the number of pixel values per image, C·H·W: the
// dimensionality d of the data for a density model.
func (m *Images) Dim() int { return m.C * m.H * m.W }

// Image returns the Dim() pixel values of image i as a subslice of Pixels
// (not a copy). It panics if i is out of range.
func (m *Images) Image(i int) []uint8 {
	if i < 0 || i >= m.N {
		panic("datasets: image index " + strconv.Itoa(i) + " out of range [0, " + strconv.Itoa(m.N) + ")")
	}
	d := m.Dim()
	return m.Pixels[i*d : (i+1)*d : (i+1)*d]
}

// Validate reports whether the fields are consistent: positive N, C, H and
// W, len(Pixels) = N·C·H·W, and either no labels (Labels nil, Classes 0) or
// N labels in 0..Classes-1.
func (m *Images) Validate() error {
	if m == nil {
		return errors.New("datasets: nil *Images")
	}
	if m.N < 1 || m.C < 1 || m.H < 1 || m.W < 1 {
		return errors.Errorf("datasets: image set shape N=%d C=%d H=%d W=%d must be positive", m.N, m.C, m.H, m.W)
	}
	if len(m.Pixels) != m.N*m.Dim() {
		return errors.Errorf("datasets: image set has %d pixel values, want N·C·H·W = %d", len(m.Pixels), m.N*m.Dim())
	}
	if m.Labels == nil {
		if m.Classes != 0 {
			return errors.Errorf("datasets: image set has Classes=%d but no labels", m.Classes)
		}
		return nil
	}
	if len(m.Labels) != m.N {
		return errors.Errorf("datasets: image set has %d labels for %d images", len(m.Labels), m.N)
	}
	if m.Classes < 1 {
		return errors.Errorf("datasets: image set has labels but Classes=%d", m.Classes)
	}
	for i, l := range m.Labels {
		if l < 0 || l >= m.Classes {
			return errors.Errorf("datasets: label %d of image %d is outside 0..%d", l, i, m.Classes-1)
		}
	}
	return nil
}
