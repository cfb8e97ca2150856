package kernels

import (
	"math"
	"testing"

	"inferd/internal/tensor"
)

func TestXtResize(t *testing.T) {
	f32 := func(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
	empty := f32(tensor.Shape{0})
	x22 := f32(tensor.Shape{1, 1, 2, 2}, 1, 2, 3, 4)
	x24 := f32(tensor.Shape{1, 1, 2, 4}, 1, 2, 3, 4, 5, 6, 7, 8)
	tests := []struct {
		name  string
		op    string
		at    attrs
		in    []*tensor.Tensor
		shape tensor.Shape
		want  []float64
	}{
		{"linear up half_pixel", "OnnxResize", attrs{"mode": "linear"},
			[]*tensor.Tensor{x22, empty, f32(tensor.Shape{4}, 1, 1, 2, 2)}, tensor.Shape{1, 1, 4, 4},
			[]float64{1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4}},
		{"nearest down", "OnnxResize", attrs{"mode": "nearest"},
			[]*tensor.Tensor{x24, empty, f32(tensor.Shape{4}, 1, 1, 0.6, 0.6)}, tensor.Shape{1, 1, 1, 2},
			[]float64{1, 3}},
		{"linear align_corners by sizes", "OnnxResize", attrs{"mode": "linear", "coordinate_transformation_mode": "align_corners"},
			[]*tensor.Tensor{x22, empty, empty, tensor.MustFromSlice(tensor.Shape{4}, []int64{1, 1, 3, 3})}, tensor.Shape{1, 1, 3, 3},
			[]float64{1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4}},
		{"crop and resize extrapolates", "OnnxResize", attrs{"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize", "extrapolation_value": float32(-1)},
			[]*tensor.Tensor{x22, f32(tensor.Shape{8}, 0, 0, 0, 0, 1, 1, 1, 2), empty, tensor.MustFromSlice(tensor.Shape{4}, []int64{1, 1, 1, 3})}, tensor.Shape{1, 1, 1, 3},
			[]float64{2, 3, -1}},
		{"Resize-10 nearest shrinks by the ceiling", "OnnxResize", attrs{"mode": "nearest", "_opset": int64(10)},
			[]*tensor.Tensor{f32(tensor.Shape{5}, 1, 2, 3, 4, 5), f32(tensor.Shape{1}, 0.8)}, tensor.Shape{4},
			[]float64{1, 3, 4, 5}},
		{"upsample nearest", "OnnxUpsample", attrs{"mode": "nearest"},
			[]*tensor.Tensor{x22, f32(tensor.Shape{4}, 1, 1, 2, 3)}, tensor.Shape{1, 1, 4, 6},
			[]float64{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertClose(t, run1(t, tc.op, tc.at, tc.in...), tc.shape, tc.want, 1e-6)
		})
	}
}

func TestXtResizeCubicIsIdentityAtScaleOne(t *testing.T) {
	x := randF32(newRand(1), 1, 2, 3, 5)
	sizes := tensor.MustFromSlice(tensor.Shape{4}, []int64{1, 2, 3, 5})
	empty := tensor.New(tensor.Float32, tensor.Shape{0})
	got := run1(t, "OnnxResize", attrs{"mode": "cubic", "coordinate_transformation_mode": "pytorch_half_pixel"}, x, empty, empty, sizes)
	assertClose(t, got, x.Shape(), asF64(x), 1e-6)
}

// TestXtRecurrent checks one-unit layers against their equations.
func TestXtRecurrent(t *testing.T) {
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	f32 := func(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
	x := f32(tensor.Shape{2, 1, 1}, 1, 2) // seq 2, batch 1, input 1
	t.Run("RNN forward", func(t *testing.T) {
		out := run(t, "OnnxRNN", attrs{"hidden_size": int64(1)}, x, f32(tensor.Shape{1, 1, 1}, 0.5), f32(tensor.Shape{1, 1, 1}, 0.25))
		h1 := math.Tanh(0.5)
		h2 := math.Tanh(1 + 0.25*h1)
		assertClose(t, out[0], tensor.Shape{2, 1, 1, 1}, []float64{h1, h2}, 1e-6)
		assertClose(t, out[1], tensor.Shape{1, 1, 1}, []float64{h2}, 1e-6)
	})
	t.Run("RNN reverse with sequence_lens", func(t *testing.T) {
		empty := f32(tensor.Shape{0})
		lens := tensor.MustFromSlice(tensor.Shape{1}, []int32{1})
		out := run(t, "OnnxRNN", attrs{"hidden_size": int64(1), "direction": "reverse"}, x, f32(tensor.Shape{1, 1, 1}, 0.5), f32(tensor.Shape{1, 1, 1}, 0.25), empty, lens)
		h := math.Tanh(0.5)
		assertClose(t, out[0], tensor.Shape{2, 1, 1, 1}, []float64{h, 0}, 1e-6)
		assertClose(t, out[1], tensor.Shape{1, 1, 1}, []float64{h}, 1e-6)
	})
	t.Run("GRU", func(t *testing.T) {
		// Gates z, r, h with W = 0.1, 0.2, 0.3 and R = 0.4, 0.5, 0.6.
		out := run(t, "OnnxGRU", attrs{"hidden_size": int64(1)}, x, f32(tensor.Shape{1, 3, 1}, 0.1, 0.2, 0.3), f32(tensor.Shape{1, 3, 1}, 0.4, 0.5, 0.6))
		h := 0.0
		var want []float64
		for _, xv := range []float64{1, 2} {
			z := sig(0.1*xv + 0.4*h)
			r := sig(0.2*xv + 0.5*h)
			hh := math.Tanh(0.3*xv + 0.6*(r*h))
			h = (1-z)*hh + z*h
			want = append(want, h)
		}
		assertClose(t, out[0], tensor.Shape{2, 1, 1, 1}, want, 1e-6)
	})
	t.Run("LSTM with peepholes", func(t *testing.T) {
		// Gates i, o, f, c with W = 0.1..0.4, R = 0.5..0.8, P (i, o, f) = 0.9, 1.0, 1.1.
		out := run(t, "OnnxLSTM", attrs{"hidden_size": int64(1)}, x, f32(tensor.Shape{1, 4, 1}, 0.1, 0.2, 0.3, 0.4), f32(tensor.Shape{1, 4, 1}, 0.5, 0.6, 0.7, 0.8),
			f32(tensor.Shape{0}), f32(tensor.Shape{0}), f32(tensor.Shape{0}), f32(tensor.Shape{0}), f32(tensor.Shape{1, 3}, 0.9, 1.0, 1.1))
		h, c := 0.0, 0.0
		var want []float64
		for _, xv := range []float64{1, 2} {
			i := sig(0.1*xv + 0.5*h + 0.9*c)
			f := sig(0.3*xv + 0.7*h + 1.1*c)
			cc := math.Tanh(0.4*xv + 0.8*h)
			c = f*c + i*cc
			o := sig(0.2*xv + 0.6*h + 1.0*c)
			h = o * math.Tanh(c)
			want = append(want, h)
		}
		assertClose(t, out[0], tensor.Shape{2, 1, 1, 1}, want, 1e-6)
		assertClose(t, out[2], tensor.Shape{1, 1, 1}, []float64{c}, 1e-6)
	})
}

func TestXtNonMaxSuppression(t *testing.T) {
	// Three boxes [y1, x1, y2, x2]: the second overlaps the first (IoU
	// 0.81), the third is apart; two of them share the top score.
	boxes := tensor.MustFromSlice(tensor.Shape{1, 3, 4}, []float32{0, 0, 1, 1, 0, 0.1, 1, 1.0, 0, 2, 1, 3})
	scores := tensor.MustFromSlice(tensor.Shape{1, 1, 3}, []float32{0.9, 0.95, 0.9})
	maxOut := tensor.MustFromSlice(tensor.Shape{1}, []int64{3})
	iou := tensor.MustFromSlice(tensor.Shape{1}, []float32{0.5})
	tests := []struct {
		name  string
		in    []*tensor.Tensor
		shape tensor.Shape
		want  []float64
	}{
		{"suppresses overlaps, ties by index", []*tensor.Tensor{boxes, scores, maxOut, iou}, tensor.Shape{2, 3}, []float64{0, 0, 1, 0, 0, 2}},
		{"score threshold", []*tensor.Tensor{boxes, scores, maxOut, iou, tensor.MustFromSlice(tensor.Shape{1}, []float32{0.92})}, tensor.Shape{1, 3}, []float64{0, 0, 1}},
		{"no max output selects none", []*tensor.Tensor{boxes, scores}, tensor.Shape{0, 3}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertClose(t, run1(t, "OnnxNonMaxSuppression", attrs{}, tc.in...), tc.shape, tc.want, 0)
		})
	}
}

func TestXtGridSample(t *testing.T) {
	x := tensor.MustFromSlice(tensor.Shape{1, 1, 2, 2}, []float32{1, 2, 3, 4})
	// The grid's corners and centre, (x, y) in [-1, 1].
	grid := tensor.MustFromSlice(tensor.Shape{1, 1, 3, 2}, []float32{-1, -1, 0, 0, 1, 1})
	tests := []struct {
		name string
		at   attrs
		want []float64
	}{
		{"bilinear align_corners", attrs{"align_corners": int64(1)}, []float64{1, 2.5, 4}},
		{"bilinear zeros padding", attrs{}, []float64{0.25, 2.5, 1}},
		{"bilinear border", attrs{"padding_mode": "border"}, []float64{1, 2.5, 4}},
		{"nearest", attrs{"mode": "nearest", "align_corners": int64(1)}, []float64{1, 1, 4}}, // the centre (0.5, 0.5) rounds half to even
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertClose(t, run1(t, "OnnxGridSample", tc.at, x, grid), tensor.Shape{1, 1, 1, 3}, tc.want, 1e-6)
		})
	}
}

