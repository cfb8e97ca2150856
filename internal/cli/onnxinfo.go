package cli

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"inferd/internal/onnx/pb"
)

// onnxInfo is what deploy and invoke need to know of an ONNX model, read
// without loading its weights.
type onnxInfo struct {
	// inputs are the main graph's inputs that no initializer feeds, in
	// order: what a request must send.
	inputs []*pb.ValueInfoProto
	// external lists the locations of the files external tensor data is
	// read from, relative to the model's directory, each once, in the
	// order of the file.
	external []string
}

// maxONNXValueInfo bounds the bytes of one graph input description or
// tensor name scanONNX reads into memory; anything larger is not an
// ONNX model's.
const maxONNXValueInfo = 1 << 20

// maxONNXGraphDepth bounds how deep scanONNX follows sub-graphs (the
// branches and bodies of If, Loop and Scan) into sub-graphs.
const maxONNXGraphDepth = 100

// The field numbers of onnx.proto that scanONNX follows.
const (
	onnxModelGraph     protowire.Number = 7  // ModelProto.graph
	onnxGraphNode      protowire.Number = 1  // GraphProto.node
	onnxGraphInit      protowire.Number = 5  // GraphProto.initializer
	onnxGraphInput     protowire.Number = 11 // GraphProto.input
	onnxNodeAttr       protowire.Number = 5  // NodeProto.attribute
	onnxAttrTensor     protowire.Number = 5  // AttributeProto.t
	onnxAttrGraph      protowire.Number = 6  // AttributeProto.g
	onnxAttrTensors    protowire.Number = 10 // AttributeProto.tensors
	onnxAttrGraphs     protowire.Number = 11 // AttributeProto.graphs
	onnxTensorName     protowire.Number = 8  // TensorProto.name
	onnxTensorExternal protowire.Number = 13 // TensorProto.external_data
	onnxExternalLocKey                  = "location"
)

