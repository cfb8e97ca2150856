package kernels

import (
	"context"
	"math"
	"testing"

	"inferd/internal/tensor"
)

func rdF32(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
func rdI64(shape tensor.Shape, v ...int64) *tensor.Tensor   { return tensor.MustFromSlice(shape, v) }

// rdEmpty is what the importer feeds an absent optional input.
var rdEmpty = tensor.New(tensor.Float32, tensor.Shape{0})

func TestRdOnnxKernels(t *testing.T) {
	x23 := rdF32(tensor.Shape{2, 3}, 1, 2, 3, 4, 5, 6)
	ln2 := math.Log(2)
	cases := []struct {
		name  string
		op    string
		at    attrs
		in    []*tensor.Tensor
		out   int // the output checked
		dt    tensor.DType
		shape tensor.Shape
		want  []float64
	}{
		{"sum axes input keepdims", "OnnxReduceSum", attrs{}, []*tensor.Tensor{x23, rdI64(tensor.Shape{1}, 1)},
			0, tensor.Float32, tensor.Shape{2, 1}, []float64{6, 15}},
		{"sum empty axes is all", "OnnxReduceSum", attrs{"keepdims": 0}, []*tensor.Tensor{x23, rdI64(tensor.Shape{0})},
			0, tensor.Float32, tensor.Shape{}, []float64{21}},
		{"sum empty axes noop", "OnnxReduceSum", attrs{"noop_with_empty_axes": 1}, []*tensor.Tensor{x23, rdI64(tensor.Shape{0})},
			0, tensor.Float32, tensor.Shape{2, 3}, []float64{1, 2, 3, 4, 5, 6}},
		{"sum absent axes", "OnnxReduceSum", attrs{"_absent": []int64{1}}, []*tensor.Tensor{x23, rdEmpty},
			0, tensor.Float32, tensor.Shape{1, 1}, []float64{21}},
		{"mean negative axis", "OnnxReduceMean", attrs{"axes": []int64{-2}, "keepdims": 0}, []*tensor.Tensor{x23},
			0, tensor.Float32, tensor.Shape{3}, []float64{2.5, 3.5, 4.5}},
		{"l1", "OnnxReduceL1", attrs{"axes": []int64{1}}, []*tensor.Tensor{rdF32(tensor.Shape{1, 2}, -1, 2)},
			0, tensor.Float32, tensor.Shape{1, 1}, []float64{3}},
		{"l2", "OnnxReduceL2", attrs{"axes": []int64{1}}, []*tensor.Tensor{x23},
			0, tensor.Float32, tensor.Shape{2, 1}, []float64{math.Sqrt(14), math.Sqrt(77)}},
		{"sum square", "OnnxReduceSumSquare", attrs{"axes": []int64{0}, "keepdims": 0}, []*tensor.Tensor{x23},
			0, tensor.Float32, tensor.Shape{3}, []float64{17, 29, 45}},
		{"log sum", "OnnxReduceLogSum", attrs{"axes": []int64{1}, "keepdims": 0}, []*tensor.Tensor{x23},
			0, tensor.Float32, tensor.Shape{2}, []float64{math.Log(6), math.Log(15)}},
		{"log sum exp stays finite", "OnnxReduceLogSumExp", attrs{"keepdims": 0},
			[]*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2}, []float64{1000, 1000})},
			0, tensor.Float64, tensor.Shape{}, []float64{1000 + ln2}},
		{"max int32", "OnnxReduceMax", attrs{"axes": []int64{0}, "keepdims": 0},
			[]*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2, 2}, []int32{1, 7, 3, -2})},
			0, tensor.Int32, tensor.Shape{2}, []float64{3, 7}},
		{"int32 mean truncates", "OnnxReduceMean", attrs{"keepdims": 0},
			[]*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2}, []int32{-3, 0})},
			0, tensor.Int32, tensor.Shape{}, []float64{-1}},
		{"uint8 min", "OnnxReduceMin", attrs{"keepdims": 0},
			[]*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{3}, []uint8{200, 7, 9})},
			0, tensor.Uint8, tensor.Shape{}, []float64{7}},
		{"float16 sum", "OnnxReduceSum", attrs{"keepdims": 0},
			[]*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{3}, []tensor.F16{tensor.F16FromFloat32(1.5), tensor.F16FromFloat32(2), tensor.F16FromFloat32(-0.25)})},
			0, tensor.Float16, tensor.Shape{}, []float64{3.25}},
		{"uint32 max", "OnnxReduceMax", attrs{"keepdims": 0},
			[]*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2}, []uint32{4000000000, 3})},
			0, tensor.Uint32, tensor.Shape{}, []float64{4000000000}},
		{"min", "OnnxReduceMin", attrs{"axes": []int64{1}, "keepdims": 0}, []*tensor.Tensor{x23},
			0, tensor.Float32, tensor.Shape{2}, []float64{1, 4}},
		{"prod of an empty axis", "OnnxReduceProd", attrs{"axes": []int64{1}},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 0})},
			0, tensor.Float32, tensor.Shape{2, 1}, []float64{1, 1}},

		{"argmax first", "OnnxArgMax", attrs{"axis": 1}, []*tensor.Tensor{rdF32(tensor.Shape{2, 3}, 1, 3, 3, 5, 2, 5)},
			0, tensor.Int64, tensor.Shape{2, 1}, []float64{1, 0}},
		{"argmax last", "OnnxArgMax", attrs{"axis": -1, "keepdims": 0, "select_last_index": 1},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 3}, 1, 3, 3, 5, 2, 5)},
			0, tensor.Int64, tensor.Shape{2}, []float64{2, 2}},
		{"argmax int64 beyond float64's precision", "OnnxArgMax", attrs{},
			[]*tensor.Tensor{rdI64(tensor.Shape{2}, 1<<60, 1<<60+1)},
			0, tensor.Int64, tensor.Shape{1}, []float64{1}},
		{"argmin default axis", "OnnxArgMin", attrs{}, []*tensor.Tensor{rdF32(tensor.Shape{2, 3}, 1, 3, 3, 5, 2, 5)},
			0, tensor.Int64, tensor.Shape{1, 3}, []float64{0, 1, 0}},

		{"softmax opset 13 along axis 1", "OnnxSoftmax", attrs{"_opset": 13, "axis": 1},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 2, 2}, 0, 0, 0, 0)},
			0, tensor.Float32, tensor.Shape{1, 2, 2}, []float64{0.5, 0.5, 0.5, 0.5}},
		{"softmax opset 11 coerces to 2-D", "OnnxSoftmax", attrs{"_opset": 11, "axis": 1},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 2, 2}, 0, 0, 0, 0)},
			0, tensor.Float32, tensor.Shape{1, 2, 2}, []float64{0.25, 0.25, 0.25, 0.25}},
		{"softmax float16", "OnnxSoftmax", attrs{"_opset": 13},
			[]*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2}, []tensor.F16{tensor.F16FromFloat32(3), tensor.F16FromFloat32(3)})},
			0, tensor.Float16, tensor.Shape{2}, []float64{0.5, 0.5}},
		{"log softmax", "OnnxLogSoftmax", attrs{"_opset": 13},
			[]*tensor.Tensor{rdF32(tensor.Shape{2}, 7, 7)},
			0, tensor.Float32, tensor.Shape{2}, []float64{-ln2, -ln2}},
		{"hardmax takes the first maximum", "OnnxHardmax", attrs{"_opset": 13},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 3}, 1, 3, 3)},
			0, tensor.Float32, tensor.Shape{1, 3}, []float64{0, 1, 0}},
		{"hardmax opset 11 over the flattened rows", "OnnxHardmax", attrs{"_opset": 11, "axis": 1},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 2, 2}, 1, 4, 5, 2)},
			0, tensor.Float32, tensor.Shape{1, 2, 2}, []float64{0, 0, 1, 0}},

		{"layer norm y", "OnnxLayerNormalization", attrs{"epsilon": float32(0)},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 2}, 1, 3, 2, 6), rdF32(tensor.Shape{2}, 2, 1), rdF32(tensor.Shape{2}, 0, 1)},
			0, tensor.Float32, tensor.Shape{2, 2}, []float64{-2, 2, -2, 2}},
		{"layer norm mean", "OnnxLayerNormalization", attrs{"epsilon": float32(0)},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 2}, 1, 3, 2, 6), rdF32(tensor.Shape{2}, 2, 1)},
			1, tensor.Float32, tensor.Shape{2, 1}, []float64{2, 4}},
		{"layer norm inv std dev", "OnnxLayerNormalization", attrs{"epsilon": float32(0), "axis": 0},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 2}, 1, 3, 1, 3), rdF32(tensor.Shape{2}, 1, 1)},
			2, tensor.Float32, tensor.Shape{1, 1}, []float64{1}},

		{"batch norm inference", "OnnxBatchNormalization", attrs{"epsilon": float32(0)},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 2, 1, 2}, 1, 2, 3, 4), rdF32(tensor.Shape{2}, 1, 2),
				rdF32(tensor.Shape{2}, 0, 1), rdF32(tensor.Shape{2}, 1, 3), rdF32(tensor.Shape{2}, 1, 4)},
			0, tensor.Float32, tensor.Shape{1, 2, 1, 2}, []float64{0, 1, 1, 2}},
		{"batch norm training y", "OnnxBatchNormalization", attrs{"epsilon": float32(0), "training_mode": 1},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 1}, 1, 3), rdF32(tensor.Shape{1}, 1),
				rdF32(tensor.Shape{1}, 0), rdF32(tensor.Shape{1}, 0), rdF32(tensor.Shape{1}, 1)},
			0, tensor.Float32, tensor.Shape{2, 1}, []float64{-1, 1}},
		{"batch norm training running mean", "OnnxBatchNormalization", attrs{"training_mode": 1},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 1}, 1, 3), rdF32(tensor.Shape{1}, 1),
				rdF32(tensor.Shape{1}, 0), rdF32(tensor.Shape{1}, 0), rdF32(tensor.Shape{1}, 1)},
			1, tensor.Float32, tensor.Shape{1}, []float64{0.2}},
		{"batch norm training running var", "OnnxBatchNormalization", attrs{"training_mode": 1, "momentum": float32(0.5)},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 1}, 1, 3), rdF32(tensor.Shape{1}, 1),
				rdF32(tensor.Shape{1}, 0), rdF32(tensor.Shape{1}, 0), rdF32(tensor.Shape{1}, 3)},
			2, tensor.Float32, tensor.Shape{1}, []float64{2}},
		{"batch norm spatial=0", "OnnxBatchNormalization", attrs{"epsilon": float32(0), "spatial": 0},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 1, 2}, 5, 5), rdF32(tensor.Shape{1, 2}, 1, 2),
				rdF32(tensor.Shape{1, 2}, 0, 0), rdF32(tensor.Shape{1, 2}, 4, 6), rdF32(tensor.Shape{1, 2}, 1, 1)},
			0, tensor.Float32, tensor.Shape{1, 1, 2}, []float64{1, -2}},

		{"instance norm", "OnnxInstanceNormalization", attrs{"epsilon": float32(0)},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 1, 2}, 0, 2), rdF32(tensor.Shape{1}, 3), rdF32(tensor.Shape{1}, 1)},
			0, tensor.Float32, tensor.Shape{1, 1, 2}, []float64{-2, 4}},
		{"lrn", "OnnxLRN", attrs{"size": 2, "alpha": float32(1), "beta": float32(1), "bias": float32(0)},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 2, 1, 1}, 1, 2)},
			0, tensor.Float32, tensor.Shape{1, 2, 1, 1}, []float64{0.4, 1}},
		{"mvn", "OnnxMeanVarianceNormalization", attrs{"axes": []int64{0}},
			[]*tensor.Tensor{rdF32(tensor.Shape{2}, 1, 3)},
			0, tensor.Float32, tensor.Shape{2}, []float64{-1, 1}},

		{"nll mean", "OnnxNegativeLogLikelihoodLoss", attrs{},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 3}, -1, -2, -3, -4, -5, -6), rdI64(tensor.Shape{2}, 2, 0)},
			0, tensor.Float32, tensor.Shape{}, []float64{3.5}},
		{"nll weighted mean", "OnnxNegativeLogLikelihoodLoss", attrs{},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 3}, -1, -2, -3, -4, -5, -6), rdI64(tensor.Shape{2}, 2, 0), rdF32(tensor.Shape{3}, 1, 1, 2)},
			0, tensor.Float32, tensor.Shape{}, []float64{10.0 / 3}},
		{"nll ignore_index out of range", "OnnxNegativeLogLikelihoodLoss", attrs{"ignore_index": -1, "reduction": "none"},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 3}, -1, -2, -3, -4, -5, -6), rdI64(tensor.Shape{2}, 2, -1)},
			0, tensor.Float32, tensor.Shape{2}, []float64{3, 0}},
		{"nll ignore_index mean", "OnnxNegativeLogLikelihoodLoss", attrs{"ignore_index": 0},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 3}, -1, -2, -3, -4, -5, -6), rdI64(tensor.Shape{2}, 2, 0)},
			0, tensor.Float32, tensor.Shape{}, []float64{3}},
		{"nll sum over spatial", "OnnxNegativeLogLikelihoodLoss", attrs{"reduction": "sum"},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 2, 2}, -1, -2, -3, -4), rdI64(tensor.Shape{1, 2}, 1, 0)},
			0, tensor.Float32, tensor.Shape{}, []float64{5}},
		{"sce loss", "OnnxSoftmaxCrossEntropyLoss", attrs{},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 2}, 0, 0), rdI64(tensor.Shape{1}, 0)},
			0, tensor.Float32, tensor.Shape{}, []float64{ln2}},
		{"sce log_prob", "OnnxSoftmaxCrossEntropyLoss", attrs{},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 2}, 0, 0), rdI64(tensor.Shape{1}, 0)},
			1, tensor.Float32, tensor.Shape{1, 2}, []float64{-ln2, -ln2}},

		{"dropout inference", "OnnxDropout", attrs{"_opset": 13},
			[]*tensor.Tensor{rdF32(tensor.Shape{3}, 1, 2, 3)},
			0, tensor.Float32, tensor.Shape{3}, []float64{1, 2, 3}},
		{"dropout inference mask", "OnnxDropout", attrs{"_opset": 13},
			[]*tensor.Tensor{rdF32(tensor.Shape{3}, 1, 2, 3)},
			1, tensor.Bool, tensor.Shape{3}, []float64{1, 1, 1}},
		// NumPy's RandomState(0) draws 0.5488…, 0.7151…, 0.6027….
		{"dropout training", "OnnxDropout", attrs{"_opset": 13, "seed": 0},
			[]*tensor.Tensor{rdF32(tensor.Shape{3}, 1, 1, 1), rdF32(tensor.Shape{}, 0.6), tensor.MustFromSlice(tensor.Shape{}, []bool{true})},
			0, tensor.Float32, tensor.Shape{3}, []float64{0, 2.5, 2.5}},
		{"dropout training mask", "OnnxDropout", attrs{"_opset": 13, "seed": 0},
			[]*tensor.Tensor{rdF32(tensor.Shape{3}, 1, 1, 1), rdF32(tensor.Shape{}, 0.6), tensor.MustFromSlice(tensor.Shape{}, []bool{true})},
			1, tensor.Bool, tensor.Shape{3}, []float64{0, 1, 1}},

		{"matmul vector by matrix", "OnnxMatMul", attrs{},
			[]*tensor.Tensor{rdF32(tensor.Shape{3}, 1, 2, 3), rdF32(tensor.Shape{3, 2}, 1, 0, 0, 1, 1, 1)},
			0, tensor.Float32, tensor.Shape{2}, []float64{4, 5}},
		{"matmul matrix by vector", "OnnxMatMul", attrs{},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 3}, 1, 0, 1, 0, 1, 1), rdF32(tensor.Shape{3}, 1, 2, 3)},
			0, tensor.Float32, tensor.Shape{2}, []float64{4, 5}},
		{"matmul vectors", "OnnxMatMul", attrs{},
			[]*tensor.Tensor{rdF32(tensor.Shape{2}, 1, 2), rdF32(tensor.Shape{2}, 3, 4)},
			0, tensor.Float32, tensor.Shape{}, []float64{11}},
		{"matmul broadcast batch", "OnnxMatMul", attrs{},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 1, 2}, 1, 2, 3, 4), rdF32(tensor.Shape{2, 1}, 1, 1)},
			0, tensor.Float32, tensor.Shape{2, 1, 1}, []float64{3, 7}},
		{"matmul uint8 wraps", "OnnxMatMul", attrs{},
			[]*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{1, 2}, []uint8{200, 1}), tensor.MustFromSlice(tensor.Shape{2, 1}, []uint8{2, 3})},
			0, tensor.Uint8, tensor.Shape{1, 1}, []float64{147}},
		{"matmul bfloat16", "OnnxMatMul", attrs{},
			[]*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2}, []tensor.BF16{tensor.BF16FromFloat32(1), tensor.BF16FromFloat32(2)}),
				tensor.MustFromSlice(tensor.Shape{2}, []tensor.BF16{tensor.BF16FromFloat32(3), tensor.BF16FromFloat32(4)})},
			0, tensor.BFloat16, tensor.Shape{}, []float64{11}},
		{"gemm alpha beta transB", "OnnxGemm", attrs{"alpha": float32(2), "beta": float32(0.5), "transB": 1},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 2}, 1, 2), rdF32(tensor.Shape{2, 2}, 1, 0, 0, 1), rdF32(tensor.Shape{2}, 2, 4)},
			0, tensor.Float32, tensor.Shape{1, 2}, []float64{3, 6}},
		{"gemm scalar C", "OnnxGemm", attrs{"beta": float32(2), "transA": 1},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 1}, 1, 2), rdF32(tensor.Shape{2, 1}, 3, 4), rdF32(tensor.Shape{}, 1)},
			0, tensor.Float32, tensor.Shape{1, 1}, []float64{13}},
		{"det", "OnnxDet", attrs{},
			[]*tensor.Tensor{rdF32(tensor.Shape{3, 2, 2}, 1, 2, 3, 4, 2, 0, 0, 3, 1, 2, 2, 4)},
			0, tensor.Float32, tensor.Shape{3}, []float64{-2, 6, 0}},
		{"einsum diagonal", "OnnxEinsum", attrs{"equation": "ii->i"},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 2}, 1, 2, 3, 4)},
			0, tensor.Float32, tensor.Shape{2}, []float64{1, 4}},
		{"einsum implicit trace", "OnnxEinsum", attrs{"equation": "ii"},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 2}, 1, 2, 3, 4)},
			0, tensor.Float32, tensor.Shape{}, []float64{5}},
		{"einsum batch diagonal", "OnnxEinsum", attrs{"equation": "...ii ->...i"},
			[]*tensor.Tensor{rdF32(tensor.Shape{2, 2, 2}, 1, 2, 3, 4, 5, 6, 7, 8)},
			0, tensor.Float32, tensor.Shape{2, 2}, []float64{1, 4, 5, 8}},
		{"einsum int64 inner product", "OnnxEinsum", attrs{"equation": "i,i"},
			[]*tensor.Tensor{rdI64(tensor.Shape{2}, 1, 2), rdI64(tensor.Shape{2}, 3, 4)},
			0, tensor.Int64, tensor.Shape{}, []float64{11}},
		{"einsum float batch matmul", "OnnxEinsum", attrs{"equation": "bij, bjk -> bik"},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 1, 2}, 1, 2), rdF32(tensor.Shape{1, 2, 1}, 3, 4)},
			0, tensor.Float32, tensor.Shape{1, 1, 1}, []float64{11}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out []*tensor.Tensor
			if rdNewDType(c.dt) {
				// The shared poisoning check does not know these dtypes.
				var err error
				if out, err = build(t, c.op, c.at, len(c.in)).Compute(context.Background(), c.in); err != nil {
					t.Fatal(err)
				}
			} else {
				out = run(t, c.op, c.at, c.in...)
			}
			if c.out >= len(out) {
				t.Fatalf("got %d outputs, want output %d", len(out), c.out)
			}
			got := out[c.out]
			if got.DType() != c.dt || !got.Shape().Equal(c.shape) {
				t.Fatalf("got %v %v, want %v %v", got.DType(), got.Shape(), c.dt, c.shape)
			}
			g, ok := rdF64(got)
			if !ok {
				g = asF64(got)
			}
			for i, w := range c.want {
				if !closeTo(g[i], w, 1e-5) {
					t.Fatalf("element %d is %v, want %v (all %v)", i, g[i], w, g)
				}
			}
		})
	}
}

