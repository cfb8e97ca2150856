package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // decoder for --image
	_ "image/png"  // decoder for --image
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
)

func init() {
	register("invoke", "send one request (a JSON file or an image) to an endpoint and print the answer", runInvoke)
}

func runInvoke(ctx context.Context, env Env, args []string) int {
	fs, cf := newFlagSet(env, "invoke", "inferd invoke NAME (--json FILE | --image FILE [--size WxH] [--scale 1|255])\n\n"+
		"Sends a request to endpoint NAME through InvokeEndpoint and prints the response body\n"+
		"(a JSON answer on one line unless --raw).\n"+
		"--image decodes a PNG or JPEG, resizes it (bilinear) to the model's input size (or --size WxH),\n"+
		"scales the values to [0,1] (or keeps 0-255 with --scale 255; an input of integers gets whole\n"+
		"numbers, 0-255 unless --scale says otherwise) and sends {\"instances\": [image]},\n"+
		"shape (1,H,W,C), C 3 (RGB) or 1 (gray) as the model's input says: a SavedModel's serving_default\n"+
		"signature, or an ONNX model's input, which is sent as (1,C,H,W) when it is laid out so.")
	jsonFile := fs.String("json", "", "request body `file` (- reads standard input)")
	contentType := fs.String("content-type", "application/json", "content `type` of the --json body (text/csv, application/jsonlines also work)")
	imageFile := fs.String("image", "", "PNG or JPEG `file` to send as one instance")
	size := fs.String("size", "", "`WxH` the image is resized to (default the model's input size, read from its SavedModel signature or ONNX input; else 224x224)")
	raw := fs.Bool("raw", false, "print the response body as it came; by default a JSON answer is printed on one line")
	scale := fs.Float64("scale", 1, "the value white maps to: 1 sends [0,1], 255 sends 0-255 (default 255 for a model whose input takes integers)")
	pos, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	switch {
	case len(pos) != 1:
		fmt.Fprintln(env.Stderr, "inferd invoke: need exactly one endpoint NAME; run `inferd ls` for the names")
		return exitUsage
	case (*jsonFile == "") == (*imageFile == ""):
		fmt.Fprintln(env.Stderr, "inferd invoke: give one of --json FILE or --image FILE")
		return exitUsage
	case *scale <= 0:
		fmt.Fprintln(env.Stderr, "inferd invoke: --scale must be positive (1 or 255)")
		return exitUsage
	}
	var shape imageShape // zero H and W: ask the model
	if *size != "" {
		w, h, err := parseSize(*size)
		if err != nil {
			fmt.Fprintf(env.Stderr, "inferd invoke: --size %q: %v\n", *size, err)
			return exitUsage
		}
		shape = imageShape{h: h, w: w}
	}
	name := pos[0]

	var body []byte
	var img image.Image
	var err error
	if *jsonFile != "" {
		body, err = readInput(env.Stdin, *jsonFile)
	} else {
		img, err = loadImage(*imageFile)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "inferd invoke: %v\n", err)
		if os.IsNotExist(err) {
			return exitNotFound
		}
		return exitFailed
	}

	c, err := cf.connect(ctx)
	if err != nil {
		return (&clients{url: cf.url, dataDir: cf.dataDir}).fail(env, "invoke", err)
	}
	ct := *contentType
	if img != nil {
		model, err := endpointImageShape(ctx, c, name)
		switch {
		case isCLIError(err, exitNotFound):
			return c.fail(env, "invoke", err)
		case err != nil && !errors.Is(err, errImageSize):
			model = imageShape{c: 3} // unknown: RGB, channels last
		}
		if shape.h == 0 {
			shape.h, shape.w = model.h, model.w
		}
		shape.c, shape.chw, shape.integer = model.c, model.chw, model.integer
		if shape.integer && !flagSet(fs, "scale") {
			*scale = 255
		}
		if shape.h == 0 {
			shape.h, shape.w = 224, 224
			layout := ""
			if shape.chw {
				layout = " (channels first)"
			}
			fmt.Fprintf(env.Stderr, "inferd invoke: note: sending 224x224 %s%s; the model's input size is unknown (%v): pass --size WxH\n",
				map[int]string{1: "gray", 3: "RGB"}[shape.c], layout, err)
		}
		body, ct = imageJSON(img, shape, *scale), "application/json"
	}
	out, err := c.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
		EndpointName: &name, ContentType: &ct, Body: body,
	})
	if err != nil {
		return c.fail(env, "invoke", endpointNotFound(err, name))
	}
	answer := out.Body
	var compact bytes.Buffer
	if !*raw && json.Compact(&compact, answer) == nil {
		answer = compact.Bytes()
	}
	env.Stdout.Write(answer)
	if !bytes.HasSuffix(answer, []byte("\n")) {
		fmt.Fprintln(env.Stdout)
	}
	return exitOK
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// isCLIError reports whether err is a cliError with code.
func isCLIError(err error, code int) bool {
	var ce *cliError
	return errors.As(err, &ce) && ce.code == code
}

