<#
.SYNOPSIS
Deploys `forcehttps headers`, the header inspector, to Google Cloud Run.

.DESCRIPTION
Cloud Build builds the repository's Dockerfile, then Cloud Run runs it with
the trust preset and allowed hosts from an env file: the Windows twin of
deploy.sh, reading the same file. Needs the gcloud CLI, logged in
(gcloud auth login), with the Cloud Run and Cloud Build APIs enabled.

.PARAMETER EnvFile
The settings file; default: cloudrun.env next to this script. See
cloudrun.env.example for its keys.

.EXAMPLE
powershell -ExecutionPolicy Bypass -File deploy\cloudrun\deploy.ps1
#>
param(
    [string]$EnvFile = (Join-Path $PSScriptRoot 'cloudrun.env')
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

function Fail([string]$Message) {
    [Console]::Error.WriteLine("deploy: $Message")
    exit 2
}

$root = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).Path
if (-not (Test-Path -LiteralPath $EnvFile -PathType Leaf)) {
    Fail "$EnvFile not found: copy $PSScriptRoot\cloudrun.env.example to $PSScriptRoot\cloudrun.env and edit it"
}

$settings = [ordered]@{
    PROJECT_ID            = ''
    SERVICE               = ''
    REGION                = ''
    TRUST                 = 'cloudrun'
    ALLOWED_HOSTS         = ''
    TEMPORARY             = 'false'
    ALLOW_UNAUTHENTICATED = 'true'
}

# Read KEY=VALUE lines without evaluating them: the file is data, not code.
$lineno = 0
foreach ($raw in Get-Content -LiteralPath $EnvFile) {
    $lineno++
    $line = $raw.Trim()
    if ($line -eq '' -or $line.StartsWith('#')) { continue }
    $eq = $line.IndexOf('=')
    if ($eq -lt 1) { Fail "${EnvFile}:${lineno}: want KEY=VALUE, got: $line" }
    $key = $line.Substring(0, $eq)
    $value = $line.Substring($eq + 1)
    if ($value.Length -ge 2 -and (($value.StartsWith('"') -and $value.EndsWith('"')) -or ($value.StartsWith("'") -and $value.EndsWith("'")))) {
        $value = $value.Substring(1, $value.Length - 2)
    }
    if (-not ($settings.Keys -ccontains $key)) {
        Fail "${EnvFile}:${lineno}: unknown key $key (known: $($settings.Keys -join ' '))"
    }
    $settings[$key] = $value
}

function Test-Whole([string]$Value, [string]$Pattern) {
    return $Value -cmatch "^(?:$Pattern)$"
}

foreach ($k in 'PROJECT_ID', 'SERVICE', 'REGION') {
    if ($settings[$k] -eq '') { Fail "${EnvFile}: $k is required" }
}
if (-not (Test-Whole $settings.PROJECT_ID '[a-z][a-z0-9-]{4,28}[a-z0-9]|[a-z0-9.-]+:[a-z][a-z0-9-]{4,28}[a-z0-9]')) {
    Fail "PROJECT_ID $($settings.PROJECT_ID) is not a project ID (6 to 30 lower-case letters, digits or dashes)"
}
if (-not (Test-Whole $settings.SERVICE '[a-z]([a-z0-9-]{0,47}[a-z0-9])?')) {
    Fail "SERVICE $($settings.SERVICE) is not a service name (lower-case letters, digits and dashes, starting with a letter)"
}
if (-not (Test-Whole $settings.REGION '[a-z]+-[a-z]+[0-9]+')) { Fail "REGION $($settings.REGION) is not a region (like europe-west1)" }
if (-not (Test-Whole $settings.TRUST '[a-z-]+')) { Fail "TRUST $($settings.TRUST) is not a preset name" }
if ($settings.ALLOWED_HOSTS -ne '' -and -not (Test-Whole $settings.ALLOWED_HOSTS '[A-Za-z0-9*.:, -]+')) {
    Fail "ALLOWED_HOSTS $($settings.ALLOWED_HOSTS): want comma-separated host names"
}
if ($settings.TEMPORARY -cnotin 'true', 'false') { Fail "TEMPORARY $($settings.TEMPORARY): want true or false" }
switch -CaseSensitive ($settings.ALLOW_UNAUTHENTICATED) {
    'true' { $auth = '--allow-unauthenticated' }
    'false' { $auth = '--no-allow-unauthenticated' }
    default { Fail "ALLOW_UNAUTHENTICATED $($settings.ALLOW_UNAUTHENTICATED): want true or false" }
}

if (-not (Get-Command gcloud -ErrorAction SilentlyContinue)) { Fail 'gcloud not found: install the Google Cloud CLI' }

# The environment goes through a YAML file: --set-env-vars splits on commas,
# which ALLOWED_HOSTS contains (and gcloud's escape, ^, is special to cmd.exe,
# which runs gcloud.cmd). The values were validated above and hold no quote.
$envYaml = New-TemporaryFile
$global:LASTEXITCODE = 0
$deployExit = 1
try {
    @(
        "FORCEHTTPS_TRUST: '$($settings.TRUST)'"
        "FORCEHTTPS_ALLOWED_HOSTS: '$($settings.ALLOWED_HOSTS)'"
        "FORCEHTTPS_TEMPORARY: '$($settings.TEMPORARY)'"
    ) | Set-Content -LiteralPath $envYaml.FullName -Encoding ascii

    Write-Host "deploy: building $root and deploying it as $($settings.SERVICE) in $($settings.REGION) (project $($settings.PROJECT_ID))"
    & gcloud run deploy $settings.SERVICE `
        "--project=$($settings.PROJECT_ID)" `
        "--region=$($settings.REGION)" `
        "--source=$root" `
        '--port=8080' `
        "--env-vars-file=$($envYaml.FullName)" `
        $auth `
        '--quiet'
    $deployExit = $LASTEXITCODE
}
finally {
    Remove-Item -LiteralPath $envYaml.FullName -Force -ErrorAction SilentlyContinue
}
if ($deployExit -ne 0) { exit $deployExit }

$url = & gcloud run services describe $settings.SERVICE "--project=$($settings.PROJECT_ID)" "--region=$($settings.REGION)" '--format=value(status.url)'
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
$url = "$url".Trim()
if ($url -eq '') { Fail 'gcloud did not report the service URL' }
$hostName = $url -replace '^https://', ''

Write-Host @"

Deployed: $url

Check it (curl.exe, not PowerShell's curl alias):
  curl.exe -sI $url/headers          # 200, with Strict-Transport-Security
  curl.exe -sI http://$hostName/headers  # a redirect to https (on run.app, Google's front end sends it)
  start $url/headers                 # the decision panel: trusted-proxy:x-forwarded-proto, secure

For a custom domain in ALLOWED_HOSTS, the plain-HTTP redirect comes from forcehttps:
  curl.exe -sI http://YOUR-DOMAIN/headers   # 302 with TEMPORARY=true, 301 without
"@
