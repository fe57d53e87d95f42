package readme

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNotebookRunnerKeepsExecutedCopies runs notebooks/run.sh, in a copy
// of its folder, with a stand-in for jupyter that "executes" a notebook by
// copying it to the output folder (and fails on a notebook named *-bad*).
// The executed copy must stay in notebooks/executed/, a failure's log next
// to it, and the size of notebooks/out must be reported.
func TestNotebookRunnerKeepsExecutedCopies(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found; the notebook runner is a bash script")
	}
	dir := t.TempDir()
	script, err := os.ReadFile(filepath.Join(root, "notebooks", "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	nb := filepath.Join(dir, "notebooks")
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{nb, bin, filepath.Join(nb, "out")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(nb, "run.sh"):         string(script),
		filepath.Join(nb, "01-good.ipynb"):  `{"cells": []}`,
		filepath.Join(nb, "02-bad.ipynb"):   `{"cells": []}`,
		filepath.Join(nb, "out", "big.bin"): strings.Repeat("x", 4096),
		filepath.Join(bin, "jupyter"): `#!/usr/bin/env bash
# stand-in for jupyter nbconvert --execute --output-dir DIR NOTEBOOK
out=""; nb=""
while [ $# -gt 0 ]; do
	case "$1" in
	--output-dir) out="$2"; shift ;;
	*.ipynb) nb="$1" ;;
	esac
	shift
done
case "$nb" in *-bad*) echo "CellExecutionError: boom" >&2; exit 1 ;; esac
cp "$nb" "$out/$nb"
`,
	}
	for p, content := range files {
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bash, filepath.Join(nb, "run.sh"))
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err == nil {
		t.Error("run.sh succeeded although a notebook failed")
	}
	if _, err := os.Stat(filepath.Join(nb, "executed", "01-good.ipynb")); err != nil {
		t.Errorf("the executed notebook was not kept: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(nb, "executed", "02-bad.log")); err != nil || !strings.Contains(string(b), "boom") {
		t.Errorf("the failing notebook's log was not kept (%v): %q", err, b)
	}
	for _, want := range []string{"ok    01-good.ipynb", "FAIL  02-bad.ipynb", "1 passed, 1 failed", "notebooks/out holds", "rm -rf notebooks/out"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	ignore, err := os.ReadFile(filepath.Join(root, ".gitignore"))
	if err != nil || !strings.Contains(string(ignore), "/notebooks/executed/") {
		t.Errorf(".gitignore does not ignore notebooks/executed/ (%v)", err)
	}
}
