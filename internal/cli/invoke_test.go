package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in     string
		w, h   int
		wantOK bool
	}{
		{"224x224", 224, 224, true},
		{"128X96", 128, 96, true},
		{"1x1", 1, 1, true},
		{"128", 0, 0, false},
		{"0x10", 0, 0, false},
		{"10x-1", 0, 0, false},
		{"axb", 0, 0, false},
		{"9000x10", 0, 0, false},
	}
	for _, tc := range tests {
		w, h, err := parseSize(tc.in)
		if (err == nil) != tc.wantOK || w != tc.w || h != tc.h {
			t.Errorf("parseSize(%q) = %d, %d, %v; want %d, %d, ok %v", tc.in, w, h, err, tc.w, tc.h, tc.wantOK)
		}
	}
}

// gray returns a w×h image whose pixel (x, y) has all channels v(x, y).
func gray(w, h int, v func(x, y int) uint8) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			g := v(x, y)
			img.SetNRGBA(x, y, color.NRGBA{g, g, g, 255})
		}
	}
	return img
}

func TestResizeBilinear(t *testing.T) {
	ramp := gray(4, 1, func(x, _ int) uint8 { return uint8(40 * x) }) // 0 40 80 120
	tests := []struct {
		name string
		img  image.Image
		w, h int
		want []float64 // red channel, row major
	}{
		{"same size is the identity", ramp, 4, 1, []float64{0, 40, 80, 120}},
		{"halving averages pairs", ramp, 2, 1, []float64{20, 100}},
		// Doubling with half-pixel centres: source x = (i+0.5)/2-0.5,
		// clamped at the edges.
		{"doubling interpolates", ramp, 8, 1, []float64{0, 10, 30, 50, 70, 90, 110, 120}},
		{"one pixel", gray(1, 1, func(int, int) uint8 { return 7 }), 2, 2, []float64{7, 7, 7, 7}},
		{"vertical halving", gray(1, 2, func(_, y int) uint8 { return uint8(100 * y) }), 1, 1, []float64{50}},
		// An offset origin must not change the result.
		{"sub-image", ramp.SubImage(image.Rect(2, 0, 4, 1)), 2, 1, []float64{80, 120}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			px := resizeBilinear(tc.img, tc.w, tc.h)
			var red []float64
			for i := 0; i < len(px); i += 3 {
				red = append(red, px[i])
				if px[i+1] != px[i] || px[i+2] != px[i] {
					t.Errorf("pixel %d: channels %v differ on a gray image", i/3, px[i:i+3])
				}
			}
			if !slices.Equal(red, tc.want) {
				t.Errorf("got %v, want %v", red, tc.want)
			}
		})
	}
}

func TestImageRequest(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{255, 0, 51, 255})
	img.SetNRGBA(1, 0, color.NRGBA{0, 255, 102, 128}) // alpha is ignored
	dir := t.TempDir()
	pngPath := filepath.Join(dir, "a.png")
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pngPath, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	jpgPath := filepath.Join(dir, "a.jpg")
	b.Reset()
	if err := jpeg.Encode(&b, gray(8, 8, func(int, int) uint8 { return 200 }), &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jpgPath, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		path  string
		shape imageShape
		scale float64
		want  string
	}{
		{"png to [0,1]", pngPath, imageShape{h: 1, w: 2, c: 3}, 1, "[[[[1 0 0.2] [0 1 0.4]]]]"},
		{"png kept 0-255", pngPath, imageShape{h: 1, w: 2, c: 3}, 255, "[[[[255 0 51] [0 255 102]]]]"},
		// Luma: 0.299·255 + 0.114·51 = 82.059; 0.587·255 + 0.114·102 = 161.313.
		{"png to gray", pngPath, imageShape{h: 1, w: 2, c: 1}, 255, "[[[[82.059] [161.313]]]]"},
		{"jpeg resized", jpgPath, imageShape{h: 2, w: 1, c: 3}, 255, "[[[[200 200 200]] [[200 200 200]]]]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := loadImage(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body := imageJSON(img, tc.shape, tc.scale)
			var req struct{ Instances [][][][]float64 }
			if err := json.Unmarshal(body, &req); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			if got := fmt.Sprint(req.Instances); got != tc.want {
				t.Errorf("instances %s, want %s", got, tc.want)
			}
		})
	}
}

// TestImageInput reads the image input shape of fixture SavedModels'
// serving_default signatures, from archives as deploy packs them.
func TestImageInput(t *testing.T) {
	tests := []struct {
		dir     string
		want    imageShape
		wantErr string
	}{
		{dir: "rps_cnn_hyuto/saved_model", want: imageShape{h: 128, w: 128, c: 3}},
		{dir: "tfserving/saved_model_half_plus_two_cpu", wantErr: "is not of rank 4"},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			archive, _, cleanup, err := modelArchive(sharedFixture(t, "savedmodels/"+tc.dir))
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			f, err := os.Open(archive)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := archiveImageInput(f, "")
			if got != tc.want || (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("archiveImageInput = %+v, %v; want %+v, error %q", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestDeployArchiveInvokeStdin deploys a ready model.tar.gz and invokes
// it with the request on standard input.
func TestDeployArchiveInvokeStdin(t *testing.T) {
	hp2 := sharedFixture(t, "savedmodels/tfserving/saved_model_half_plus_two_cpu")
	archive, _, cleanup, err := modelArchive(hp2)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	s := startServer(t)
	if out, errOut, rc := s.run(t, "deploy", archive, "--name", "tgz"); rc != 0 {
		t.Fatalf("deploy rc %d\nstdout:\n%s\nstderr:\n%s", rc, out, errOut)
	}
	var out, errOut bytes.Buffer
	rc := Main(context.Background(), []string{"invoke", "tgz", "--json", "-", "--url", s.url, "--data-dir", s.dataDir},
		strings.NewReader(`{"instances": [4.0]}`), &out, &errOut)
	if got := predictions(t, out.String()); rc != 0 || !slices.Equal(got, []float64{4}) {
		t.Errorf("invoke rc %d predictions %v stderr %q, want [4]", rc, got, errOut.String())
	}
}

func TestProgress(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, tty: true, label: "up", total: 4}
	p.draw(0)
	p.done(2)
	p.done(4)
	want := "\rup [..............................]   0%" +
		"\rup [###############...............]  50%" +
		"\rup [##############################] 100%\n"
	if b.String() != want {
		t.Errorf("terminal progress %q, want %q", b.String(), want)
	}
	b.Reset()
	p = newProgress(&b, "uploading 4 B", 4)
	p.done(2)
	p.done(4)
	if want := "uploading 4 B\nuploaded\n"; b.String() != want {
		t.Errorf("plain progress %q, want %q", b.String(), want)
	}
}

func TestSpinner(t *testing.T) {
	var b bytes.Buffer
	s := spinner{w: &b}
	s.draw("waiting: Creating")
	s.draw("ok")
	s.draw("waiting: Creating")
	want := "\r| waiting: Creating" + "\r/ ok" + strings.Repeat(" ", len("| waiting: Creating")-len("/ ok")) + "\r- waiting: Creating"
	if b.String() != want {
		t.Errorf("spinner wrote %q, want %q", b.String(), want)
	}
}