// readONNXInfo scans the ONNX model in file (see scanONNX).
func readONNXInfo(file string) (onnxInfo, error) {
	f, err := os.Open(file)
	if err != nil {
		return onnxInfo{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return onnxInfo{}, err
	}
	info, err := scanONNX(f, st.Size())
	if err != nil {
		return onnxInfo{}, fmt.Errorf("%s: %w", file, err)
	}
	return info, nil
}

// scanONNX reads the serialized ModelProto of size bytes from r as a
// stream, keeping only the graph's inputs, its initializers' names and
// the external data locations of every tensor (initializers and tensor
// attributes, in sub-graphs too); weights are skipped, not held, so a
// model of any size is read in little memory.
func scanONNX(r io.Reader, size int64) (onnxInfo, error) {
	s := &pbStream{r: bufio.NewReaderSize(r, 64<<10)}
	var info onnxInfo
	var inputs []*pb.ValueInfoProto
	inits := map[string]bool{}
	seen := map[string]bool{}

	var graph func(n int64, main bool) error
	depth := 0 // of the sub-graph being read
	tensor := func(n int64, main bool) error {
		return s.message(n, func(num protowire.Number, size int64) (bool, error) {
			switch num {
			case onnxTensorName:
				if !main {
					return false, nil
				}
				b, err := s.bytes(size)
				inits[string(b)] = true
				return true, err
			case onnxTensorExternal:
				var entry pb.StringStringEntryProto
				if err := s.unmarshal(size, &entry); err != nil {
					return true, err
				}
				if loc := entry.GetValue(); entry.GetKey() == onnxExternalLocKey && !seen[loc] {
					seen[loc] = true
					info.external = append(info.external, loc)
				}
				return true, nil
			}
			return false, nil
		})
	}
	attribute := func(n int64) error {
		return s.message(n, func(num protowire.Number, size int64) (bool, error) {
			switch num {
			case onnxAttrTensor, onnxAttrTensors:
				return true, tensor(size, false)
			case onnxAttrGraph, onnxAttrGraphs:
				if depth++; depth > maxONNXGraphDepth {
					return true, fmt.Errorf("sub-graphs nested more than %d deep", maxONNXGraphDepth)
				}
				err := graph(size, false)
				depth--
				return true, err
			}
			return false, nil
		})
	}
	graph = func(n int64, main bool) error {
		return s.message(n, func(num protowire.Number, size int64) (bool, error) {
			switch num {
			case onnxGraphNode:
				return true, s.message(size, func(num protowire.Number, size int64) (bool, error) {
					if num != onnxNodeAttr {
						return false, nil
					}
					return true, attribute(size)
				})
			case onnxGraphInit:
				return true, tensor(size, main)
			case onnxGraphInput:
				if !main {
					return false, nil
				}
				vi := new(pb.ValueInfoProto)
				if err := s.unmarshal(size, vi); err != nil {
					return true, err
				}
				inputs = append(inputs, vi)
				return true, nil
			}
			return false, nil
		})
	}
	hasGraph := false
	err := s.message(size, func(num protowire.Number, size int64) (bool, error) {
		if num != onnxModelGraph {
			return false, nil
		}
		hasGraph = true
		return true, graph(size, true)
	})
	if err != nil {
		return onnxInfo{}, fmt.Errorf("not an ONNX model: %w", err)
	}
	if !hasGraph {
		return onnxInfo{}, errors.New("not an ONNX model: it has no graph")
	}
	for _, vi := range inputs {
		if !inits[vi.GetName()] {
			info.inputs = append(info.inputs, vi)
		}
	}
	return info, nil
}

// pbStream reads protobuf wire format from a stream, counting the bytes
// it consumes.
type pbStream struct {
	r   *bufio.Reader
	off int64
}

// errPBTruncated: a message ends inside a field.
var errPBTruncated = errors.New("truncated or malformed protobuf")

func (s *pbStream) varint() (uint64, error) {
	start := s.off
	v, err := binary.ReadUvarint(byteCounter{s})
	if err != nil {
		return 0, fmt.Errorf("%w at byte %d", errPBTruncated, start)
	}
	return v, nil
}

// byteCounter reads single bytes from a pbStream, counting them.
type byteCounter struct{ s *pbStream }

func (b byteCounter) ReadByte() (byte, error) {
	c, err := b.s.r.ReadByte()
	if err == nil {
		b.s.off++
	}
	return c, err
}

func (s *pbStream) skip(n int64) error {
	m, err := io.CopyN(io.Discard, s.r, n)
	s.off += m
	if err != nil {
		return fmt.Errorf("%w at byte %d", errPBTruncated, s.off)
	}
	return nil
}

// bytes reads a field's n bytes, which must be small.
func (s *pbStream) bytes(n int64) ([]byte, error) {
	if n > maxONNXValueInfo {
		return nil, fmt.Errorf("a %d-byte field where a name or description belongs", n)
	}
	b := make([]byte, n)
	m, err := io.ReadFull(s.r, b)
	s.off += int64(m)
	if err != nil {
		return nil, fmt.Errorf("%w at byte %d", errPBTruncated, s.off)
	}
	return b, nil
}

func (s *pbStream) unmarshal(n int64, m proto.Message) error {
	b, err := s.bytes(n)
	if err != nil {
		return err
	}
	return proto.Unmarshal(b, m)
}

// message reads the n bytes of one message, calling field for each of
// its length-delimited fields with the field's size. field returns
// whether it consumed exactly those bytes; when it did not, they are
// skipped. Fields of the other wire types are skipped.
func (s *pbStream) message(n int64, field func(num protowire.Number, size int64) (bool, error)) error {
	end := s.off + n
	for s.off < end {
		tag, err := s.varint()
		if err != nil {
			return err
		}
		num, typ := protowire.DecodeTag(tag)
		if num <= 0 {
			return fmt.Errorf("%w: bad field tag at byte %d", errPBTruncated, s.off)
		}
		switch typ {
		case protowire.VarintType:
			_, err = s.varint()
		case protowire.Fixed32Type:
			err = s.skip(4)
		case protowire.Fixed64Type:
			err = s.skip(8)
		case protowire.BytesType:
			var size uint64
			if size, err = s.varint(); err != nil {
				break
			}
			if size > uint64(end-s.off) {
				return fmt.Errorf("%w: field %d of %d bytes runs past its message at byte %d", errPBTruncated, num, size, s.off)
			}
			start := s.off
			var used bool
			used, err = field(num, int64(size))
			if err == nil && !used {
				err = s.skip(int64(size))
			}
			if err == nil && s.off != start+int64(size) {
				err = fmt.Errorf("%w: field %d at byte %d", errPBTruncated, num, start)
			}
		default:
			return fmt.Errorf("%w: wire type %d at byte %d", errPBTruncated, typ, s.off)
		}
		if err != nil {
			return err
		}
	}
	if s.off != end {
		return fmt.Errorf("%w: message overruns its %d bytes", errPBTruncated, n)
	}
	return nil
}

// externalPath checks an external data location as the importer does (a
// relative path that stays inside the model's directory) and returns it
// cleaned, slash-separated.
func externalPath(loc string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(loc))
	if loc == "" || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("external data location %q is not a relative path inside the model's folder", loc)
	}
	return filepath.ToSlash(clean), nil
}
