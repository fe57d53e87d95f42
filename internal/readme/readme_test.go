package readme

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the repository root, relative to this package's directory.
const root = "../.."

// externalMain is the program TestExternalModule builds in a module of its
// own, as the README's "Use the library from another module" shows.
const externalMain = "testdata/external/main.go"

// fence is one fenced code block of a Markdown file.
type fence struct {
	lang  string
	line  int // 1-based line of the opening fence
	lines []string
}

// fences returns the fenced code blocks of the Markdown file at path.
func fences(t *testing.T, path string) []fence {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("reading the README: %v", err)
	}
	defer f.Close()
	var out []fence
	var cur *fence
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &fence{lang: strings.TrimPrefix(line, "```"), line: n}
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the README: %v", err)
	}
	if cur != nil {
		t.Fatalf("README: code block opened at line %d is never closed", cur.line)
	}
	return out
}

// exampleFiles returns the trimmed lines of every Go test file under dir
// that defines an Example function, and of the programs in this package's
// testdata that TestExternalModule builds and runs, by path.
func exampleFiles(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "runs" || d.Name() == "testdata") && path != dir {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.Contains(string(data), "\nfunc Example") {
			return nil
		}
		lines := strings.Split(string(data), "\n")
		for i := range lines {
			lines[i] = strings.TrimSpace(lines[i])
		}
		out[path] = lines
		return nil
	})
	if err != nil {
		t.Fatalf("walking the repository: %v", err)
	}
	data, err := os.ReadFile(externalMain)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	out[externalMain] = lines
	return out
}

// contains reports whether want (trimmed lines) occurs contiguously in have.
func contains(have, want []string) bool {
	for i := 0; i+len(want) <= len(have); i++ {
		ok := true
		for j, w := range want {
			if have[i+j] != strings.TrimSpace(w) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// TestGoSnippetsAreTestedExamples checks that every Go code block of the
// README appears, line for line (indentation aside), in a test file that
// holds an Example function, so that `go test` compiles and runs it.
func TestGoSnippetsAreTestedExamples(t *testing.T) {
	files := exampleFiles(t, root)
	n := 0
	for _, f := range fences(t, filepath.Join(root, "README.md")) {
		if f.lang != "go" {
			continue
		}
		n++
		found := false
		for path, lines := range files {
			if contains(lines, f.lines) {
				found = true
				t.Logf("README line %d: found in %s", f.line, path)
				break
			}
		}
		if !found {
			t.Errorf("README line %d: this Go snippet is not an excerpt of any Example in a _test.go file; copy it from one (or make it one):\n%s",
				f.line, strings.Join(f.lines, "\n"))
		}
	}
	if n == 0 {
		t.Fatal("the README has no Go snippet; this test has nothing to check")
	}
}

// goRun matches the package path of a `go run` command line, after any flags.
var goRun = regexp.MustCompile(`go run (?:-\S+ (?:\S+ )?)*(\./[^\s]+)`)

// TestShellSnippetsRunRealPrograms checks that every `go run ./path` of the
// README's shell blocks and text names a folder with a main package.
func TestShellSnippetsRunRealPrograms(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	ms := goRun.FindAllStringSubmatch(string(data), -1)
	if len(ms) == 0 {
		t.Fatal("no `go run ./…` command found in the README")
	}
	for _, m := range ms {
		dir := filepath.Join(root, filepath.FromSlash(m[1]))
		src, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(src) == 0 {
			t.Errorf("README runs %q, but %s holds no Go files", m[0], m[1])
			continue
		}
		isMain := false
		for _, p := range src {
			b, err := os.ReadFile(p)
			if err == nil && strings.HasPrefix(strings.TrimSpace(stripComments(string(b))), "package main") {
				isMain = true
				break
			}
		}
		if !isMain {
			t.Errorf("README runs %q, but %s is not a main package", m[0], m[1])
		}
	}
}

// goRunLine matches a `go run ./path args…` command up to the end of its
// line, a closing backquote or a shell comment.
var goRunLine = regexp.MustCompile("go run (?:-\\S+ (?:\\S+ )?)*(\\./[^\\s`]+)([^`#\\n]*)")

// flagName matches a command-line flag argument such as -temperature.
var flagName = regexp.MustCompile(`^-([a-z][a-z0-9-]*)$`)

// TestShellSnippetsUseRealFlags checks that every flag a README command
// passes to one of the project's programs is defined by that program (its
// name appears as a string literal in the program's source, or in
// trainer/flags.go for programs that call RegisterFlags).
func TestShellSnippetsUseRealFlags(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "\\\n", " ") // shell line continuations
	checked := 0
	for _, m := range goRunLine.FindAllStringSubmatch(text, -1) {
		src, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(m[1]), "*.go"))
		if err != nil || len(src) == 0 {
			continue // TestShellSnippetsRunRealPrograms reports it
		}
		var code strings.Builder
		for _, p := range src {
			if strings.HasSuffix(p, "_test.go") {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			code.Write(b)
		}
		// Programs that take the training configuration's flags declare
		// them through trainer.Config.RegisterFlags.
		if strings.Contains(code.String(), ".RegisterFlags(") {
			b, err := os.ReadFile(filepath.Join(root, "trainer", "flags.go"))
			if err != nil {
				t.Fatal(err)
			}
			code.Write(b)
		}
		for _, arg := range strings.Fields(m[2]) {
			f := flagName.FindStringSubmatch(arg)
			if f == nil {
				continue
			}
			checked++
			if !strings.Contains(code.String(), `"`+f[1]+`"`) {
				t.Errorf("README runs %q: %s defines no flag -%s", strings.TrimSpace(m[0]), m[1], f[1])
			}
		}
	}
	if checked == 0 {
		t.Fatal("no flag of a README command was checked")
	}
}

// stripComments drops the leading // comment lines of a Go file.
func stripComments(src string) string {
	lines := strings.Split(src, "\n")
	for len(lines) > 0 && (strings.HasPrefix(lines[0], "//") || strings.TrimSpace(lines[0]) == "") {
		lines = lines[1:]
	}
	return strings.Join(lines, "\n")
}

// imageLink matches a Markdown image's path.
var imageLink = regexp.MustCompile(`!\[[^\]]*\]\(([^)\s]+)\)`)

// TestPicturesExist checks that every picture the README shows is in the
// repository.
func TestPicturesExist(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	ms := imageLink.FindAllStringSubmatch(string(data), -1)
	if len(ms) == 0 {
		t.Fatal("no picture found in the README")
	}
	for _, m := range ms {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(m[1]))); err != nil {
			t.Errorf("the README shows %s: %v", m[1], err)
		}
	}
}
