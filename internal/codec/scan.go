package codec

import (
	"math"
	"strconv"
	"sync"
	"unicode/utf8"
)

// kind is the JSON type of a node, in the order rapidjson reports types.
type kind uint8

const (
	kNull kind = iota
	kFalse
	kTrue
	kObject
	kArray
	kString
	kNumber
)

// jsonTypeNames are TF Serving's names for JSON types in error messages.
var jsonTypeNames = [...]string{"Null", "False", "True", "Object", "Array", "String", "Number"}

// Number flags, as rapidjson classifies a number literal.
const (
	fInt     uint8 = 1 << iota // an integer literal within int32
	fUint                      // a non-negative integer literal within uint32
	fInt64                     // an integer literal within int64
	fUint64                    // a non-negative integer literal within uint64
	fDouble                    // anything else: bits holds the float64
	fEscaped                   // a string with escapes (text must be decoded)
)

// node is one value of a parsed document. The document is a flat tape in
// document order: a container's children follow it, and next is the index
// just past its subtree. Object members are a key node (kString) followed
// by the value's subtree.
type node struct {
	kind       kind
	flags      uint8
	start, end int32  // the literal's bytes; strings exclude the quotes
	count      int32  // elements of an array, members of an object
	next       int32  // index of the node after this subtree
	bits       uint64 // numbers: int64/uint64 value or float64 bits
}

// document is a parsed JSON text.
type document struct {
	src   []byte
	nodes []node
	tape  *[]node // the pooled storage of nodes, until release
}

// tapes recycles the node tapes of parsed documents: a request's tape is
// about twice its body's size, and allocating it anew for every request
// made the collector the decoder's largest cost.
var tapes = sync.Pool{New: func() any { return new([]node) }}

// maxPooledTape bounds the tapes kept for reuse (32 MB).
const maxPooledTape = 1 << 20

// release returns d's tape for reuse by a later parse; d must not be used
// afterwards. Nothing a decoder returns refers to the tape.
func (d *document) release() {
	if d.tape == nil {
		return
	}
	if cap(d.nodes) <= maxPooledTape {
		*d.tape = d.nodes[:0]
		tapes.Put(d.tape)
	}
	d.tape, d.nodes = nil, nil
}

// rapidjson's parse error messages (error/en.h).
const (
	errDocumentEmpty       = "The document is empty."
	errRootNotSingular     = "The document root must not be followed by other values."
	errValueInvalid        = "Invalid value."
	errObjectMissName      = "Missing a name for object member."
	errObjectMissColon     = "Missing a colon after a name of object member."
	errObjectMissCommaOrCB = "Missing a comma or '}' after an object member."
	errArrayMissCommaOrSB  = "Missing a comma or ']' after an array element."
	errStringBadHex        = "Incorrect hex digit after \\u escape in string."
	errStringBadSurrogate  = "The surrogate pair in string is invalid."
	errStringBadEscape     = "Invalid escape character in string."
	errStringMissQuote     = "Missing a closing quotation mark in string."
	errStringBadEncoding   = "Invalid encoding in string."
	errNumberTooBig        = "Number too big to be stored in double."
	errNumberMissFraction  = "Miss fraction part in number."
	errNumberMissExponent  = "Miss exponent in number."
	errTermination         = "Terminate parsing due to Handler error."
)

// maxDepth bounds nesting so that no input can exhaust the stack of the
// recursive walks over a document; rapidjson has no such bound. A deeper
// document fails as a handler-terminated parse at the opening bracket.
const maxDepth = 1024

type scanner struct {
	src   []byte
	pos   int
	nodes []node
	msg   string
	off   int
}

// peek returns the current byte, or 0 at the end (as rapidjson's memory
// stream does; a NUL byte in the input reads the same).
func (s *scanner) peek() byte {
	if s.pos < len(s.src) {
		return s.src[s.pos]
	}
	return 0
}

