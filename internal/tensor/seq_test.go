package tensor

import "testing"

func TestSeq(t *testing.T) {
	a := MustFromSlice(Shape{2}, []float32{1, 2})
	b := MustFromSlice(Shape{}, []int64{7})
	for _, tc := range []struct {
		name  string
		t     *Tensor
		dt    DType
		shape Shape
		str   string
	}{
		{"sequence", NewSequence(a, b), Sequence, Shape{2}, "[float32[2][1 2] int64[][7]]"},
		{"empty sequence", NewSequence(), Sequence, Shape{0}, "[]"},
		{"optional", NewOptional(a), Optional, Shape{1}, "[float32[2][1 2]]"},
		{"empty optional", NewOptional(nil), Optional, Shape{0}, "[]"},
		{"nested", NewOptional(NewSequence(b)), Optional, Shape{1}, "[sequence[1][int64[][7]]]"},
		{"New", New(Sequence, Shape{1}), Sequence, Shape{1}, "[<nil>]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.t.DType() != tc.dt || !tc.t.Shape().Equal(tc.shape) || tc.t.Len() != len(tc.t.Elems()) {
				t.Errorf("got %v with %d elements, want %v %v", tc.t, len(tc.t.Elems()), tc.dt, tc.shape)
			}
			if got := tc.t.Elems().String(); got != tc.str {
				t.Errorf("String() = %q, want %q", got, tc.str)
			}
		})
	}
	if s, err := FromSlice(Shape{1}, Seq{a}); err != nil || s.DType() != Sequence {
		t.Errorf("FromSlice(Seq) = %v, %v", s, err)
	}
}

func TestClone(t *testing.T) {
	a := MustFromSlice(Shape{2}, []float32{1, 2})
	s := NewSequence(a, MustFromSlice(Shape{1}, [][]byte{[]byte("x")}))
	c := s.Clone()
	a.Float32s()[0] = 9
	if got := c.Elems().String(); got != "[float32[2][1 2] string[1][[120]]]" {
		t.Errorf("clone = %s", got)
	}
	if c.Elems()[0] == a {
		t.Error("clone shares an element")
	}
}
