package datasets

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// concatImages joins image sets of equal shape and classes.
func concatImages(parts ...*Images) *Images {
	out := &Images{C: parts[0].C, H: parts[0].H, W: parts[0].W, Classes: parts[0].Classes}
	for _, p := range parts {
		out.N += p.N
		out.Pixels = append(out.Pixels, p.Pixels...)
		out.Labels = append(out.Labels, p.Labels...)
	}
	return out
}

func TestCIFAR10RoundTrip(t *testing.T) {
	rng := seededRNG()
	for _, tc := range []struct {
		name   string
		split  Split
		counts []int // images per file
		subdir string
	}{
		{"train", Train, []int{3, 1, 2, 4, 1}, ""},
		{"test", Test, []int{5}, ""},
		{"train in archive folder", Train, []int{1, 1, 1, 1, 2}, cifar10Subdir},
		{"test in archive folder", Test, []int{2}, cifar10Subdir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.subdir != "" {
				if err := os.Mkdir(filepath.Join(dir, tc.subdir), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			names := CIFAR10Files(tc.split)
			if len(names) != len(tc.counts) {
				t.Fatalf("%d files, want %d", len(names), len(tc.counts))
			}
			parts := make([]*Images, len(names))
			for i, name := range names {
				parts[i] = randomImages(rng, tc.counts[i], 3, 32, 32, 10)
				p := filepath.Join(dir, tc.subdir, name)
				if err := WriteCIFAR10(p, parts[i]); err != nil {
					t.Fatal(err)
				}
				if st, err := os.Stat(p); err != nil || st.Size() != int64(tc.counts[i]*3073) {
					t.Fatalf("%s: stat %v, %v; want %d bytes", name, st, err, tc.counts[i]*3073)
				}
			}
			got, err := LoadCIFAR10(dir, tc.split)
			if err != nil {
				t.Fatal(err)
			}
			equalImages(t, got, concatImages(parts...))
		})
	}
}

// TestCIFAR10Layout checks the byte layout against a hand-built record: the
// label byte, then the R, G and B planes, row-major.
func TestCIFAR10Layout(t *testing.T) {
	rec := make([]byte, 1+CIFARPixels)
	rec[0] = 7
	rec[1+0*1024+0] = 11        // R at (0, 0)
	rec[1+1*1024+31] = 22       // G at (0, 31)
	rec[1+2*1024+32*31+1] = 33  // B at (31, 1)
	rec[1+2*1024+32*31+31] = 44 // B at (31, 31), the last byte
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "test_batch.bin"), rec, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadCIFAR10(dir, Test)
	if err != nil {
		t.Fatal(err)
	}
	at := func(c, y, x int) uint8 { return m.Pixels[(c*m.H+y)*m.W+x] }
	if m.N != 1 || m.Labels[0] != 7 || at(0, 0, 0) != 11 || at(1, 0, 31) != 22 || at(2, 31, 1) != 33 || at(2, 31, 31) != 44 {
		t.Errorf("layout mismatch: N=%d label=%v pixels %d %d %d %d", m.N, m.Labels, at(0, 0, 0), at(1, 0, 31), at(2, 31, 1), at(2, 31, 31))
	}
}

func TestCIFAR100RoundTrip(t *testing.T) {
	rng := seededRNG()
	for _, tc := range []struct {
		split  Split
		n      int
		subdir string
	}{{Train, 6, ""}, {Test, 3, ""}, {Train, 2, cifar100Subdir}} {
		for _, fine := range []bool{false, true} {
			t.Run(tc.split.String()+"/fine="+strconv.FormatBool(fine)+"/"+tc.subdir, func(t *testing.T) {
				dir := t.TempDir()
				if err := os.MkdirAll(filepath.Join(dir, tc.subdir), 0o755); err != nil {
					t.Fatal(err)
				}
				imgs := randomImages(rng, tc.n, 3, 32, 32, 100)
				coarse := make([]int, tc.n)
				for i := range coarse {
					coarse[i] = rng.IntN(20)
				}
				p := filepath.Join(dir, tc.subdir, CIFAR100File(tc.split))
				if err := WriteCIFAR100(p, imgs, coarse); err != nil {
					t.Fatal(err)
				}
				got, err := LoadCIFAR100(dir, tc.split, fine)
				if err != nil {
					t.Fatal(err)
				}
				want := *imgs
				if !fine {
					want.Labels, want.Classes = coarse, 20
				}
				equalImages(t, got, &want)
			})
		}
	}
}

