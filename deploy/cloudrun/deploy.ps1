<#
.SYNOPSIS
Deploys `forcehttps headers`, the header inspector, to Google Cloud Run.

.DESCRIPTION
Cloud Build builds the repository's Dockerfile into Artifact Registry, then
Cloud Run runs it with the trust preset and allowed hosts from an env file:
the Windows twin of deploy.sh, reading the same file. With ALLOWED_HOSTS
empty, the service's own URL and its domain mappings are allowed.

Needs the gcloud CLI, logged in (gcloud auth login), and on the project:
- the APIs run.googleapis.com, cloudbuild.googleapis.com and
  artifactregistry.googleapis.com (gcloud services enable ...);
- for you: Cloud Run Source Developer (roles/run.sourceDeveloper), Service
  Usage Consumer (roles/serviceusage.serviceUsageConsumer) and Service
  Account User (roles/iam.serviceAccountUser) on the service's runtime
  service account, or Owner;
- for the build service account (on new projects the Compute Engine default
  service account, on older ones PROJECT_NUMBER@cloudbuild.gserviceaccount.com):
  Cloud Run Builder (roles/run.builder), which bundles the log, storage and
  Artifact Registry write access the build needs. The first deploy creates
  the Artifact Registry repository cloud-run-source-deploy in REGION, which
  needs permission to create repositories (roles/artifactregistry.admin, or
  Owner) once.

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
# The example's placeholders: a copy deployed unedited must not go anywhere.
$placeholderProjects = @('my-project-123', 'my-project', 'your-project-id', 'project-id', 'PROJECT_ID')
if ($placeholderProjects -ccontains $settings.PROJECT_ID) {
    Fail "${EnvFile}: PROJECT_ID $($settings.PROJECT_ID) is the example's placeholder: set your project ID (gcloud projects list)"
}
if ($settings.ALLOWED_HOSTS -match 'example\.(com|org|net)') {
    Fail "${EnvFile}: ALLOWED_HOSTS $($settings.ALLOWED_HOSTS) names an example domain: list your own domains, or leave it empty for the service URL and its domain mappings"
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
function Write-EnvFile([string]$Path, [string]$Hosts) {
    @(
        "FORCEHTTPS_TRUST: '$($settings.TRUST)'"
        "FORCEHTTPS_ALLOWED_HOSTS: '$Hosts'"
        "FORCEHTTPS_TEMPORARY: '$($settings.TEMPORARY)'"
    ) | Set-Content -LiteralPath $Path -Encoding ascii
}

# The service's URL, or '' if it does not exist.
function Get-ServiceUrl {
    # Windows PowerShell turns a native command's redirected stderr into
    # errors, which 'Stop' would make fatal: a missing service is expected.
    $ErrorActionPreference = 'Continue'
    $out = & gcloud run services describe $settings.SERVICE "--project=$($settings.PROJECT_ID)" "--region=$($settings.REGION)" '--format=value(status.url)' 2>$null
    if ($LASTEXITCODE -ne 0) { return '' }
    return "$out".Trim()
}

# The host of the service URL, then the domains mapped to the service,
# comma-separated, without duplicates; what does not look like a host name
# is left out. Domain mappings exist only in some regions: where the
# listing fails, there are none.
function Get-ServiceNames([string]$Url) {
    $ErrorActionPreference = 'Continue' # as in Get-ServiceUrl
    $names = New-Object System.Collections.Generic.List[string]
    $names.Add((($Url -replace '^https://', '') -split '/')[0])
    $maps = & gcloud run domain-mappings list "--project=$($settings.PROJECT_ID)" "--region=$($settings.REGION)" "--filter=spec.routeName=$($settings.SERVICE)" '--format=value(metadata.name)' 2>$null
    if ($LASTEXITCODE -eq 0) {
        foreach ($m in @($maps)) { $names.Add("$m".Trim()) }
    }
    $global:LASTEXITCODE = 0
    $out = New-Object System.Collections.Generic.List[string]
    foreach ($n in $names) {
        if ((Test-Whole $n '[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?') -and -not ($out -ccontains $n)) { $out.Add($n) }
    }
    return ($out -join ',')
}

$hosts = $settings.ALLOWED_HOSTS
$auto = $settings.ALLOWED_HOSTS -eq ''
if ($auto) {
    # A service that exists already has its URL: deploy once, with it.
    $before = Get-ServiceUrl
    if ($before -ne '') { $hosts = Get-ServiceNames $before }
}

$envYaml = New-TemporaryFile
$global:LASTEXITCODE = 0
$deployExit = 1
try {
    Write-EnvFile $envYaml.FullName $hosts

    Write-Host "deploy: building $root and deploying it as $($settings.SERVICE) in $($settings.REGION) (project $($settings.PROJECT_ID))"
    if ($auto -and $hosts -ne '') { Write-Host "deploy: ALLOWED_HOSTS is empty: allowing the service URL and its domain mappings: $hosts" }
    & gcloud run deploy $settings.SERVICE `
        "--project=$($settings.PROJECT_ID)" `
        "--region=$($settings.REGION)" `
        "--source=$root" `
        '--port=8080' `
        "--env-vars-file=$($envYaml.FullName)" `
        $auth `
        '--quiet'
    $deployExit = $LASTEXITCODE
    if ($deployExit -eq 0) {
        $url = & gcloud run services describe $settings.SERVICE "--project=$($settings.PROJECT_ID)" "--region=$($settings.REGION)" '--format=value(status.url)'
        $deployExit = $LASTEXITCODE
    }
    if ($deployExit -eq 0) {
        $url = "$url".Trim()
        if ($url -eq '') { Fail 'gcloud did not report the service URL' }
        if ($auto) {
            $now = Get-ServiceNames $url
            if ($now -cne $hosts) {
                # A new service: its URL is known only now. Updating the
                # environment makes a new revision; nothing is rebuilt.
                Write-Host "deploy: ALLOWED_HOSTS is empty: allowing the service URL and its domain mappings: $now"
                Write-EnvFile $envYaml.FullName $now
                & gcloud run services update $settings.SERVICE `
                    "--project=$($settings.PROJECT_ID)" `
                    "--region=$($settings.REGION)" `
                    "--env-vars-file=$($envYaml.FullName)" `
                    '--quiet'
                $deployExit = $LASTEXITCODE
            }
        }
    }
}
finally {
    Remove-Item -LiteralPath $envYaml.FullName -Force -ErrorAction SilentlyContinue
}
if ($deployExit -ne 0) { exit $deployExit }
$hostName = $url -replace '^https://', ''

Write-Host @"

Deployed: $url

Check it (curl.exe, not PowerShell's curl alias):
  curl.exe -sI $url/headers          # 200, with Strict-Transport-Security
  curl.exe -sI http://$hostName/headers  # a redirect to https (on run.app, Google's front end sends it)
  start $url/headers                 # the decision panel: trusted-proxy:x-forwarded-proto, secure

Plain HTTP reaches the container only through a front end that forwards it,
such as an external Application Load Balancer with an HTTP front end; there
the redirect comes from forcehttps, for the hosts in ALLOWED_HOSTS:
  curl.exe -sI http://YOUR-DOMAIN/headers   # 302 with TEMPORARY=true, 301 without
"@
