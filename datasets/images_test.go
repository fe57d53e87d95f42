package datasets

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// seededRNG returns the generator every image test starts from.
func seededRNG() *rand.Rand { return rand.New(rand.NewPCG(1, 1)) }

// randomImages returns n random c×h×w images with labels below classes.
func randomImages(rng *rand.Rand, n, c, h, w, classes int) *Images {
	m := &Images{N: n, C: c, H: h, W: w, Pixels: make([]uint8, n*c*h*w), Labels: make([]int, n), Classes: classes}
	for i := range m.Pixels {
		m.Pixels[i] = uint8(rng.UintN(256))
	}
	for i := range m.Labels {
		m.Labels[i] = rng.IntN(classes)
	}
	return m
}

// equalImages fails t unless got and want have the same shape, pixels,
// labels and classes.
func equalImages(t *testing.T, got, want *Images) {
	t.Helper()
	if got.N != want.N || got.C != want.C || got.H != want.H || got.W != want.W || got.Classes != want.Classes {
		t.Fatalf("shape N,C,H,W,Classes = %d,%d,%d,%d,%d, want %d,%d,%d,%d,%d",
			got.N, got.C, got.H, got.W, got.Classes, want.N, want.C, want.H, want.W, want.Classes)
	}
	if string(got.Pixels) != string(want.Pixels) {
		t.Fatalf("pixels differ")
	}
	if len(got.Labels) != len(want.Labels) {
		t.Fatalf("%d labels, want %d", len(got.Labels), len(want.Labels))
	}
	for i := range got.Labels {
		if got.Labels[i] != want.Labels[i] {
			t.Fatalf("label %d = %d, want %d", i, got.Labels[i], want.Labels[i])
		}
	}
}

// wantErr fails t unless err is non-nil, starts with "datasets: " and
// contains every string in subs.
func wantErr(t *testing.T, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", subs)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "datasets: ") {
		t.Errorf("error %q lacks the \"datasets: \" prefix", msg)
	}
	for _, s := range subs {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not contain %q", msg, s)
		}
	}
}

// mustPanic fails t unless f panics.
func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", name)
		}
	}()
	f()
}

func TestSplitNames(t *testing.T) {
	for _, tc := range []struct {
		s    Split
		name string
	}{{Train, "train"}, {Test, "test"}} {
		if got := tc.s.String(); got != tc.name {
			t.Errorf("%d.String() = %q, want %q", int(tc.s), got, tc.name)
		}
		p, err := ParseSplit(tc.name)
		if err != nil || p != tc.s {
			t.Errorf("ParseSplit(%q) = %v, %v", tc.name, p, err)
		}
		b, err := json.Marshal(struct{ S Split }{tc.s})
		if err != nil || string(b) != `{"S":"`+tc.name+`"}` {
			t.Errorf("json.Marshal = %s, %v", b, err)
		}
		var back struct{ S Split }
		back.S = 7
		if err := json.Unmarshal(b, &back); err != nil || back.S != tc.s {
			t.Errorf("json.Unmarshal(%s) = %v, %v", b, back.S, err)
		}
	}
	if got := Split(5).String(); got != "Split(5)" {
		t.Errorf("Split(5).String() = %q", got)
	}
	_, err := ParseSplit("validation")
	wantErr(t, err, `unknown split "validation"`, `"train", "test"`)
	_, err = Split(-1).MarshalText()
	wantErr(t, err, "Split(-1)")
	var s Split
	wantErr(t, s.UnmarshalText([]byte("Train")), `"Train"`)
	if got := len(Splits()); got != 2 {
		t.Errorf("len(Splits()) = %d", got)
	}
}

func TestImagesValidateAndAccessors(t *testing.T) {
	good := randomImages(seededRNG(), 3, 2, 2, 2, 4)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if good.Dim() != 8 {
		t.Errorf("Dim() = %d", good.Dim())
	}
	if im := good.Image(2); len(im) != 8 || &im[0] != &good.Pixels[16] || cap(im) != 8 {
		t.Errorf("Image(2) is not the last 8 pixels")
	}
	mustPanic(t, "Image(3)", func() { good.Image(3) })
	unlabelled := &Images{N: 1, C: 1, H: 1, W: 2, Pixels: []uint8{1, 2}}
	if err := unlabelled.Validate(); err != nil {
		t.Errorf("unlabelled: %v", err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(m *Images)
		want  string
		isNil bool
	}{
		{"nil", nil, "nil *Images", true},
		{"zero N", func(m *Images) { m.N = 0 }, "must be positive", false},
		{"short pixels", func(m *Images) { m.Pixels = m.Pixels[1:] }, "23 pixel values, want N·C·H·W = 24", false},
		{"label count", func(m *Images) { m.Labels = m.Labels[1:] }, "2 labels for 3 images", false},
		{"label range", func(m *Images) { m.Labels[1] = 4 }, "label 4 of image 1 is outside 0..3", false},
		{"negative label", func(m *Images) { m.Labels[0] = -1 }, "label -1 of image 0", false},
		{"classes without labels", func(m *Images) { m.Labels = nil }, "Classes=4 but no labels", false},
		{"labels without classes", func(m *Images) { m.Classes = 0 }, "labels but Classes=0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m *Images
			if !tc.isNil {
				m = randomImages(seededRNG(), 3, 2, 2, 2, 4)
				tc.edit(m)
			}
			wantErr(t, m.Validate(), tc.want)
		})
	}
}
