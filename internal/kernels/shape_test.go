package kernels

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"inferd/internal/tensor"
)

// The layout tests compare each kernel with a reference written per output
// element from multi-indices, on seeded random tensors of several dtypes and
// edge shapes (size 1, odd, prime, empty).

var layTypes = []tensor.DType{tensor.Float32, tensor.Float64, tensor.Int8, tensor.Uint8, tensor.Int32, tensor.Int64, tensor.Bool, tensor.String}

// layRand returns a tensor of dt and shape with random elements.
func layRand(r *rand.Rand, dt tensor.DType, shape ...int) *tensor.Tensor {
	t := tensor.New(dt, tensor.Shape(shape))
	switch v := t.Data().(type) {
	case []float32:
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
	case []float64:
		for i := range v {
			v[i] = r.NormFloat64()
		}
	case []int8:
		for i := range v {
			v[i] = int8(r.IntN(256) - 128)
		}
	case []uint8:
		for i := range v {
			v[i] = uint8(r.IntN(256))
		}
	case []int32:
		for i := range v {
			v[i] = r.Int32() - 1<<30
		}
	case []int64:
		for i := range v {
			v[i] = r.Int64() - 1<<62
		}
	case []bool:
		for i := range v {
			v[i] = r.IntN(2) == 1
		}
	case [][]byte:
		for i := range v {
			v[i] = fmt.Appendf(nil, "s%d", r.IntN(1000))
		}
	case []int16:
		for i := range v {
			v[i] = int16(r.IntN(1<<16) - 1<<15)
		}
	case []uint16:
		for i := range v {
			v[i] = uint16(r.IntN(1 << 16))
		}
	case []uint32:
		for i := range v {
			v[i] = r.Uint32()
		}
	case []uint64:
		for i := range v {
			v[i] = r.Uint64()
		}
	case []tensor.F16:
		for i := range v {
			v[i] = tensor.F16FromFloat64(r.NormFloat64())
		}
	case []tensor.BF16:
		for i := range v {
			v[i] = tensor.BF16FromFloat64(r.NormFloat64())
		}
	}
	return t
}

// at returns element flat of t.
func layAt(t *tensor.Tensor, flat int) any { return reflect.ValueOf(t.Data()).Index(flat).Interface() }

func layUnravel(flat int, s tensor.Shape) []int {
	idx := make([]int, len(s))
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] > 0 {
			idx[i] = flat % s[i]
			flat /= s[i]
		}
	}
	return idx
}

func layRavel(idx []int, s tensor.Shape) int {
	f := 0
	for i, x := range idx {
		f = f*s[i] + x
	}
	return f
}

// layBuild builds a tensor of dt and shape whose element at each index is
// elem(idx).
func layBuild(dt tensor.DType, s tensor.Shape, elem func(idx []int) any) *tensor.Tensor {
	t := tensor.New(dt, s)
	v := reflect.ValueOf(t.Data())
	for f := range s.NumElements() {
		v.Index(f).Set(reflect.ValueOf(elem(layUnravel(f, s))))
	}
	return t
}

// laySame fails unless got and want have the same dtype, shape and
// elements.
func laySame(t *testing.T, what string, got, want *tensor.Tensor) {
	t.Helper()
	if got.DType() != want.DType() || !got.Shape().Equal(want.Shape()) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	if got.Len() > 0 && !reflect.DeepEqual(got.Data(), want.Data()) {
		t.Fatalf("%s: values differ:\ngot  %v\nwant %v", what, got.Data(), want.Data())
	}
}

func li32(v ...int32) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{len(v)}, v) }
func li64(v ...int64) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{len(v)}, v) }
func li32s(v int32) *tensor.Tensor   { return tensor.MustFromSlice(tensor.Shape{}, []int32{v}) }
func li64s(v int64) *tensor.Tensor   { return tensor.MustFromSlice(tensor.Shape{}, []int64{v}) }

// laySnapshot deep-copies t so a test can check that a kernel left its inputs
// alone.
func laySnapshot(t *tensor.Tensor) *tensor.Tensor {
	c := tensor.New(t.DType(), t.Shape())
	reflect.Copy(reflect.ValueOf(c.Data()), reflect.ValueOf(t.Data()))
	return c
}

