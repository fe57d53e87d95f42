package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iresnet/iresnet/trainer"
)

var tiny = []string{"-quiet", "-pictures=false", "-blocks", "2", "-hidden", "8", "-batch", "32", "-eval-size", "100", "-eval-every", "5", "-save-every", "5", "-log-every", "5"}

// TestRunsAreNotOverwritten: a second fresh run into a run folder is an
// error that says what to do, -force replaces it, and -resume from an
// older checkpoint file continues that file.
func TestRunsAreNotOverwritten(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	var out, errb bytes.Buffer
	args := append([]string{"-data", "2moons", "-out", dir, "-steps", "10"}, tiny...)
	if err := run(args, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	before, err := os.ReadFile(filepath.Join(dir, trainer.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	err = run(args, &out, &errb)
	if err == nil {
		t.Fatal("a second run into the same folder succeeded")
	}
	for _, want := range []string{"already holds a run (step 10)", "-resume " + dir, "-out", "-force"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, trainer.CheckpointFile)); !bytes.Equal(before, after) {
		t.Error("the refused run changed the checkpoint")
	}
	// The previous checkpoint (step 5) resumed as a file of its own.
	old := filepath.Join(dir, "old.safetensors")
	prev, err := os.ReadFile(filepath.Join(dir, "checkpoint"+trainer.PreviousSuffix+".safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, prev, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-resume", old, "-steps", "15", "-quiet"}, &out, &errb); err != nil {
		t.Fatalf("resume from old.safetensors: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, trainer.CheckpointFile)); !bytes.Equal(before, after) {
		t.Error("resuming from old.safetensors changed checkpoint.safetensors")
	}
	tr, err := trainer.Load(old)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Steps() != 15 {
		t.Errorf("old.safetensors at step %d, want 15", tr.Steps())
	}
	tr.Close()
	if err := run(append(args, "-force"), &out, &errb); err != nil {
		t.Fatalf("-force: %v", err)
	}
}

// termEnv makes the test binary a child that trains for a long time.
const termEnv = "IRESNET_TRAIN_SIGTERM_DIR"

func TestHelperTrainsUntilStopped(t *testing.T) {
	dir := os.Getenv(termEnv)
	if dir == "" {
		t.Skip("helper process for TestSIGTERMSaves")
	}
	var out, errb bytes.Buffer
	args := append([]string{"-data", "2moons", "-out", dir, "-steps", "1000000"}, tiny...)
	if err := run(args, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
}

// TestSIGTERMSaves stops a training process with SIGTERM, as schedulers and
// timeout(1) do: it must exit cleanly with a checkpoint of where it was.
func TestSIGTERMSaves(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a training process")
	}
	dir := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperTrainsUntilStopped$")
	cmd.Env = append(os.Environ(), termEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if fi, err := os.Stat(filepath.Join(dir, trainer.MetricsFile)); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no metrics after 2 minutes\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM the process failed: %v\n%s", err, stderr.String())
	}
	tr, err := trainer.Load(filepath.Join(dir, trainer.CheckpointFile))
	if err != nil {
		t.Fatalf("no loadable checkpoint after SIGTERM: %v", err)
	}
	defer tr.Close()
	if tr.Steps() < 5 {
		t.Errorf("checkpoint at step %d", tr.Steps())
	}
}
