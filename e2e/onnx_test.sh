#!/usr/bin/env bash
# Serves ONNX models through the SageMaker workflow with boto3: fixtures
# converted by `inferd convert --to onnx` (half_plus_two, and the MNIST MLP
# in a version directory), packed as model.tar.gz, uploaded to inferd's S3,
# deployed under ONNX Runtime image names and under a TensorFlow image name
# (the worker tells the format by content), and invoked; the predictions'
# values are checked against y = 0.5x + 2 and against `inferd predict` on
# the MLP's SavedModel. Then the failure paths: model data a worker cannot
# serve (a corrupt .onnx, an unknown op, a custom domain, two .onnx files
# with none called model.onnx) fails its endpoint with a reason naming the
# problem; bad requests are ModelErrors carrying TF Serving's 400; a
# float16 input is served. Last, `inferd deploy` packs a converted CNN's
# .onnx file and `inferd invoke --image` classifies a photo with it.
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

# Models a worker must refuse, and one with a float16 input, written with
# a protobuf encoder of a few lines (no onnx package needed).
/usr/bin/python3 - "$E2E_TMP/qa" <<'EOF'
import os, sys


def varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def field(num, wire, payload):
    return varint(num << 3 | wire) + payload


def num(n, v):
    return field(n, 0, varint(v))


def msg(n, b):
    return field(n, 2, varint(len(b)) + b)


def text(n, t):
    return msg(n, t.encode())


FLOAT, FLOAT16 = 1, 10


def value_info(name, elem):  # shape (batch, 2)
    dims = msg(1, text(2, "batch")) + msg(1, num(1, 2))
    return text(1, name) + msg(2, msg(1, num(1, elem) + msg(2, dims)))


def model(op, domain="", elem=FLOAT, opsets=(("", 17),)):
    node = text(1, "x") + text(2, "y") + text(3, "mystery") + text(4, op) + (text(7, domain) if domain else b"")
    graph = msg(1, node) + text(2, "qa") + msg(11, value_info("x", elem)) + msg(12, value_info("y", elem))
    return num(1, 8) + msg(7, graph) + b"".join(msg(8, (text(1, d) if d else b"") + num(2, v)) for d, v in opsets)


