{{/* Name prefix of every object: the release name, with "-orbit" unless it says orbit already. */}}
{{- define "orbit.fullname" -}}
{{- if contains "orbit" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-orbit" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "orbit.labels" -}}
app.kubernetes.io/name: orbit
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component (hub, mothership): pass (list $ "hub"). */}}
{{- define "orbit.selectorLabels" -}}
app.kubernetes.io/name: orbit
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "orbit.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "orbit.keysSecret" -}}
{{ .Values.keys.existingSecret | default (printf "%s-keys" (include "orbit.fullname" .)) }}
{{- end -}}

{{- define "orbit.hub" -}}
{{ include "orbit.fullname" . }}-hub
{{- end -}}

{{/* DNS name of hub node i: pass (list $ i). */}}
{{- define "orbit.hubHost" -}}
{{- $ := index . 0 -}}
{{ include "orbit.hub" $ }}-{{ index . 1 }}.{{ include "orbit.hub" $ }}.{{ $.Release.Namespace }}.svc
{{- end -}}

{{/* The hub nodes' client URLs, comma separated, for mothership run --nats-url. */}}
{{- define "orbit.natsURLs" -}}
{{- $ := . -}}
{{- $urls := list -}}
{{- range $i := until (int .Values.hub.replicas) -}}
{{- $urls = append $urls (printf "nats://%s:4222" (include "orbit.hubHost" (list $ $i))) -}}
{{- end -}}
{{ join "," $urls }}
{{- end -}}

{{- define "orbit.serviceAccount" -}}
{{ include "orbit.fullname" . }}
{{- end -}}

{{/* Pod and container security: non-root (the images' uid 65532), read-only root, no capabilities. */}}
{{- define "orbit.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "orbit.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}