func TestXtStringNormalizer(t *testing.T) {
	strs := func(shape tensor.Shape, v ...string) *tensor.Tensor {
		b := make([][]byte, len(v))
		for i, s := range v {
			b[i] = []byte(s)
		}
		return tensor.MustFromSlice(shape, b)
	}
	tests := []struct {
		name string
		at   attrs
		in   *tensor.Tensor
		want *tensor.Tensor
	}{
		{"insensitive stopwords, upper", attrs{"case_change_action": "UPPER", "stopwords": []string{"monday"}},
			strs(tensor.Shape{1, 3}, "Monday", "tuesday", "x"), strs(tensor.Shape{1, 2}, "TUESDAY", "X")},
		{"sensitive keeps other case", attrs{"is_case_sensitive": int64(1), "stopwords": []string{"monday"}},
			strs(tensor.Shape{2}, "Monday", "monday"), strs(tensor.Shape{1}, "Monday")},
		{"everything dropped", attrs{"stopwords": []string{"a"}},
			strs(tensor.Shape{2}, "a", "A"), strs(tensor.Shape{1}, "")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run1(t, "OnnxStringNormalizer", tc.at, tc.in)
			if !got.Shape().Equal(tc.want.Shape()) {
				t.Fatalf("shape = %v, want %v", got.Shape(), tc.want.Shape())
			}
			for i, s := range got.Strings() {
				if string(s) != string(tc.want.Strings()[i]) {
					t.Errorf("element %d = %q, want %q", i, s, tc.want.Strings()[i])
				}
			}
		})
	}
}

