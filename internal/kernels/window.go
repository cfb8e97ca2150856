package kernels

import "fmt"

// spatial holds the parsed window attributes of a 2-D NHWC op (the
// convolutions and the pools): strides, dilations, and padding.
type spatial struct {
	strideH, strideW int
	dilH, dilW       int
	padding          string // VALID, SAME or EXPLICIT
	// explicit holds top, bottom, left, right when padding is EXPLICIT.
	explicit [4]int
}

// parseSpatial reads strides, dilations (when withDilations), padding,
// explicit_paddings and data_format, refusing what the engine does not do.
func parseSpatial(n Node, withDilations bool) (spatial, error) {
	var s spatial
	if f := attrString(n, "data_format", "NHWC"); f != "NHWC" {
		return s, n.Errorf(ErrUnsupported, "data_format %q (only NHWC)", f)
	}
	strides := attrInts(n, "strides", []int64{1, 1, 1, 1})
	if len(strides) != 4 || strides[0] != 1 || strides[3] != 1 || strides[1] < 1 || strides[2] < 1 {
		return s, n.Errorf(ErrUnsupported, "strides %v (want [1, h, w, 1] with h, w >= 1)", strides)
	}
	s.strideH, s.strideW = int(strides[1]), int(strides[2])
	s.dilH, s.dilW = 1, 1
	if withDilations {
		d := attrInts(n, "dilations", []int64{1, 1, 1, 1})
		if len(d) != 4 || d[0] != 1 || d[3] != 1 || d[1] < 1 || d[2] < 1 {
			return s, n.Errorf(ErrUnsupported, "dilations %v (want [1, h, w, 1] with h, w >= 1)", d)
		}
		s.dilH, s.dilW = int(d[1]), int(d[2])
	}
	s.padding = attrString(n, "padding", "")
	switch s.padding {
	case "VALID", "SAME":
	case "EXPLICIT":
		p := attrInts(n, "explicit_paddings", nil)
		if len(p) != 8 {
			return s, n.Errorf(ErrInvalidArgument, "explicit_paddings %v must have 8 entries", p)
		}
		if p[0] != 0 || p[1] != 0 || p[6] != 0 || p[7] != 0 {
			return s, n.Errorf(ErrUnsupported, "explicit_paddings %v pads the batch or channel dimension", p)
		}
		for i := 2; i < 6; i++ {
			if p[i] < 0 {
				return s, n.Errorf(ErrInvalidArgument, "explicit_paddings %v has a negative entry", p)
			}
			s.explicit[i-2] = int(p[i])
		}
	default:
		return s, n.Errorf(ErrUnsupported, "padding %q", s.padding)
	}
	return s, nil
}

// windowDim computes one spatial dimension of a windowed op the way
// TensorFlow's GetWindowedOutputSize does: the output extent, and the
// padding before the first element. SAME puts the odd padding element
// after (at the bottom or right).
func windowDim(in, k, stride, dil int, padding string, padBefore, padAfter int) (out, before int, err error) {
	ek := (k-1)*dil + 1
	switch padding {
	case "VALID":
		out = (in - ek + stride) / stride
		if in-ek+stride < 0 {
			out = -1
		}
	case "SAME":
		out = (in + stride - 1) / stride
		total := max((out-1)*stride+ek-in, 0)
		before = total / 2
	case "EXPLICIT":
		out = (in + padBefore + padAfter - ek + stride) / stride
		if in+padBefore+padAfter-ek+stride < 0 {
			out = -1
		}
		before = padBefore
	}
	if out < 0 {
		return 0, 0, fmt.Errorf("computed output size would be negative: input %d, effective window %d, stride %d: %w", in, ek, stride, ErrInvalidArgument)
	}
	return out, before, nil
}

// geometry is a spatial op's resolved window over a given input.
type geometry struct {
	inH, inW, kH, kW, outH, outW, padTop, padLeft int
}

func (s spatial) geometry(inH, inW, kH, kW int) (geometry, error) {
	g := geometry{inH: inH, inW: inW, kH: kH, kW: kW}
	var err error
	if g.outH, g.padTop, err = windowDim(inH, kH, s.strideH, s.dilH, s.padding, s.explicit[0], s.explicit[1]); err != nil {
		return g, err
	}
	if g.outW, g.padLeft, err = windowDim(inW, kW, s.strideW, s.dilW, s.padding, s.explicit[2], s.explicit[3]); err != nil {
		return g, err
	}
	return g, nil
}
