package images

import "strings"

// rule maps one family of container images to a runtime. An image matches
// when its repository path (the image name without registry, tag or digest)
// satisfies match.
type rule struct {
	family  string // how the family is shown to users, as in Supported
	runtime string
	match   func(components []string) bool
}

// The runtimes images map to.
const (
	// TensorFlow is the TensorFlow Serving container's runtime.
	TensorFlow = "tensorflow"
	// ONNX is the ONNX Runtime server's runtime.
	ONNX = "onnx"
)

// table is the single list of supported images. The TensorFlow entries cover
// the AWS Deep Learning Containers (…/tensorflow-inference:2.6.0-cpu-py38-ubuntu20.04,
// including the -eia and -graviton variants) and the upstream TF Serving images
// (tensorflow/serving, tensorflow/serving:latest-gpu, docker.io/tensorflow/serving@sha256:…).
// The ONNX entries cover any repository path component that contains
// "onnxruntime" (mcr.microsoft.com/onnxruntime/server, a private
// …/onnxruntime-inference:1.17-cpu) or "onnx-inference"
// (…/onnx-inference:1.x-cpu).
//
// Both runtimes are the same worker, which tells the model's format by
// the model data's content (artifact.Detect), not by the image: model data
// holding a .onnx file and no SavedModel is served as ONNX under a
// TensorFlow image too, and a SavedModel is served as one under an ONNX
// image. The runtime name says which container contract the image
// promises (both speak the TF Serving REST surface in inferd) and is shown
// to users; an endpoint whose image has no entry fails to deploy.
var table = []rule{
	{
		family:  "tensorflow-inference",
		runtime: TensorFlow,
		match:   anyContains("tensorflow-inference"),
	},
	{
		family:  "tensorflow/serving",
		runtime: TensorFlow,
		match: func(c []string) bool {
			for i := 0; i+1 < len(c); i++ {
				if c[i] == "tensorflow" && strings.HasPrefix(c[i+1], "serving") {
					return true
				}
			}
			return false
		},
	},
	{
		family:  "onnxruntime",
		runtime: ONNX,
		match:   anyContains("onnxruntime"),
	},
	{
		family:  "onnx-inference",
		runtime: ONNX,
		match:   anyContains("onnx-inference"),
	},
}

// anyContains matches a repository with a path component that contains s.
func anyContains(s string) func([]string) bool {
	return func(c []string) bool {
		for _, p := range c {
			if strings.Contains(p, s) {
				return true
			}
		}
		return false
	}
}

// Runtime returns the name of the runtime that serves image, and false when
// inferd has no runtime for it. Any registry prefix, tag or digest is ignored.
func Runtime(image string) (name string, ok bool) {
	c := repository(image)
	if len(c) == 0 {
		return "", false
	}
	for _, r := range table {
		if r.match(c) {
			return r.runtime, true
		}
	}
	return "", false
}

// Supported returns the image families inferd can serve, in a stable order,
// for use in error messages.
func Supported() []string {
	out := make([]string, len(table))
	for i, r := range table {
		out[i] = r.family
	}
	return out
}

// repository splits an image reference into the lower-cased path components
// of its repository: the registry host (a first component holding a '.' or
// ':' or equal to "localhost"), the tag and the digest are dropped.
func repository(image string) []string {
	image = strings.ToLower(strings.TrimSpace(image))
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	parts := strings.Split(image, "/")
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost") {
		parts = parts[1:]
	}
	last := parts[len(parts)-1]
	if i := strings.IndexByte(last, ':'); i >= 0 {
		parts[len(parts)-1] = last[:i]
	}
	out := parts[:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
