{{/*
Names. Upstream's chart derives the full name from the release name (release "sealed-secrets"
gives "sealed-secrets"), so kubeseal, which looks for sealed-secrets-controller, fails until its
users set fullnameOverride. Here the default full name is sealed-secrets-controller; with
nameOverride set, upstream's rule applies.
*/}}
{{- define "sealed-secrets.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sealed-secrets.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if .Values.nameOverride -}}
{{- if contains .Values.nameOverride .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- else -}}
sealed-secrets-controller
{{- end -}}
{{- end -}}

{{- define "sealed-secrets.namespace" -}}
{{- default .Release.Namespace .Values.namespace -}}
{{- end -}}

{{- define "sealed-secrets.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sealed-secrets.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sealed-secrets.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sealed-secrets.leaseName" -}}
{{- default (include "sealed-secrets.fullname" .) .Values.leaderElection.leaseName -}}
{{- end -}}

{{/*
Upstream's selector labels. A Deployment's selector is immutable: keeping upstream's chart's is
what lets `helm upgrade` switch an upstream release to this chart in place.
*/}}
{{- define "sealed-secrets.matchLabels" -}}
app.kubernetes.io/name: {{ include "sealed-secrets.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every object: upstream's, then rbac/extra labels, then commonLabels. */}}
{{- define "sealed-secrets.labels" -}}
app.kubernetes.io/name: {{ include "sealed-secrets.name" . }}
helm.sh/chart: {{ include "sealed-secrets.chart" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: sealed-secrets
{{- if .Values.commonLabels }}
{{ include "sealed-secrets.render" (dict "value" .Values.commonLabels "context" .) }}
{{- end }}
{{- end -}}

{{/*
metadata.labels: the common labels plus `extra` (a map, may be empty) and `component`.
Usage: {{ include "sealed-secrets.metaLabels" (dict "context" $ "component" "controller" "extra" .Values.rbac.labels) }}
*/}}
{{- define "sealed-secrets.metaLabels" -}}
labels:
  {{- include "sealed-secrets.labels" .context | nindent 2 }}
  {{- if .component }}
  app.kubernetes.io/component: {{ .component }}
  {{- end }}
  {{- if .extra }}
  {{- include "sealed-secrets.render" (dict "value" .extra "context" .context) | nindent 2 }}
  {{- end }}
{{- end -}}

{{/*
metadata.annotations, only when there are any: `extra` (a map, may be empty) plus
commonAnnotations. Emits its own leading newline and indentation (2), so that nothing (not even
a blank line) is left when there are none. Usage: on its own line,
  {{- include "sealed-secrets.metaAnnotations" (dict "context" $ "extra" .Values.service.annotations) }}
*/}}
{{- define "sealed-secrets.metaAnnotations" -}}
{{- if or .extra .context.Values.commonAnnotations }}
  annotations:
  {{- if .extra }}
    {{- include "sealed-secrets.render" (dict "value" .extra "context" .context) | nindent 4 }}
  {{- end }}
  {{- if .context.Values.commonAnnotations }}
    {{- include "sealed-secrets.render" (dict "value" .context.Values.commonAnnotations "context" .context) | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* A value that may hold templates, rendered as YAML (upstream's helper). */}}
{{- define "sealed-secrets.render" -}}
{{- if typeIs "string" .value -}}
{{- tpl .value .context -}}
{{- else -}}
{{- tpl (.value | toYaml) .context -}}
{{- end -}}
{{- end -}}

{{- define "sealed-secrets.image" -}}
{{- $tag := default .Chart.AppVersion (toString .Values.image.tag) -}}
{{- if .Values.image.registry -}}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* "k1=v1,k2=v2" for --privatekey-labels/--privatekey-annotations; values must be strings. */}}
{{- define "sealed-secrets.keyValues" -}}
{{- $pairs := list -}}
{{- range $k, $v := .values -}}
{{- $pairs = append $pairs (printf "%s=%s" $k $v) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* Values this chart accepts from upstream's values files but cannot honour: a clear error. */}}
{{- define "sealed-secrets.validate" -}}
{{- if .Values.rbac.pspEnabled -}}
{{- fail "rbac.pspEnabled: PodSecurityPolicy was removed in Kubernetes 1.25; set it to false (use Pod Security admission instead)" -}}
{{- end -}}
{{- if .Values.metrics.dashboards.create -}}
{{- fail "metrics.dashboards.create: this chart ships no Grafana dashboard; set it to false" -}}
{{- end -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) -}}
{{- fail "replicaCount > 1 needs leaderElection.enabled=true: without a leader, every replica would unseal and renew keys" -}}
{{- end -}}
{{- if and .Values.rbac.namespacedRoles (not .Values.additionalNamespaces) -}}
{{- fail "rbac.namespacedRoles needs additionalNamespaces: the Roles are created in those namespaces" -}}
{{- end -}}
{{- end -}}

{{/* The unsealing rules, for the ClusterRole or the Roles of rbac.namespacedRoles. */}}
{{- define "sealed-secrets.unsealerRules" -}}
- apiGroups: [bitnami.com]
  resources: [sealedsecrets]
  verbs: [get, list, watch]
- apiGroups: [bitnami.com]
  resources: [sealedsecrets/status]
  verbs: [update, patch]
# watch: to recreate a deleted Secret (the controller watches metadata only).
- apiGroups: ['']
  resources: [secrets]
  verbs: [get, list, watch, create, update, delete]
- apiGroups: ['']
  resources: [events]
  verbs: [create, patch]
{{- end -}}