// TestCIFARCorrupt writes valid files, corrupts one and checks the error
// names it.
func TestCIFARCorrupt(t *testing.T) {
	good10 := randomImages(seededRNG(), 3, 3, 32, 32, 10)
	good100 := randomImages(seededRNG(), 3, 3, 32, 32, 100)
	coarse := []int{0, 19, 5}
	for _, tc := range []struct {
		name    string
		cifar   int    // 10 or 100
		file    string // the file to corrupt
		corrupt func(b []byte) []byte
		want    []string
	}{
		{"cifar10 truncated", 10, "data_batch_3.bin", func(b []byte) []byte { return b[:len(b)-1] },
			[]string{"size 9218 bytes is not a positive multiple of the 3073-byte CIFAR-10 record", "truncated"}},
		{"cifar10 extra byte", 10, "test_batch.bin", func(b []byte) []byte { return append(b, 0) },
			[]string{"size 9220 bytes"}},
		{"cifar10 empty", 10, "data_batch_5.bin", func([]byte) []byte { return nil },
			[]string{"size 0 bytes"}},
		{"cifar10 label 10", 10, "data_batch_2.bin", func(b []byte) []byte { b[3073] = 10; return b },
			[]string{"record 1 has label 10, want 0..9"}},
		{"cifar100 half record", 100, "train.bin", func(b []byte) []byte { return b[:3074+1537] },
			[]string{"size 4611 bytes is not a positive multiple of the 3074-byte CIFAR-100 record"}},
		{"cifar100 coarse 20", 100, "test.bin", func(b []byte) []byte { b[2*3074] = 20; return b },
			[]string{"record 2 has coarse label 20, want 0..19"}},
		{"cifar100 fine 100", 100, "test.bin", func(b []byte) []byte { b[1] = 100; return b },
			[]string{"record 0 has fine label 100, want 0..99"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var load func(Split) error
			var split Split
			if tc.cifar == 10 {
				for _, s := range Splits() {
					for _, name := range CIFAR10Files(s) {
						if err := WriteCIFAR10(filepath.Join(dir, name), good10); err != nil {
							t.Fatal(err)
						}
					}
				}
				load = func(s Split) error { _, err := LoadCIFAR10(dir, s); return err }
			} else {
				for _, s := range Splits() {
					if err := WriteCIFAR100(filepath.Join(dir, CIFAR100File(s)), good100, coarse); err != nil {
						t.Fatal(err)
					}
				}
				load = func(s Split) error { _, err := LoadCIFAR100(dir, s, true); return err }
			}
			if tc.file == "test_batch.bin" || tc.file == "test.bin" {
				split = Test
			}
			// The intact files load.
			for _, s := range Splits() {
				if err := load(s); err != nil {
					t.Fatalf("intact %v: %v", s, err)
				}
			}
			p := filepath.Join(dir, tc.file)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, tc.corrupt(b), 0o644); err != nil {
				t.Fatal(err)
			}
			err = load(split)
			wantErr(t, err, append([]string{p}, tc.want...)...)
			// Both label bytes are checked whichever is kept.
			if tc.cifar == 100 {
				_, err := LoadCIFAR100(dir, split, false)
				wantErr(t, err, append([]string{p}, tc.want...)...)
			}
		})
	}
}

func TestCIFARMissingAndBadSplit(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadCIFAR10(dir, Train)
	wantErr(t, err, filepath.Join(dir, "data_batch_1.bin"))
	_, err = LoadCIFAR100(dir, Test, true)
	wantErr(t, err, filepath.Join(dir, "test.bin"))
	_, err = LoadCIFAR10(dir, Split(2))
	wantErr(t, err, "unknown split Split(2)")
	_, err = LoadCIFAR100(dir, Split(2), false)
	wantErr(t, err, "unknown split Split(2)")
	if err := os.Mkdir(filepath.Join(dir, "test_batch.bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = LoadCIFAR10(dir, Test)
	wantErr(t, err, filepath.Join(dir, "test_batch.bin"), "is a folder")
}

func TestWriteCIFARRejects(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.bin")
	mnistLike := randomImages(seededRNG(), 2, 1, 28, 28, 10)
	label10 := randomImages(seededRNG(), 2, 3, 32, 32, 11)
	label10.Labels[1] = 10
	fine100 := randomImages(seededRNG(), 2, 3, 32, 32, 101)
	fine100.Labels[0] = 100
	ok := randomImages(seededRNG(), 2, 3, 32, 32, 10)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"cifar10 shape", WriteCIFAR10(p, mnistLike), "3×32×32, got 1×28×28"},
		{"cifar10 label", WriteCIFAR10(p, label10), "label 10 of image 1 is outside the CIFAR-10 classes"},
		{"cifar10 unlabelled", WriteCIFAR10(p, &Images{N: 1, C: 3, H: 32, W: 32, Pixels: make([]uint8, CIFARPixels)}), "need labels"},
		{"cifar100 coarse count", WriteCIFAR100(p, ok, []int{1}), "1 coarse labels for 2 images"},
		{"cifar100 coarse range", WriteCIFAR100(p, ok, []int{1, 20}), "coarse label 20 of image 1"},
		{"cifar100 fine range", WriteCIFAR100(p, fine100, []int{1, 2}), "fine label 100 of image 0"},
		{"cifar100 invalid", WriteCIFAR100(p, &Images{N: 1}, []int{1}), "must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.err, tc.want) })
	}
}
