package kernels

import (
	"context"
	"errors"
	"testing"

	"inferd/internal/tensor"
)

func cfF(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
func cfI(v int64) *tensor.Tensor                          { return tensor.MustFromSlice(tensor.Shape{}, []int64{v}) }

// cfStr prints a tensor with its values, sequences element by element.
func cfStr(t *tensor.Tensor) string {
	return tensor.Seq{t}.String()
}

// TestSequenceKernels runs each sequence and optional kernel on small
// values worked by hand.
func TestSequenceKernels(t *testing.T) {
	a, b, c := cfF(tensor.Shape{2}, 1, 2), cfF(tensor.Shape{1}, 3), cfF(tensor.Shape{3}, 4, 5, 6)
	ab := tensor.NewSequence(a, b)
	x := cfF(tensor.Shape{2, 3}, 1, 2, 3, 4, 5, 6)
	for _, tc := range []struct {
		name string
		op   string
		at   attrs
		in   []*tensor.Tensor
		want *tensor.Tensor
	}{
		{"empty", "OnnxSequenceEmpty", nil, nil, tensor.NewSequence()},
		{"construct", "OnnxSequenceConstruct", nil, []*tensor.Tensor{a, b}, ab},
		{"insert at end", "OnnxSequenceInsert", nil, []*tensor.Tensor{ab, c}, tensor.NewSequence(a, b, c)},
		{"insert at 0", "OnnxSequenceInsert", nil, []*tensor.Tensor{ab, c, cfI(0)}, tensor.NewSequence(c, a, b)},
		{"insert at -1", "OnnxSequenceInsert", nil, []*tensor.Tensor{ab, c, cfI(-1)}, tensor.NewSequence(a, c, b)},
		{"insert at n", "OnnxSequenceInsert", nil, []*tensor.Tensor{ab, c, cfI(2)}, tensor.NewSequence(a, b, c)},
		{"erase last", "OnnxSequenceErase", nil, []*tensor.Tensor{ab}, tensor.NewSequence(a)},
		{"erase -2", "OnnxSequenceErase", nil, []*tensor.Tensor{ab, cfI(-2)}, tensor.NewSequence(b)},
		{"at 1", "OnnxSequenceAt", nil, []*tensor.Tensor{ab, cfI(1)}, b},
		{"at -2", "OnnxSequenceAt", nil, []*tensor.Tensor{ab, cfI(-2)}, a},
		{"length", "OnnxSequenceLength", nil, []*tensor.Tensor{ab}, cfI(2)},
		{"split ones keepdims", "OnnxSplitToSequence", attrs{"axis": 1}, []*tensor.Tensor{x},
			tensor.NewSequence(cfF(tensor.Shape{2, 1}, 1, 4), cfF(tensor.Shape{2, 1}, 2, 5), cfF(tensor.Shape{2, 1}, 3, 6))},
		{"split ones squeezed", "OnnxSplitToSequence", attrs{"axis": 0, "keepdims": 0}, []*tensor.Tensor{x},
			tensor.NewSequence(cfF(tensor.Shape{3}, 1, 2, 3), cfF(tensor.Shape{3}, 4, 5, 6))},
		{"split scalar", "OnnxSplitToSequence", attrs{"axis": -1}, []*tensor.Tensor{x, cfI(2)},
			tensor.NewSequence(cfF(tensor.Shape{2, 2}, 1, 2, 4, 5), cfF(tensor.Shape{2, 1}, 3, 6))},
		{"split lengths", "OnnxSplitToSequence", attrs{"axis": 1}, []*tensor.Tensor{x, tensor.MustFromSlice(tensor.Shape{2}, []int32{1, 2})},
			tensor.NewSequence(cfF(tensor.Shape{2, 1}, 1, 4), cfF(tensor.Shape{2, 2}, 2, 3, 5, 6))},
		{"concat", "OnnxConcatFromSequence", attrs{"axis": 0}, []*tensor.Tensor{tensor.NewSequence(a, b, c)},
			cfF(tensor.Shape{6}, 1, 2, 3, 4, 5, 6)},
		{"concat axis 1", "OnnxConcatFromSequence", attrs{"axis": 1},
			[]*tensor.Tensor{tensor.NewSequence(cfF(tensor.Shape{2, 1}, 1, 4), cfF(tensor.Shape{2, 2}, 2, 3, 5, 6))}, x},
		{"stack", "OnnxConcatFromSequence", attrs{"axis": 1, "new_axis": 1},
			[]*tensor.Tensor{tensor.NewSequence(cfF(tensor.Shape{3}, 1, 2, 3), cfF(tensor.Shape{3}, 4, 5, 6))},
			cfF(tensor.Shape{3, 2}, 1, 4, 2, 5, 3, 6)},
		{"stack at -1", "OnnxConcatFromSequence", attrs{"axis": -1, "new_axis": 1},
			[]*tensor.Tensor{tensor.NewSequence(a, a)}, cfF(tensor.Shape{2, 2}, 1, 1, 2, 2)},
		{"optional", "OnnxOptional", nil, []*tensor.Tensor{a}, tensor.NewOptional(a)},
		{"optional none", "OnnxOptional", nil, nil, tensor.NewOptional(nil)},
		{"optional of sequence", "OnnxOptional", nil, []*tensor.Tensor{ab}, tensor.NewOptional(ab)},
		{"has element", "OnnxOptionalHasElement", nil, []*tensor.Tensor{tensor.NewOptional(a)}, tensor.MustFromSlice(tensor.Shape{}, []bool{true})},
		{"has no element", "OnnxOptionalHasElement", nil, []*tensor.Tensor{tensor.NewOptional(nil)}, tensor.MustFromSlice(tensor.Shape{}, []bool{false})},
		{"tensor has element", "OnnxOptionalHasElement", nil, []*tensor.Tensor{a}, tensor.MustFromSlice(tensor.Shape{}, []bool{true})},
		{"get element", "OnnxOptionalGetElement", nil, []*tensor.Tensor{tensor.NewOptional(ab)}, ab},
		{"get tensor", "OnnxOptionalGetElement", nil, []*tensor.Tensor{a}, a},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := build(t, tc.op, tc.at, len(tc.in))
			out, err := k.Compute(context.Background(), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := cfStr(out[0]), cfStr(tc.want); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

// TestSequenceKernelsClone checks that a tensor put into a sequence is a
// copy: the arena may recycle the original's buffer.
func TestSequenceKernelsClone(t *testing.T) {
	a := cfF(tensor.Shape{2}, 1, 2)
	for _, op := range []string{"OnnxSequenceConstruct", "OnnxOptional"} {
		out, err := build(t, op, nil, 1).Compute(context.Background(), []*tensor.Tensor{a})
		if err != nil {
			t.Fatal(err)
		}
		if e := out[0].Elems()[0]; e == a || &e.Float32s()[0] == &a.Float32s()[0] {
			t.Errorf("%s stores its input's storage", op)
		}
	}
}

// TestSequenceKernelsRefuse checks the run-time errors: positions out of
// range, mixed dtypes, split lengths that do not add up, empty inputs.
func TestSequenceKernelsRefuse(t *testing.T) {
	a := cfF(tensor.Shape{2}, 1, 2)
	ab := tensor.NewSequence(a, a)
	for _, tc := range []struct {
		name string
		op   string
		at   attrs
		in   []*tensor.Tensor
	}{
		{"at out of range", "OnnxSequenceAt", nil, []*tensor.Tensor{ab, cfI(2)}},
		{"at below range", "OnnxSequenceAt", nil, []*tensor.Tensor{ab, cfI(-3)}},
		{"insert out of range", "OnnxSequenceInsert", nil, []*tensor.Tensor{ab, a, cfI(3)}},
		{"insert other dtype", "OnnxSequenceInsert", nil, []*tensor.Tensor{ab, cfI(1)}},
		{"erase empty", "OnnxSequenceErase", nil, []*tensor.Tensor{tensor.NewSequence()}},
		{"construct mixed", "OnnxSequenceConstruct", nil, []*tensor.Tensor{a, cfI(1)}},
		{"split lengths", "OnnxSplitToSequence", nil, []*tensor.Tensor{a, tensor.MustFromSlice(tensor.Shape{2}, []int64{1, 2})}},
		{"split zero", "OnnxSplitToSequence", nil, []*tensor.Tensor{a, cfI(0)}},
		{"concat empty", "OnnxConcatFromSequence", attrs{"axis": 0}, []*tensor.Tensor{tensor.NewSequence()}},
		{"concat shapes", "OnnxConcatFromSequence", attrs{"axis": 0, "new_axis": 1}, []*tensor.Tensor{tensor.NewSequence(a, cfF(tensor.Shape{1}, 1))}},
		{"get empty", "OnnxOptionalGetElement", nil, []*tensor.Tensor{tensor.NewOptional(nil)}},
		{"length of tensor", "OnnxSequenceLength", nil, []*tensor.Tensor{a}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, tc.op, tc.at, len(tc.in)).Compute(context.Background(), tc.in)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("err = %v, want ErrInvalidArgument", err)
			}
		})
	}
}
