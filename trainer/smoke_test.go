package trainer

import (
	"testing"
)

func TestSmokeTrain(t *testing.T) {
	tr, err := New(Config{Steps: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ev, err := tr.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("initial NLL %.3f", ev.NLL)
	for i := 0; i < 40; i++ {
		st, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			t.Logf("%+v", st)
		}
	}
	ev, err = tr.Evaluate()
	t.Logf("NLL %.3f %v", ev.NLL, err)
}
