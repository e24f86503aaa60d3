// Command celref compiles and evaluates ValidatingAdmissionPolicies with Kubernetes'
// own CEL library (k8s.io/apiserver), as an API server of a chosen minor version would.
//
// It is the reference bindcheck's exported policies are tested against: the Python
// tests hand it policies and objects as JSON on stdin and read verdicts, messages
// and costs from stdout.
//
// Compilation follows policy creation, k8s.io/kubernetes
// pkg/apis/admissionregistration/validation (validateVariable, validateValidation,
// validateMessageExpression): every expression in the NewExpressions environment of
// the server's default compatibility version, which is one minor below the server
// (component-base compatibility: MinCompatibilityVersion). Evaluation follows
// k8s.io/apiserver pkg/admission/plugin/policy/validating (compilePolicy and
// validator.Validate): StoredExpressions, the per-call limit, RuntimeCELCostBudget
// shared by the validations and then the messageExpressions, whose variables are
// evaluated afresh.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"

	celgo "github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authentication/user"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/apiserver/pkg/cel/lazy"
)

// variablesTypeName is plugincel's name for the type of `variables` (unexported there).
const variablesTypeName = "kubernetes.variables"

type request struct {
	// Kubernetes minor versions to emulate, e.g. [30, 34, 37].
	Minors   []int                                               `json:"minors"`
	Policies []admissionregistrationv1.ValidatingAdmissionPolicy `json:"policies"`
	Objects  []review                                            `json:"objects"`
}

type review struct {
	Object    map[string]any `json:"object"`
	OldObject map[string]any `json:"oldObject"`
	Operation string         `json:"operation"`
}

type compileError struct {
	Policy string `json:"policy"`
	Field  string `json:"field"`
	Error  string `json:"error"`
}

type verdict struct {
	// admit, deny or error (an evaluation error: failurePolicy decides)
	Decision string `json:"decision"`
	Message  string `json:"message,omitempty"`
	// Cost of the whole evaluation against RuntimeCELCostBudget.
	TotalCost int64 `json:"totalCost"`
	// The costliest single call (a variable, a validation or a messageExpression)
	// against PerCallLimit.
	MaxCallCost int64  `json:"maxCallCost"`
	MaxCallName string `json:"maxCallName"`
	// The value of the policy's `violations` variable, when it has one and it evaluated
	// to a list of strings (bindcheck's exports list each violation there).
	Violations []string `json:"violations"`
}

type minorResult struct {
	Minor         int                  `json:"minor"`
	CompileErrors []compileError       `json:"compileErrors"`
	Verdicts      []map[string]verdict `json:"verdicts"`
}

func main() {
	var req request
	decoder := json.NewDecoder(os.Stdin)
	if err := decoder.Decode(&req); err != nil {
		fail("reading the request: %v", err)
	}
	// One goroutine per minor: compiling is most of the time, and minors share nothing.
	out := make([]minorResult, len(req.Minors))
	var wg sync.WaitGroup
	for k, minor := range req.Minors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[k] = run(minor, &req)
		}()
	}
	wg.Wait()
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail("writing the answer: %v", err)
	}
}

func run(minor int, req *request) minorResult {
	result := minorResult{Minor: minor, CompileErrors: []compileError{}, Verdicts: []map[string]verdict{}}
	envSet := environment.MustBaseEnvSet(version.MajorMinor(1, uint(minor-1)))
	compiled := map[string]*policy{}
	for i := range req.Policies {
		p := &req.Policies[i]
		result.CompileErrors = append(result.CompileErrors, compileAsCreated(envSet, p)...)
		if len(req.Objects) > 0 {
			compiled[p.Name] = compileForAdmission(envSet, p)
		}
	}
	for _, r := range req.Objects {
		verdicts := map[string]verdict{}
		for name, p := range compiled {
			verdicts[name] = p.evaluate(r)
		}
		result.Verdicts = append(result.Verdicts, verdicts)
	}
	return result
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "celref: "+format+"\n", args...)
	os.Exit(2)
}

