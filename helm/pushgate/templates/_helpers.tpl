{{/*
Chart name, for the app.kubernetes.io/name label.
*/}}
{{- define "pushgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Object names come from the release, so two releases in one namespace never collide. Truncated to 63
characters (DNS label limit).
*/}}
{{- define "pushgate.fullname" -}}
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

{{- define "pushgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pushgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pushgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pushgate.labels" -}}
helm.sh/chart: {{ include "pushgate.chart" . }}
{{ include "pushgate.selectorLabels" . }}
app.kubernetes.io/version: {{ include "pushgate.imageTag" . | trunc 63 | quote }}
app.kubernetes.io/part-of: pushgate
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Label key that admits a client pod through the NetworkPolicy when networkPolicy.allowExternal is false
(label names are limited to 63 characters).
*/}}
{{- define "pushgate.clientLabel" -}}
{{- printf "%s-client" (include "pushgate.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}

{{- define "pushgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pushgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "pushgate.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion | toString }}
{{- end }}

{{- define "pushgate.image" -}}
{{- $repo := .Values.image.repository }}
{{- if .Values.image.registry }}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (include "pushgate.imageTag" .) }}
{{- end }}
{{- end }}

{{- define "pushgate.testImage" -}}
{{- $repo := .Values.testImage.repository }}
{{- if .Values.testImage.registry }}
{{- $repo = printf "%s/%s" .Values.testImage.registry .Values.testImage.repository }}
{{- end }}
{{- if .Values.testImage.digest }}
{{- printf "%s@%s" $repo .Values.testImage.digest }}
{{- else }}
{{- printf "%s:%s" $repo (toString .Values.testImage.tag) }}
{{- end }}
{{- end }}

{{/*
The container port: config.core.port, which must be a TCP port (a unix socket cannot be probed or served).
*/}}
{{- define "pushgate.port" -}}
{{- $port := toString .Values.config.core.port }}
{{- if not (regexMatch "^[0-9]+$" $port) }}
{{- fail (printf "config.core.port must be a TCP port number in Kubernetes, got %q" $port) }}
{{- end }}
{{- if or (lt (atoi $port) 1) (gt (atoi $port) 65535) }}
{{- fail (printf "config.core.port %s is out of range" $port) }}
{{- end }}
{{- $port }}
{{- end }}

{{/*
Replicas running in the steady state: what decides whether a PodDisruptionBudget makes sense.
*/}}
{{- define "pushgate.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ int .Values.autoscaling.minReplicas }}{{ else }}{{ int .Values.replicaCount }}{{ end }}
{{- end }}

{{/*
The time shutdown needs: the preStop sleep runs before SIGTERM, then the gateway serves (readiness 503)
for shutdown_delay and drains its queue for at most shutdown_timeout.
*/}}
{{- define "pushgate.shutdownBudget" -}}
{{- $core := .Values.config.core }}
{{- $delay := ternary 0 $core.shutdown_delay (kindIs "invalid" $core.shutdown_delay) }}
{{- $timeout := ternary 10 $core.shutdown_timeout (kindIs "invalid" $core.shutdown_timeout) }}
{{- add (int .Values.preStopSleepSeconds) (int $delay) (int $timeout) }}
{{- end }}

{{- define "pushgate.terminationGracePeriodSeconds" -}}
{{- $budget := int (include "pushgate.shutdownBudget" .) }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $budget (int .Values.terminationGraceMarginSeconds) }}
{{- else }}
{{- $grace := int .Values.terminationGracePeriodSeconds }}
{{- if le $grace $budget }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds + config.core.shutdown_delay + config.core.shutdown_timeout (%d), or the kubelet kills the gateway while it drains its queue" $grace $budget) }}
{{- end }}
{{- $grace }}
{{- end }}
{{- end }}

{{/*
True (non-empty) when the gateway gets credentials: without any it refuses to start, or runs its embedded simulator (config.core.simulator=auto).
*/}}
{{- define "pushgate.hasCredentials" -}}
{{- $ios := .Values.config.ios }}
{{- if or .Values.credentials.existingSecret $ios.pem_cert_path $ios.token_auth_key_path .Values.config.android.service_account_path }}true{{ end }}
{{- end }}

{{/*
Secret items mounted as files: a list of keys, from credentials.apnsAuth and credentials.fcm.
*/}}
{{- define "pushgate.secretItems" -}}
{{- include "pushgate.secretItemsOf" (dict "apnsAuth" .Values.credentials.apnsAuth "fcm" .Values.credentials.fcm "keys" .Values.credentials.keys) }}
{{- end }}

{{/*
The Secret items one credential set needs, from a dict with apnsAuth, fcm and keys (credentials.keys).
*/}}
{{- define "pushgate.secretItemsOf" -}}
{{- $c := . }}
{{- $items := list }}
{{- if eq $c.apnsAuth "token" }}
{{- $items = append $items $c.keys.apnsKey }}
{{- else if eq $c.apnsAuth "certificate" }}
{{- $items = append $items $c.keys.apnsCert }}
{{- $items = append $items $c.keys.apnsCertKey }}
{{- end }}
{{- if $c.fcm }}
{{- $items = append $items $c.keys.fcmServiceAccount }}
{{- end }}
{{- toJson $items }}
{{- end }}

{{/*
The named apps, sorted by name, each with its defaults filled in: apnsAuth token, fcm true, ios and android
settings, the directory its Secret is mounted at, its volume name and its environment-variable prefix.
*/}}
{{- define "pushgate.apps" -}}
{{- $apps := list }}
{{- $root := . }}
{{- range $name := keys (.Values.apps | default dict) | sortAlpha }}
{{- $a := merge (deepCopy (get $root.Values.apps $name | default dict)) (dict "apnsAuth" "token" "ios" dict "android" dict) }}
{{- /* merge would take an explicit false for a missing value and put the default back. */}}
{{- $_ := set $a "fcm" (ternary $a.fcm true (hasKey $a "fcm")) }}
{{- $_ := set $a "name" $name }}
{{- $_ := set $a "dir" (printf "%s/apps/%s" (trimSuffix "/" $root.Values.credentials.mountPath) $name) }}
{{- $_ := set $a "volume" (printf "app-%s" (replace "_" "-" $name)) }}
{{- $_ := set $a "envPrefix" (printf "PUSHGATE_APPS_%s_" (upper $name)) }}
{{- $_ := set $a "items" (include "pushgate.secretItemsOf" (dict "apnsAuth" $a.apnsAuth "fcm" $a.fcm "keys" $root.Values.credentials.keys) | fromJsonArray) }}
{{- $apps = append $apps $a }}
{{- end }}
{{- toJson $apps }}
{{- end }}

{{/*
The gateway's configuration sections the chart renders from config (apps come from the apps value).
*/}}
{{- define "pushgate.configSections" -}}
{{- toJson (list "core" "ios" "android" "queue" "auth" "feedback" "log") }}
{{- end }}

{{/*
Checks that stop a broken release at render time instead of a crash-looping pod.
*/}}
{{- define "pushgate.validate" -}}
{{- $known := include "pushgate.configSections" . | fromJsonArray }}
{{- range $section, $_ := .Values.config }}
{{- if not (has $section $known) }}
{{- fail (printf "config.%s is not a pushgate configuration section (expected one of %s)" $section (join ", " $known)) }}
{{- end }}
{{- end }}
{{- $cfg := .Values.config }}
{{- if and $cfg.auth $cfg.auth.api_keys }}
{{- fail "config.auth.api_keys would land in a ConfigMap: set PUSHGATE_AUTH_API_KEYS through extraEnv from a Secret, or mount a key file and set config.auth.api_keys_path" }}
{{- end }}
{{- if and $cfg.feedback $cfg.feedback.webhook_secret }}
{{- fail "config.feedback.webhook_secret would land in a ConfigMap: set PUSHGATE_FEEDBACK_WEBHOOK_SECRET through extraEnv from a Secret" }}
{{- end }}
{{- range $k, $v := $cfg.queue | default dict }}
{{- if eq $k "redis_url" }}
{{- fail "config.queue.redis_url would land in a ConfigMap: put the URL in a Secret and set queue.redis.existingSecret" }}
{{- else if has $k (list "backend" "redis_prefix" "claim_idle" "dead_letter_ttl") }}
{{- fail (printf "config.queue.%s is set by the queue values (queue.backend, queue.redis.prefix, queue.redis.claimIdleSeconds, queue.redis.deadLetterTtlSeconds)" $k) }}
{{- end }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled $cfg.auth $cfg.auth.protect_stats (not .Values.metrics.serviceMonitor.authorization.secretName) }}
{{- fail "config.auth.protect_stats makes /metrics require an API key: set metrics.serviceMonitor.authorization.secretName (a Secret with a key for Prometheus), or every scrape gets 401" }}
{{- end }}
{{- if .Values.config.ios.pem_key_passphrase }}
{{- fail "config.ios.pem_key_passphrase would land in a ConfigMap: put it in credentials.existingSecret under credentials.keys.apnsCertKeyPassphrase" }}
{{- end }}
{{- range .Values.extraEnv }}
{{- if eq .name "PUSHGATE_CORE_PORT" }}
{{- fail "extraEnv PUSHGATE_CORE_PORT would move the gateway off the container port and probes: set config.core.port" }}
{{- end }}
{{- end }}
{{- if not (has .Values.queue.backend (list "memory" "redis")) }}
{{- fail (printf "queue.backend must be memory or redis, got %q" .Values.queue.backend) }}
{{- end }}
{{- $r := .Values.queue.redis }}
{{- if and (eq .Values.queue.backend "redis") (not $r.existingSecret) (not $r.sentinel.addresses) (not $r.cluster.nodes) }}
{{- fail "queue.backend redis needs queue.redis.existingSecret: a Secret holding the Redis URL under queue.redis.urlKey (or set queue.redis.sentinel.addresses or queue.redis.cluster.nodes)" }}
{{- end }}
{{- if and $r.sentinel.addresses $r.cluster.nodes }}
{{- fail "queue.redis.sentinel.addresses and queue.redis.cluster.nodes: set only one of them" }}
{{- end }}
{{- if and $r.sentinel.addresses (not $r.sentinel.masterName) }}
{{- fail "queue.redis.sentinel.masterName is required with queue.redis.sentinel.addresses" }}
{{- end }}
{{- $c := .Values.credentials }}
{{- if not (has $c.apnsAuth (list "token" "certificate" "none")) }}
{{- fail (printf "credentials.apnsAuth must be token, certificate or none, got %q" $c.apnsAuth) }}
{{- end }}
{{- if and $c.existingSecret (eq $c.apnsAuth "none") (not $c.fcm) }}
{{- fail "credentials.existingSecret is set but neither APNs (credentials.apnsAuth) nor FCM (credentials.fcm) is read from it" }}
{{- end }}
{{- if $c.existingSecret }}
{{- range $item := include "pushgate.secretItems" . | fromJsonArray }}
{{- if not $item }}
{{- fail "a credentials.keys entry needed by credentials.apnsAuth / credentials.fcm is empty" }}
{{- end }}
{{- end }}
{{- end }}
{{- $appKeys := list "existingSecret" "apnsAuth" "fcm" "in_flight_max" "ios" "android" }}
{{- range $name, $app := .Values.apps | default dict }}
{{- if or (not (regexMatch "^[a-z0-9_]+$" $name)) (eq $name "default") }}
{{- fail (printf "apps.%s: app names are lower-case letters, digits and underscores, and not \"default\"" $name) }}
{{- end }}
{{- range $k, $_ := $app }}
{{- if eq $k "api_keys" }}
{{- fail (printf "apps.%s.api_keys would land in a ConfigMap: set PUSHGATE_APPS_%s_API_KEYS through extraEnv from a Secret" $name (upper $name)) }}
{{- else if not (has $k $appKeys) }}
{{- fail (printf "apps.%s.%s is not an app setting (expected one of %s)" $name $k (join ", " $appKeys)) }}
{{- end }}
{{- end }}
{{- if not $app.existingSecret }}
{{- fail (printf "apps.%s needs existingSecret: the Secret holding its APNs/FCM credentials" $name) }}
{{- end }}
{{- if not (has ($app.apnsAuth | default "token") (list "token" "certificate" "none")) }}
{{- fail (printf "apps.%s.apnsAuth must be token, certificate or none, got %q" $name $app.apnsAuth) }}
{{- end }}
{{- if and $app.ios $app.ios.pem_key_passphrase }}
{{- fail (printf "apps.%s.ios.pem_key_passphrase would land in a ConfigMap: put it in the app's Secret under credentials.keys.apnsCertKeyPassphrase" $name) }}
{{- end }}
{{- end }}
{{- with .Values.autoscaling.queueDepth }}
{{- if and .enabled (not (has (.type | default "") (list "" "Pods" "External"))) }}
{{- fail (printf "autoscaling.queueDepth.type must be Pods or External, got %q" .type) }}
{{- end }}
{{- end }}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) }}
{{- fail "autoscaling.maxReplicas must be >= autoscaling.minReplicas" }}
{{- end }}
{{- $_ := include "pushgate.port" . }}
{{- $_ := include "pushgate.terminationGracePeriodSeconds" . }}
{{- end }}

