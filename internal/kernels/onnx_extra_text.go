package kernels

import (
	"context"
	"encoding/binary"
	"strings"

	"inferd/internal/tensor"
)

// This file holds ONNX's text ops: StringNormalizer and TfIdfVectorizer.

func init() {
	Register("OnnxStringNormalizer", xtBuildStringNormalizer)
	Register("OnnxTfIdfVectorizer", xtBuildTfIdf)
}

// xtBuildStringNormalizer makes StringNormalizer: stopwords are dropped
// (compared case-insensitively unless is_case_sensitive), then the case is
// changed. Input [C] or [1, C]; when every string is dropped the output
// holds one empty string.
func xtBuildStringNormalizer(n Node) (Kernel, error) {
	action := attrString(n, "case_change_action", "NONE")
	switch action {
	case "NONE", "LOWER", "UPPER":
	default:
		return nil, n.Errorf(ErrInvalidArgument, "case_change_action %q", action)
	}
	sensitive := attrInt(n, "is_case_sensitive", 0) != 0
	var stop []string
	if n.Attrs != nil {
		stop, _ = n.Attrs.Strings("stopwords")
	}
	stopSet := map[string]bool{}
	for _, s := range stop {
		if !sensitive {
			s = strings.ToLower(s)
		}
		stopSet[s] = true
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "X", x, tensor.String); err != nil {
			return nil, err
		}
		if x.Rank() != 1 && !(x.Rank() == 2 && x.Shape()[0] == 1) {
			return nil, n.Errorf(ErrInvalidArgument, "X must be [C] or [1, C], got %v", x.Shape())
		}
		var kept [][]byte
		for _, s := range x.Strings() {
			key := string(s)
			if !sensitive {
				key = strings.ToLower(key)
			}
			if stopSet[key] {
				continue
			}
			switch action {
			case "LOWER":
				s = []byte(strings.ToLower(string(s)))
			case "UPPER":
				s = []byte(strings.ToUpper(string(s)))
			default:
				s = append([]byte(nil), s...)
			}
			kept = append(kept, s)
		}
		if len(kept) == 0 {
			kept = [][]byte{{}}
		}
		shape := tensor.Shape{len(kept)}
		if x.Rank() == 2 {
			shape = tensor.Shape{1, len(kept)}
		}
		out := Alloc(ctx, tensor.String, shape)
		copy(out.Strings(), kept)
		return []*tensor.Tensor{out}, nil
	}), nil
}

