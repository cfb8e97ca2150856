package codec

import (
	"math"
	"strconv"
	"strings"
)

// prettyWriter reproduces, byte for byte, the output of the JSON writer TF
// Serving uses (a rapidjson PrettyWriter: four-space indent, one value per
// line, except that arrays written while singleLine is set stay on one line
// with ", " between elements).
type prettyWriter struct {
	buf        []byte
	levels     []wlevel
	singleLine bool
	failed     bool // a value could not be written; the rest is dropped
}

type wlevel struct {
	inArray bool
	count   int
}

func (w *prettyWriter) indent() {
	for range len(w.levels) {
		w.buf = append(w.buf, "    "...)
	}
}

// prefix writes what precedes a value or key at the current position.
func (w *prettyWriter) prefix() {
	if len(w.levels) == 0 {
		return
	}
	l := &w.levels[len(w.levels)-1]
	if l.inArray {
		if l.count > 0 {
			w.buf = append(w.buf, ',')
			if w.singleLine {
				w.buf = append(w.buf, ' ')
			}
		}
		if !w.singleLine {
			w.buf = append(w.buf, '\n')
			w.indent()
		}
	} else {
		if l.count > 0 {
			if l.count%2 == 0 {
				w.buf = append(w.buf, ',', '\n')
			} else {
				w.buf = append(w.buf, ':', ' ')
			}
		} else {
			w.buf = append(w.buf, '\n')
		}
		if l.count%2 == 0 {
			w.indent()
		}
	}
	l.count++
}

func (w *prettyWriter) startObject() {
	w.prefix()
	w.levels = append(w.levels, wlevel{})
	w.buf = append(w.buf, '{')
}

func (w *prettyWriter) endObject() {
	empty := w.levels[len(w.levels)-1].count == 0
	w.levels = w.levels[:len(w.levels)-1]
	if !empty {
		w.buf = append(w.buf, '\n')
		w.indent()
	}
	w.buf = append(w.buf, '}')
}

func (w *prettyWriter) startArray() {
	w.prefix()
	w.levels = append(w.levels, wlevel{inArray: true})
	w.buf = append(w.buf, '[')
}

func (w *prettyWriter) endArray() {
	empty := w.levels[len(w.levels)-1].count == 0
	w.levels = w.levels[:len(w.levels)-1]
	if !empty && !w.singleLine {
		w.buf = append(w.buf, '\n')
		w.indent()
	}
	w.buf = append(w.buf, ']')
}

func (w *prettyWriter) key(k string) {
	w.prefix()
	w.buf = appendQuoted(w.buf, []byte(k))
}

func (w *prettyWriter) str(s []byte) {
	w.prefix()
	w.buf = appendQuoted(w.buf, s)
}

func (w *prettyWriter) raw(s string) {
	w.prefix()
	w.buf = append(w.buf, s...)
}

func (w *prettyWriter) int64(v int64) {
	w.prefix()
	w.buf = strconv.AppendInt(w.buf, v, 10)
}

func (w *prettyWriter) uint64(v uint64) {
	w.prefix()
	w.buf = strconv.AppendUint(w.buf, v, 10)
}

func (w *prettyWriter) bool(v bool) {
	w.prefix()
	w.buf = strconv.AppendBool(w.buf, v)
}

func (w *prettyWriter) null() {
	w.prefix()
	w.buf = append(w.buf, "null"...)
}

// float32 writes v as TF Serving's WriteDecimal does for DT_FLOAT.
func (w *prettyWriter) float32(v float32) {
	w.prefix()
	w.buf = appendFloat32(w.buf, v)
}

// float32s writes vs as an array of float32 values, as startArray, a
// float32 per element and endArray would.
func (w *prettyWriter) float32s(vs []float32) {
	w.startArray()
	if len(vs) > 0 {
		if w.singleLine {
			w.buf = appendFloat32(w.buf, vs[0])
			for _, v := range vs[1:] {
				w.buf = append(w.buf, ',', ' ')
				w.buf = appendFloat32(w.buf, v)
			}
		} else {
			for i, v := range vs {
				if i > 0 {
					w.buf = append(w.buf, ',')
				}
				w.buf = append(w.buf, '\n')
				w.indent()
				w.buf = appendFloat32(w.buf, v)
			}
		}
		w.levels[len(w.levels)-1].count = len(vs)
	}
	w.endArray()
}

// float64 writes v as TF Serving's WriteDecimal does for DT_DOUBLE.
func (w *prettyWriter) float64(v float64) {
	w.prefix()
	w.buf = appendDecimal(w.buf, v, 64)
}

// appendDecimal formats v the way TF Serving's WriteDecimal does: printf
// "%g" with six significant digits when that parses back (at the tensor's
// precision) to the same value, otherwise "%.9g" (float) or "%.17g"
// (double); ".0" is appended to whole numbers written without an exponent;
// non-finite values are the bare tokens NaN, Infinity and -Infinity.
func appendDecimal(dst []byte, v float64, bits int) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(v, -1):
		return append(dst, "-Infinity"...)
	}
	// A six-digit form parses back to v exactly when v's shortest
	// round-trip form has at most six digits, so count those instead of
	// formatting and parsing.
	start := len(dst)
	dst = strconv.AppendFloat(dst, v, 'e', -1, bits)
	digits := 0
	for _, c := range dst[start:] {
		if c == 'e' {
			break
		}
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	prec := 6
	if digits > 6 {
		prec = 17
		if bits == 32 {
			prec = 9
		}
	}
	dst = strconv.AppendFloat(dst[:start], v, 'g', prec, 64)
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' {
			return dst
		}
	}
	return append(dst, ".0"...)
}

// appendRapidDouble formats v as rapidjson's Writer::Double does (shortest
// round-trip digits, "1.0" for whole numbers, exponent without '+'). TF
// Serving uses it when it prints a request's nested numbers in error
// messages.
func appendRapidDouble(dst []byte, v float64) []byte {
	if v == 0 {
		if math.Signbit(v) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	e := strconv.FormatFloat(v, 'e', -1, 64) // d.ddddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	length := len(digits)
	k := x - (length - 1) // value = digits × 10^k
	kk := length + k
	switch {
	case k >= 0 && kk <= 21:
		dst = append(dst, digits...)
		for i := length; i < kk; i++ {
			dst = append(dst, '0')
		}
		return append(dst, ".0"...)
	case kk > 0 && kk <= 21:
		dst = append(dst, digits[:kk]...)
		dst = append(dst, '.')
		return append(dst, digits[kk:]...)
	case kk > -6 && kk <= 0:
		dst = append(dst, "0."...)
		for i := kk; i < 0; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	case length == 1:
		dst = append(dst, digits...)
		dst = append(dst, 'e')
		return strconv.AppendInt(dst, int64(kk-1), 10)
	default:
		dst = append(dst, digits[0], '.')
		dst = append(dst, digits[1:]...)
		dst = append(dst, 'e')
		return strconv.AppendInt(dst, int64(kk-1), 10)
	}
}

const hexDigits = "0123456789ABCDEF"

// appendQuoted writes s as a JSON string the way rapidjson does: '"', '\\'
// and control characters are escaped (\b \f \n \r \t, else \u00XX); every
// other byte, including bytes that are not UTF-8, is copied as is.
func appendQuoted(dst, s []byte) []byte {
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '"':
			dst = append(dst, '\\', '"')
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