// parseSize parses "WxH".
func parseSize(s string) (w, h int, err error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		w, err = strconv.Atoi(ws)
		if err == nil {
			h, err = strconv.Atoi(hs)
		}
	}
	if !ok || err != nil || w <= 0 || h <= 0 || w > 8192 || h > 8192 {
		return 0, 0, fmt.Errorf("want WIDTHxHEIGHT, such as 224x224")
	}
	return w, h, nil
}

// loadImage decodes the PNG or JPEG in path.
func loadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v (PNG and JPEG are supported)", path, err)
	}
	return img, nil
}

// imageJSON returns the request {"instances": [image]} for img resized
// to s, the image H×W×C values (C×H×W when s.chw); one channel is the
// luma (ITU-R 601-2, as PIL's "L").
func imageJSON(img image.Image, s imageShape, scale float64) []byte {
	px := resizeBilinear(img, s.w, s.h)
	// value is channel ch of pixel (x, y), scaled.
	value := func(x, y, ch int) float64 {
		rgb := px[(y*s.w+x)*3:][:3]
		if s.c == 1 {
			return rgb[0]*0.299 + rgb[1]*0.587 + rgb[2]*0.114
		}
		return rgb[ch]
	}
	var b bytes.Buffer
	b.Grow(s.w * s.h * s.c * 8)
	num := func(v float64) {
		if s.integer {
			b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(math.Round(v*scale/255)), 10))
			return
		}
		b.Write(strconv.AppendFloat(b.AvailableBuffer(), float64(float32(v*scale/255)), 'g', -1, 32))
	}
	// list writes n items between brackets, each by item.
	list := func(n int, item func(i int)) {
		b.WriteByte('[')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			item(i)
		}
		b.WriteByte(']')
	}
	b.WriteString(`{"instances": [`)
	if s.chw {
		list(s.c, func(ch int) {
			list(s.h, func(y int) { list(s.w, func(x int) { num(value(x, y, ch)) }) })
		})
	} else {
		list(s.h, func(y int) {
			list(s.w, func(x int) { list(s.c, func(ch int) { num(value(x, y, ch)) }) })
		})
	}
	b.WriteString("]}")
	return b.Bytes()
}

// resizeBilinear returns img resized to w×h as RGB values in 0-255, row
// major, with TensorFlow's tf.image.resize bilinear convention (half-pixel
// centres, no antialiasing). Alpha is ignored.
func resizeBilinear(img image.Image, w, h int) []float64 {
	bounds := img.Bounds()
	sw, sh := bounds.Dx(), bounds.Dy()
	src := make([]float64, sw*sh*3)
	for y := range sh {
		for x := range sw {
			c := color.NRGBAModel.Convert(img.At(bounds.Min.X+x, bounds.Min.Y+y)).(color.NRGBA)
			i := (y*sw + x) * 3
			src[i], src[i+1], src[i+2] = float64(c.R), float64(c.G), float64(c.B)
		}
	}
	// sample returns the source coordinate of output index i and the two
	// neighbours with the weight of the second.
	sample := func(i, out, in int) (lo, hi int, frac float64) {
		s := (float64(i)+0.5)*float64(in)/float64(out) - 0.5
		if s < 0 {
			s = 0
		}
		lo = int(s)
		if lo > in-1 {
			lo = in - 1
		}
		hi = min(lo+1, in-1)
		return lo, hi, s - float64(lo)
	}
	dst := make([]float64, w*h*3)
	for y := range h {
		y0, y1, fy := sample(y, h, sh)
		for x := range w {
			x0, x1, fx := sample(x, w, sw)
			for ch := range 3 {
				at := func(xx, yy int) float64 { return src[(yy*sw+xx)*3+ch] }
				top := at(x0, y0) + (at(x1, y0)-at(x0, y0))*fx
				bot := at(x0, y1) + (at(x1, y1)-at(x0, y1))*fx
				dst[(y*w+x)*3+ch] = top + (bot-top)*fy
			}
		}
	}
	return dst
}