// xtBuildTfIdf makes TfIdfVectorizer: it counts, per row, the n-grams of
// the pool (min_gram_length to max_gram_length tokens, taken every k-th
// token for k up to max_skip_count+1; unigrams once), and writes their
// TF, IDF or TF-IDF values at the n-grams' ngram_indexes.
func xtBuildTfIdf(n Node) (Kernel, error) {
	mode := attrString(n, "mode", "TF")
	if mode != "TF" && mode != "IDF" && mode != "TFIDF" {
		return nil, n.Errorf(ErrInvalidArgument, "mode %q", mode)
	}
	minN, maxN := int(attrInt(n, "min_gram_length", 1)), int(attrInt(n, "max_gram_length", 1))
	maxSkip := int(attrInt(n, "max_skip_count", 0))
	counts := attrInts(n, "ngram_counts", nil)
	indexes := attrInts(n, "ngram_indexes", nil)
	// Skips and gram lengths past 2^16 would only make a hostile model's
	// request loop for ages.
	if minN < 1 || maxN < minN || maxSkip < 0 || maxN > 1<<16 || maxSkip > 1<<16 {
		return nil, n.Errorf(ErrInvalidArgument, "gram lengths [%d, %d] and max_skip_count %d", minN, maxN, maxSkip)
	}
	var weights []float32
	var poolStr []string
	if n.Attrs != nil {
		weights, _ = n.Attrs.Floats("weights")
		poolStr, _ = n.Attrs.Strings("pool_strings")
	}
	poolInt := attrInts(n, "pool_int64s", nil)
	strPool := len(poolStr) > 0
	poolLen := len(poolInt)
	if strPool {
		poolLen = len(poolStr)
	}
	// grams maps an encoded n-gram to its position in the pool's order.
	grams := map[string]int{}
	id := 0
	for g := range counts {
		size := g + 1
		start := int(counts[g])
		end := poolLen
		if g+1 < len(counts) {
			end = int(counts[g+1])
		}
		if start < 0 || end > poolLen || start > end || (end-start)%size != 0 {
			return nil, n.Errorf(ErrInvalidArgument, "ngram_counts %v do not split a pool of %d", counts, poolLen)
		}
		for p := start; p < end; p += size {
			var key []byte
			for k := p; k < p+size; k++ {
				if strPool {
					key = xtGramKey(key, poolStr[k])
				} else {
					key = binary.LittleEndian.AppendUint64(key, uint64(poolInt[k]))
				}
			}
			grams[string(key)] = id
			id++
		}
	}
	if len(indexes) != id {
		return nil, n.Errorf(ErrInvalidArgument, "%d ngram_indexes for %d n-grams", len(indexes), id)
	}
	width := 0
	for _, ix := range indexes {
		// The output is as wide as the largest index: bound it so that a
		// hostile model cannot exhaust memory.
		if ix < 0 || ix >= nnMaxWindow {
			return nil, n.Errorf(ErrInvalidArgument, "ngram index %d is outside [0, %d)", ix, nnMaxWindow)
		}
		width = max(width, int(ix)+1)
	}
	if len(weights) != 0 && len(weights) != id {
		return nil, n.Errorf(ErrInvalidArgument, "%d weights for %d n-grams", len(weights), id)
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if strPool {
			if err := checkDType(n, "X", x, tensor.String); err != nil {
				return nil, err
			}
		} else if err := checkDType(n, "X", x, tensor.Int32, tensor.Int64); err != nil {
			return nil, err
		}
		if x.Rank() != 1 && x.Rank() != 2 {
			return nil, n.Errorf(ErrInvalidArgument, "X must be [C] or [N, C], got %v", x.Shape())
		}
		rows, cols := 1, x.Shape()[0]
		outShape := tensor.Shape{width}
		if x.Rank() == 2 {
			rows, cols = x.Shape()[0], x.Shape()[1]
			outShape = tensor.Shape{rows, width}
		}
		tokens := make([][]byte, x.Len())
		switch v := x.Data().(type) {
		case [][]byte:
			for i, s := range v {
				tokens[i] = xtGramKey(nil, string(s))
			}
		case []int32:
			for i, t := range v {
				tokens[i] = binary.LittleEndian.AppendUint64(nil, uint64(int64(t)))
			}
		case []int64:
			for i, t := range v {
				tokens[i] = binary.LittleEndian.AppendUint64(nil, uint64(t))
			}
		}
		out := Alloc(ctx, tensor.Float32, outShape)
		od := out.Float32s()
		clear(od)
		freq := make([]int, id)
		var key []byte
		for r := range rows {
			clear(freq)
			row := tokens[r*cols : (r+1)*cols]
			for size := minN; size <= maxN; size++ {
				skips := maxSkip
				if size == 1 {
					skips = 0
				}
				for k := 1; k <= skips+1; k++ {
					for s := 0; s+(size-1)*k < len(row); s++ {
						key = key[:0]
						for j := range size {
							key = append(key, row[s+j*k]...)
						}
						if g, ok := grams[string(key)]; ok {
							freq[g]++
						}
					}
				}
			}
			for g, f := range freq {
				if f == 0 {
					continue
				}
				w := float32(1)
				if len(weights) > 0 {
					w = weights[g]
				}
				v := float32(f)
				switch mode {
				case "IDF":
					v = w
				case "TFIDF":
					v = float32(f) * w
				}
				od[r*width+int(indexes[g])] = v
			}
		}
		return []*tensor.Tensor{out}, nil
	}), nil
}

// xtGramKey appends a length-prefixed string to an n-gram key.
func xtGramKey(key []byte, s string) []byte {
	key = binary.AppendUvarint(key, uint64(len(s)))
	return append(key, s...)
}
