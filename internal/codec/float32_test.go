package codec

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"inferd/internal/tensor"
)

// float32Cases are values at the edges of appendFloat32's fast path and
// of its rounding: powers of two and ten and their neighbours, ties, and
// the pixel and probability values responses are made of.
func float32Cases() []float32 {
	var vs []float32
	add := func(v float32) {
		vs = append(vs, v, -v, math.Nextafter32(v, 0), math.Nextafter32(v, float32(math.Inf(1))))
	}
	for e := -149; e <= 127; e++ {
		add(float32(math.Ldexp(1, e)))
	}
	for k := -45; k <= 38; k++ {
		add(float32(math.Pow(10, float64(k))))
		add(float32(5 * math.Pow(10, float64(k))))
	}
	for k := range 256 {
		add(float32(k) / 255)
		add(float32(float64(k) / 255))
	}
	for _, v := range []float32{0, 0.1, 0.2, 0.3, 1.5, 2.5, 123456, 1234567, 999999.94, 999999.5, 0.99999994,
		16777216, 8388607.5, 1e-5, 9.99999e-5, 1.00000005e-4, math.MaxFloat32, math.SmallestNonzeroFloat32,
		float32(math.NaN()), float32(math.Inf(1))} {
		add(v)
	}
	return vs
}

// TestAppendFloat32 checks appendFloat32 against appendDecimal, the
// strconv-based reference, on edge cases and random bit patterns.
func TestAppendFloat32(t *testing.T) {
	check := func(v float32) {
		t.Helper()
		got := string(appendFloat32(nil, v))
		want := string(appendDecimal(nil, float64(v), 32))
		if got != want {
			t.Fatalf("appendFloat32(%#08x) = %q, want %q", math.Float32bits(v), got, want)
		}
	}
	for _, v := range float32Cases() {
		check(v)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 200000 {
		check(math.Float32frombits(r.Uint32()))
	}
	// Most of the fast path's range: exponents of 1e-19 to 1e6.
	for range 300000 {
		be := 64 + r.Uint32N(84)
		check(math.Float32frombits(r.Uint32()&0x807fffff | be<<23))
	}
}

// FuzzAppendFloat32 compares appendFloat32 with appendDecimal on any bit
// pattern: go test -fuzz FuzzAppendFloat32 ./internal/codec/.
func FuzzAppendFloat32(f *testing.F) {
	for _, v := range float32Cases() {
		f.Add(math.Float32bits(v))
	}
	f.Fuzz(func(t *testing.T, b uint32) {
		v := math.Float32frombits(b)
		got := string(appendFloat32(nil, v))
		want := string(appendDecimal(nil, float64(v), 32))
		if got != want {
			t.Fatalf("appendFloat32(%#08x) = %q, want %q", b, got, want)
		}
	})
}

// refTensor writes t from element off on as writeTensor did before its
// float32 fast paths: one element at a time through prefix and
// appendDecimal.
func refTensor(w *prettyWriter, t *tensor.Tensor, dim int, off *int) {
	if dim == t.Rank() {
		w.prefix()
		w.buf = appendDecimal(w.buf, float64(t.Float32s()[*off]), 32)
		*off++
		return
	}
	w.startArray()
	for range t.Shape()[dim] {
		refTensor(w, t, dim+1, off)
	}
	w.endArray()
}

// TestEncodeFloat32Tensors checks the float32 fast paths of EncodePredict
// against refTensor in both formats, on shapes with empty, single and odd
// dimensions.
func TestEncodeFloat32Tensors(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	shapes := []tensor.Shape{{1}, {3}, {2, 0}, {2, 1}, {1, 5}, {2, 3, 4}, {1, 2, 3, 2}, {3, 1, 1}}
	for _, shape := range shapes {
		for _, f := range []Format{FormatRow, FormatColumnar} {
			data := make([]float32, shape.NumElements())
			for i := range data {
				switch i % 3 {
				case 0:
					data[i] = r.Float32()
				case 1:
					data[i] = float32(r.IntN(256)) / 255
				default:
					data[i] = math.Float32frombits(r.Uint32())
				}
			}
			x := tensor.MustFromSlice(shape, data)
			got, err := EncodePredict(f, map[string]*tensor.Tensor{"y": x}, EncodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			w := prettyWriter{}
			w.startObject()
			off := 0
			if f == FormatRow {
				w.key("predictions")
				w.startArray()
				for range shape[0] {
					w.singleLine = true
					refTensor(&w, x, 1, &off)
					w.singleLine = false
				}
				w.endArray()
			} else {
				w.key("outputs")
				refTensor(&w, x, 0, &off)
			}
			w.endObject()
			if string(got) != string(w.buf) {
				t.Errorf("shape %v format %v:\ngot  %s\nwant %s", shape, f, got, w.buf)
			}
		}
	}
}

// BenchmarkFormatFloat32 formats prediction-like float32 values (uniform in
// [0, 1)) with appendFloat32, with the strconv-based appendDecimal it
// replaces, and with strconv's shortest formatting, per value.
func BenchmarkFormatFloat32(b *testing.B) {
	r := rand.New(rand.NewPCG(11, 12))
	vs := make([]float32, 4096)
	for i := range vs {
		vs[i] = r.Float32()
	}
	for _, bc := range []struct {
		name string
		f    func([]byte, float32) []byte
	}{
		{"appendFloat32", appendFloat32},
		{"appendDecimal", func(d []byte, v float32) []byte { return appendDecimal(d, float64(v), 32) }},
		{"strconv-shortest", func(d []byte, v float32) []byte { return strconv.AppendFloat(d, float64(v), 'g', -1, 32) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 32)
			i := 0
			for b.Loop() {
				buf = bc.f(buf[:0], vs[i&4095])
				i++
			}
		})
	}
}
