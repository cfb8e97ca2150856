package sagemaker_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"inferd/internal/sagemaker"
)

// variantLine renders the members of a variant summary that tests compare.
func variantLine(v types.ProductionVariantSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s w=%v/%v", aws.ToString(v.VariantName), aws.ToFloat32(v.CurrentWeight), aws.ToFloat32(v.DesiredWeight))
	if v.CurrentServerlessConfig != nil || v.DesiredServerlessConfig != nil {
		sc := func(c *types.ProductionVariantServerlessConfig) string {
			if c == nil {
				return "nil"
			}
			return fmt.Sprintf("%d/%d/%d", aws.ToInt32(c.MemorySizeInMB), aws.ToInt32(c.MaxConcurrency), aws.ToInt32(c.ProvisionedConcurrency))
		}
		fmt.Fprintf(&b, " serverless=%s->%s", sc(v.CurrentServerlessConfig), sc(v.DesiredServerlessConfig))
	}
	if v.CurrentInstanceCount != nil || v.DesiredInstanceCount != nil {
		fmt.Fprintf(&b, " instances=%d/%d", aws.ToInt32(v.CurrentInstanceCount), aws.ToInt32(v.DesiredInstanceCount))
	}
	for _, im := range v.DeployedImages {
		fmt.Fprintf(&b, " image=%s", aws.ToString(im.SpecifiedImage))
	}
	return b.String()
}

