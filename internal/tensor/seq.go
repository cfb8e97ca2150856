package tensor

import (
	"fmt"
	"reflect"
	"strings"
)

// Seq holds the elements of a Sequence or Optional tensor. A Sequence of n
// elements has shape [n]; an Optional has shape [1] when it holds a value
// and [0] when it is empty. The elements are tensors of any dtype, nested
// sequences and optionals included.
type Seq []*Tensor

// String formats every element with its dtype, shape and values, so that
// two sequences print alike exactly when they hold equal elements.
func (s Seq) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, t := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		if t == nil {
			b.WriteString("<nil>")
			continue
		}
		fmt.Fprintf(&b, "%v%v%v", t.dtype, t.shape, t.data)
	}
	b.WriteByte(']')
	return b.String()
}

// NewSequence returns a Sequence of elems, which it shares.
func NewSequence(elems ...*Tensor) *Tensor {
	if elems == nil {
		elems = Seq{}
	}
	return &Tensor{dtype: Sequence, shape: Shape{len(elems)}, data: Seq(elems)}
}

// NewOptional returns an Optional holding elem, or an empty one when elem
// is nil.
func NewOptional(elem *Tensor) *Tensor {
	if elem == nil {
		return &Tensor{dtype: Optional, shape: Shape{0}, data: Seq{}}
	}
	return &Tensor{dtype: Optional, shape: Shape{1}, data: Seq{elem}}
}

// Elems returns the elements of a Sequence or Optional tensor.
func (t *Tensor) Elems() Seq { return t.data.(Seq) }

// Clone returns a deep copy of t: storage of its own, and for a Sequence
// or Optional, clones of the elements. String elements share their bytes,
// which no kernel modifies.
func (t *Tensor) Clone() *Tensor {
	if s, ok := t.data.(Seq); ok {
		elems := make(Seq, len(s))
		for i, e := range s {
			if e != nil {
				elems[i] = e.Clone()
			}
		}
		return &Tensor{dtype: t.dtype, shape: t.shape.Clone(), data: elems}
	}
	out := New(t.dtype, t.shape)
	reflect.Copy(reflect.ValueOf(out.data), reflect.ValueOf(t.data))
	return out
}
