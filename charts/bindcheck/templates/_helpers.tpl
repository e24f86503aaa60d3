{{- define "bindcheck.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bindcheck.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "bindcheck.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bindcheck.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bindcheck.labels" -}}
{{ include "bindcheck.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "bindcheck.tlsSecret" -}}
{{ include "bindcheck.fullname" . }}-tls
{{- end -}}

{{- /*
The repository's .bindcheck.yaml, from the config value (--set-file config=.bindcheck.yaml),
as the chart reads it: policy, host (or a catalog that is a release or none) and
ruleActions; what values.yaml sets wins. exclude, failOnWarnings and failOnSkipped are
the CLI's and ignored here. rules and a catalog file name files in the repository, which
the chart cannot read: it fails and names the value to use instead.
*/ -}}
{{- define "bindcheck.projectConfig" -}}
{{- $cfg := dict -}}
{{- if .Values.config -}}
{{- $cfg = fromYaml .Values.config -}}
{{- if hasKey $cfg "Error" -}}
{{- fail (printf "config: not a YAML mapping (%s)" $cfg.Error) -}}
{{- end -}}
{{- $known := list "policy" "host" "catalog" "rules" "ruleActions" "exclude" "failOnWarnings" "failOnSkipped" -}}
{{- range $key, $_ := $cfg -}}
{{- if not (has $key $known) -}}
{{- fail (printf "config: unknown key %q; .bindcheck.yaml has %s" $key (join ", " $known)) -}}
{{- end -}}
{{- end -}}
{{- if and $cfg.policy (not (has $cfg.policy (list "upstream" "strict"))) -}}
{{- fail (printf "config: policy %q is neither upstream nor strict" (toString $cfg.policy)) -}}
{{- end -}}
{{- if and $cfg.host $cfg.catalog -}}
{{- fail "config: set host or catalog, not both" -}}
{{- end -}}
{{- with ($cfg.host | default $cfg.catalog) -}}
{{- if not (regexMatch "^(none|wasmcloud@(main|v?[0-9]+\\.[0-9]+(\\.[0-9]+)?))$" (toString .)) -}}
{{- fail "config: catalog names a file in your repository, which the chart cannot read: put the catalog itself in the catalog value (-f), or name a release (host: wasmcloud@2.6)" -}}
{{- end -}}
{{- end -}}
{{- if $cfg.rules -}}
{{- fail "config: rules names files in your repository, which the chart cannot read: put each rule in the rules value" -}}
{{- end -}}
{{- $ids := splitList "\n" (.Files.Get "files/rule-ids.txt" | trim) -}}
{{- $actions := dict -}}
{{- range $rule, $given := ($cfg.ruleActions | default dict) -}}
{{- if not (has $rule $ids) -}}
{{- fail (printf "config: ruleActions: no built-in rule %q (`bindcheck rules` lists them)" $rule) -}}
{{- end -}}
{{- /* YAML 1.1 reads an unquoted off as false */ -}}
{{- $action := eq (toString $given) "false" | ternary "off" (toString $given) -}}
{{- if not (has $action (list "deny" "warn" "audit" "off")) -}}
{{- fail (printf "config: ruleActions.%s: %q is not deny, warn, audit or off" $rule $action) -}}
{{- end -}}
{{- $_ := set $actions $rule $action -}}
{{- end -}}
{{- $_ := set $cfg "ruleActions" $actions -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{- define "bindcheck.policy" -}}
{{- $cfg := include "bindcheck.projectConfig" . | fromYaml -}}
{{- .Values.policy | default $cfg.policy | default "upstream" -}}
{{- end -}}

{{- /* ruleActions: the config's, overridden rule by rule by values.yaml's. */ -}}
{{- define "bindcheck.ruleActions" -}}
{{- $cfg := include "bindcheck.projectConfig" . | fromYaml -}}
{{- toYaml (merge (deepCopy .Values.ruleActions) ($cfg.ruleActions | default dict)) -}}
{{- end -}}

{{- /* The catalog as a name (none, wasmcloud@X), from values or else the config; empty
for a catalog object or the default. The cluster's hosts replace the config's. */ -}}
{{- define "bindcheck.catalogName" -}}
{{- if kindIs "string" .Values.catalog -}}
{{- .Values.catalog -}}
{{- else if and (not .Values.catalog) (not .Values.discoverHosts.enabled) -}}
{{- $cfg := include "bindcheck.projectConfig" . | fromYaml -}}
{{- $cfg.host | default $cfg.catalog | default "" -}}
{{- end -}}
{{- end -}}

{{- define "bindcheck.catalogMode" -}}
{{- $name := include "bindcheck.catalogName" . -}}
{{- if $name -}}
{{- if eq $name "none" -}}
none
{{- else if hasPrefix "wasmcloud@" $name -}}
release
{{- else -}}
{{- fail "catalog must be a host catalog object, {}, \"none\" or a release such as \"wasmcloud@2.6\"" -}}
{{- end -}}
{{- else if .Values.catalog -}}
file
{{- else -}}
default
{{- end -}}
{{- end -}}

{{- define "bindcheck.configContent" -}}
{{- if eq (include "bindcheck.catalogMode" .) "file" }}
catalog.yaml: {{ toYaml .Values.catalog | quote }}
{{- end }}
{{- if .Values.rules }}
rules: {{ toJson .Values.rules | quote }}
{{- end }}
{{- end -}}

{{- define "bindcheck.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- /* "true" when the webhook runs (enforcement webhook or both), else empty. */ -}}
{{- define "bindcheck.webhook" -}}
{{- if ne .Values.enforcement "policy" }}true{{ end -}}
{{- end -}}

{{- /*
The matchConditions of the webhook and of every policy (operatorChildren in values.yaml):
the runtime-operator's own requests for what it copies from an admitted parent (a
WorkloadReplicaSet from a WorkloadDeployment, a Workload from a WorkloadReplicaSet:
controllerutil.SetControllerReference in its controllers) are not judged again, so a
grandfathered parent's next scale-up does not stall in the operator's retries.
Usernames are checked by values.schema.json and quoted with toJson, whose escapes are
all CEL escapes: a value never becomes CEL code. Empty when no user is exempt.
*/ -}}
{{- define "bindcheck.operatorChildren" -}}
{{- with .Values.operatorChildren.serviceAccounts }}
- name: not-a-child-the-runtime-operator-creates
  expression: >-
    !(request.userInfo.username in [{{ range $i, $u := . }}{{ if $i }}, {{ end }}{{ toJson $u }}{{ end }}] &&
    has(object.metadata.ownerReferences) &&
    object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller &&
    r.apiVersion.startsWith('runtime.wasmcloud.dev/') &&
    r.kind in ['WorkloadDeployment', 'WorkloadReplicaSet']))
{{- else -}}
[]
{{- end }}
{{- end -}}
