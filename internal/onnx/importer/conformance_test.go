package importer_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"inferd/internal/engine"
	"inferd/internal/onnx/importer"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// The backend test categories of Debian's libonnx-testdata (ONNX 1.12), with
// their test counts.
var categories = []struct {
	name  string
	total int
}{{"node", 932}, {"simple", 23}, {"pytorch-converted", 82}, {"pytorch-operator", 35}}

const (
	passingFile = "testdata/conformance/passing.txt"
	failingFile = "testdata/conformance/failing.txt"
	// ONNX's backend test tolerances.
	rtol = 1e-3
	atol = 1e-7
)

// testdataRoot finds the directory that holds the categories: the
// INFERD_ONNX_TESTDATA variable, or where the Debian package put them.
func testdataRoot() string {
	if d := os.Getenv("INFERD_ONNX_TESTDATA"); d != "" {
		return d
	}
	out, err := exec.Command("dpkg", "-L", "libonnx-testdata").Output()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasSuffix(line, "/data/node") {
			return filepath.Dir(line)
		}
	}
	return ""
}

type outcome struct {
	id  string // "category/test_name"
	err error  // nil when the test passed
}

// TestConformance runs every ONNX backend test the package ships and
// compares with the expected outputs at ONNX's tolerances. It fails when a
// test listed in testdata/conformance/passing.txt no longer passes; with
// INFERD_ONNX_UPDATE=1 it rewrites that list and failing.txt (each failing
// test with its reason) from this run; INFERD_ONNX_OUT=dir writes the two
// lists to dir instead, leaving the repository's alone.
func TestConformance(t *testing.T) {
	root := testdataRoot()
	if root == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("libonnx-testdata is not installed; .ci/run installs it")
		}
		t.Skip("libonnx-testdata is not installed (apt-get install -y libonnx-testdata)")
	}
	var ids []string
	for _, c := range categories {
		entries, err := os.ReadDir(filepath.Join(root, c.name))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() {
				ids = append(ids, c.name+"/"+e.Name())
			}
		}
	}
	results := make([]outcome, len(ids))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = outcome{id: ids[i], err: runCase(filepath.Join(root, ids[i]))}
			}
		}()
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()

	passed := map[string]int{}
	var pass []string
	var fail []string
	for _, r := range results {
		if r.err == nil {
			pass = append(pass, r.id)
			passed[strings.SplitN(r.id, "/", 2)[0]]++
			continue
		}
		msg := strings.ReplaceAll(r.err.Error(), "\n", " ")
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		fail = append(fail, r.id+": "+msg)
	}
	var summary []string
	for _, c := range categories {
		summary = append(summary, fmt.Sprintf("%s %d/%d", c.name, passed[c.name], c.total))
	}
	line := "onnx conformance: " + strings.Join(summary, " ")
	fmt.Println(line)
	t.Log(line)

	if dir := os.Getenv("INFERD_ONNX_OUT"); dir != "" {
		writeLines(t, filepath.Join(dir, "passing.txt"), pass)
		writeLines(t, filepath.Join(dir, "failing.txt"), fail)
	}
	if os.Getenv("INFERD_ONNX_UPDATE") == "1" {
		writeLines(t, passingFile, pass)
		writeLines(t, failingFile, fail)
		return
	}
	want := readLines(t, passingFile)
	got := map[string]error{}
	for _, r := range results {
		got[r.id] = r.err
	}
	for _, id := range want {
		err, ran := got[id]
		switch {
		case !ran:
			t.Errorf("%s: listed as passing, but the test data has no such test", id)
		case err != nil:
			t.Errorf("%s: passed before, now fails: %v", id, err)
		}
	}
}