func TestXtTfIdfVectorizer(t *testing.T) {
	// Pool: unigrams 2, 3; bigrams (2, 3), (3, 2).
	at := func(mode string, skip int64) attrs {
		return attrs{"mode": mode, "min_gram_length": int64(1), "max_gram_length": int64(2), "max_skip_count": skip,
			"ngram_counts": []int64{0, 2}, "ngram_indexes": []int64{0, 1, 2, 3}, "pool_int64s": []int64{2, 3, 2, 3, 3, 2},
			"weights": []float32{1, 2, 3, 4}}
	}
	x := tensor.MustFromSlice(tensor.Shape{2, 4}, []int32{2, 3, 2, 5, 2, 5, 3, 3})
	tests := []struct {
		name string
		at   attrs
		want []float64
	}{
		{"TF no skip", at("TF", 0), []float64{2, 1, 1, 1, 1, 2, 0, 0}},
		{"TF skip 1", at("TF", 1), []float64{2, 1, 1, 1, 1, 2, 1, 0}},
		{"IDF", at("IDF", 0), []float64{1, 2, 3, 4, 1, 2, 0, 0}},
		{"TFIDF", at("TFIDF", 0), []float64{2, 2, 3, 4, 1, 4, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertClose(t, run1(t, "OnnxTfIdfVectorizer", tc.at, x), tensor.Shape{2, 4}, tc.want, 0)
		})
	}
}