// compileAsCreated compiles every expression of the policy as policy creation does.
func compileAsCreated(envSet *environment.EnvSet, p *admissionregistrationv1.ValidatingAdmissionPolicy) []compileError {
	var errs []compileError
	compiler, err := plugincel.NewCompositedCompiler(envSet)
	if err != nil {
		fail("composited compiler: %v", err)
	}
	withAuthz := plugincel.OptionalVariableDeclarations{HasParams: p.Spec.ParamKind != nil, HasAuthorizer: true}
	for i, v := range p.Spec.Variables {
		r := compiler.CompileAndStoreVariable(&validating.Variable{Name: v.Name, Expression: v.Expression}, withAuthz, environment.NewExpressions)
		if r.Error != nil {
			errs = append(errs, compileError{p.Name, fmt.Sprintf("spec.variables[%d].expression", i), r.Error.Error()})
		}
	}
	for i, v := range p.Spec.Validations {
		r := compiler.CompileCELExpression(&validating.ValidationCondition{Expression: v.Expression}, withAuthz, environment.NewExpressions)
		if r.Error != nil {
			errs = append(errs, compileError{p.Name, fmt.Sprintf("spec.validations[%d].expression", i), r.Error.Error()})
		}
		if v.MessageExpression != "" {
			noAuthz := plugincel.OptionalVariableDeclarations{HasParams: p.Spec.ParamKind != nil, HasAuthorizer: false}
			r := compiler.CompileCELExpression(&validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}, noAuthz, environment.NewExpressions)
			if r.Error != nil {
				errs = append(errs, compileError{p.Name, fmt.Sprintf("spec.validations[%d].messageExpression", i), r.Error.Error()})
			}
		}
	}
	return errs
}

type namedProgram struct {
	name    string
	program celgo.Program
	err     error
}

type policy struct {
	name        string
	validator   validating.Validator
	variables   []namedProgram
	validations plugincel.ConditionEvaluator
	messages    plugincel.ConditionEvaluator
}

// compileForAdmission mirrors validating.compilePolicy with the environment pinned.
func compileForAdmission(envSet *environment.EnvSet, p *admissionregistrationv1.ValidatingAdmissionPolicy) *policy {
	compiler, err := plugincel.NewCompositedCompiler(envSet)
	if err != nil {
		fail("composited compiler: %v", err)
	}
	withAuthz := plugincel.OptionalVariableDeclarations{HasParams: p.Spec.ParamKind != nil, HasAuthorizer: true}
	noAuthz := plugincel.OptionalVariableDeclarations{HasParams: p.Spec.ParamKind != nil, HasAuthorizer: false}
	out := &policy{name: p.Name}
	for _, v := range p.Spec.Variables {
		r := compiler.CompileAndStoreVariable(&validating.Variable{Name: v.Name, Expression: v.Expression}, withAuthz, environment.StoredExpressions)
		var err error
		if r.Error != nil { // a typed nil *cel.Error in an error would never be nil
			err = r.Error
		}
		out.variables = append(out.variables, namedProgram{v.Name, r.Program, err})
	}
	var validations, messages []plugincel.ExpressionAccessor
	for _, v := range p.Spec.Validations {
		validations = append(validations, &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason})
		if v.MessageExpression != "" {
			messages = append(messages, &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression})
		} else {
			messages = append(messages, nil)
		}
	}
	out.validations = compiler.CompileCondition(validations, withAuthz, environment.StoredExpressions)
	out.messages = compiler.CompileCondition(messages, noAuthz, environment.StoredExpressions)
	out.validator = validating.NewValidator(out.validations, nil, compiler.CompileCondition(nil, noAuthz, environment.StoredExpressions), out.messages, p.Spec.FailurePolicy, nil)
	return out
}

func attributes(r review) *admission.VersionedAttributes {
	obj := &unstructured.Unstructured{Object: r.Object}
	var old *unstructured.Unstructured
	if r.OldObject != nil {
		old = &unstructured.Unstructured{Object: r.OldObject}
	}
	gvk := obj.GroupVersionKind()
	gvr := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"}
	op := admission.Operation(r.Operation)
	if op == "" {
		op = admission.Create
	}
	var oldObject = admission.NewLazyObject(nil)
	var attrs admission.Attributes
	if old != nil {
		attrs = admission.NewAttributesRecord(obj, old, gvk, obj.GetNamespace(), obj.GetName(), gvr, "", op, nil, false, &user.DefaultInfo{Name: "celref"})
		oldObject = admission.NewLazyObject(old)
	} else {
		attrs = admission.NewAttributesRecord(obj, nil, gvk, obj.GetNamespace(), obj.GetName(), gvr, "", op, nil, false, &user.DefaultInfo{Name: "celref"})
	}
	return &admission.VersionedAttributes{
		Attributes:         attrs,
		VersionedKind:      gvk,
		VersionedObject:    admission.NewLazyObject(obj),
		VersionedOldObject: oldObject,
	}
}