files = {
    "corrupt/model.onnx": b"\x08\x08\x12\xff\xff\xff\xff\x0fnot a protobuf",
    "nosuchop/model.onnx": model("NoSuchOp"),
    "domain/model.onnx": model("Relu", "com.example", opsets=(("", 17), ("com.example", 1))),
    "two/a.onnx": model("Relu"),
    "two/b.onnx": model("Neg"),
    "half/model.onnx": model("Abs", elem=FLOAT16),
}
for name, body in files.items():
    path = os.path.join(sys.argv[1], name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").write(body)
EOF
for m in corrupt nosuchop domain two half; do
  tar -czf "$E2E_TMP/qa-$m.tar.gz" -C "$E2E_TMP/qa/$m" .
done

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
from botocore.exceptions import WaiterError

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


# Requests the model refuses: ModelError (HTTP 424) with the worker's TF
# Serving answer, {"error": ...} and status 400, as for a SavedModel.
bad_requests = [
    ({"inputs": {"z": [[1.0]]}}, "Missing named input: x"),
    ({"instances": [{"z": [1.0]}]}, "does not have named input: z"),
    ({"instances": [["a"]]}, 'JSON Value: "a" Type: String is not of expected type: float'),
    ({"inputs": [[1.0, 2.0], [3.0]]}, "Encountered list at unexpected size"),
]
for body, want in bad_requests:
    try:
        smr.invoke_endpoint(EndpointName="hp2-onnx", ContentType="application/json", Body=json.dumps(body))
        raise AssertionError(f"{body} was answered")
    except smr.exceptions.ModelError as e:
        r = e.response
        check(r["ResponseMetadata"]["HTTPStatusCode"] == 424 and r["OriginalStatusCode"] == 400 and r["LogStreamArn"],
              f"{body}: ModelError 424 from the model's 400")
        check(want in json.loads(r["OriginalMessage"])["error"], f"{body}: error says {want!r}")

# Model data a worker cannot serve fails its endpoint, the reason naming
# what is wrong; a float16 input is served.
failing = {
    "qa-corrupt": "is not an ONNX model",
    "qa-nosuchop": "node mystery: op NoSuchOp (domain ai.onnx, opset 17) is not supported",
    "qa-domain": 'node mystery: op Relu of domain "com.example" is not supported',
    "qa-two": "holds 2 .onnx files (a.onnx, b.onnx) and none is called model.onnx",
}
qa = list(failing) + ["qa-half"]
for name in qa:
    s3.upload_file(os.path.join(tmp, name + ".tar.gz"), bucket, f"onnx/{name}/model.tar.gz")
    sm.create_model(ModelName=name, ExecutionRoleArn=role,
                    Containers=[{"Image": ORT, "ModelDataUrl": f"s3://{bucket}/onnx/{name}/model.tar.gz"}])
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "ModelName": name, "VariantName": "AllTraffic",
        "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 2}}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
for name, want in failing.items():
    try:
        sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        raise AssertionError(f"{name} came up")
    except WaiterError:
        pass
    desc = sm.describe_endpoint(EndpointName=name)
    check(desc["EndpointStatus"] == "Failed" and want in desc["FailureReason"], f"{name} is Failed: {desc['FailureReason']}")
    try:
        smr.invoke_endpoint(EndpointName=name, ContentType="application/json", Body=b"[[1, 2]]")
        raise AssertionError(f"{name} answered")
    except smr.exceptions.ValidationError as e:
        check("Failed" in str(e), f"{name} refuses requests: {e}")
sm.get_waiter("endpoint_in_service").wait(EndpointName="qa-half", WaiterConfig={"Delay": 1, "MaxAttempts": 120})
got = invoke("qa-half", {"instances": [[-1.0, 2.5], [0.1, -65504.0]]})["predictions"]
close(got, [[1.0, 2.5], [0.0999755859375, 65504.0]], f"qa-half (float16 input) answers |x| in half precision: {got}", tol=1e-9)
got = invoke("hp2-onnx", {"instances": [[3.0]]})["predictions"]
check(got == [[3.5]], "hp2-onnx still serves after the failures")

for name in [d[0] for d in deployments] + qa:
    sm.delete_endpoint(EndpointName=name)
    sm.delete_endpoint_config(EndpointConfigName=name)
    sm.delete_model(ModelName=name)
check(sm.list_endpoints()["Endpoints"] == [], "no endpoints left")
EOF

# `inferd deploy` packs a .onnx file (under 1/, with an ONNX Runtime image
# name) and `inferd invoke --image` reads the size from the ONNX input.
mkdir -p "$E2E_TMP/rps"
"$INFERD_BIN" convert --model "$fixtures/rps_cnn_hyuto/saved_model" --to onnx --out "$E2E_TMP/rps/rps.onnx"
"$INFERD_BIN" deploy "$E2E_TMP/rps/rps.onnx" --name rps-onnx --memory 1024 >"$E2E_TMP/deploy.out" 2>"$E2E_TMP/deploy.err" ||
  fail "inferd deploy rps.onnx: $(cat "$E2E_TMP/deploy.err")"
grep -q "endpoint rps-onnx is InService" "$E2E_TMP/deploy.out" || fail "deploy did not report InService"
# The output is read whole first: grep -q stops reading at its first match,
# and under pipefail the writer's SIGPIPE would fail the pipeline.
described=$("$INFERD_BIN" describe rps-onnx)
grep -Eq 'Image:[[:space:]]+[0-9]+\.dkr\.ecr\.eu-west-1\.amazonaws\.com/onnxruntime-inference:' <<<"$described" ||
  fail "the deployed model does not name an onnxruntime-inference image"
echo "ok: inferd deploy rps.onnx is InService under an onnxruntime-inference image"
answer=$("$INFERD_BIN" invoke rps-onnx --image "$fixtures/rps_cnn_hyuto/test/testpaper01-00.png" 2>"$E2E_TMP/invoke.err") ||
  fail "inferd invoke --image: $(cat "$E2E_TMP/invoke.err")"
[ ! -s "$E2E_TMP/invoke.err" ] || fail "invoke --image warned: $(cat "$E2E_TMP/invoke.err")"
assert_eq "$(/usr/bin/python3 -c 'import json, sys; p = json.loads(sys.argv[1])["predictions"][0]; print(p.index(max(p)))' "$answer")" 1 \
  "inferd invoke --image on the ONNX CNN: paper ($answer)"
echo '{"inputs": {"pixels": [[1.0]]}}' >"$E2E_TMP/bad.json"
rc=0
"$INFERD_BIN" invoke rps-onnx --json "$E2E_TMP/bad.json" 2>"$E2E_TMP/invoke.err" || rc=$?
assert_eq "$rc" 1 "inferd invoke with a wrong input name exits 1"
grep -q "Missing named input" "$E2E_TMP/invoke.err" || fail "invoke's error lacks the model's message: $(cat "$E2E_TMP/invoke.err")"
"$INFERD_BIN" rm rps-onnx >/dev/null
echo "ok: rps-onnx removed"