func TestTranspose(t *testing.T) {
	r := newRand(1)
	tests := []struct {
		shape []int
		perm  []int32
	}{
		{[]int{}, []int32{}},
		{[]int{7}, []int32{0}},
		{[]int{3, 5}, []int32{1, 0}},
		{[]int{1, 1}, []int32{1, 0}},
		{[]int{2, 3, 5}, []int32{2, 0, 1}},
		{[]int{2, 3, 5}, []int32{0, 2, 1}},
		{[]int{4, 1, 3, 2}, []int32{0, 3, 1, 2}},
		{[]int{2, 3, 5, 7}, []int32{3, 2, 1, 0}},
		{[]int{0, 3}, []int32{1, 0}},
	}
	for _, tt := range tests {
		for _, dt := range layTypes {
			t.Run(fmt.Sprint(tt.shape, tt.perm, dt), func(t *testing.T) {
				x := layRand(r, dt, tt.shape...)
				before := laySnapshot(x)
				got := run1(t, "Transpose", nil, x, li32(tt.perm...))
				outShape := make(tensor.Shape, len(tt.perm))
				for i, p := range tt.perm {
					outShape[i] = tt.shape[p]
				}
				want := layBuild(dt, outShape, func(idx []int) any {
					src := make([]int, len(idx))
					for i, p := range tt.perm {
						src[p] = idx[i]
					}
					return layAt(x, layRavel(src, x.Shape()))
				})
				laySame(t, "Transpose", got, want)
				laySame(t, "input after Transpose", x, before)
			})
		}
	}
	x := layRand(r, tensor.Float32, 2, 3)
	for _, perm := range [][]int32{{0}, {0, 0}, {0, 2}, {-1, 0}} {
		if err := runErr("Transpose", nil, x, li32(perm...)); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("perm %v: err = %v, want ErrInvalidArgument", perm, err)
		}
	}
}

func TestReshapeSqueezeExpandDims(t *testing.T) {
	x := layRand(newRand(2), tensor.Float32, 2, 1, 3, 1)
	tests := []struct {
		name    string
		op      string
		at      attrs
		in      []*tensor.Tensor
		want    tensor.Shape
		wantErr bool
	}{
		{"reshape", "Reshape", nil, []*tensor.Tensor{x, li32(3, 2)}, tensor.Shape{3, 2}, false},
		{"reshape infer", "Reshape", nil, []*tensor.Tensor{x, li64(-1, 3)}, tensor.Shape{2, 3}, false},
		{"reshape scalar", "Reshape", nil, []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{1, 1}, []int32{4}), li32()}, tensor.Shape{}, false},
		{"reshape empty infer", "Reshape", nil, []*tensor.Tensor{tensor.New(tensor.Float32, tensor.Shape{0, 4}), li32(-1, 2)}, tensor.Shape{0, 2}, false},
		{"reshape two unknown", "Reshape", nil, []*tensor.Tensor{x, li32(-1, -1)}, nil, true},
		{"reshape wrong count", "Reshape", nil, []*tensor.Tensor{x, li32(4, 2)}, nil, true},
		{"reshape not a multiple", "Reshape", nil, []*tensor.Tensor{x, li32(-1, 4)}, nil, true},
		{"reshape unknown with zero", "Reshape", nil, []*tensor.Tensor{tensor.New(tensor.Float32, tensor.Shape{0}), li32(-1, 0)}, nil, true},
		{"squeeze all", "Squeeze", nil, []*tensor.Tensor{x}, tensor.Shape{2, 3}, false},
		{"squeeze one", "Squeeze", attrs{"squeeze_dims": []int64{-1}}, []*tensor.Tensor{x}, tensor.Shape{2, 1, 3}, false},
		{"squeeze not one", "Squeeze", attrs{"squeeze_dims": []int64{0}}, []*tensor.Tensor{x}, nil, true},
		{"squeeze out of range", "Squeeze", attrs{"squeeze_dims": []int64{4}}, []*tensor.Tensor{x}, nil, true},
		{"expand front", "ExpandDims", nil, []*tensor.Tensor{x, li32s(0)}, tensor.Shape{1, 2, 1, 3, 1}, false},
		{"expand end", "ExpandDims", nil, []*tensor.Tensor{x, li64s(-1)}, tensor.Shape{2, 1, 3, 1, 1}, false},
		{"expand middle", "ExpandDims", nil, []*tensor.Tensor{x, li32s(2)}, tensor.Shape{2, 1, 1, 3, 1}, false},
		{"expand scalar", "ExpandDims", nil, []*tensor.Tensor{li32s(5), li32s(0)}, tensor.Shape{1}, false},
		{"expand out of range", "ExpandDims", nil, []*tensor.Tensor{x, li32s(6)}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantErr {
				if err := runErr(tt.op, tt.at, tt.in...); !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("err = %v, want ErrInvalidArgument", err)
				}
				return
			}
			got := run1(t, tt.op, tt.at, tt.in...)
			if !got.Shape().Equal(tt.want) {
				t.Fatalf("shape = %v, want %v", got.Shape(), tt.want)
			}
			if !reflect.DeepEqual(got.Data(), tt.in[0].Data()) {
				t.Errorf("values changed")
			}
		})
	}
}

func TestShapeSizeRank(t *testing.T) {
	x := tensor.New(tensor.String, tensor.Shape{2, 0, 7})
	laySame(t, "Shape", run1(t, "Shape", nil, x), li32(2, 0, 7))
	laySame(t, "Shape int64", run1(t, "Shape", attrs{"out_type": tensor.Int64}, x), li64(2, 0, 7))
	laySame(t, "Shape scalar", run1(t, "Shape", nil, li32s(1)), li32())
	laySame(t, "Size", run1(t, "Size", nil, tensor.New(tensor.Bool, tensor.Shape{3, 5})), li32s(15))
	laySame(t, "Size int64", run1(t, "Size", attrs{"out_type": tensor.Int64}, x), li64s(0))
	laySame(t, "Rank", run1(t, "Rank", nil, x), li32s(3))
	outs := run(t, "ShapeN", nil, x, li32s(1))
	laySame(t, "ShapeN 0", outs[0], li32(2, 0, 7))
	laySame(t, "ShapeN 1", outs[1], li32())
	if err := buildErr("Shape", attrs{"out_type": tensor.Float32}, 1); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Shape out_type float: err = %v", err)
	}
}

