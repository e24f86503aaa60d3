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

{{- define "bindcheck.catalogMode" -}}
{{- if kindIs "string" .Values.catalog -}}
{{- if eq .Values.catalog "none" -}}
none
{{- else if hasPrefix "wasmcloud@" .Values.catalog -}}
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