func readLines(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if l := strings.TrimSpace(s.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func writeLines(t *testing.T, path string, lines []string) {
	sort.Strings(lines)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runCase loads one test's model and checks every data set against it.
func runCase(dir string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, err := importer.Load(ctx, filepath.Join(dir, "model.onnx"), engine.Options{Threads: 1})
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	sig, _ := m.Signature(importer.Signature)
	outNames, err := graphOutputs(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return err
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		return errors.New("no test data sets")
	}
	for _, set := range sets {
		ins, err := readTensors(set, "input", specNames(sig.Inputs))
		if err != nil {
			return err
		}
		want, err := readTensors(set, "output", outNames)
		if err != nil {
			return err
		}
		got, err := m.Run(ctx, importer.Signature, ins)
		if err != nil {
			return fmt.Errorf("%s: run: %w", filepath.Base(set), err)
		}
		for _, name := range sortedNames(want) {
			g, ok := got[name]
			if !ok {
				return fmt.Errorf("%s: output %q missing", filepath.Base(set), name)
			}
			if err := compare(g, want[name]); err != nil {
				return fmt.Errorf("%s: output %q: %w", filepath.Base(set), name, err)
			}
		}
	}
	return nil
}

func specNames(specs []engine.TensorSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}

func sortedNames(m map[string]*tensor.Tensor) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// graphOutputs lists the model's graph outputs in order, which is how the
// test data numbers its output files.
func graphOutputs(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var mp pb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, err
	}
	var out []string
	for _, vi := range mp.GetGraph().GetOutput() {
		out = append(out, vi.GetName())
	}
	return out, nil
}

// readTensors reads set/prefix_N.pb; a tensor's own name wins over its
// position in names.
func readTensors(set, prefix string, names []string) (map[string]*tensor.Tensor, error) {
	files, _ := filepath.Glob(filepath.Join(set, prefix+"_*.pb"))
	sort.Slice(files, func(i, j int) bool { return fileIndex(files[i]) < fileIndex(files[j]) })
	out := map[string]*tensor.Tensor{}
	// A sequence or optional value is a SequenceProto or OptionalProto,
	// told from a TensorProto by the type the model gives the value at
	// the file's position.
	kinds := map[string]*pb.TypeProto{}
	if data, err := os.ReadFile(filepath.Join(filepath.Dir(set), "model.onnx")); err == nil {
		var mp pb.ModelProto
		if proto.Unmarshal(data, &mp) == nil {
			for _, vi := range append(mp.GetGraph().GetInput(), mp.GetGraph().GetOutput()...) {
				kinds[vi.GetName()] = vi.GetType()
			}
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var typ *pb.TypeProto
		if i := fileIndex(f); i < len(names) {
			typ = kinds[names[i]]
		}
		var t *tensor.Tensor
		var name string
		switch {
		case typ.GetSequenceType() != nil:
			var sp pb.SequenceProto
			if err := proto.Unmarshal(data, &sp); err != nil {
				return nil, fmt.Errorf("%s: not a SequenceProto: %v", filepath.Base(f), err)
			}
			t, err = importer.SequenceFromProto(&sp, set)
			name = sp.GetName()
		case typ.GetOptionalType() != nil:
			var op pb.OptionalProto
			if err := proto.Unmarshal(data, &op); err != nil {
				return nil, fmt.Errorf("%s: not an OptionalProto: %v", filepath.Base(f), err)
			}
			t, err = importer.OptionalFromProto(&op, set)
			name = op.GetName()
		default:
			var tp pb.TensorProto
			if err := proto.Unmarshal(data, &tp); err != nil {
				return nil, fmt.Errorf("%s: not a TensorProto: %v", filepath.Base(f), err)
			}
			t, err = importer.TensorFromProto(&tp, set)
			name = tp.GetName()
			// ONNX 1.12's test data stores bfloat16 values as UINT16
			// tensors of their bit patterns.
			if err == nil && tp.GetDataType() == int32(pb.TensorProto_UINT16) &&
				typ.GetTensorType().GetElemType() == int32(pb.TensorProto_BFLOAT16) {
				bf := make([]tensor.BF16, t.Len())
				for i, b := range t.Uint16s() {
					bf[i] = tensor.BF16(b)
				}
				t = tensor.MustFromSlice(t.Shape(), bf)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		if i := fileIndex(f); name == "" || !contains(names, name) {
			if i >= len(names) {
				return nil, fmt.Errorf("%s: no graph %s at position %d", filepath.Base(f), prefix, i)
			}
			name = names[i]
		}
		out[name] = t
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func fileIndex(path string) int {
	base := strings.TrimSuffix(filepath.Base(path), ".pb")
	n, _ := strconv.Atoi(base[strings.LastIndexByte(base, '_')+1:])
	return n
}

// compare checks got against want: same dtype and shape, floats within
// ONNX's tolerances (NaN matching NaN), everything else exactly.
func compare(got, want *tensor.Tensor) error {
	if got.DType() != want.DType() {
		return fmt.Errorf("dtype %v, want %v", got.DType(), want.DType())
	}
	if !got.Shape().Equal(want.Shape()) {
		return fmt.Errorf("shape %v, want %v", got.Shape(), want.Shape())
	}
	near := func(g, w float64) bool {
		if math.IsNaN(w) {
			return math.IsNaN(g)
		}
		if math.IsInf(w, 0) {
			return g == w
		}
		return math.Abs(g-w) <= atol+rtol*math.Abs(w)
	}
	switch want.DType() {
	case tensor.Float32:
		g, w := got.Float32s(), want.Float32s()
		for i := range w {
			if !near(float64(g[i]), float64(w[i])) {
				return fmt.Errorf("element %d is %v, want %v", i, g[i], w[i])
			}
		}
	case tensor.Float64:
		g, w := got.Float64s(), want.Float64s()
		for i := range w {
			if !near(g[i], w[i]) {
				return fmt.Errorf("element %d is %v, want %v", i, g[i], w[i])
			}
		}
	case tensor.String:
		g, w := got.Strings(), want.Strings()
		for i := range w {
			if string(g[i]) != string(w[i]) {
				return fmt.Errorf("element %d is %q, want %q", i, g[i], w[i])
			}
		}
	default:
		g, w := fmt.Sprint(got.Data()), fmt.Sprint(want.Data())
		if g != w {
			return fmt.Errorf("values %.200s, want %.200s", g, w)
		}
	}
	return nil
}
