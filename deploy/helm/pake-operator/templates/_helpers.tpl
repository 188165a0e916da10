{{/* Chart name, shortened to the 63 characters a label allows. */}}
{{- define "pake-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: the release name, unless it already contains the chart name. */}}
{{- define "pake-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "pake-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pake-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pake-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pake-operator.labels" -}}
helm.sh/chart: {{ include "pake-operator.chart" . }}
{{ include "pake-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pake
{{- end }}

{{- define "pake-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pake-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "pake-operator.leaderElectionId" -}}
{{- default (printf "%s-leader" (include "pake-operator.fullname" .)) .Values.leaderElection.id }}
{{- end }}

{{- define "pake-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Permissions in the namespaces the operator watches. Bound cluster-wide (a
ClusterRole and ClusterRoleBinding) when watchNamespaces is empty, otherwise
as a Role and RoleBinding in each watched namespace. No wildcards.
*/}}
{{- define "pake-operator.watchedNamespaceRules" -}}
# The four kinds: informers (list, watch), re-read before a status write
# (get), finalizers added and removed by merge patch (patch).
- apiGroups: ["pake.dev"]
  resources: ["healthchecks", "maintenancetasks", "backuppolicies", "incidents"]
  verbs: ["get", "list", "watch", "patch"]
# Sources open and update Incidents; the Incident controller deletes them
# once the incident policy's retention (deleteAfter) has passed.
- apiGroups: ["pake.dev"]
  resources: ["incidents"]
  verbs: ["create", "update", "delete"]
# Status is written through the status subresource only.
- apiGroups: ["pake.dev"]
  resources: ["healthchecks/status", "maintenancetasks/status", "backuppolicies/status", "incidents/status"]
  verbs: ["update", "patch"]
# Owners of Jobs (MaintenanceTask, BackupPolicy): an ownerReference with
# blockOwnerDeletion needs update on the owner's finalizers wherever the
# OwnerReferencesPermissionEnforcement admission plugin is on.
- apiGroups: ["pake.dev"]
  resources: ["maintenancetasks/finalizers", "backuppolicies/finalizers"]
  verbs: ["update"]
# Events on PAKE objects: created, then counted up by patch (get on a name clash).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["get", "create", "patch"]
# Task and backup runs: one Job per run, watched to completion, pruned by
# history limits; a backup Job is annotated once its outcome is in status (patch).
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# The pods of runs (termination message, status) and of probed workloads (restarts).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
# Referenced Secrets (connection strings, headers), read by name: get, or a
# list and watch with a metadata.name field selector.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
# A scanner report in a ConfigMap; volumes of log cleanup, capacity checks and backups.
- apiGroups: [""]
  resources: ["configmaps", "persistentvolumeclaims"]
  verbs: ["get"]
# Workloads of kubernetes health checks, by name (get) or by selector (list).
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["get", "list"]
# The identity of built-in runners that read the API (securityScan,
# capacityCheck with nodes): ServiceAccount, Role and RoleBinding `pake-runner`,
# created before the first such Job (AlreadyExists is success). The Role only
# grants "list pods", which the operator holds itself, so RBAC's escalation
# check needs neither `bind` nor `escalate`.
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["create"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["create"]
{{- end }}

{{/* Names of the Secrets the incident policy's receivers read their URLs from. */}}
{{- define "pake-operator.receiverSecrets" -}}
{{- $names := list }}
{{- range (.Values.incidents.policy.receivers | default list) }}
{{- with .urlSecretKeyRef }}{{ $names = append $names .name }}{{ end }}
{{- end }}
{{- toJson ($names | uniq) }}
{{- end }}
