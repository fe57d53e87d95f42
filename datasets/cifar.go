package datasets

import (
	"bufio"
	"io"
	"os"
	"path/filepath"

	"github.com/pkg/errors"
)

// Sizes of the CIFAR binary formats.
const (
	// CIFARSide is the height and width of a CIFAR image in pixels.
	CIFARSide = 32
	// CIFARPixels is the number of pixel bytes in a CIFAR record: three
	// 32×32 planes, red, then green, then blue, each row-major.
	CIFARPixels = 3 * CIFARSide * CIFARSide
	// CIFAR10Classes is the number of CIFAR-10 classes.
	CIFAR10Classes = 10
	// CIFAR100CoarseClasses is the number of CIFAR-100 superclasses.
	CIFAR100CoarseClasses = 20
	// CIFAR100FineClasses is the number of CIFAR-100 classes.
	CIFAR100FineClasses = 100
)

// Folders the official binary archives unpack to; LoadCIFAR10 and
// LoadCIFAR100 look into them when dir is their parent.
const (
	cifar10Subdir  = "cifar-10-batches-bin"
	cifar100Subdir = "cifar-100-binary"
)

// CIFAR10Files returns the base names of the CIFAR-10 binary files of
// split, in load order: data_batch_1.bin to data_batch_5.bin for Train,
// test_batch.bin for Test. It returns nil for an unknown split.
func CIFAR10Files(split Split) []string {
	switch split {
	case Train:
		return []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	case Test:
		return []string{"test_batch.bin"}
	}
	return nil
}

// CIFAR100File returns the base name of the CIFAR-100 binary file of split:
// train.bin or test.bin. It returns "" for an unknown split.
func CIFAR100File(split Split) string {
	switch split {
	case Train:
		return "train.bin"
	case Test:
		return "test.bin"
	}
	return ""
}

// LoadCIFAR10 reads one split of CIFAR-10 in its binary format ("CIFAR-10
// binary version" of https://www.cs.toronto.edu/~kriz/cifar.html) from dir:
// data_batch_1.bin to data_batch_5.bin, concatenated in that order, for
// Train (50,000 images) and test_batch.bin for Test (10,000 images). If
// those files are not in dir but in dir/cifar-10-batches-bin, the folder the
// archive unpacks to, they are read from there.
//
// Each file is a sequence of 3073-byte records: one label byte (0..9)
// followed by CIFARPixels pixel bytes, the red, green and blue 32×32 planes.
// The result therefore has C = 3, H = W = 32, Pixels in NCHW order exactly
// as stored, and Classes = 10. A file whose size is zero or not a multiple
// of the record size, or a label ≥ 10, is an error naming the file.
func LoadCIFAR10(dir string, split Split) (*Images, error) {
	names := CIFAR10Files(split)
	if names == nil {
		return nil, errors.Errorf("datasets: unknown split %v", split)
	}
	dir = cifarDir(dir, cifar10Subdir, names[0])
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(dir, n)
	}
	return loadCIFAR(paths, cifarFormat{name: "CIFAR-10", limits: []int{CIFAR10Classes}, keep: 0})
}

// LoadCIFAR100 reads one split of CIFAR-100 in its binary format from dir:
// train.bin for Train (50,000 images) or test.bin for Test (10,000 images),
// looking into dir/cifar-100-binary, the folder the archive unpacks to, if
// the file is not in dir itself.
//
// Each record is 3074 bytes: the coarse label (superclass, 0..19), the fine
// label (class, 0..99) and CIFARPixels pixel bytes in R, G, B planes. Labels
// holds the fine labels with Classes = 100 if fine is set, else the coarse
// labels with Classes = 20; both are checked either way. C = 3 and H = W =
// 32. A file whose size is zero or not a multiple of the record size, or an
// out-of-range label, is an error naming the file.
func LoadCIFAR100(dir string, split Split, fine bool) (*Images, error) {
	name := CIFAR100File(split)
	if name == "" {
		return nil, errors.Errorf("datasets: unknown split %v", split)
	}
	dir = cifarDir(dir, cifar100Subdir, name)
	f := cifarFormat{name: "CIFAR-100", limits: []int{CIFAR100CoarseClasses, CIFAR100FineClasses}, keep: 0}
	if fine {
		f.keep = 1
	}
	return loadCIFAR([]string{filepath.Join(dir, name)}, f)
}

// cifarDir returns dir/sub if probe is missing from dir but present there,
// and dir otherwise.
func cifarDir(dir, sub, probe string) string {
	if _, err := os.Stat(filepath.Join(dir, probe)); err == nil {
		return dir
	}
	if _, err := os.Stat(filepath.Join(dir, sub, probe)); err == nil {
		return filepath.Join(dir, sub)
	}
	return dir
}

// cifarFormat describes a CIFAR record layout: one byte per label, each
// below its limit, of which label number keep becomes Images.Labels.
type cifarFormat struct {
	name   string
	limits []int
	keep   int
}

func (f cifarFormat) labelName(j int) string {
	if len(f.limits) == 1 {
		return "label"
	}
	if j == 0 {
		return "coarse label"
	}
	return "fine label"
}