func (s *scanner) consume(c byte) bool {
	if s.pos < len(s.src) && s.src[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

func (s *scanner) skipWS() {
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case ' ', '\n', '\r', '\t':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) fail(msg string, off int) bool {
	s.msg, s.off = msg, off
	return false
}

// parseJSON parses src with rapidjson's grammar and NaN/Infinity extension.
// A syntax error is returned as TF Serving words it.
func parseJSON(src []byte) (*document, *Error) {
	if len(src) == 0 {
		return nil, Errorf(InvalidArgument, "JSON Parse error: The document is empty")
	}
	tape := tapes.Get().(*[]node)
	nodes := (*tape)[:0]
	if want := 16 + len(src)/16; cap(nodes) < want {
		nodes = make([]node, 0, want)
	}
	s := scanner{src: src, nodes: nodes}
	// A UTF-8 byte order mark is skipped, a byte at a time.
	for _, b := range []byte{0xEF, 0xBB, 0xBF} {
		s.consume(b)
	}
	d := &document{src: src, nodes: s.nodes, tape: tape}
	ok := s.parse()
	d.nodes = s.nodes
	if !ok {
		d.release()
		return nil, Errorf(InvalidArgument, "JSON Parse error: %s at offset: %d", s.msg, s.off)
	}
	return d, nil
}

func (s *scanner) parse() bool {
	s.skipWS()
	if s.peek() == 0 {
		return s.fail(errDocumentEmpty, s.pos)
	}
	var stack []int32
	for {
		// A value starts at s.pos.
		switch s.peek() {
		case '{':
			if len(stack) >= maxDepth {
				return s.fail(errTermination, s.pos)
			}
			s.pos++
			stack = append(stack, int32(len(s.nodes)))
			s.nodes = append(s.nodes, node{kind: kObject, start: int32(s.pos - 1)})
			s.skipWS()
			if s.consume('}') {
				stack = s.close(stack)
				break
			}
			if !s.member() {
				return false
			}
			continue
		case '[':
			if len(stack) >= maxDepth {
				return s.fail(errTermination, s.pos)
			}
			s.pos++
			stack = append(stack, int32(len(s.nodes)))
			s.nodes = append(s.nodes, node{kind: kArray, start: int32(s.pos - 1)})
			s.skipWS()
			if s.consume(']') {
				stack = s.close(stack)
				break
			}
			continue
		case '"':
			if !s.str() {
				return false
			}
		case 'n':
			if !s.literal("null", kNull) {
				return false
			}
		case 't':
			if !s.literal("true", kTrue) {
				return false
			}
		case 'f':
			if !s.literal("false", kFalse) {
				return false
			}
		default:
			if !s.number() {
				return false
			}
		}
		// A value ended; continue its container.
		for {
			if len(stack) == 0 {
				s.skipWS()
				if s.peek() != 0 {
					return s.fail(errRootNotSingular, s.pos)
				}
				return true
			}
			top := &s.nodes[stack[len(stack)-1]]
			top.count++
			s.skipWS()
			if top.kind == kArray {
				if s.consume(',') {
					s.skipWS()
					goto nextValue
				}
				if s.consume(']') {
					stack = s.close(stack)
					continue
				}
				return s.fail(errArrayMissCommaOrSB, s.pos)
			}
			if s.consume(',') {
				s.skipWS()
				if !s.member() {
					return false
				}
				goto nextValue
			}
			if s.consume('}') {
				stack = s.close(stack)
				continue
			}
			return s.fail(errObjectMissCommaOrCB, s.pos)
		}
	nextValue:
	}
}

// close ends the innermost open container.
func (s *scanner) close(stack []int32) []int32 {
	i := stack[len(stack)-1]
	s.nodes[i].next = int32(len(s.nodes))
	s.nodes[i].end = int32(s.pos)
	return stack[:len(stack)-1]
}

// member parses `"name" :` and leaves s.pos at the value.
func (s *scanner) member() bool {
	if s.peek() != '"' {
		return s.fail(errObjectMissName, s.pos)
	}
	if !s.str() {
		return false
	}
	s.skipWS()
	if !s.consume(':') {
		return s.fail(errObjectMissColon, s.pos)
	}
	s.skipWS()
	return true
}

func (s *scanner) literal(lit string, k kind) bool {
	start := s.pos
	s.pos++
	for i := 1; i < len(lit); i++ {
		if !s.consume(lit[i]) {
			return s.fail(errValueInvalid, s.pos)
		}
	}
	s.nodes = append(s.nodes, node{kind: k, start: int32(start), end: int32(s.pos), next: int32(len(s.nodes) + 1)})
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// str scans a string, checking it as rapidjson does; s.pos is at '"'.
func (s *scanner) str() bool {
	s.pos++
	start := s.pos
	var flags uint8
	for {
		c := s.peek()
		switch {
		case c == '\\':
			flags |= fEscaped
			esc := s.pos
			s.pos++
			switch s.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos++
			case 'u':
				s.pos++
				cp, ok := s.hex4()
				if !ok {
					return s.fail(errStringBadHex, esc)
				}
				if cp >= 0xD800 && cp <= 0xDBFF {
					if !s.consume('\\') || !s.consume('u') {
						return s.fail(errStringBadSurrogate, esc)
					}
					lo, ok := s.hex4()
					if !ok {
						return s.fail(errStringBadHex, esc)
					}
					if lo < 0xDC00 || lo > 0xDFFF {
						return s.fail(errStringBadSurrogate, esc)
					}
				} else if cp >= 0xDC00 && cp <= 0xDFFF {
					return s.fail(errStringBadSurrogate, esc)
				}
			default:
				return s.fail(errStringBadEscape, esc)
			}
		case c == '"':
			s.nodes = append(s.nodes, node{kind: kString, flags: flags, start: int32(start), end: int32(s.pos), next: int32(len(s.nodes) + 1)})
			s.pos++
			return true
		case c == 0:
			return s.fail(errStringMissQuote, s.pos)
		case c < 0x20:
			return s.fail(errStringBadEncoding, s.pos)
		default:
			s.pos++
		}
	}
}

func (s *scanner) hex4() (rune, bool) {
	if s.pos+4 > len(s.src) {
		return 0, false
	}
	var r rune
	for i := range 4 {
		c := s.src[s.pos+i]
		if !isHex(c) {
			return 0, false
		}
		r <<= 4
		switch {
		case c <= '9':
			r |= rune(c - '0')
		case c >= 'a':
			r |= rune(c-'a') + 10
		default:
			r |= rune(c-'A') + 10
		}
	}
	s.pos += 4
	return r, true
}

// number scans and converts a number exactly as rapidjson's ParseNumber
// does without kParseFullPrecisionFlag (TF Serving parses with only
// kParseNanAndInfFlag): integers are exact up to uint64/int64; any other
// literal is accumulated in double arithmetic from at most 17 significant
// digits and scaled by one multiplication or division by a power of ten,
// so it can differ from the correctly rounded value in its last bit, as
// in TF Serving. NaN, Inf and Infinity (optionally negative) are accepted.
func (s *scanner) number() bool {
	if s.plainNumber() {
		return true
	}
	return s.anyNumber()
}

// plainNumber is number for the literals requests are made of, an
// optional minus, an integer part within 32 bits and an optional fraction
// (no exponent), with s.pos in a local and no call per digit. It reports
// false, having consumed nothing, for anything else, which anyNumber then
// scans; for what it accepts, its node is the one anyNumber makes.
func (s *scanner) plainNumber() bool {
	src, pos := s.src, s.pos
	start := pos
	minus := pos < len(src) && src[pos] == '-'
	if minus {
		pos++
	}
	if pos >= len(src) {
		return false
	}
	var i uint32
	switch c := src[pos]; {
	case c == '0':
		pos++
	case '1' <= c && c <= '9':
		i = uint32(c - '0')
		pos++
		// Nine digits more could overflow 32 bits, which anyNumber
		// handles.
		for k := 0; pos < len(src); k++ {
			v := src[pos] - '0'
			if v > 9 {
				break
			}
			if k == 8 {
				return false
			}
			i = i*10 + uint32(v)
			pos++
		}
	default:
		return false
	}
	n := node{kind: kNumber, start: int32(start)}
	if pos < len(src) && (src[pos] == 'e' || src[pos] == 'E') {
		return false
	}
	if pos < len(src) && src[pos] == '.' {
		pos++
		if pos >= len(src) || src[pos]-'0' > 9 {
			return false
		}
		// As anyNumber: digits into i64 while it stays below 2^53, then
		// into d while fewer than 17 significant digits are in.
		sig := 0
		if i != 0 {
			sig = digits10(i) - 1
		}
		i64 := uint64(i)
		expFrac := 0
		for pos < len(src) {
			v := src[pos] - '0'
			if v > 9 || i64 > 1<<53-1 {
				break
			}
			i64 = i64*10 + uint64(v)
			expFrac--
			if i64 != 0 {
				sig++
			}
			pos++
		}
		d := float64(i64)
		for pos < len(src) {
			v := src[pos] - '0'
			if v > 9 {
				break
			}
			if sig < 17 {
				d = d*10 + float64(v)
				expFrac--
				if d > 0 {
					sig++
				}
			}
			pos++
		}
		if pos < len(src) && (src[pos] == 'e' || src[pos] == 'E') {
			return false
		}
		d = strtodNormalPrecision(d, expFrac)
		if minus {
			d = -d
		}
		n.flags, n.bits = fDouble, math.Float64bits(d)
	} else if minus {
		v := -int64(i)
		n.flags, n.bits = fInt|fInt64, uint64(v)
		if v == 0 {
			n.flags |= fUint | fUint64
		}
	} else {
		n.flags, n.bits = fInt64|fUint64|fUint, uint64(i)
		if i <= math.MaxInt32 {
			n.flags |= fInt
		}
	}
	s.pos = pos
	n.end = int32(pos)
	n.next = int32(len(s.nodes) + 1)
	s.nodes = append(s.nodes, n)
	return true
}

// digits10 is the number of decimal digits of i > 0.
func digits10(i uint32) int {
	n := 1
	for i >= 10 {
		i /= 10
		n++
	}
	return n
}

// anyNumber is number for every literal.
func (s *scanner) anyNumber() bool {
	start := s.pos
	minus := s.consume('-')
	n := node{kind: kNumber, start: int32(start)}
	var (
		i                          uint32
		i64                        uint64
		d                          float64
		use64, useDouble, nanOrInf bool
		sig                        int // significant digits so far
	)
	digit := func() (byte, bool) {
		if s.pos < len(s.src) && isDigit(s.src[s.pos]) {
			return s.src[s.pos] - '0', true
		}
		return 0, false
	}
	switch c := s.peek(); {
	case c == '0':
		s.pos++
	case '1' <= c && c <= '9':
		i = uint32(c - '0')
		s.pos++
		lim, last := uint32(429496729), byte(5)
		if minus {
			lim, last = 214748364, 8
		}
		for v, ok := digit(); ok; v, ok = digit() {
			if i >= lim && (i != lim || v > last) {
				i64, use64 = uint64(i), true
				break
			}
			i = i*10 + uint32(v)
			sig++
			s.pos++
		}
	case c == 'N':
		s.pos++
		if !s.consume('a') || !s.consume('N') {
			return s.fail(errValueInvalid, s.pos)
		}
		d, nanOrInf = math.NaN(), true
	case c == 'I':
		s.pos++
		if !s.consume('n') || !s.consume('f') {
			return s.fail(errValueInvalid, s.pos)
		}
		if s.peek() == 'i' {
			for _, b := range []byte("inity") {
				if !s.consume(b) {
					return s.fail(errValueInvalid, s.pos)
				}
			}
		}
		d, nanOrInf = math.Inf(1), true
		if minus {
			d = math.Inf(-1)
		}
	default:
		return s.fail(errValueInvalid, s.pos)
	}
	if use64 {
		lim, last := uint64(0x1999999999999999), byte(5)
		if minus {
			lim, last = 0x0CCCCCCCCCCCCCCC, 8
		}
		for v, ok := digit(); ok; v, ok = digit() {
			if i64 >= lim && (i64 != lim || v > last) {
				d, useDouble = float64(i64), true
				break
			}
			i64 = i64*10 + uint64(v)
			sig++
			s.pos++
		}
	}
	if useDouble {
		for v, ok := digit(); ok; v, ok = digit() {
			if d >= 1.7976931348623157e307 {
				return s.fail(errNumberTooBig, start)
			}
			d = d*10 + float64(v)
			s.pos++
		}
	}
	expFrac := 0
	if !nanOrInf && s.consume('.') {
		if _, ok := digit(); !ok {
			return s.fail(errNumberMissFraction, s.pos)
		}
		if !useDouble {
			if !use64 {
				i64 = uint64(i)
			}
			for v, ok := digit(); ok; v, ok = digit() {
				if i64 > 1<<53-1 {
					break
				}
				i64 = i64*10 + uint64(v)
				expFrac--
				if i64 != 0 {
					sig++
				}
				s.pos++
			}
			d, useDouble = float64(i64), true
		}
		for v, ok := digit(); ok; v, ok = digit() {
			if sig < 17 {
				d = d*10 + float64(v)
				expFrac--
				if d > 0 {
					sig++
				}
			}
			s.pos++
		}
	}
	exp := 0
	if !nanOrInf && (s.consume('e') || s.consume('E')) {
		if !useDouble {
			if use64 {
				d = float64(i64)
			} else {
				d = float64(i)
			}
			useDouble = true
		}
		expMinus := false
		if !s.consume('+') {
			expMinus = s.consume('-')
		}
		v, ok := digit()
		if !ok {
			return s.fail(errNumberMissExponent, s.pos)
		}
		exp = int(v)
		s.pos++
		if expMinus {
			maxExp := (expFrac + 2147483639) / 10
			for v, ok := digit(); ok; v, ok = digit() {
				exp = exp*10 + int(v)
				s.pos++
				if exp > maxExp {
					for _, ok := digit(); ok; _, ok = digit() {
						s.pos++
					}
				}
			}
			exp = -exp
		} else {
			maxExp := 308 - expFrac
			for v, ok := digit(); ok; v, ok = digit() {
				exp = exp*10 + int(v)
				s.pos++
				if exp > maxExp {
					return s.fail(errNumberTooBig, start)
				}
			}
		}
	}
	switch {
	case useDouble:
		d = strtodNormalPrecision(d, exp+expFrac)
		if d > math.MaxFloat64 {
			return s.fail(errNumberTooBig, start)
		}
		if minus {
			d = -d
		}
		n.flags, n.bits = fDouble, math.Float64bits(d)
	case nanOrInf:
		n.flags, n.bits = fDouble, math.Float64bits(d)
	case use64 && minus:
		n.flags, n.bits = fInt64, -i64 // i64 ≤ 2^63: two's complement of the magnitude
	case use64:
		n.flags, n.bits = fUint64, i64
		if i64 <= math.MaxInt64 {
			n.flags |= fInt64
		}
		if i64 <= math.MaxUint32 {
			n.flags |= fUint
		}
	case minus:
		v := -int64(i)
		n.flags, n.bits = fInt|fInt64, uint64(v)
		if v == 0 {
			n.flags |= fUint | fUint64
		}
	default:
		n.flags, n.bits = fInt64|fUint64|fUint, uint64(i)
		if i <= math.MaxInt32 {
			n.flags |= fInt
		}
	}
	n.end = int32(s.pos)
	n.next = int32(len(s.nodes) + 1)
	s.nodes = append(s.nodes, n)
	return true
}

// pow10 holds the doubles nearest to 1e0 … 1e308 (rapidjson's Pow10).
var pow10 = func() (t [309]float64) {
	for k := range t {
		t[k], _ = strconv.ParseFloat("1e"+strconv.Itoa(k), 64)
	}
	return t
}()

// strtodNormalPrecision is rapidjson's StrtodNormalPrecision: d scaled by
// 10^p with one rounding (two below 1e-308).
func strtodNormalPrecision(d float64, p int) float64 {
	fast := func(d float64, p int) float64 {
		switch {
		case p < -308:
			return 0
		case p >= 0:
			return d * pow10[p]
		default:
			return d / pow10[-p]
		}
	}
	if p < -308 {
		return fast(fast(d, -308), p+308)
	}
	return fast(d, p)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// text returns a string node's decoded bytes (valid: the scanner checked
// its escapes). Bytes that are not UTF-8 are kept as they are.
func (d *document) text(i int32) []byte {
	n := &d.nodes[i]
	raw := d.src[n.start:n.end]
	if n.flags&fEscaped == 0 {
		return raw
	}
	out := make([]byte, 0, len(raw))
	for j := 0; j < len(raw); j++ {
		c := raw[j]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		j++
		switch raw[j] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hexRune(raw[j+1 : j+5])
			j += 4
			if r >= 0xD800 && r <= 0xDBFF {
				lo := hexRune(raw[j+3 : j+7])
				j += 6
				r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
			}
			out = utf8.AppendRune(out, r)
		default: // '"', '\\', '/'
			out = append(out, raw[j])
		}
	}
	return out
}

func hexRune(h []byte) rune {
	v, _ := strconv.ParseUint(string(h), 16, 32)
	return rune(v)
}

// isNumber and friends mirror rapidjson's Value predicates.
func (n *node) isInt() bool    { return n.kind == kNumber && n.flags&fInt != 0 }
func (n *node) isInt64() bool  { return n.kind == kNumber && n.flags&fInt64 != 0 }
func (n *node) isUint() bool   { return n.kind == kNumber && n.flags&fUint != 0 }
func (n *node) isUint64() bool { return n.kind == kNumber && n.flags&fUint64 != 0 }
func (n *node) isDouble() bool { return n.kind == kNumber && n.flags&fDouble != 0 }

// float64 is rapidjson's GetDouble.
func (n *node) float64() float64 {
	switch {
	case n.flags&fDouble != 0:
		return math.Float64frombits(n.bits)
	case n.flags&fUint64 != 0:
		return float64(n.bits)
	default:
		return float64(int64(n.bits))
	}
}

// member finds the first member of object i named name; -1 if none.
func (d *document) member(i int32, name string) int32 {
	j := i + 1
	for range d.nodes[i].count {
		if string(d.text(j)) == name {
			return j + 1
		}
		j = d.nodes[j+1].next
	}
	return -1
}

// isBase64Object reports whether node i is {"b64": "<string>"}.
func (d *document) isBase64Object(i int32) bool {
	n := &d.nodes[i]
	if n.kind != kObject || n.count != 1 {
		return false
	}
	return string(d.text(i+1)) == "b64" && d.nodes[i+2].kind == kString
}