func TestFillZerosOnes(t *testing.T) {
	laySame(t, "Fill", run1(t, "Fill", nil, li32(2, 3), tensor.MustFromSlice(tensor.Shape{}, []float32{1.5})),
		tensor.MustFromSlice(tensor.Shape{2, 3}, []float32{1.5, 1.5, 1.5, 1.5, 1.5, 1.5}))
	laySame(t, "Fill string", run1(t, "Fill", nil, li64(2), tensor.MustFromSlice(tensor.Shape{}, [][]byte{[]byte("a")})),
		tensor.MustFromSlice(tensor.Shape{2}, [][]byte{[]byte("a"), []byte("a")}))
	laySame(t, "Fill empty", run1(t, "Fill", nil, li32(0, 3), li32s(7)), tensor.New(tensor.Int32, tensor.Shape{0, 3}))
	if err := runErr("Fill", nil, li32(-1), li32s(7)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Fill negative: err = %v", err)
	}
	if err := runErr("Fill", nil, li32(2), li32(7)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Fill vector value: err = %v", err)
	}
	x := layRand(newRand(3), tensor.Int8, 2, 3)
	laySame(t, "ZerosLike", run1(t, "ZerosLike", nil, x), tensor.New(tensor.Int8, tensor.Shape{2, 3}))
	laySame(t, "OnesLike", run1(t, "OnesLike", nil, tensor.New(tensor.Bool, tensor.Shape{2})), tensor.MustFromSlice(tensor.Shape{2}, []bool{true, true}))
	laySame(t, "OnesLike f64", run1(t, "OnesLike", nil, tensor.New(tensor.Float64, tensor.Shape{1})), tensor.MustFromSlice(tensor.Shape{1}, []float64{1}))
}

func TestRange(t *testing.T) {
	f32 := func(v ...float32) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{len(v)}, v) }
	f32s := func(v float32) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{}, []float32{v}) }
	tests := []struct {
		name          string
		start, lim, d *tensor.Tensor
		want          *tensor.Tensor
	}{
		{"ints", li32s(0), li32s(5), li32s(1), li32(0, 1, 2, 3, 4)},
		{"step 3", li32s(1), li32s(11), li32s(3), li32(1, 4, 7, 10)},
		{"negative step", li64s(5), li64s(0), li64s(-2), li64(5, 3, 1)},
		{"empty", li32s(3), li32s(3), li32s(1), li32()},
		{"floats", f32s(0), f32s(1), f32s(0.25), f32(0, 0.25, 0.5, 0.75)},
		{"float partial step", f32s(1), f32s(2.1), f32s(0.5), f32(1, 1.5, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			laySame(t, "Range", run1(t, "Range", nil, tt.start, tt.lim, tt.d), tt.want)
		})
	}
	for _, bad := range [][3]int32{{0, 5, 0}, {5, 0, 1}, {0, 5, -1}} {
		if err := runErr("Range", nil, li32s(bad[0]), li32s(bad[1]), li32s(bad[2])); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Range%v: err = %v, want ErrInvalidArgument", bad, err)
		}
	}
}

func TestLayoutBroadcastTo(t *testing.T) {
	r := newRand(4)
	tests := []struct {
		in, to []int
	}{
		{[]int{}, []int{2, 3}},
		{[]int{3}, []int{2, 3}},
		{[]int{2, 1}, []int{2, 5}},
		{[]int{1, 3, 1}, []int{4, 3, 7}},
		{[]int{2, 3}, []int{2, 3}},
		{[]int{1}, []int{0}},
	}
	for _, tt := range tests {
		for _, dt := range []tensor.DType{tensor.Float32, tensor.Int64, tensor.String} {
			x := layRand(r, dt, tt.in...)
			to := make([]int32, len(tt.to))
			for i, d := range tt.to {
				to[i] = int32(d)
			}
			got := run1(t, "BroadcastTo", nil, x, li32(to...))
			want := layBuild(dt, tensor.Shape(tt.to), func(idx []int) any {
				src := make([]int, len(tt.in))
				for i := range src {
					if j := len(tt.to) - len(tt.in) + i; tt.in[i] != 1 {
						src[i] = idx[j]
					}
				}
				return layAt(x, layRavel(src, x.Shape()))
			})
			laySame(t, fmt.Sprint("BroadcastTo ", tt.in, tt.to), got, want)
		}
	}
	if err := runErr("BroadcastTo", nil, layRand(r, tensor.Float32, 3), li32(2, 4)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("incompatible: err = %v", err)
	}
	if err := runErr("BroadcastTo", nil, layRand(r, tensor.Float32, 2, 3), li32(3)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("rank too small: err = %v", err)
	}
}