func loadCIFAR(paths []string, f cifarFormat) (*Images, error) {
	rec := int64(len(f.limits) + CIFARPixels)
	counts := make([]int, len(paths))
	total := 0
	for i, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, errors.Wrapf(err, "datasets: %s file", f.name)
		}
		if st.IsDir() {
			return nil, errors.Errorf("datasets: %s: is a folder, want a %s binary file", p, f.name)
		}
		if st.Size() == 0 || st.Size()%rec != 0 {
			return nil, errors.Errorf("datasets: %s: size %d bytes is not a positive multiple of the %d-byte %s record "+
				"(%d label bytes + %d pixel bytes); truncated or not a %s binary file",
				p, st.Size(), rec, f.name, len(f.limits), CIFARPixels, f.name)
		}
		counts[i] = int(st.Size() / rec)
		total += counts[i]
	}
	imgs := &Images{
		N: total, C: 3, H: CIFARSide, W: CIFARSide,
		Pixels:  make([]uint8, total*CIFARPixels),
		Labels:  make([]int, total),
		Classes: f.limits[f.keep],
	}
	k := 0
	for i, p := range paths {
		if err := readCIFARFile(p, f, imgs, k, counts[i]); err != nil {
			return nil, err
		}
		k += counts[i]
	}
	return imgs, nil
}

// readCIFARFile reads the n records of path into images k..k+n-1 of imgs.
func readCIFARFile(path string, f cifarFormat, imgs *Images, k, n int) error {
	fh, err := os.Open(path)
	if err != nil {
		return errors.Wrapf(err, "datasets: opening %s file", f.name)
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 1<<16)
	labels := make([]byte, len(f.limits))
	for i := 0; i < n; i++ {
		if _, err := io.ReadFull(r, labels); err != nil {
			return errors.Wrapf(err, "datasets: %s: reading record %d of %d", path, i, n)
		}
		for j, l := range labels {
			if int(l) >= f.limits[j] {
				return errors.Errorf("datasets: %s: record %d has %s %d, want 0..%d", path, i, f.labelName(j), l, f.limits[j]-1)
			}
		}
		imgs.Labels[k+i] = int(labels[f.keep])
		if _, err := io.ReadFull(r, imgs.Pixels[(k+i)*CIFARPixels:(k+i+1)*CIFARPixels]); err != nil {
			return errors.Wrapf(err, "datasets: %s: reading record %d of %d", path, i, n)
		}
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return errors.Errorf("datasets: %s: file changed while being read (data after record %d)", path, n)
	}
	return nil
}

// WriteCIFAR10 writes imgs to path as a CIFAR-10 binary file (see
// [LoadCIFAR10]), so that tests can create files in the exact format; a
// full data set is CIFAR10Files(split) in one folder. imgs must pass
// [Images.Validate], be 3×32×32 and have N labels in 0..9.
func WriteCIFAR10(path string, imgs *Images) error {
	if err := checkCIFARImages(imgs); err != nil {
		return err
	}
	for i, l := range imgs.Labels {
		if l >= CIFAR10Classes {
			return errors.Errorf("datasets: label %d of image %d is outside the CIFAR-10 classes 0..%d", l, i, CIFAR10Classes-1)
		}
	}
	return writeCIFAR(path, imgs, func(i int, b []byte) []byte { return append(b, byte(imgs.Labels[i])) })
}

// WriteCIFAR100 writes imgs to path as a CIFAR-100 binary file (see
// [LoadCIFAR100]; a full data set is CIFAR100File(split) in a folder).
// imgs.Labels are the fine labels (0..99) and coarse the superclass labels
// (0..19), one per image. imgs must pass [Images.Validate] and be 3×32×32.
// The format does not tie fine to coarse labels, and neither does this
// function.
func WriteCIFAR100(path string, imgs *Images, coarse []int) error {
	if err := checkCIFARImages(imgs); err != nil {
		return err
	}
	if len(coarse) != imgs.N {
		return errors.Errorf("datasets: %d coarse labels for %d images", len(coarse), imgs.N)
	}
	for i := range coarse {
		if c := coarse[i]; c < 0 || c >= CIFAR100CoarseClasses {
			return errors.Errorf("datasets: coarse label %d of image %d is outside 0..%d", c, i, CIFAR100CoarseClasses-1)
		}
		if l := imgs.Labels[i]; l >= CIFAR100FineClasses {
			return errors.Errorf("datasets: fine label %d of image %d is outside 0..%d", l, i, CIFAR100FineClasses-1)
		}
	}
	return writeCIFAR(path, imgs, func(i int, b []byte) []byte {
		return append(b, byte(coarse[i]), byte(imgs.Labels[i]))
	})
}

func checkCIFARImages(imgs *Images) error {
	if err := imgs.Validate(); err != nil {
		return err
	}
	if imgs.C != 3 || imgs.H != CIFARSide || imgs.W != CIFARSide {
		return errors.Errorf("datasets: CIFAR images are 3×32×32, got %d×%d×%d", imgs.C, imgs.H, imgs.W)
	}
	if imgs.Labels == nil {
		return errors.New("datasets: CIFAR images need labels")
	}
	return nil
}

// writeCIFAR writes one record per image: the bytes labels appends, then
// the pixels.
func writeCIFAR(path string, imgs *Images, labels func(i int, b []byte) []byte) (err error) {
	fh, err := os.Create(path)
	if err != nil {
		return errors.Wrap(err, "datasets: creating CIFAR file")
	}
	defer func() {
		if cerr := fh.Close(); cerr != nil && err == nil {
			err = errors.Wrapf(cerr, "datasets: closing %s", path)
		}
	}()
	w := bufio.NewWriterSize(fh, 1<<16)
	var lb []byte
	for i := 0; i < imgs.N; i++ {
		lb = labels(i, lb[:0])
		if _, err := w.Write(lb); err != nil {
			return errors.Wrapf(err, "datasets: writing %s", path)
		}
		if _, err := w.Write(imgs.Image(i)); err != nil {
			return errors.Wrapf(err, "datasets: writing %s", path)
		}
	}
	if err := w.Flush(); err != nil {
		return errors.Wrapf(err, "datasets: writing %s", path)
	}
	return nil
}
