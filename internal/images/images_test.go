package images

import (
	"slices"
	"testing"
)

func TestRuntime(t *testing.T) {
	tests := []struct {
		name, image, want string
		ok                bool
	}{
		{"dlc cpu", "763104351884.dkr.ecr.eu-west-1.amazonaws.com/tensorflow-inference:2.6.0-cpu-py38-ubuntu20.04", "tensorflow", true},
		{"dlc gpu", "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:2.13.0-gpu", "tensorflow", true},
		{"dlc eia", "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference-eia:2.3.0-cpu", "tensorflow", true},
		{"dlc graviton", "763104351884.dkr.ecr.us-west-2.amazonaws.com/tensorflow-inference-graviton:2.9.1-cpu", "tensorflow", true},
		{"dlc no tag", "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference", "tensorflow", true},
		{"dlc digest", "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference@sha256:0123abcd", "tensorflow", true},
		{"china partition", "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/tensorflow-inference:2.6-cpu", "tensorflow", true},
		{"upper case", "763104351884.dkr.ecr.us-east-1.amazonaws.com/TensorFlow-Inference:2.6", "tensorflow", true},
		{"bare repo", "tensorflow-inference", "tensorflow", true},
		{"tf serving bare", "tensorflow/serving", "tensorflow", true},
		{"tf serving tag", "tensorflow/serving:2.8.0", "tensorflow", true},
		{"tf serving gpu tag", "tensorflow/serving:latest-gpu", "tensorflow", true},
		{"tf serving docker hub", "docker.io/tensorflow/serving:2.14.1", "tensorflow", true},
		{"tf serving registry port", "localhost:5000/tensorflow/serving:2.14.1", "tensorflow", true},
		{"tf serving localhost", "localhost/tensorflow/serving", "tensorflow", true},
		{"tf serving mirror namespace", "registry.example.com/mirror/tensorflow/serving:2.11.0", "tensorflow", true},
		{"tf serving digest", "tensorflow/serving@sha256:abcdef", "tensorflow", true},
		{"tf serving devel", "tensorflow/serving-devel:latest", "tensorflow", true},
		{"onnxruntime inference", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/onnxruntime-inference:1.17-cpu", "onnx", true},
		{"onnxruntime server", "mcr.microsoft.com/onnxruntime/server:latest", "onnx", true},
		{"onnxruntime namespace", "registry.example.com/ml/onnxruntime:1.30.0", "onnx", true},
		{"onnx-inference", "123456789012.dkr.ecr.us-east-1.amazonaws.com/onnx-inference:1.x-cpu", "onnx", true},
		{"onnx upper case digest", "ONNXRuntime-Inference@sha256:0123abcd", "onnx", true},
		{"onnx tag only", "myrepo/model:onnxruntime", "", false},
		{"onnx registry only", "onnxruntime.example.com/other:1", "", false},
		{"plain onnx", "onnx/onnx-ecosystem:latest", "", false},
		{"pytorch dlc", "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.0.0-cpu-py310", "", false},
		{"xgboost", "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1", "", false},
		{"tensorflow training", "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-training:2.6.0-cpu", "", false},
		{"tensorflow tag only", "myrepo/model:tensorflow-inference", "", false},
		{"registry named like family", "tensorflow-inference.example.com/other:1", "", false},
		{"tensorflow other", "tensorflow/tensorflow:2.14.0", "", false},
		{"serving without tensorflow", "example/serving:1", "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Runtime(tt.image)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Runtime(%q) = %q, %v; want %q, %v", tt.image, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSupported(t *testing.T) {
	got := Supported()
	want := []string{"tensorflow-inference", "tensorflow/serving", "onnxruntime", "onnx-inference"}
	if !slices.Equal(got, want) {
		t.Fatalf("Supported() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if Supported()[0] != "tensorflow-inference" {
		t.Error("Supported returned the internal table, not a copy")
	}
}