// rdNewDType reports the dtypes added after the first eight.
func rdNewDType(dt tensor.DType) bool { return dt > tensor.String }

func TestRdOnnxKernelErrors(t *testing.T) {
	cases := []struct {
		name string
		op   string
		at   attrs
		in   []*tensor.Tensor
	}{
		{"reduce axis out of range", "OnnxReduceSum", attrs{"axes": []int64{2}}, []*tensor.Tensor{rdF32(tensor.Shape{2, 2}, 1, 2, 3, 4)}},
		{"argmax of an empty axis", "OnnxArgMax", attrs{}, []*tensor.Tensor{rdF32(tensor.Shape{0, 2})}},
		{"nll target out of range", "OnnxNegativeLogLikelihoodLoss", attrs{},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 2}, -1, -2), rdI64(tensor.Shape{1}, 2)}},
		{"det of a non-square matrix", "OnnxDet", attrs{}, []*tensor.Tensor{rdF32(tensor.Shape{1, 2}, 1, 2)}},
		{"matmul inner sizes differ", "OnnxMatMul", attrs{}, []*tensor.Tensor{rdF32(tensor.Shape{2}, 1, 2), rdF32(tensor.Shape{3}, 1, 2, 3)}},
		{"gemm C does not broadcast", "OnnxGemm", attrs{"beta": float32(2)},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 1}, 1), rdF32(tensor.Shape{1, 2}, 1, 2), rdF32(tensor.Shape{3}, 1, 2, 3)}},
		{"batch norm scale of the wrong size", "OnnxBatchNormalization", attrs{},
			[]*tensor.Tensor{rdF32(tensor.Shape{1, 2}, 1, 2), rdF32(tensor.Shape{1}, 1), rdF32(tensor.Shape{2}, 0, 0),
				rdF32(tensor.Shape{2}, 0, 0), rdF32(tensor.Shape{2}, 1, 1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := runErr(c.op, c.at, c.in...); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// TestRdIntReduceExact checks that integer reductions do not go through
// float64, which would round 2^60+1.
func TestRdIntReduceExact(t *testing.T) {
	x := rdI64(tensor.Shape{3}, 1<<60, 1, 2)
	for _, c := range []struct {
		op   string
		want int64
	}{{"OnnxReduceSum", 1<<60 + 3}, {"OnnxReduceMax", 1 << 60}, {"OnnxReduceProd", 1 << 61}, {"OnnxReduceL1", 1<<60 + 3}} {
		got := run1(t, c.op, attrs{"keepdims": 0}, x).Int64s()[0]
		if got != c.want {
			t.Errorf("%s = %d, want %d", c.op, got, c.want)
		}
	}
}

// TestRdMT checks the generator against NumPy's RandomState(0).random_sample.
func TestRdMT(t *testing.T) {
	m := rdNewMT(0)
	for i, want := range []float64{0.5488135039273248, 0.7151893663724195, 0.6027633760716439, 0.5448831829968969} {
		if got := m.float64(); got != want {
			t.Fatalf("draw %d is %v, want %v", i, got, want)
		}
	}
}

func BenchmarkRdOnnx(b *testing.B) {
	r := newRand(1)
	x := randF32(r, 128, 768)
	w := randF32(r, 768)
	img := randF32(r, 1, 64, 56, 56)
	c := randF32(r, 64)
	v := tensor.MustFromSlice(tensor.Shape{64}, make([]float32, 64))
	for i := range v.Float32s() {
		v.Float32s()[i] = 1
	}
	cases := []struct {
		name string
		op   string
		at   attrs
		in   []*tensor.Tensor
	}{
		{"ReduceMean_128x768_last", "OnnxReduceMean", attrs{"axes": []int64{-1}}, []*tensor.Tensor{x}},
		{"LayerNorm_128x768", "OnnxLayerNormalization", attrs{}, []*tensor.Tensor{x, w, w}},
		{"Softmax11_128x768", "OnnxSoftmax", attrs{"_opset": 11, "axis": 1}, []*tensor.Tensor{x}},
		{"BatchNorm_64x56x56", "OnnxBatchNormalization", attrs{}, []*tensor.Tensor{img, c, c, c, v}},
	}
	for _, cs := range cases {
		b.Run(cs.name, func(b *testing.B) {
			k := build(b, cs.op, cs.at, len(cs.in))
			for b.Loop() {
				if _, err := k.Compute(context.Background(), cs.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRdParallelRows checks that the kernels splitting rows across
// goroutines give the same bits as one goroutine.
func TestRdParallelRows(t *testing.T) {
	r := newRand(7)
	x := randF32(r, 64, 1024)
	w := randF32(r, 1024)
	img, ch := randF32(r, 2, 8, 4096), randF32(r, 8)
	for _, c := range []struct {
		op string
		at attrs
		in []*tensor.Tensor
	}{
		{"OnnxSoftmax", attrs{"_opset": 13, "axis": 0}, []*tensor.Tensor{x}},
		{"OnnxLogSoftmax", attrs{"_opset": 13}, []*tensor.Tensor{x}},
		{"OnnxLayerNormalization", attrs{}, []*tensor.Tensor{x, w, w}},
		{"OnnxInstanceNormalization", attrs{}, []*tensor.Tensor{img, ch, ch}},
	} {
		k := build(t, c.op, c.at, len(c.in))
		one, err := k.Compute(WithThreads(context.Background(), 1), c.in)
		if err != nil {
			t.Fatal(err)
		}
		many, err := k.Compute(WithThreads(context.Background(), 4), c.in)
		if err != nil {
			t.Fatal(err)
		}
		for i := range one {
			if !sameBits(one[i], many[i]) {
				t.Errorf("%s output %d differs between 1 and 4 threads", c.op, i)
			}
		}
	}
}

// rdRefReduce is the reference reduction: each input element's index with
// the reduced dimensions zeroed names its output slot.
func rdRefReduce(op string, x []float64, shape tensor.Shape, mask []bool) []float64 {
	keep := shape.Clone()
	for d, red := range mask {
		if red {
			keep[d] = 1
		}
	}
	out := make([]float64, keep.NumElements())
	cnt := make([]int, len(out))
	for i := range out {
		switch op {
		case "Prod":
			out[i] = 1
		case "Max":
			out[i] = math.Inf(-1)
		case "Min":
			out[i] = math.Inf(1)
		}
	}
	idx := make([]int, len(shape))
	for i, v := range x {
		rem := i
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d] = rem % shape[d]
			rem /= shape[d]
		}
		o := 0
		for d := range shape {
			if !mask[d] {
				o = o*keep[d] + idx[d]
			} else {
				o = o * keep[d]
			}
		}
		cnt[o]++
		switch op {
		case "Sum", "Mean":
			out[o] += v
		case "SumSquare":
			out[o] += v * v
		case "L1":
			out[o] += math.Abs(v)
		case "Prod":
			out[o] *= v
		case "Max":
			out[o] = math.Max(out[o], v)
		case "Min":
			out[o] = math.Min(out[o], v)
		}
	}
	if op == "Mean" {
		for i := range out {
			out[i] /= float64(cnt[i])
		}
	}
	return out
}

// TestRdReduceAgainstReference runs every reduction over seeded random
// tensors of edge shapes, each subset of axes, against rdRefReduce.
func TestRdReduceAgainstReference(t *testing.T) {
	r := newRand(3)
	shapes := []tensor.Shape{{1}, {7}, {3, 1, 5}, {2, 3, 4}, {1, 13, 2}, {4, 2, 3, 5}}
	for _, shape := range shapes {
		for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
			var x *tensor.Tensor
			if dt == tensor.Float32 {
				x = randF32(r, shape...)
			} else {
				x = randF64(r, shape...)
			}
			xv, _ := rdF64(x)
			for set := 1; set < 1<<len(shape); set++ {
				var axes []int64
				mask := make([]bool, len(shape))
				for d := range shape {
					if set&(1<<d) != 0 {
						axes = append(axes, int64(d-len(shape))) // negative axes
						mask[d] = true
					}
				}
				for _, op := range []string{"Sum", "Mean", "SumSquare", "L1", "Prod", "Max", "Min"} {
					got := run1(t, "OnnxReduce"+op, attrs{"axes": axes}, x)
					want := rdRefReduce(op, xv, shape, mask)
					g, _ := rdF64(got)
					if len(g) != len(want) {
						t.Fatalf("%s %v %v axes %v: %d values, want %d", op, dt, shape, axes, len(g), len(want))
					}
					for i := range want {
						if !closeTo(g[i], want[i], 1e-5) {
							t.Fatalf("%s %v %v axes %v: element %d is %v, want %v", op, dt, shape, axes, i, g[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestRdNeverPanic feeds the reduce family's kernels random inputs of
// random dtypes, ranks and counts under several attribute sets: they may
// refuse with an error but must not panic.
func TestRdNeverPanic(t *testing.T) {
	r := newRand(33)
	attrSets := []attrs{
		nil,
		{"_opset": 13, "axis": 1, "keepdims": 0, "axes": []int64{0}, "training_mode": 1, "select_last_index": 1,
			"equation": "ii->i", "ignore_index": 0, "reduction": "sum", "size": 3, "transA": 1, "alpha": float32(2),
			"spatial": 0, "_absent": []int64{1}},
		{"_opset": 11, "axis": -1, "axes": []int64{-1, 0}, "noop_with_empty_axes": 1, "equation": "ij,jk",
			"stash_type": 11, "seed": 3, "beta": float32(0.5), "reduction": "none", "size": 1, "_absent": []int64{2}},
	}
	var ops []string
	for _, op := range Ops() {
		switch {
		case len(op) > 10 && op[:10] == "OnnxReduce",
			op == "OnnxArgMax", op == "OnnxArgMin", op == "OnnxSoftmax", op == "OnnxLogSoftmax", op == "OnnxHardmax",
			op == "OnnxLayerNormalization", op == "OnnxBatchNormalization", op == "OnnxInstanceNormalization",
			op == "OnnxLRN", op == "OnnxMeanVarianceNormalization", op == "OnnxNegativeLogLikelihoodLoss",
			op == "OnnxSoftmaxCrossEntropyLoss", op == "OnnxDropout", op == "OnnxMatMul", op == "OnnxGemm",
			op == "OnnxDet", op == "OnnxEinsum":
			ops = append(ops, op)
		}
	}
	if len(ops) != 27 {
		t.Fatalf("found %d of the family's 27 ops: %v", len(ops), ops)
	}
	for _, op := range ops {
		t.Run(op, func(t *testing.T) {
			for _, at := range attrSets {
				for trial := 0; trial < 80; trial++ {
					in := make([]*tensor.Tensor, r.IntN(5)+1)
					for i := range in {
						in[i] = randomInput(r)
					}
					b, _ := Lookup(op)
					k, err := b(Node{Name: "n", Op: op, Attrs: at, NumInputs: len(in)})
					if err != nil {
						continue
					}
					func() {
						defer func() {
							if p := recover(); p != nil {
								t.Fatalf("%s panicked on inputs %v with attrs %v: %v", op, in, at, p)
							}
						}()
						_, _ = k.Compute(context.Background(), in)
					}()
				}
			}
		})
	}
}