func (p *policy) evaluate(r review) verdict {
	attrs := attributes(r)
	gvr := attrs.GetResource()
	result := p.validator.Validate(context.Background(), gvr, attrs, nil, nil, celconfig.RuntimeCELCostBudget, nil)
	v := verdict{Decision: "admit"}
	for _, d := range result.Decisions {
		switch d.Evaluation {
		case validating.EvalError:
			v = verdict{Decision: "error", Message: d.Message}
		case validating.EvalDeny:
			if v.Decision == "admit" {
				v = verdict{Decision: "deny", Message: d.Message}
			}
		}
	}
	var violations *[]string
	v.TotalCost, v.MaxCallCost, v.MaxCallName, violations = p.costs(attrs)
	if violations != nil {
		v.Violations = *violations
	}
	return v
}

// costs runs the validations and then the messageExpressions as validator.Validate
// does, with a composition context that records each variable's own cost.
func (p *policy) costs(attrs *admission.VersionedAttributes) (int64, int64, string, *[]string) {
	gvr, gvk := attrs.GetResource(), attrs.VersionedKind
	request := plugincel.CreateAdmissionRequest(attrs.Attributes,
		metav1.GroupVersionResource{Group: gvr.Group, Version: gvr.Version, Resource: gvr.Resource},
		metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind})
	calls := map[string]int64{}
	var violations *[]string
	budget := int64(celconfig.RuntimeCELCostBudget)
	stages := []struct {
		name      string
		evaluator plugincel.ConditionEvaluator
	}{{"validations", p.validations}, {"messageExpressions", p.messages}}
	for _, stage := range stages {
		inner := stage.evaluator.(*plugincel.CompositedConditionEvaluator).ConditionEvaluator
		ctx := &costContext{Context: context.Background(), variables: p.variables, calls: calls, violations: &violations}
		_, remaining, err := inner.ForInput(ctx, attrs, request, plugincel.OptionalVariableBindings{}, nil, budget)
		if err != nil || remaining < 0 {
			calls[stage.name+" (out of budget)"] = budget
			cost, name := maxCall(calls)
			return celconfig.RuntimeCELCostBudget + 1, cost, name, violations
		}
		calls[stage.name] = budget - remaining - ctx.total
		budget = remaining
	}
	cost, name := maxCall(calls)
	return celconfig.RuntimeCELCostBudget - budget, cost, name, violations
}

func maxCall(calls map[string]int64) (int64, string) {
	names := make([]string, 0, len(calls))
	for name := range calls {
		names = append(names, name)
	}
	sort.Strings(names)
	best, cost := "", int64(-1)
	for _, name := range names {
		if calls[name] > cost {
			best, cost = name, calls[name]
		}
	}
	return cost, best
}

// costContext is a plugincel.CompositionContext like the API server's, whose lazy
// variables also record what each costs.
type costContext struct {
	context.Context
	variables  []namedProgram
	calls      map[string]int64
	violations **[]string
	pending    int64
	total      int64
}

func (c *costContext) Variables(activation any) ref.Val {
	m := lazy.NewMapValue(apiservercel.NewObjectType(variablesTypeName, map[string]*apiservercel.DeclField{}))
	for _, v := range c.variables {
		v := v
		m.Append(v.name, func(*lazy.MapValue) ref.Val {
			if v.err != nil {
				return types.NewErr("composited variable %q fails to compile: %v", v.name, v.err)
			}
			value, details, err := v.program.ContextEval(c, activation)
			if details == nil || details.ActualCost() == nil {
				return types.NewErr("unable to get evaluation details of variable %q", v.name)
			}
			cost := int64(math.MaxInt64)
			if *details.ActualCost() < math.MaxInt64 {
				cost = int64(*details.ActualCost())
			}
			key := "variables." + v.name
			if cost > c.calls[key] {
				c.calls[key] = cost
			}
			c.pending += cost
			c.total += cost
			if err != nil {
				return types.NewErr("composited variable %q fails to evaluate: %v", v.name, err)
			}
			if v.name == "violations" && *c.violations == nil {
				if list, err := value.ConvertToNative(reflect.TypeOf([]string{})); err == nil {
					found := list.([]string)
					*c.violations = &found
				}
			}
			return value
		})
	}
	return m
}

func (c *costContext) GetAndResetCost() int64 {
	cost := c.pending
	c.pending = 0
	return cost
}
