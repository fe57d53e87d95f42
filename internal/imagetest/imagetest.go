// Package imagetest writes small image datasets in the real on-disk
// formats, for tests of the packages and programs that train on images.
package imagetest

import (
	"image/png"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/iresnet/iresnet/datasets"
)

// TinyMNIST writes train and test IDX files of 64 gray 8×8 images each (a
// bright 3×3 square at a random place, a random label) into a new temporary
// folder and returns it. The content is fixed by the seed.
func TinyMNIST(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 1))
	for _, split := range []datasets.Split{datasets.Train, datasets.Test} {
		const n = 64
		im := &datasets.Images{N: n, C: 1, H: 8, W: 8, Pixels: make([]uint8, n*64), Labels: make([]int, n), Classes: 10}
		for i := 0; i < n; i++ {
			y, x := rng.IntN(6), rng.IntN(6)
			for dy := 0; dy < 3; dy++ {
				for dx := 0; dx < 3; dx++ {
					im.Pixels[i*64+(y+dy)*8+x+dx] = 200
				}
			}
			im.Labels[i] = rng.IntN(10)
		}
		if err := datasets.WriteMNIST(dir, split, im, false); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// PNGSize decodes the PNG file at path and returns its width and height,
// failing the test if it cannot.
func PNGSize(t testing.TB, path string) (w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img.Bounds().Dx(), img.Bounds().Dy()
}
