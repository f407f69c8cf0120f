{{/* Release-scoped base name, e.g. "myrelease-parley" (or the release name when it already contains "parley"). */}}
{{- define "parley.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "parley.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "parley.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
Environment shared by every process and hook Job: the plain values from .Values.env,
HOST, every process's <NAME>_PORT and the subgraph URLs for the router.
*/}}
{{- define "parley.env" -}}
- name: HOST
  value: "0.0.0.0"
{{- range .Values.processes }}
- name: {{ printf "%s_PORT" (upper .name) }}
  value: {{ .port | quote }}
{{- end }}
{{- range .Values.processes }}
{{- if has .name (list "sessions" "tasks" "audit") }}
- name: {{ printf "%s_URL" (upper .name) }}
  value: {{ printf "http://%s-%s:%v/graphql" (include "parley.fullname" $) .name .port | quote }}
{{- end }}
{{- end }}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{- define "parley.envFrom" -}}
- secretRef:
    name: {{ required "existingSecret is required (a Secret holding DATABASE_URL, JWT_SECRET, INTERNAL_SIGNING_SECRET, S3_SECRET_KEY)" .Values.existingSecret }}
{{- end -}}
