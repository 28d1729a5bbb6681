{{/* Names: <release> when it contains "keyward", else <release>-keyward; 63 characters at most. */}}
{{- define "keyward.fullname" -}}
{{- if contains "keyward" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-keyward" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "keyward.operator" -}}{{ include "keyward.fullname" . | trunc 54 | trimSuffix "-" }}-operator{{- end -}}
{{- define "keyward.server" -}}{{ include "keyward.fullname" . | trunc 56 | trimSuffix "-" }}-server{{- end -}}
{{- define "keyward.operatorKeySecret" -}}{{ .Values.operator.apiKeySecret.name | default (printf "%s-key" (include "keyward.operator" .)) }}{{- end -}}
{{- define "keyward.bootstrapSecret" -}}{{ include "keyward.server" . }}-bootstrap{{- end -}}
{{- define "keyward.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}
{{- define "keyward.keyServiceUrl" -}}{{ .Values.operator.keyServiceUrl | default (printf "http://%s.%s.svc:%v" (include "keyward.server" .) .Release.Namespace .Values.keyService.service.port) }}{{- end -}}

{{/* Labels every object carries; "component" is passed in. */}}
{{- define "keyward.labels" -}}
app.kubernetes.io/name: keyward
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: keyward
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{- define "keyward.selector" -}}
app.kubernetes.io/name: keyward
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}
