{{- define "satellite.fullname" -}}
{{- if contains "satellite" .Release.Name -}}
{{- .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-orbit-satellite" .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "satellite.labels" -}}
app.kubernetes.io/name: orbit-satellite
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "satellite.selectorLabels" -}}
app.kubernetes.io/name: orbit-satellite
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "satellite.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
