package images_test

import (
	"fmt"

	"inferd/internal/images"
)

func ExampleRuntime() {
	for _, image := range []string{
		"763104351884.dkr.ecr.eu-west-1.amazonaws.com/tensorflow-inference:2.6.0-cpu-py38-ubuntu20.04",
		"tensorflow/serving:2.14.1",
		"mcr.microsoft.com/onnxruntime/server:latest",
		"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1",
	} {
		name, ok := images.Runtime(image)
		fmt.Printf("%q %v\n", name, ok)
	}
	fmt.Println(images.Supported())
	// Output:
	// "tensorflow" true
	// "tensorflow" true
	// "onnx" true
	// "" false
	// [tensorflow-inference tensorflow/serving onnxruntime onnx-inference]
}