{{/*
A TOML value: strings as basic strings (JSON string escapes are valid TOML), whole numbers without the
float formatting Helm's values parsing would give them.
*/}}
{{- define "pushgate.tomlValue" -}}
{{- if kindIs "string" . }}
{{- toJson . }}
{{- else if kindIs "bool" . }}
{{- ternary "true" "false" . }}
{{- else if or (kindIs "float64" .) (kindIs "float32" .) }}
{{- if eq (float64 .) (float64 (int64 .)) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- else if or (kindIs "int" .) (kindIs "int64" .) }}
{{- . }}
{{- else }}
{{- fail (printf "config values must be strings, numbers or booleans, got %s" (kindOf .)) }}
{{- end }}
{{- end }}

{{/*
pushgate.toml: the config values with the credential file paths pointed at the mounted Secret. Sections and
keys are sorted so the checksum only changes when the configuration does.
*/}}
{{- define "pushgate.toml" -}}
{{- $cfg := deepCopy .Values.config }}
{{- $c := .Values.credentials }}
{{- $sections := include "pushgate.configSections" . | fromJsonArray }}
{{- range $s := $sections }}
{{- if not (get $cfg $s) }}{{ $_ := set $cfg $s dict }}{{ end }}
{{- end }}
{{- $_ := unset $cfg.ios "pem_key_passphrase" }}
{{- if $c.existingSecret }}
{{- $dir := trimSuffix "/" $c.mountPath }}
{{- if eq $c.apnsAuth "token" }}
{{- $_ := set $cfg.ios "token_auth_key_path" (printf "%s/%s" $dir $c.keys.apnsKey) }}
{{- $_ := set $cfg.ios "pem_cert_path" "" }}
{{- $_ := set $cfg.ios "pem_key_path" "" }}
{{- else if eq $c.apnsAuth "certificate" }}
{{- $_ := set $cfg.ios "pem_cert_path" (printf "%s/%s" $dir $c.keys.apnsCert) }}
{{- $_ := set $cfg.ios "pem_key_path" (printf "%s/%s" $dir $c.keys.apnsCertKey) }}
{{- /* The gateway counts a key id or team id as token auth and refuses both methods at once. */}}
{{- $_ := set $cfg.ios "token_auth_key_path" "" }}
{{- $_ := set $cfg.ios "token_auth_key_id" "" }}
{{- $_ := set $cfg.ios "token_auth_team_id" "" }}
{{- else }}
{{- /* The gateway refuses iOS enabled without credentials once any credentials are given. */}}
{{- $_ := set $cfg.ios "enabled" false }}
{{- end }}
{{- if $c.fcm }}
{{- $_ := set $cfg.android "service_account_path" (printf "%s/%s" $dir $c.keys.fcmServiceAccount) }}
{{- else }}
{{- $_ := set $cfg.android "enabled" false }}
{{- end }}
{{- end }}
{{- $_ := set $cfg "queue" (merge (include "pushgate.redisKeys" . | fromJson) $cfg.queue) }}
{{- range $i, $s := $sections }}
{{- if $i }}{{ "\n" }}{{ end }}
{{- printf "[%s]\n" $s }}
{{- include "pushgate.tomlKeys" (get $cfg $s) }}
{{- end }}
{{- range $a := include "pushgate.apps" . | fromJsonArray }}
{{- printf "\n[apps.%s]\n" $a.name }}
{{- if not (kindIs "invalid" $a.in_flight_max) }}
{{- printf "in_flight_max = %s\n" (include "pushgate.tomlValue" $a.in_flight_max) }}
{{- end }}
{{- if ne $a.apnsAuth "none" }}
{{- $ios := omit $a.ios "pem_cert_path" "pem_key_path" "token_auth_key_path" "pem_key_passphrase" }}
{{- if eq $a.apnsAuth "token" }}
{{- $_ := set $ios "token_auth_key_path" (printf "%s/%s" $a.dir $c.keys.apnsKey) }}
{{- else }}
{{- $ios = omit $ios "token_auth_key_id" "token_auth_team_id" }}
{{- $_ := set $ios "pem_cert_path" (printf "%s/%s" $a.dir $c.keys.apnsCert) }}
{{- $_ := set $ios "pem_key_path" (printf "%s/%s" $a.dir $c.keys.apnsCertKey) }}
{{- end }}
{{- printf "\n[apps.%s.ios]\n" $a.name }}
{{- include "pushgate.tomlKeys" $ios }}
{{- end }}
{{- if $a.fcm }}
{{- $android := omit $a.android "service_account_path" }}
{{- $_ := set $android "service_account_path" (printf "%s/%s" $a.dir $c.keys.fcmServiceAccount) }}
{{- printf "\n[apps.%s.android]\n" $a.name }}
{{- include "pushgate.tomlKeys" $android }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The Redis topology and WAIT settings of the `[queue]` table (as JSON), only those that differ from the gateway's
defaults. Passwords and the URL come from the Secret through the environment.
*/}}
{{- define "pushgate.redisKeys" -}}
{{- $r := .Values.queue.redis }}
{{- if eq .Values.queue.backend "redis" }}
{{- $keys := dict }}
{{- with $r.sentinel.addresses }}{{ $_ := set $keys "redis_sentinels" (join "," .) }}{{ end }}
{{- with $r.sentinel.masterName }}{{ $_ := set $keys "redis_sentinel_master" . }}{{ end }}
{{- if $r.sentinel.tls }}{{ $_ := set $keys "redis_sentinel_tls" true }}{{ end }}
{{- with $r.cluster.nodes }}{{ $_ := set $keys "redis_cluster_nodes" (join "," .) }}{{ end }}
{{- with $r.username }}{{ $_ := set $keys "redis_username" . }}{{ end }}
{{- if $r.tls }}{{ $_ := set $keys "redis_tls" true }}{{ end }}
{{- if $r.waitReplicas }}
{{- $_ := set $keys "redis_wait_replicas" $r.waitReplicas }}
{{- $_ := set $keys "redis_wait_timeout_ms" $r.waitTimeoutMs }}
{{- end }}
{{- toJson $keys }}
{{- else }}
{{- toJson dict }}
{{- end }}
{{- end }}

{{/*
The keys of one TOML table, sorted; null values are left out so the gateway's default applies.
*/}}
{{- define "pushgate.tomlKeys" -}}
{{- range $k := keys . | sortAlpha }}
{{- $v := get $ $k }}
{{- if not (kindIs "invalid" $v) }}
{{- printf "%s = %s\n" $k (include "pushgate.tomlValue" $v) }}
{{- end }}
{{- end }}
{{- end }}