func TestEndpointCreateToInService(t *testing.T) {
	e := newEnv(t, "")
	c := e.client("eu-west-1")
	ctx := context.Background()
	if _, err := c.CreateModel(ctx, modelInput("m", tfImage, modelData)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEndpointConfig(ctx, &sm.CreateEndpointConfigInput{EndpointConfigName: aws.String("cfg"),
		ProductionVariants: []types.ProductionVariant{serverlessVariant("AllTraffic", "m", 2048, 20)}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.CreateEndpoint(ctx, &sm.CreateEndpointInput{EndpointName: aws.String("Cats"), EndpointConfigName: aws.String("cfg")})
	if err != nil {
		t.Fatal(err)
	}
	const arn = "arn:aws:sagemaker:eu-west-1:000000000000:endpoint/cats"
	if aws.ToString(out.EndpointArn) != arn {
		t.Errorf("EndpointArn = %q, want %q", aws.ToString(out.EndpointArn), arn)
	}
	if got := <-e.changes; got != "Cats" {
		t.Errorf("OnEndpointChange(%q), want Cats", got)
	}

	d := describe(t, c, "cats")
	if d.EndpointStatus != types.EndpointStatusCreating || len(d.ProductionVariants) != 0 || d.FailureReason != nil {
		t.Errorf("before reconcile: status %s, %d variants, failure %v; want Creating, none, nil", d.EndpointStatus, len(d.ProductionVariants), d.FailureReason)
	}
	if d.PendingDeploymentSummary == nil || aws.ToString(d.PendingDeploymentSummary.EndpointConfigName) != "cfg" {
		t.Errorf("PendingDeploymentSummary = %+v, want config cfg", d.PendingDeploymentSummary)
	}
	_, err = c.CreateEndpoint(ctx, &sm.CreateEndpointInput{EndpointName: aws.String("cats"), EndpointConfigName: aws.String("cfg")})
	apiErr(t, err, "ValidationException", `Cannot create already existing endpoint "`+arn+`".`)

	e.reconcile()
	if got := <-e.changes; got != "Cats" {
		t.Errorf("OnEndpointChange(%q) after reconcile, want Cats", got)
	}
	d = describe(t, c, "Cats")
	checks := []struct{ name, got, want string }{
		{"EndpointName", aws.ToString(d.EndpointName), "Cats"},
		{"EndpointArn", aws.ToString(d.EndpointArn), arn},
		{"EndpointConfigName", aws.ToString(d.EndpointConfigName), "cfg"},
		{"EndpointStatus", string(d.EndpointStatus), "InService"},
		{"FailureReason", aws.ToString(d.FailureReason), ""},
		{"variants", fmt.Sprint(len(d.ProductionVariants)), "1"},
		{"variant", variantLine(d.ProductionVariants[0]), "AllTraffic w=1/1 serverless=2048/20/0->2048/20/0 image=" + tfImage},
		{"ResolvedImage", aws.ToString(d.ProductionVariants[0].DeployedImages[0].ResolvedImage), tfImage},
		{"PendingDeploymentSummary", fmt.Sprint(d.PendingDeploymentSummary), "<nil>"},
		{"LastModified after Creation", fmt.Sprint(d.LastModifiedTime.After(*d.CreationTime)), "true"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.name, ck.got, ck.want)
		}
	}
	if rt := d.ProductionVariants[0].DeployedImages[0].ResolutionTime; rt == nil || rt.IsZero() {
		t.Error("DeployedImages ResolutionTime missing")
	}
	if fmt.Sprint(e.artifacts.calls) != "["+modelData+"]" {
		t.Errorf("artifact checks = %v, want one for %s", e.artifacts.calls, modelData)
	}

	v, err := e.svc.Endpoint(ctx, "cats")
	if err != nil {
		t.Fatal(err)
	}
	want := sagemaker.EndpointView{Name: "Cats", ARN: arn, Status: "InService", ConfigName: "cfg", Variants: []sagemaker.VariantView{{
		VariantName: "AllTraffic", ModelName: "m", Weight: 1,
		Containers: []sagemaker.Container{{Image: tfImage, Runtime: "tensorflow", ModelDataURL: modelData, Mode: "SingleModel"}},
		Serverless: &sagemaker.ServerlessConfig{MemorySizeInMB: 2048, MaxConcurrency: 20},
	}}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("Endpoint view = %+v\nwant            %+v", v, want)
	}
	if _, err := e.svc.Endpoint(ctx, "nope"); !errorsIs(err, sagemaker.ErrNotFound) {
		t.Errorf("Endpoint(nope) err = %v, want ErrNotFound", err)
	}
}

func TestEndpointInstanceVariants(t *testing.T) {
	e := newEnv(t, "")
	c := e.client("us-east-1")
	ctx := context.Background()
	for _, m := range []string{"a", "b"} {
		if _, err := c.CreateModel(ctx, modelInput(m, tfImage, modelData)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateEndpointConfig(ctx, &sm.CreateEndpointConfigInput{EndpointConfigName: aws.String("cfg"), ProductionVariants: []types.ProductionVariant{
		{VariantName: aws.String("A"), ModelName: aws.String("a"), InstanceType: types.ProductionVariantInstanceTypeMlM5Large, InitialInstanceCount: aws.Int32(2), InitialVariantWeight: aws.Float32(3)},
		{VariantName: aws.String("B"), ModelName: aws.String("b"), InstanceType: types.ProductionVariantInstanceTypeMlM5Large, InitialInstanceCount: aws.Int32(1)},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEndpoint(ctx, &sm.CreateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("cfg")}); err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	d := describe(t, c, "ep")
	got := []string{string(d.EndpointStatus), variantLine(d.ProductionVariants[0]), variantLine(d.ProductionVariants[1])}
	want := []string{"InService", "A w=3/3 instances=2/2 image=" + tfImage, "B w=1/1 instances=1/1 image=" + tfImage}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("describe = %q\nwant       %q", got, want)
	}
	v, _ := e.svc.Endpoint(ctx, "ep")
	if len(v.Variants) != 2 || v.Variants[0].InstanceCount != 2 || v.Variants[0].InstanceType != "ml.m5.large" || v.Variants[0].Serverless != nil || v.Variants[0].Weight != 3 {
		t.Errorf("view = %+v", v)
	}
}

func TestEndpointCreateFailures(t *testing.T) {
	tests := []struct {
		name, image, url string
		deleteModel      bool
		reason           string
	}{
		{"missing artifact", tfImage, "s3://b/missing.tar.gz", false, "Could not find model data at s3://b/missing.tar.gz."},
		{"unsupported image", "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1", modelData, false,
			"Image 683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1 is not supported by inferd: no runtime for it. Supported: tensorflow-inference, tensorflow/serving, onnxruntime, onnx-inference."},
		{"model deleted", tfImage, modelData, true, `Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/ep-model".`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "")
			c := e.client("us-east-1")
			ctx := context.Background()
			if _, err := c.CreateModel(ctx, modelInput("ep-model", tt.image, tt.url)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.CreateEndpointConfig(ctx, &sm.CreateEndpointConfigInput{EndpointConfigName: aws.String("ep-config"),
				ProductionVariants: []types.ProductionVariant{serverlessVariant("AllTraffic", "ep-model", 1024, 1)}}); err != nil {
				t.Fatal(err)
			}
			if tt.deleteModel {
				if _, err := c.DeleteModel(ctx, &sm.DeleteModelInput{ModelName: aws.String("ep-model")}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.CreateEndpoint(ctx, &sm.CreateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("ep-config")}); err != nil {
				t.Fatal(err)
			}
			e.reconcile()
			d := describe(t, c, "ep")
			if d.EndpointStatus != types.EndpointStatusFailed || aws.ToString(d.FailureReason) != tt.reason {
				t.Errorf("status %s, FailureReason %q; want Failed, %q", d.EndpointStatus, aws.ToString(d.FailureReason), tt.reason)
			}
			if len(d.ProductionVariants) != 0 {
				t.Errorf("failed endpoint shows %d variants", len(d.ProductionVariants))
			}
			_, err := c.UpdateEndpoint(ctx, &sm.UpdateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("ep-config")})
			apiErr(t, err, "ValidationException", `Cannot update failed endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep".`)
			if _, err := c.DeleteEndpoint(ctx, &sm.DeleteEndpointInput{EndpointName: aws.String("ep")}); err != nil {
				t.Errorf("DeleteEndpoint of a failed endpoint: %v", err)
			}
		})
	}
}

func TestCreateEndpointValidation(t *testing.T) {
	e := newEnv(t, "")
	c := e.client("us-east-1")
	ctx := context.Background()
	tests := []struct {
		name, endpoint, config, msg string
	}{
		{"missing config", "ep", "nope", `Could not find endpoint configuration "arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/nope".`},
		{"endpoint name pattern", "ep_1", "nope", "Value 'ep_1' at 'endpointName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"},
		{"endpoint name length", strings.Repeat("e", 64), "nope", "at 'endpointName' failed to satisfy constraint: Member must have length less than or equal to 63"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateEndpoint(ctx, &sm.CreateEndpointInput{EndpointName: aws.String(tt.endpoint), EndpointConfigName: aws.String(tt.config)})
			apiErr(t, err, "ValidationException", tt.msg)
		})
	}
	for _, op := range []struct {
		name string
		call func() error
	}{
		{"describe", func() error {
			_, err := c.DescribeEndpoint(ctx, &sm.DescribeEndpointInput{EndpointName: aws.String("ghost")})
			return err
		}},
		{"delete", func() error {
			_, err := c.DeleteEndpoint(ctx, &sm.DeleteEndpointInput{EndpointName: aws.String("ghost")})
			return err
		}},
		{"update", func() error {
			_, err := c.UpdateEndpoint(ctx, &sm.UpdateEndpointInput{EndpointName: aws.String("ghost"), EndpointConfigName: aws.String("c")})
			return err
		}},
		{"weights", func() error {
			_, err := c.UpdateEndpointWeightsAndCapacities(ctx, &sm.UpdateEndpointWeightsAndCapacitiesInput{EndpointName: aws.String("ghost"),
				DesiredWeightsAndCapacities: []types.DesiredWeightAndCapacity{{VariantName: aws.String("v"), DesiredWeight: aws.Float32(1)}}})
			return err
		}},
	} {
		t.Run(op.name+" missing endpoint", func(t *testing.T) {
			apiErr(t, op.call(), "ValidationException", `Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/ghost".`)
		})
	}
}

func TestUpdateEndpoint(t *testing.T) {
	e := newEnv(t, "")
	c := e.client("us-east-1")
	ctx := context.Background()
	ep := e.deploy(c, "ep", tfImage, modelData)
	const arn = "arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep"
	if _, err := c.CreateModel(ctx, modelInput("m2", "tensorflow/serving:2.14.1", modelData)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateModel(ctx, modelInput("broken", tfImage, "s3://b/none.tar.gz")); err != nil {
		t.Fatal(err)
	}
	for name, model := range map[string]string{"cfg2": "m2", "cfg-broken": "broken"} {
		if _, err := c.CreateEndpointConfig(ctx, &sm.CreateEndpointConfigInput{EndpointConfigName: aws.String(name),
			ProductionVariants: []types.ProductionVariant{serverlessVariant("AllTraffic", model, 4096, 50)}}); err != nil {
			t.Fatal(err)
		}
	}

	// A good update: Updating, still serving the old config, then InService with the new.
	out, err := c.UpdateEndpoint(ctx, &sm.UpdateEndpointInput{EndpointName: aws.String(ep), EndpointConfigName: aws.String("cfg2")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.EndpointArn) != arn {
		t.Errorf("EndpointArn = %q", aws.ToString(out.EndpointArn))
	}
	d := describe(t, c, ep)
	if d.EndpointStatus != types.EndpointStatusUpdating || aws.ToString(d.EndpointConfigName) != "ep-config" ||
		aws.ToString(d.PendingDeploymentSummary.EndpointConfigName) != "cfg2" {
		t.Errorf("during update: %s %s pending %+v", d.EndpointStatus, aws.ToString(d.EndpointConfigName), d.PendingDeploymentSummary)
	}
	if v, _ := e.svc.Endpoint(ctx, ep); v.Status != "Updating" || v.Variants[0].ModelName != "ep-model" {
		t.Errorf("view during update = %+v, want the old model still deployed", v)
	}
	_, err = c.UpdateEndpoint(ctx, &sm.UpdateEndpointInput{EndpointName: aws.String(ep), EndpointConfigName: aws.String("cfg2")})
	apiErr(t, err, "ValidationException", `Cannot update in-progress endpoint "`+arn+`".`)
	_, err = c.DeleteEndpoint(ctx, &sm.DeleteEndpointInput{EndpointName: aws.String(ep)})
	apiErr(t, err, "ValidationException", `Cannot update in-progress endpoint "`+arn+`".`)
	e.reconcile()
	d = describe(t, c, ep)
	if got, want := fmt.Sprint(d.EndpointStatus, " ", aws.ToString(d.EndpointConfigName), " ", variantLine(d.ProductionVariants[0])),
		"InService cfg2 AllTraffic w=1/1 serverless=4096/50/0->4096/50/0 image=tensorflow/serving:2.14.1"; got != want {
		t.Errorf("after update = %q\nwant          %q", got, want)
	}
	if v, _ := e.svc.Endpoint(ctx, ep); v.Variants[0].ModelName != "m2" || v.Variants[0].Containers[0].Runtime != "tensorflow" {
		t.Errorf("view after update = %+v", v)
	}

	// A failing update: back to InService on the old config, with a FailureReason.
	if _, err := c.UpdateEndpoint(ctx, &sm.UpdateEndpointInput{EndpointName: aws.String(ep), EndpointConfigName: aws.String("cfg-broken")}); err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	d = describe(t, c, ep)
	if d.EndpointStatus != types.EndpointStatusInService || aws.ToString(d.EndpointConfigName) != "cfg2" ||
		aws.ToString(d.FailureReason) != "Could not find model data at s3://b/none.tar.gz." {
		t.Errorf("after failed update: %s %s %q", d.EndpointStatus, aws.ToString(d.EndpointConfigName), aws.ToString(d.FailureReason))
	}

	// A later successful update clears the FailureReason.
	if _, err := c.UpdateEndpoint(ctx, &sm.UpdateEndpointInput{EndpointName: aws.String(ep), EndpointConfigName: aws.String("ep-config")}); err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	d = describe(t, c, ep)
	if d.EndpointStatus != types.EndpointStatusInService || aws.ToString(d.EndpointConfigName) != "ep-config" || d.FailureReason != nil {
		t.Errorf("after recovery: %s %s %v", d.EndpointStatus, aws.ToString(d.EndpointConfigName), d.FailureReason)
	}

	_, err = c.UpdateEndpoint(ctx, &sm.UpdateEndpointInput{EndpointName: aws.String(ep), EndpointConfigName: aws.String("missing")})
	apiErr(t, err, "ValidationException", `Could not find endpoint configuration "arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/missing".`)
}

func TestUpdateEndpointRetainsVariantProperties(t *testing.T) {
	e := newEnv(t, "")
	c := e.client("us-east-1")
	ctx := context.Background()
	if _, err := c.CreateModel(ctx, modelInput("m", tfImage, modelData)); err != nil {
		t.Fatal(err)
	}
	for name, count := range map[string]int32{"c1": 1, "c2": 5} {
		if _, err := c.CreateEndpointConfig(ctx, &sm.CreateEndpointConfigInput{EndpointConfigName: aws.String(name), ProductionVariants: []types.ProductionVariant{
			{VariantName: aws.String("v"), ModelName: aws.String("m"), InstanceType: types.ProductionVariantInstanceTypeMlM5Large, InitialInstanceCount: aws.Int32(count)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateEndpoint(ctx, &sm.CreateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("c1")}); err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	if _, err := c.UpdateEndpointWeightsAndCapacities(ctx, &sm.UpdateEndpointWeightsAndCapacitiesInput{EndpointName: aws.String("ep"),
		DesiredWeightsAndCapacities: []types.DesiredWeightAndCapacity{{VariantName: aws.String("v"), DesiredWeight: aws.Float32(2), DesiredInstanceCount: aws.Int32(3)}}}); err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	tests := []struct {
		name    string
		retain  bool
		exclude []types.VariantProperty
		want    string
	}{
		{"retain all", true, nil, "v w=2/2 instances=3/3"},
		{"retain except weight", true, []types.VariantProperty{{VariantPropertyType: types.VariantPropertyTypeDesiredWeight}}, "v w=1/1 instances=3/3"},
		{"no retain", false, nil, "v w=1/1 instances=5/5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Reset to weight 2, 3 instances on c1 first.
			if _, err := c.UpdateEndpoint(ctx, &sm.UpdateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("c1"), RetainAllVariantProperties: aws.Bool(true)}); err != nil {
				t.Fatal(err)
			}
			e.reconcile()
			if _, err := c.UpdateEndpoint(ctx, &sm.UpdateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("c2"),
				RetainAllVariantProperties: aws.Bool(tt.retain), ExcludeRetainedVariantProperties: tt.exclude}); err != nil {
				t.Fatal(err)
			}
			e.reconcile()
			d := describe(t, c, "ep")
			if got := strings.Split(variantLine(d.ProductionVariants[0]), " image=")[0]; got != tt.want {
				t.Errorf("variant = %q, want %q", got, tt.want)
			}
			if tt.retain {
				return
			}
			// Restore weight 2 / 3 instances for the next case.
			c.UpdateEndpointWeightsAndCapacities(ctx, &sm.UpdateEndpointWeightsAndCapacitiesInput{EndpointName: aws.String("ep"),
				DesiredWeightsAndCapacities: []types.DesiredWeightAndCapacity{{VariantName: aws.String("v"), DesiredWeight: aws.Float32(2), DesiredInstanceCount: aws.Int32(3)}}})
			e.reconcile()
		})
	}
}

func TestUpdateEndpointWeightsAndCapacities(t *testing.T) {
	e := newEnv(t, "")
	c := e.client("us-east-1")
	ctx := context.Background()
	ep := e.deploy(c, "ep", tfImage, modelData)
	const arn = "arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep"
	update := func(d ...types.DesiredWeightAndCapacity) error {
		_, err := c.UpdateEndpointWeightsAndCapacities(ctx, &sm.UpdateEndpointWeightsAndCapacitiesInput{EndpointName: aws.String(ep), DesiredWeightsAndCapacities: d})
		return err
	}
	errCases := []struct {
		name string
		d    []types.DesiredWeightAndCapacity
		msg  string
	}{
		{"unknown variant", []types.DesiredWeightAndCapacity{{VariantName: aws.String("Nope"), DesiredWeight: aws.Float32(1)}},
			`The variant(s) "[Nope]" are not present in the endpoint "` + arn + `".`},
		{"instance count on serverless", []types.DesiredWeightAndCapacity{{VariantName: aws.String("AllTraffic"), DesiredInstanceCount: aws.Int32(2)}},
			`Variant "AllTraffic" is serverless: DesiredInstanceCount cannot be set; use ServerlessUpdateConfig.`},
		{"provisioned above max", []types.DesiredWeightAndCapacity{{VariantName: aws.String("AllTraffic"),
			ServerlessUpdateConfig: &types.ProductionVariantServerlessUpdateConfig{ProvisionedConcurrency: aws.Int32(21)}}},
			`Variant "AllTraffic": ProvisionedConcurrency (21) must be less than or equal to MaxConcurrency (20).`},
		{"max concurrency range", []types.DesiredWeightAndCapacity{{VariantName: aws.String("AllTraffic"),
			ServerlessUpdateConfig: &types.ProductionVariantServerlessUpdateConfig{MaxConcurrency: aws.Int32(201)}}},
			"Value '201' at 'desiredWeightsAndCapacities.1.member.serverlessUpdateConfig.maxConcurrency' failed to satisfy constraint: Member must have value less than or equal to 200"},
		{"negative weight", []types.DesiredWeightAndCapacity{{VariantName: aws.String("AllTraffic"), DesiredWeight: aws.Float32(-0.5)}},
			"Value '-0.5' at 'desiredWeightsAndCapacities.1.member.desiredWeight' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"nothing to change", []types.DesiredWeightAndCapacity{{VariantName: aws.String("AllTraffic")}},
			`Variant "AllTraffic": specify at least one of DesiredWeight, DesiredInstanceCount or ServerlessUpdateConfig.`},
		{"empty list", []types.DesiredWeightAndCapacity{},
			"at 'desiredWeightsAndCapacities' failed to satisfy constraint: Member must have length greater than or equal to 1"},
	}
	for _, tt := range errCases {
		t.Run(tt.name, func(t *testing.T) {
			apiErr(t, update(tt.d...), "ValidationException", tt.msg)
			if d := describe(t, c, ep); d.EndpointStatus != types.EndpointStatusInService {
				t.Errorf("status after rejected update = %s", d.EndpointStatus)
			}
		})
	}

	if err := update(types.DesiredWeightAndCapacity{VariantName: aws.String("AllTraffic"), DesiredWeight: aws.Float32(0.5),
		ServerlessUpdateConfig: &types.ProductionVariantServerlessUpdateConfig{MaxConcurrency: aws.Int32(40), ProvisionedConcurrency: aws.Int32(4)}}); err != nil {
		t.Fatal(err)
	}
	d := describe(t, c, ep)
	if got, want := string(d.EndpointStatus)+" "+variantLine(d.ProductionVariants[0]),
		"Updating AllTraffic w=1/0.5 serverless=2048/20/0->2048/40/4 image="+tfImage; got != want {
		t.Errorf("during = %q\nwant     %q", got, want)
	}
	apiErr(t, update(types.DesiredWeightAndCapacity{VariantName: aws.String("AllTraffic"), DesiredWeight: aws.Float32(1)}),
		"ValidationException", `Cannot update in-progress endpoint "`+arn+`".`)
	e.reconcile()
	d = describe(t, c, ep)
	if got, want := string(d.EndpointStatus)+" "+variantLine(d.ProductionVariants[0]),
		"InService AllTraffic w=0.5/0.5 serverless=2048/40/4->2048/40/4 image="+tfImage; got != want {
		t.Errorf("after = %q\nwant    %q", got, want)
	}
	v, _ := e.svc.Endpoint(ctx, ep)
	if s := v.Variants[0].Serverless; v.Variants[0].Weight != 0.5 || s.MaxConcurrency != 40 || s.ProvisionedConcurrency != 4 || s.MemorySizeInMB != 2048 {
		t.Errorf("view = %+v %+v", v.Variants[0], *s)
	}
}

func TestDeleteLifecycle(t *testing.T) {
	e := newEnv(t, "")
	c := e.client("us-east-1")
	ctx := context.Background()
	if _, err := c.CreateModel(ctx, modelInput("m", tfImage, modelData)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEndpointConfig(ctx, &sm.CreateEndpointConfigInput{EndpointConfigName: aws.String("cfg"),
		ProductionVariants: []types.ProductionVariant{serverlessVariant("AllTraffic", "m", 1024, 1)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEndpoint(ctx, &sm.CreateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("cfg")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.DeleteEndpoint(ctx, &sm.DeleteEndpointInput{EndpointName: aws.String("ep")})
	apiErr(t, err, "ValidationException", `Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep".`)
	e.reconcile()

	// Deleting the model and config an endpoint uses is allowed, and the
	// endpoint keeps serving what it deployed.
	if _, err := c.DeleteModel(ctx, &sm.DeleteModelInput{ModelName: aws.String("m")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteEndpointConfig(ctx, &sm.DeleteEndpointConfigInput{EndpointConfigName: aws.String("cfg")}); err != nil {
		t.Fatal(err)
	}
	if d := describe(t, c, "ep"); d.EndpointStatus != types.EndpointStatusInService || aws.ToString(d.EndpointConfigName) != "cfg" {
		t.Errorf("after deleting model and config: %s %s", d.EndpointStatus, aws.ToString(d.EndpointConfigName))
	}
	if v, err := e.svc.Endpoint(ctx, "ep"); err != nil || v.Variants[0].Containers[0].ModelDataURL != modelData {
		t.Errorf("view = %+v, %v", v, err)
	}
	for len(e.changes) > 0 {
		<-e.changes
	}
	if _, err := c.DeleteEndpoint(ctx, &sm.DeleteEndpointInput{EndpointName: aws.String("EP")}); err != nil {
		t.Fatal(err)
	}
	if got := <-e.changes; got != "ep" {
		t.Errorf("OnEndpointChange(%q) on delete, want ep", got)
	}
	_, err = c.DescribeEndpoint(ctx, &sm.DescribeEndpointInput{EndpointName: aws.String("ep")})
	apiErr(t, err, "ValidationException", `Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep".`)
	if _, err := e.svc.Endpoint(ctx, "ep"); !errorsIs(err, sagemaker.ErrNotFound) {
		t.Errorf("Endpoint after delete: %v", err)
	}
}

// TestRunWithWaiter drives the lifecycle with Run, as the daemon does, and
// waits the way clients do: with the SDK's EndpointInService waiter.
func TestRunWithWaiter(t *testing.T) {
	e := newEnv(t, "")
	c := e.client("us-east-1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	}()
	if _, err := c.CreateModel(ctx, modelInput("m", tfImage, modelData)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateModel(ctx, modelInput("bad", tfImage, "s3://b/absent.tar.gz")); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"m", "bad"} {
		if _, err := c.CreateEndpointConfig(ctx, &sm.CreateEndpointConfigInput{EndpointConfigName: aws.String(m),
			ProductionVariants: []types.ProductionVariant{serverlessVariant("AllTraffic", m, 2048, 20)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateEndpoint(ctx, &sm.CreateEndpointInput{EndpointName: aws.String(m), EndpointConfigName: aws.String(m)}); err != nil {
			t.Fatal(err)
		}
	}
	w := sm.NewEndpointInServiceWaiter(c, func(o *sm.EndpointInServiceWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Millisecond, 5*time.Millisecond
	})
	if err := w.Wait(ctx, &sm.DescribeEndpointInput{EndpointName: aws.String("m")}, 10*time.Second); err != nil {
		t.Fatalf("waiting for InService: %v", err)
	}
	err := w.Wait(ctx, &sm.DescribeEndpointInput{EndpointName: aws.String("bad")}, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "Failure") {
		t.Errorf("waiter on a failing endpoint returned %v, want a failure-state error", err)
	}
}

// TestEndpointWithModelDataSource deploys uncompressed model data named by
// ModelDataSource instead of ModelDataUrl.
func TestEndpointWithModelDataSource(t *testing.T) {
	e := newEnv(t, "")
	e.artifacts.known["s3://b/model/"] = true
	c := e.client("us-east-1")
	ctx := context.Background()
	in := &sm.CreateModelInput{ModelName: aws.String("ds"), PrimaryContainer: &types.ContainerDefinition{
		Image: aws.String(tfImage), ModelDataSource: dataSource("s3://b/model/", "S3Prefix", "None")}}
	if _, err := c.CreateModel(ctx, in); err != nil {
		t.Fatal(err)
	}
	m, err := c.DescribeModel(ctx, &sm.DescribeModelInput{ModelName: aws.String("ds")})
	if err != nil {
		t.Fatal(err)
	}
	if s := m.PrimaryContainer.ModelDataSource.S3DataSource; aws.ToString(s.S3Uri) != "s3://b/model/" || s.S3DataType != "S3Prefix" || s.CompressionType != "None" {
		t.Errorf("DescribeModel ModelDataSource = %+v", s)
	}
	if _, err := c.CreateEndpointConfig(ctx, &sm.CreateEndpointConfigInput{EndpointConfigName: aws.String("cfg"),
		ProductionVariants: []types.ProductionVariant{serverlessVariant("v", "ds", 1024, 2)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEndpoint(ctx, &sm.CreateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("cfg")}); err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	v, err := e.svc.Endpoint(ctx, "ep")
	if err != nil || v.Status != "InService" {
		t.Fatalf("view = %+v, %v", v, err)
	}
	if got := v.Variants[0].Containers[0]; got.ModelDataURL != "s3://b/model/" || !got.Uncompressed {
		t.Errorf("container = %+v, want the prefix, uncompressed", got)
	}
	if fmt.Sprint(e.artifacts.calls) != "[s3://b/model/]" {
		t.Errorf("artifact checks = %v", e.artifacts.calls)
	}
}
