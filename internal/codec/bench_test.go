package codec

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"testing"

	"inferd/internal/tensor"
)

// imageRequest is a {"instances": image.tolist()} body as Python's
// json.dumps writes it, for a batch of h×w×c float images.
func imageRequest(batch, h, w, c int) []byte {
	return imageRequestOf(batch, h, w, c, func(r *rand.Rand) float64 { return float64(float32(r.Float64())) })
}

// pixelRequest is imageRequest with pixels scaled as k/255 in float64, as
// numpy's image / 255.0 then tolist() gives.
func pixelRequest(batch, h, w, c int) []byte {
	return imageRequestOf(batch, h, w, c, func(r *rand.Rand) float64 { return float64(r.IntN(256)) / 255 })
}

func imageRequestOf(batch, h, w, c int, value func(*rand.Rand) float64) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := []byte(`{"instances": [`)
	for n := range batch {
		if n > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '[')
		for y := range h {
			if y > 0 {
				b = append(b, ", "...)
			}
			b = append(b, '[')
			for x := range w {
				if x > 0 {
					b = append(b, ", "...)
				}
				b = append(b, '[')
				for k := range c {
					if k > 0 {
						b = append(b, ", "...)
					}
					b = strconv.AppendFloat(b, value(r), 'g', -1, 64)
				}
				b = append(b, ']')
			}
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	return append(b, "]}"...)
}

func BenchmarkDecodePredictImage128(b *testing.B) {
	body := imageRequest(1, 128, 128, 3)
	in := inputs(Input{"x", tensor.Float32})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodePredict(body, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePredictPixels128(b *testing.B) {
	body := pixelRequest(1, 128, 128, 3)
	in := inputs(Input{"x", tensor.Float32})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodePredict(body, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodingJSONPixels128(b *testing.B) {
	body := pixelRequest(1, 128, 128, 3)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var v struct {
			Instances [][][][]float32 `json:"instances"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodingJSONImage128 is the standard library's decoder into
// typed slices, for comparison.
func BenchmarkEncodingJSONImage128(b *testing.B) {
	body := imageRequest(1, 128, 128, 3)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var v struct {
			Instances [][][][]float32 `json:"instances"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePredictImage128(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, 128*128*3)
	for i := range data {
		data[i] = r.Float32()
	}
	out := map[string]*tensor.Tensor{"y": tensor.MustFromSlice(tensor.Shape{1, 128, 128, 3}, data)}
	enc, _ := EncodePredict(FormatRow, out, EncodeOptions{})
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodePredict(FormatRow, out, EncodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// imageOutput is a 1×128×128×3 float32 output of values in [0, 1).
func imageOutput() *tensor.Tensor {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, 128*128*3)
	for i := range data {
		data[i] = r.Float32()
	}
	return tensor.MustFromSlice(tensor.Shape{1, 128, 128, 3}, data)
}

// BenchmarkAppendPredictImage128 is BenchmarkEncodePredictImage128 into
// one reused buffer, as a server that keeps its response buffer would.
func BenchmarkAppendPredictImage128(b *testing.B) {
	out := map[string]*tensor.Tensor{"y": imageOutput()}
	buf, _ := AppendPredict(nil, FormatRow, out, EncodeOptions{})
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendPredict(buf[:0], FormatRow, out, EncodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodingJSONMarshalImage128 is the standard library's encoder
// on the same values as typed slices, for comparison. Its bytes differ
// (shortest float32 digits, no indentation), so MB/s counts its own
// output.
func BenchmarkEncodingJSONMarshalImage128(b *testing.B) {
	data := imageOutput().Float32s()
	img := make([][][][]float32, 1)
	img[0] = make([][][]float32, 128)
	for y := range img[0] {
		img[0][y] = make([][]float32, 128)
		for x := range img[0][y] {
			img[0][y][x] = data[(y*128+x)*3 : (y*128+x)*3+3]
		}
	}
	v := struct {
		Predictions [][][][]float32 `json:"predictions"`
	}{img}
	enc, _ := json.Marshal(v)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}
