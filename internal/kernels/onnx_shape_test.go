package kernels

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"

	"inferd/internal/tensor"
)

func shF32(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
func shI64(shape tensor.Shape, v ...int64) *tensor.Tensor   { return tensor.MustFromSlice(shape, v) }
func shI32(shape tensor.Shape, v ...int32) *tensor.Tensor   { return tensor.MustFromSlice(shape, v) }
func shB(shape tensor.Shape, v ...bool) *tensor.Tensor      { return tensor.MustFromSlice(shape, v) }

// shIota returns the float32 values 0, 1, ... in shape.
func shIota(shape ...int) *tensor.Tensor {
	v := make([]float32, tensor.Shape(shape).NumElements())
	for i := range v {
		v[i] = float32(i)
	}
	return tensor.MustFromSlice(shape, v)
}

// shSame reports whether got has want's dtype, shape and values (floats
// within 1e-6).
func shSame(got, want *tensor.Tensor) bool {
	if got.DType() != want.DType() || !got.Shape().Equal(want.Shape()) {
		return false
	}
	g, w := asF64(got), asF64(want)
	for i := range w {
		if !closeTo(g[i], w[i], 1e-6) {
			return false
		}
	}
	return true
}

func TestOnnxShapeKernels(t *testing.T) {
	empty := shF32(tensor.Shape{0})
	cases := []struct {
		name string
		op   string
		at   attrs
		in   []*tensor.Tensor
		want []*tensor.Tensor
	}{
		{"shape start end", "OnnxShape", attrs{"start": -3, "end": -1}, []*tensor.Tensor{shIota(2, 3, 4, 5)}, []*tensor.Tensor{shI64(tensor.Shape{2}, 3, 4)}},
		{"shape start past end", "OnnxShape", attrs{"start": 10}, []*tensor.Tensor{shIota(2, 3)}, []*tensor.Tensor{shI64(tensor.Shape{0})}},
		{"size", "OnnxSize", nil, []*tensor.Tensor{shIota(2, 3)}, []*tensor.Tensor{shI64(tensor.Shape{}, 6)}},
		{"reshape copies zero", "OnnxReshape", nil, []*tensor.Tensor{shIota(2, 3, 4), shI64(tensor.Shape{2}, 0, -1)}, []*tensor.Tensor{shIota(2, 12)}},
		{"reshape allowzero", "OnnxReshape", attrs{"allowzero": 1}, []*tensor.Tensor{shIota(0, 3, 4), shI64(tensor.Shape{3}, 3, 4, 0)}, []*tensor.Tensor{shIota(3, 4, 0)}},
		{"reshape shape attribute", "OnnxReshape", attrs{"shape": []int64{3, 2}}, []*tensor.Tensor{shIota(6)}, []*tensor.Tensor{shIota(3, 2)}},
		{"flatten axis 0", "OnnxFlatten", attrs{"axis": 0}, []*tensor.Tensor{shIota(2, 3)}, []*tensor.Tensor{shIota(1, 6)}},
		{"flatten negative axis", "OnnxFlatten", attrs{"axis": -1}, []*tensor.Tensor{shIota(2, 3, 4)}, []*tensor.Tensor{shIota(6, 4)}},
		{"squeeze all", "OnnxSqueeze", nil, []*tensor.Tensor{shIota(1, 3, 1)}, []*tensor.Tensor{shIota(3)}},
		{"squeeze axes input", "OnnxSqueeze", nil, []*tensor.Tensor{shIota(1, 3, 1), shI64(tensor.Shape{1}, -1)}, []*tensor.Tensor{shIota(1, 3)}},
		{"unsqueeze negative axes", "OnnxUnsqueeze", nil, []*tensor.Tensor{shIota(3), shI64(tensor.Shape{2}, -1, 0)}, []*tensor.Tensor{shIota(1, 3, 1)}},
		{"unsqueeze axes attribute", "OnnxUnsqueeze", attrs{"axes": []int64{1}}, []*tensor.Tensor{shIota(2, 3)}, []*tensor.Tensor{shIota(2, 1, 3)}},
		{"transpose default reverses", "OnnxTranspose", nil, []*tensor.Tensor{shIota(2, 3)}, []*tensor.Tensor{shF32(tensor.Shape{3, 2}, 0, 3, 1, 4, 2, 5)}},
		{"concat negative axis with empty", "OnnxConcat", attrs{"axis": -1}, []*tensor.Tensor{shIota(2, 1), shIota(2, 0), shIota(2, 2)}, []*tensor.Tensor{shF32(tensor.Shape{2, 3}, 0, 0, 1, 1, 2, 3)}},
		{"split equal, last smaller", "OnnxSplit", attrs{"_num_outputs": 3}, []*tensor.Tensor{shIota(7)}, []*tensor.Tensor{shIota(3), shF32(tensor.Shape{3}, 3, 4, 5), shF32(tensor.Shape{1}, 6)}},
		{"split input axis 1", "OnnxSplit", attrs{"axis": 1, "_num_outputs": 2}, []*tensor.Tensor{shIota(2, 3), shI64(tensor.Shape{2}, 1, 2)}, []*tensor.Tensor{shF32(tensor.Shape{2, 1}, 0, 3), shF32(tensor.Shape{2, 2}, 1, 2, 4, 5)}},
		{"slice negative step clamps", "OnnxSlice", nil, []*tensor.Tensor{shIota(10), shI64(tensor.Shape{1}, -1), shI64(tensor.Shape{1}, -100), shI64(tensor.Shape{1}, 0), shI64(tensor.Shape{1}, -3)}, []*tensor.Tensor{shF32(tensor.Shape{4}, 9, 6, 3, 0)}},
		{"slice reverse all", "OnnxSlice", nil, []*tensor.Tensor{shIota(5), shI64(tensor.Shape{1}, -1), shI64(tensor.Shape{1}, math.MinInt64), shI64(tensor.Shape{1}, 0), shI64(tensor.Shape{1}, -1)}, []*tensor.Tensor{shF32(tensor.Shape{5}, 4, 3, 2, 1, 0)}},
		{"slice start past end", "OnnxSlice", nil, []*tensor.Tensor{shIota(10), shI64(tensor.Shape{1}, 20), shI64(tensor.Shape{1}, 30)}, []*tensor.Tensor{shIota(0)}},
		{"slice absent axes, steps", "OnnxSlice", attrs{"_absent": []int64{3}}, []*tensor.Tensor{shIota(10), shI64(tensor.Shape{1}, 1), shI64(tensor.Shape{1}, math.MaxInt64), empty, shI64(tensor.Shape{1}, 4)}, []*tensor.Tensor{shF32(tensor.Shape{3}, 1, 5, 9)}},
		{"slice huge step", "OnnxSlice", nil, []*tensor.Tensor{shIota(5), shI64(tensor.Shape{1}, 1), shI64(tensor.Shape{1}, math.MaxInt64), shI64(tensor.Shape{1}, 0), shI64(tensor.Shape{1}, math.MaxInt64)}, []*tensor.Tensor{shF32(tensor.Shape{1}, 1)}},
		{"slice huge negative step", "OnnxSlice", nil, []*tensor.Tensor{shIota(5), shI64(tensor.Shape{1}, -2), shI64(tensor.Shape{1}, math.MinInt64), shI64(tensor.Shape{1}, 0), shI64(tensor.Shape{1}, math.MinInt64)}, []*tensor.Tensor{shF32(tensor.Shape{1}, 3)}},
		{"slice attributes", "OnnxSlice", attrs{"starts": []int64{1, 0}, "ends": []int64{3, -1}}, []*tensor.Tensor{shIota(3, 4)}, []*tensor.Tensor{shF32(tensor.Shape{2, 3}, 4, 5, 6, 8, 9, 10)}},
		{"expand both ways", "OnnxExpand", nil, []*tensor.Tensor{shF32(tensor.Shape{3, 1}, 1, 2, 3), shI64(tensor.Shape{3}, 2, 1, 2)}, []*tensor.Tensor{shF32(tensor.Shape{2, 3, 2}, 1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3)}},
		{"tile", "OnnxTile", nil, []*tensor.Tensor{shF32(tensor.Shape{1, 2}, 1, 2), shI64(tensor.Shape{2}, 2, 2)}, []*tensor.Tensor{shF32(tensor.Shape{2, 4}, 1, 2, 1, 2, 1, 2, 1, 2)}},
		{"tile opset 1", "OnnxTile", attrs{"_opset": 1}, []*tensor.Tensor{shF32(tensor.Shape{1, 2}, 1, 2), shI64(tensor.Shape{}, 3), shI64(tensor.Shape{}, 0)}, []*tensor.Tensor{shF32(tensor.Shape{3, 2}, 1, 2, 1, 2, 1, 2)}},
		{"depth to space DCR", "OnnxDepthToSpace", attrs{"blocksize": 2}, []*tensor.Tensor{shIota(1, 8, 1, 1)}, []*tensor.Tensor{shF32(tensor.Shape{1, 2, 2, 2}, 0, 2, 4, 6, 1, 3, 5, 7)}},
		{"depth to space CRD", "OnnxDepthToSpace", attrs{"blocksize": 2, "mode": "CRD"}, []*tensor.Tensor{shIota(1, 8, 1, 1)}, []*tensor.Tensor{shIota(1, 2, 2, 2)}},
		{"space to depth", "OnnxSpaceToDepth", attrs{"blocksize": 2}, []*tensor.Tensor{shF32(tensor.Shape{1, 2, 2, 2}, 0, 2, 4, 6, 1, 3, 5, 7)}, []*tensor.Tensor{shIota(1, 8, 1, 1)}},
		{"gather negative indices", "OnnxGather", attrs{"axis": 1}, []*tensor.Tensor{shIota(2, 3), shI64(tensor.Shape{2}, -1, 0)}, []*tensor.Tensor{shF32(tensor.Shape{2, 2}, 2, 0, 5, 3)}},
		{"gather elements", "OnnxGatherElements", attrs{"axis": 1}, []*tensor.Tensor{shIota(2, 3), shI32(tensor.Shape{2, 2}, 0, -1, 1, 1)}, []*tensor.Tensor{shF32(tensor.Shape{2, 2}, 0, 2, 4, 4)}},
		{"gather nd batch dims", "OnnxGatherND", attrs{"batch_dims": 1}, []*tensor.Tensor{shIota(2, 2, 2), shI64(tensor.Shape{2, 1}, 1, 0)}, []*tensor.Tensor{shF32(tensor.Shape{2, 2}, 2, 3, 4, 5)}},
		{"gather nd full tuples", "OnnxGatherND", nil, []*tensor.Tensor{shIota(2, 2), shI64(tensor.Shape{2, 2}, 0, 0, 1, -1)}, []*tensor.Tensor{shF32(tensor.Shape{2}, 0, 3)}},
		{"scatter elements mul, negative index", "OnnxScatterElements", attrs{"axis": 1, "reduction": "mul"}, []*tensor.Tensor{shI64(tensor.Shape{1, 5}, 1, 2, 3, 4, 5), shI64(tensor.Shape{1, 2}, 1, -2), shI64(tensor.Shape{1, 2}, 3, 5)}, []*tensor.Tensor{shI64(tensor.Shape{1, 5}, 1, 6, 3, 20, 5)}},
		{"scatter nd add duplicates", "OnnxScatterND", attrs{"reduction": "add"}, []*tensor.Tensor{shI64(tensor.Shape{4}, 1, 2, 3, 4), shI64(tensor.Shape{3, 1}, 1, 1, 3), shI64(tensor.Shape{3}, 10, 20, 30)}, []*tensor.Tensor{shI64(tensor.Shape{4}, 1, 32, 3, 34)}},
		{"scatter nd slices", "OnnxScatterND", nil, []*tensor.Tensor{shIota(2, 2), shI64(tensor.Shape{1, 1}, 1), shF32(tensor.Shape{1, 2}, 7, 8)}, []*tensor.Tensor{shF32(tensor.Shape{2, 2}, 0, 1, 7, 8)}},
		{"pad reflect", "OnnxPad", attrs{"mode": "reflect"}, []*tensor.Tensor{shF32(tensor.Shape{2, 3}, 1, 2, 3, 4, 5, 6), shI64(tensor.Shape{4}, 0, 2, 0, 0)}, []*tensor.Tensor{shF32(tensor.Shape{2, 5}, 3, 2, 1, 2, 3, 6, 5, 4, 5, 6)}},
		{"pad edge", "OnnxPad", attrs{"mode": "edge"}, []*tensor.Tensor{shF32(tensor.Shape{2, 3}, 1, 2, 3, 4, 5, 6), shI64(tensor.Shape{4}, 1, 0, 0, 1)}, []*tensor.Tensor{shF32(tensor.Shape{3, 4}, 1, 2, 3, 3, 1, 2, 3, 3, 4, 5, 6, 6)}},
		{"pad attributes, negative pad", "OnnxPad", attrs{"pads": []int64{0, 1, 0, -1}, "value": float32(9)}, []*tensor.Tensor{shF32(tensor.Shape{2, 3}, 1, 2, 3, 4, 5, 6)}, []*tensor.Tensor{shF32(tensor.Shape{2, 3}, 9, 1, 2, 9, 4, 5)}},
		{"pad constant_value input", "OnnxPad", nil, []*tensor.Tensor{shI32(tensor.Shape{1, 2}, 1, 2), shI64(tensor.Shape{4}, 1, 0, 0, 1), shI32(tensor.Shape{}, 7)}, []*tensor.Tensor{shI32(tensor.Shape{2, 3}, 7, 7, 7, 1, 2, 7)}},
		{"constant of shape", "OnnxConstantOfShape", nil, []*tensor.Tensor{shI64(tensor.Shape{2}, 2, 2), shI32(tensor.Shape{1}, 5)}, []*tensor.Tensor{shI32(tensor.Shape{2, 2}, 5, 5, 5, 5)}},
		{"constant of empty shape", "OnnxConstantOfShape", nil, []*tensor.Tensor{shI64(tensor.Shape{0}), shF32(tensor.Shape{1}, 1)}, []*tensor.Tensor{shF32(tensor.Shape{}, 1)}},
		{"range float", "OnnxRange", nil, []*tensor.Tensor{shF32(nil, 1), shF32(nil, 2), shF32(nil, 0.3)}, []*tensor.Tensor{shF32(tensor.Shape{4}, 1, 1.3, 1.6, 1.9)}},
		{"range int negative delta", "OnnxRange", nil, []*tensor.Tensor{shI32(nil, 10), shI32(nil, 4), shI32(nil, -3)}, []*tensor.Tensor{shI32(tensor.Shape{2}, 10, 7)}},
		{"range large int64 exact", "OnnxRange", nil, []*tensor.Tensor{shI64(nil, 1<<60), shI64(nil, 1<<60+3), shI64(nil, 2)}, []*tensor.Tensor{shI64(tensor.Shape{2}, 1<<60, 1<<60+2)}},
		{"range empty", "OnnxRange", nil, []*tensor.Tensor{shI64(nil, 5), shI64(nil, 1), shI64(nil, 1)}, []*tensor.Tensor{shI64(tensor.Shape{0})}},
		{"eye like k dtype", "OnnxEyeLike", attrs{"k": 1, "dtype": tensor.Int32}, []*tensor.Tensor{shIota(2, 3)}, []*tensor.Tensor{shI32(tensor.Shape{2, 3}, 0, 1, 0, 0, 0, 1)}},
		{"trilu lower k -1", "OnnxTrilu", attrs{"upper": 0}, []*tensor.Tensor{shIota(3, 3), shI64(nil, -1)}, []*tensor.Tensor{shF32(tensor.Shape{3, 3}, 0, 0, 0, 3, 0, 0, 6, 7, 0)}},
		{"trilu upper k 1", "OnnxTrilu", nil, []*tensor.Tensor{shIota(3, 3), shI64(nil, 1)}, []*tensor.Tensor{shF32(tensor.Shape{3, 3}, 0, 1, 2, 0, 0, 5, 0, 0, 0)}},
		{"trilu huge k keeps all", "OnnxTrilu", attrs{"upper": 0}, []*tensor.Tensor{shIota(2, 2), shI64(nil, math.MaxInt64)}, []*tensor.Tensor{shIota(2, 2)}},
		{"trilu huge k keeps none", "OnnxTrilu", nil, []*tensor.Tensor{shIota(2, 2), shI64(nil, math.MaxInt64)}, []*tensor.Tensor{shF32(tensor.Shape{2, 2}, 0, 0, 0, 0)}},
		{"one hot negative and out of range", "OnnxOneHot", nil, []*tensor.Tensor{shI64(tensor.Shape{3}, 0, -1, 3), shF32(nil, 3), shI32(tensor.Shape{2}, 0, 1)}, []*tensor.Tensor{shI32(tensor.Shape{3, 3}, 1, 0, 0, 0, 0, 1, 0, 0, 0)}},
		{"one hot axis 0", "OnnxOneHot", attrs{"axis": 0}, []*tensor.Tensor{shI64(tensor.Shape{2}, 1, 0), shI64(nil, 2), shF32(tensor.Shape{2}, -1, 5)}, []*tensor.Tensor{shF32(tensor.Shape{2, 2}, -1, 5, 5, -1)}},
		{"non zero", "OnnxNonZero", nil, []*tensor.Tensor{shB(tensor.Shape{2, 2}, true, false, true, true)}, []*tensor.Tensor{shI64(tensor.Shape{2, 3}, 0, 1, 1, 0, 0, 1)}},
		{"compress flattened", "OnnxCompress", nil, []*tensor.Tensor{shIota(2, 2), shB(tensor.Shape{3}, false, true, true)}, []*tensor.Tensor{shF32(tensor.Shape{2}, 1, 2)}},
		{"compress axis", "OnnxCompress", attrs{"axis": -1}, []*tensor.Tensor{shIota(2, 2), shB(tensor.Shape{2}, false, true)}, []*tensor.Tensor{shF32(tensor.Shape{2, 1}, 1, 3)}},
		{"reverse sequence", "OnnxReverseSequence", attrs{"batch_axis": 0, "time_axis": 1}, []*tensor.Tensor{shIota(2, 4), shI64(tensor.Shape{2}, 3, 1)}, []*tensor.Tensor{shF32(tensor.Shape{2, 4}, 2, 1, 0, 3, 4, 5, 6, 7)}},
		{"cumsum exclusive reverse", "OnnxCumSum", attrs{"exclusive": 1, "reverse": 1}, []*tensor.Tensor{shI32(tensor.Shape{3}, 1, 2, 3), shI32(nil, 0)}, []*tensor.Tensor{shI32(tensor.Shape{3}, 5, 3, 0)}},
		{"cumsum negative axis", "OnnxCumSum", nil, []*tensor.Tensor{shIota(2, 3), shI64(nil, -1)}, []*tensor.Tensor{shF32(tensor.Shape{2, 3}, 0, 1, 3, 3, 7, 12)}},
		{"top k ties keep index order", "OnnxTopK", nil, []*tensor.Tensor{shF32(tensor.Shape{4}, 3, 1, 3, 2), shI64(tensor.Shape{1}, 3)}, []*tensor.Tensor{shF32(tensor.Shape{3}, 3, 3, 2), shI64(tensor.Shape{3}, 0, 2, 3)}},
		{"top k smallest axis 0", "OnnxTopK", attrs{"largest": 0, "axis": 0}, []*tensor.Tensor{shF32(tensor.Shape{3, 2}, 5, 0, 1, 9, 3, 4), shI64(tensor.Shape{1}, 2)}, []*tensor.Tensor{shF32(tensor.Shape{2, 2}, 1, 0, 3, 4), shI64(tensor.Shape{2, 2}, 1, 0, 2, 2)}},
		{"top k attribute", "OnnxTopK", attrs{"k": 1}, []*tensor.Tensor{shF32(tensor.Shape{3}, 1, 4, 2)}, []*tensor.Tensor{shF32(tensor.Shape{1}, 4), shI64(tensor.Shape{1}, 1)}},
		{"unique sorted", "OnnxUnique", nil, []*tensor.Tensor{shF32(tensor.Shape{6}, 2, 1, 1, 3, 4, 3)}, []*tensor.Tensor{
			shF32(tensor.Shape{4}, 1, 2, 3, 4), shI64(tensor.Shape{4}, 1, 0, 3, 4), shI64(tensor.Shape{6}, 1, 0, 0, 2, 3, 2), shI64(tensor.Shape{4}, 2, 1, 2, 1)}},
		{"unique unsorted", "OnnxUnique", attrs{"sorted": 0}, []*tensor.Tensor{shF32(tensor.Shape{6}, 2, 1, 1, 3, 4, 3)}, []*tensor.Tensor{
			shF32(tensor.Shape{4}, 2, 1, 3, 4), shI64(tensor.Shape{4}, 0, 1, 3, 4), shI64(tensor.Shape{6}, 0, 1, 1, 2, 3, 2), shI64(tensor.Shape{4}, 1, 2, 2, 1)}},
		{"unique rows", "OnnxUnique", attrs{"axis": 0}, []*tensor.Tensor{shF32(tensor.Shape{3, 3}, 2, 3, 4, 1, 0, 0, 2, 3, 4)}, []*tensor.Tensor{
			shF32(tensor.Shape{2, 3}, 1, 0, 0, 2, 3, 4), shI64(tensor.Shape{2}, 1, 0), shI64(tensor.Shape{3}, 1, 0, 1), shI64(tensor.Shape{2}, 1, 2)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := run(t, c.op, c.at, c.in...)
			if len(got) < len(c.want) {
				t.Fatalf("got %d outputs, want %d", len(got), len(c.want))
			}
			for i, w := range c.want {
				if !shSame(got[i], w) {
					t.Errorf("output %d = %v %v, want %v %v", i, got[i], got[i].Data(), w, w.Data())
				}
			}
		})
	}
}

func TestOnnxShapeKernelErrors(t *testing.T) {
	cases := []struct {
		name string
		op   string
		at   attrs
		in   []*tensor.Tensor
	}{
		{"reshape two unknowns", "OnnxReshape", nil, []*tensor.Tensor{shIota(4), shI64(tensor.Shape{2}, -1, -1)}},
		{"reshape wrong count", "OnnxReshape", nil, []*tensor.Tensor{shIota(4), shI64(tensor.Shape{1}, 3)}},
		{"squeeze a dimension not 1", "OnnxSqueeze", nil, []*tensor.Tensor{shIota(2, 3), shI64(tensor.Shape{1}, 0)}},
		{"gather index out of range", "OnnxGather", nil, []*tensor.Tensor{shIota(3), shI64(tensor.Shape{1}, 3)}},
		{"gather index below range", "OnnxGather", nil, []*tensor.Tensor{shIota(3), shI64(tensor.Shape{1}, -4)}},
		{"slice step 0", "OnnxSlice", nil, []*tensor.Tensor{shIota(3), shI64(tensor.Shape{1}, 0), shI64(tensor.Shape{1}, 2), shI64(tensor.Shape{1}, 0), shI64(tensor.Shape{1}, 0)}},
		{"split not summing", "OnnxSplit", attrs{"_num_outputs": 2}, []*tensor.Tensor{shIota(4), shI64(tensor.Shape{2}, 1, 2)}},
		{"expand incompatible", "OnnxExpand", nil, []*tensor.Tensor{shIota(3), shI64(tensor.Shape{1}, 2)}},
		{"top k too large", "OnnxTopK", nil, []*tensor.Tensor{shIota(3), shI64(tensor.Shape{1}, 4)}},
		{"range zero delta", "OnnxRange", nil, []*tensor.Tensor{shI64(nil, 0), shI64(nil, 3), shI64(nil, 0)}},
		{"tile too large", "OnnxTile", nil, []*tensor.Tensor{shIota(4), shI64(tensor.Shape{1}, math.MaxInt64/2)}},
		{"range too large", "OnnxRange", nil, []*tensor.Tensor{shI64(nil, math.MinInt64), shI64(nil, math.MaxInt64), shI64(nil, 1)}},
		{"pad cropping below zero", "OnnxPad", nil, []*tensor.Tensor{shIota(2), shI64(tensor.Shape{2}, -2, -1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := runErr(c.op, c.at, c.in...); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("error %v, want ErrInvalidArgument", err)
			}
		})
	}
}

// TestOnnxShapeWideDTypes checks that the data-movement and ordering
// kernels handle the 16-bit and unsigned dtypes asElems does not.
func TestOnnxShapeWideDTypes(t *testing.T) {
	h := func(v ...float32) []tensor.F16 {
		out := make([]tensor.F16, len(v))
		for i, x := range v {
			out[i] = tensor.F16FromFloat32(x)
		}
		return out
	}
	cases := []struct {
		name string
		op   string
		at   attrs
		in   []*tensor.Tensor
		want []*tensor.Tensor
	}{
		{"transpose float16", "OnnxTranspose", nil, []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2, 2}, h(1, 2, 3, 4))}, []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2, 2}, h(1, 3, 2, 4))}},
		{"pad uint16", "OnnxPad", nil, []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2}, []uint16{7, 8}), shI64(tensor.Shape{2}, 1, 0)}, []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{3}, []uint16{0, 7, 8})}},
		{"eye like bfloat16", "OnnxEyeLike", attrs{"dtype": tensor.BFloat16}, []*tensor.Tensor{shIota(2, 2)}, []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2, 2}, []tensor.BF16{tensor.BF16FromFloat32(1), 0, 0, tensor.BF16FromFloat32(1)})}},
		{"top k float16", "OnnxTopK", nil, []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{3}, h(1, -2, 5)), shI64(tensor.Shape{1}, 2)}, []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2}, h(5, 1)), shI64(tensor.Shape{2}, 2, 0)}},
		{"trilu uint64", "OnnxTrilu", nil, []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2, 2}, []uint64{1, 2, 3, 4})}, []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2, 2}, []uint64{1, 2, 0, 4})}},
		{"gather int16", "OnnxGather", nil, []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{3}, []int16{4, 5, 6}), shI64(tensor.Shape{2}, -1, 0)}, []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2}, []int16{6, 4})}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := build(t, c.op, c.at, len(c.in)).Compute(context.Background(), c.in)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range c.want {
				if got[i].DType() != w.DType() || !got[i].Shape().Equal(w.Shape()) || !reflect.DeepEqual(got[i].Data(), w.Data()) {
					t.Errorf("output %d = %v %v, want %v %v", i, got[i], got[i].Data(), w, w.Data())
				}
			}
		})
	}
}
