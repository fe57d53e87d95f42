package graph

import (
	"reflect"
	"unsafe"

	G "gorgonia.org/gorgonia"
)

// Rerun runs m's whole program again: m.Reset() then m.RunAll(), except
// that a Gorgonia tape machine keeps its registers. Reset empties them, so
// every op of every run allocates (and zeroes) a fresh output while the
// previous run's outputs stay bound to their nodes until they are
// overwritten: a step allocated its whole tape anew, and a second run of a
// machine held up to two tapes. The tape machine gives every node its own
// output register (gorgonia's register allocator never shares one between
// two nodes of differing lifetimes), so the register that a node finds at
// the next run holds that node's own previous output, of the right shape
// and dtype, which an op that implements gorgonia.UsePreallocDoer
// overwrites in place (TestPreallocatedOutputsAreOverwritten checks that
// every such op of this package ignores what is there); input registers
// are reloaded from the nodes' values by the program itself. The
// exception, accumulators, start empty as after Reset.
//
// Another VM, or a tape machine whose layout this gorgonia version does not
// have, is reset and run as before.
func Rerun(m G.VM) error {
	regs := registers(m)
	fresh, ok := accumulators(m)
	if regs == nil || !ok {
		m.Reset()
		return m.RunAll()
	}
	// Reset clears the registers in place: save and restore them, all but
	// the accumulators'.
	saved := make([]G.Value, len(*regs))
	copy(saved, *regs)
	for _, r := range fresh {
		if r >= 0 && r < len(saved) {
			saved[r] = nil
		}
	}
	m.Reset()
	copy(*regs, saved)
	clear(saved)
	return m.RunAll()
}

// accumulators returns the registers of m's program that must start a run
// empty: those an Alloc instruction fills (it reuses a register that
// holds a value of the right shape without zeroing it, and the op after it
// adds into it: gorgonia's sliceIncrOp, the derivative of slicing) and
// those a sliceIncrOp writes. ok is false when the program's layout is not
// the one this gorgonia version has.
func accumulators(m G.VM) (regs []int, ok bool) {
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	p := v.Elem().FieldByName("p")
	if !p.IsValid() || p.Kind() != reflect.Pointer || p.IsNil() {
		return nil, false
	}
	ins := p.Elem().FieldByName("instructions")
	if !ins.IsValid() || ins.Kind() != reflect.Slice {
		return nil, false
	}
	writeTo := func(instr reflect.Value) (int, bool) {
		w := instr.FieldByName("writeTo")
		if !w.IsValid() || w.Kind() != reflect.Struct {
			return 0, false
		}
		id := w.FieldByName("id")
		if !id.IsValid() || !id.CanInt() {
			return 0, false
		}
		return int(id.Int()), true
	}
	for i := range ins.Len() {
		instr := ins.Index(i)
		if instr.Kind() == reflect.Interface {
			instr = instr.Elem()
		}
		if instr.Kind() == reflect.Pointer {
			instr = instr.Elem()
		}
		if instr.Kind() != reflect.Struct {
			return nil, false
		}
		switch instr.Type().Name() {
		case "alloc":
		case "execOp":
			op := instr.FieldByName("op")
			if !op.IsValid() || op.IsNil() {
				return nil, false
			}
			t := op.Elem().Type()
			if t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			if t.Name() != "sliceIncrOp" {
				continue
			}
		default:
			continue
		}
		r, ok := writeTo(instr)
		if !ok {
			return nil, false
		}
		regs = append(regs, r)
	}
	return regs, true
}

// registers returns a pointer to the CPU registers of gorgonia's tape
// machine (its unexported field cpumem []Value), or nil when m is not
// one or its layout differs.
func registers(m G.VM) *[]G.Value {
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	e := v.Elem()
	if e.Type().Name() != "tapeMachine" || e.Type().PkgPath() != "gorgonia.org/gorgonia" {
		return nil
	}
	f := e.FieldByName("cpumem")
	if !f.IsValid() || f.Type() != reflect.TypeFor[[]G.Value]() {
		return nil
	}
	return (*[]G.Value)(unsafe.Pointer(f.UnsafeAddr()))
}

// ValueBytes returns the bytes of the values of g's nodes, each counted
// once at its full size (views and outputs computed in place counted as
// copies, so it errs high). A tape machine keeps every node's output bound
// to the node between runs, so this is about the memory a compiled graph
// holds once it has run.
func ValueBytes(g *G.ExprGraph) int64 {
	var n int64
	for _, node := range g.AllNodes() {
		size := node.Shape().TotalSize()
		if size == 0 { // a scalar
			size = 1
		}
		n += int64(size) * int64(node.Dtype().Size())
	}
	return n
}
