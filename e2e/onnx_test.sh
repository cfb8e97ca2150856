#!/usr/bin/env bash
# Serves ONNX models through the SageMaker workflow with boto3: fixtures
# converted by `inferd convert --to onnx` (half_plus_two, and the MNIST MLP
# in a version directory), packed as model.tar.gz, uploaded to inferd's S3,
# deployed under ONNX Runtime image names and under a TensorFlow image name
# (the worker tells the format by content), and invoked; the predictions'
# values are checked against y = 0.5x + 2 and against `inferd predict` on
# the MLP's SavedModel.
set -euo pipefail
cd "$(dirname "$0")/.."
source e2e/lib.sh

start_inferd --region eu-west-1 --account-id 123456789012

fixtures=../shared/fixtures/savedmodels
mkdir -p "$E2E_TMP/hp2" "$E2E_TMP/mlp/mlp/1"
"$INFERD_BIN" convert --model "$fixtures/tfserving/saved_model_half_plus_two_cpu" --to onnx --out "$E2E_TMP/hp2/model.onnx"
"$INFERD_BIN" convert --model "$fixtures/mnist_mlp_aiano/model" --to onnx --out "$E2E_TMP/mlp/mlp/1/model.onnx"
tar -czf "$E2E_TMP/hp2.tar.gz" -C "$E2E_TMP/hp2" model.onnx
tar -czf "$E2E_TMP/mlp.tar.gz" -C "$E2E_TMP/mlp" mlp

# Two 32x32 images of seeded values in [0, 1), and the SavedModel's answer
# to them, which the ONNX endpoint must match.
/usr/bin/python3 - "$E2E_TMP/mlp-request.json" <<'EOF'
import json, random, sys
rng = random.Random(6)
rows = [[[round(rng.random(), 4) for _ in range(32)] for _ in range(32)] for _ in range(2)]
json.dump({"instances": rows}, open(sys.argv[1], "w"))
EOF
"$INFERD_BIN" predict --model "$fixtures/mnist_mlp_aiano/model" --input "$E2E_TMP/mlp-request.json" >"$E2E_TMP/mlp-expected.json"
# The converted model answers the same outside the server, too.
"$INFERD_BIN" predict --model "$E2E_TMP/mlp/mlp/1/model.onnx" --input "$E2E_TMP/mlp-request.json" >"$E2E_TMP/mlp-predict-onnx.json"

/usr/bin/python3 - "$E2E_TMP" <<'EOF'
import json, math, os, sys

import boto3
from botocore.config import Config

tmp = sys.argv[1]
url = os.environ["AWS_ENDPOINT_URL"]
region = os.environ["AWS_DEFAULT_REGION"]
session = boto3.session.Session(region_name=region)
s3 = session.client("s3", endpoint_url=url, config=Config(s3={"addressing_style": "path"}))
sm = session.client("sagemaker", endpoint_url=url)
smr = session.client("sagemaker-runtime", endpoint_url=url, config=Config(retries={"total_max_attempts": 1}))


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def close(got, want, what, tol=1e-5):
    flat = lambda v: [x for e in v for x in flat(e)] if isinstance(v, list) else [v]
    g, w = flat(got), flat(want)
    check(len(g) == len(w) and all(math.isclose(a, b, rel_tol=tol, abs_tol=tol) for a, b in zip(g, w)),
          f"{what} within {tol} ({len(g)} numbers, max difference {max(abs(a - b) for a, b in zip(g, w)):.3g})")


account = session.client("sts", endpoint_url=url).get_caller_identity()["Account"]
bucket = f"sagemaker-{region}-{account}"
s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
s3.upload_file(os.path.join(tmp, "hp2.tar.gz"), bucket, "onnx/hp2/model.tar.gz")
s3.upload_file(os.path.join(tmp, "mlp.tar.gz"), bucket, "onnx/mlp/model.tar.gz")
role = f"arn:aws:iam::{account}:role/SageMakerRole"

ORT = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/onnxruntime-inference:1.17-cpu"
MCR = "mcr.microsoft.com/onnxruntime/server:latest"
TF = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/tensorflow-inference:2.6.0-cpu-py38-ubuntu20.04"
deployments = [  # endpoint name, image, model data
    ("hp2-onnx", ORT, "onnx/hp2/model.tar.gz"),
    ("mlp-onnx", MCR, "onnx/mlp/model.tar.gz"),
    ("hp2-onnx-tf-image", TF, "onnx/hp2/model.tar.gz"),
]
for name, image, key in deployments:
    sm.create_model(ModelName=name, ExecutionRoleArn=role,
                    Containers=[{"Image": image, "Mode": "SingleModel", "ModelDataUrl": f"s3://{bucket}/{key}"}])
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "ModelName": name, "VariantName": "AllTraffic",
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
for name, image, _ in deployments:
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    desc = sm.describe_endpoint(EndpointName=name)
    check(desc["EndpointStatus"] == "InService", f"{name} is InService ({image})")
    check(sm.describe_model(ModelName=name)["Containers"][0]["Image"] == image, f"{name} keeps its image name")


def invoke(name, body, **kw):
    out = smr.invoke_endpoint(EndpointName=name, ContentType="application/json", Body=json.dumps(body), **kw)
    check(out["InvokedProductionVariant"] == "AllTraffic", f"{name} answered from AllTraffic")
    return json.loads(out["Body"].read())


xs = [1.0, 2.0, 5.0, -3.5]
want = [[0.5 * x + 2] for x in xs]
for name in ["hp2-onnx", "hp2-onnx-tf-image"]:
    got = invoke(name, {"instances": [[x] for x in xs]})["predictions"]
    check(got == want, f"{name} predictions {got} == 0.5x+2 {want}")
got = invoke("hp2-onnx", {"inputs": {"x": [[x] for x in xs]}})["outputs"]
check(got == want, f"hp2-onnx columnar outputs {got}")
got = invoke("hp2-onnx", {"instances": [[4.0]]}, CustomAttributes="tfs-model-name=model,tfs-model-version=1")["predictions"]
check(got == [[4.0]], f"hp2-onnx as model version 1: {got}")

request = json.load(open(os.path.join(tmp, "mlp-request.json")))
expected = json.load(open(os.path.join(tmp, "mlp-expected.json")))["predictions"]
offline = json.load(open(os.path.join(tmp, "mlp-predict-onnx.json")))["predictions"]
got = invoke("mlp-onnx", request)["predictions"]
check(len(got) == 2 and all(len(p) == 10 for p in got), "mlp-onnx answers two 10-way softmaxes")
for p in got:
    check(abs(sum(p) - 1) < 1e-5 and min(p) >= 0, f"softmax sums to 1: {sum(p)}")
close(got, expected, "mlp-onnx matches the SavedModel")
close(offline, expected, "inferd predict on the .onnx matches the SavedModel")
got = invoke("mlp-onnx", request, CustomAttributes="tfs-model-name=mlp,tfs-model-version=1")["predictions"]
close(got, expected, "mlp-onnx by name and version")

for name, _, _ in deployments:
    sm.delete_endpoint(EndpointName=name)
    sm.delete_endpoint_config(EndpointConfigName=name)
    sm.delete_model(ModelName=name)
check(sm.list_endpoints()["Endpoints"] == [], "no endpoints left")
EOF