func TestXtSignal(t *testing.T) {
	i64 := func(v int64) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{}, []int64{v}) }
	f32 := func(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
	tests := []struct {
		name  string
		op    string
		at    attrs
		in    []*tensor.Tensor
		shape tensor.Shape
		want  []float64
	}{
		{"Hann periodic", "OnnxHannWindow", attrs{}, []*tensor.Tensor{i64(4)}, tensor.Shape{4}, []float64{0, 0.5, 1, 0.5}},
		{"Hann symmetric", "OnnxHannWindow", attrs{"periodic": int64(0)}, []*tensor.Tensor{i64(5)}, tensor.Shape{5}, []float64{0, 0.5, 1, 0.5, 0}},
		{"Hamming as float64", "OnnxHammingWindow", attrs{"output_datatype": int64(11)}, []*tensor.Tensor{i64(2)}, tensor.Shape{2}, []float64{25.0/46 - 21.0/46, 1}},
		{"Blackman symmetric", "OnnxBlackmanWindow", attrs{"periodic": int64(0)}, []*tensor.Tensor{i64(3)}, tensor.Shape{3}, []float64{0, 1, 0}},
		{"DFT of an impulse", "OnnxDFT", attrs{}, []*tensor.Tensor{f32(tensor.Shape{1, 4, 1}, 0, 1, 0, 0)}, tensor.Shape{1, 4, 2},
			[]float64{1, 0, 0, -1, -1, 0, 0, 1}},
		{"DFT onesided", "OnnxDFT", attrs{"onesided": int64(1)}, []*tensor.Tensor{f32(tensor.Shape{1, 4, 1}, 0, 1, 0, 0)}, tensor.Shape{1, 3, 2},
			[]float64{1, 0, 0, -1, -1, 0}},
		{"DFT inverse", "OnnxDFT", attrs{"inverse": int64(1)}, []*tensor.Tensor{f32(tensor.Shape{1, 4, 2}, 1, 0, 0, -1, -1, 0, 0, 1)}, tensor.Shape{1, 4, 2},
			[]float64{0, 0, 1, 0, 0, 0, 0, 0}},
		{"DFT padded by dft_length", "OnnxDFT", attrs{}, []*tensor.Tensor{f32(tensor.Shape{1, 1, 1}, 2), i64(3)}, tensor.Shape{1, 3, 2},
			[]float64{2, 0, 2, 0, 2, 0}},
		{"STFT", "OnnxSTFT", attrs{}, []*tensor.Tensor{f32(tensor.Shape{1, 4, 1}, 1, 2, 3, 4), i64(2), f32(tensor.Shape{0}), i64(2)}, tensor.Shape{1, 2, 2, 2},
			[]float64{3, 0, -1, 0, 7, 0, -1, 0}},
		{"STFT with window", "OnnxSTFT", attrs{}, []*tensor.Tensor{f32(tensor.Shape{1, 4, 1}, 1, 2, 3, 4), i64(2), f32(tensor.Shape{2}, 0, 1)}, tensor.Shape{1, 2, 2, 2},
			[]float64{2, 0, -2, 0, 4, 0, -4, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertClose(t, run1(t, tc.op, tc.at, tc.in...), tc.shape, tc.want, 1e-6)
		})
	}
}

func TestXtMelWeightMatrix(t *testing.T) {
	i32 := func(v int32) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{}, []int32{v}) }
	f32 := func(v float32) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{}, []float32{v}) }
	got := run1(t, "OnnxMelWeightMatrix", attrs{}, i32(8), i32(16), i32(8192), f32(0), f32(4096))
	// ONNX's own example: each of the first six filters is a single bin.
	want := make([]float64, 9*8)
	for _, p := range [][2]int{{0, 0}, {0, 1}, {1, 2}, {1, 3}, {2, 4}, {3, 5}, {4, 6}, {5, 7}} {
		want[p[0]*8+p[1]] = 1
	}
	assertClose(t, got, tensor.Shape{9, 8}, want, 1e-6)
}
