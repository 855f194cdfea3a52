#!/bin/sh
# Deploys `forcehttps headers`, the header inspector, to Google Cloud Run:
# Cloud Build builds the repository's Dockerfile into Artifact Registry,
# then Cloud Run runs it with the trust preset and allowed hosts from an env
# file. With ALLOWED_HOSTS empty, the service's own URL and its domain
# mappings are allowed.
#
#   deploy/cloudrun/deploy.sh [ENV_FILE]
#   deploy/cloudrun/deploy.sh --help
#
# ENV_FILE defaults to cloudrun.env next to this script; see
# cloudrun.env.example for its keys.
#
# Needs the gcloud CLI, logged in (`gcloud auth login`), and on the project:
#   - the APIs run.googleapis.com, cloudbuild.googleapis.com and
#     artifactregistry.googleapis.com (gcloud services enable ...);
#   - for you: Cloud Run Source Developer (roles/run.sourceDeveloper),
#     Service Usage Consumer (roles/serviceusage.serviceUsageConsumer) and
#     Service Account User (roles/iam.serviceAccountUser) on the service's
#     runtime service account, or Owner;
#   - for the build service account (on new projects the Compute Engine
#     default service account, on older ones
#     PROJECT_NUMBER@cloudbuild.gserviceaccount.com): Cloud Run Builder
#     (roles/run.builder), which bundles the log, storage and Artifact
#     Registry write access the build needs. The first deploy creates the Artifact Registry repository
#     cloud-run-source-deploy in REGION, which needs permission to create
#     repositories (roles/artifactregistry.admin, or Owner) once.
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
root=$(CDPATH='' cd -- "$here/../.." && pwd)
env_file=${1:-$here/cloudrun.env}

die() {
	printf 'deploy: %s\n' "$*" >&2
	exit 2
}

case ${1:-} in
-h | --help)
	# The comment at the top of this file is the help.
	sed -n -e '2,/^set -eu/{' -e '/^set -eu/d' -e 's/^# \{0,1\}//' -e p -e '}' "$0"
	exit 0
	;;
esac
[ $# -le 1 ] || die "usage: $0 [ENV_FILE] (or --help)"
[ -f "$env_file" ] || die "$env_file not found: copy $here/cloudrun.env.example to $here/cloudrun.env and edit it"

PROJECT_ID='' SERVICE='' REGION='' TRUST=cloudrun ALLOWED_HOSTS='' TEMPORARY=false ALLOW_UNAUTHENTICATED=true

# Read KEY=VALUE lines without evaluating them: the file is data, not code.
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	line=$(printf '%s' "$line" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
	case $line in
	'' | '#'*) continue ;;
	*=*) ;;
	*) die "$env_file:$lineno: want KEY=VALUE, got: $line" ;;
	esac
	key=${line%%=*}
	value=${line#*=}
	case $value in
	\"*\") value=${value#\"} value=${value%\"} ;;
	\'*\') value=${value#\'} value=${value%\'} ;;
	esac
	case $key in
	PROJECT_ID) PROJECT_ID=$value ;;
	SERVICE) SERVICE=$value ;;
	REGION) REGION=$value ;;
	TRUST) TRUST=$value ;;
	ALLOWED_HOSTS) ALLOWED_HOSTS=$value ;;
	TEMPORARY) TEMPORARY=$value ;;
	ALLOW_UNAUTHENTICATED) ALLOW_UNAUTHENTICATED=$value ;;
	*) die "$env_file:$lineno: unknown key $key (known: PROJECT_ID SERVICE REGION TRUST ALLOWED_HOSTS TEMPORARY ALLOW_UNAUTHENTICATED)" ;;
	esac
done <"$env_file"

# matches VALUE ERE: true if the whole value matches.
matches() {
	printf '%s\n' "$1" | grep -Eqx -- "$2"
}

[ -n "$PROJECT_ID" ] || die "$env_file: PROJECT_ID is required"
# The example's placeholders: a copy deployed unedited must not go anywhere.
case $PROJECT_ID in
my-project-123 | my-project | your-project-id | project-id | PROJECT_ID)
	die "$env_file: PROJECT_ID $PROJECT_ID is the example's placeholder: set your project ID (gcloud projects list)"
	;;
esac
case $ALLOWED_HOSTS in
*example.com* | *example.org* | *example.net*)
	die "$env_file: ALLOWED_HOSTS $ALLOWED_HOSTS names an example domain: list your own domains, or leave it empty for the service URL and its domain mappings"
	;;
esac
[ -n "$SERVICE" ] || die "$env_file: SERVICE is required"
[ -n "$REGION" ] || die "$env_file: REGION is required"
matches "$PROJECT_ID" '[a-z][a-z0-9-]{4,28}[a-z0-9]|[a-z0-9.-]+:[a-z][a-z0-9-]{4,28}[a-z0-9]' ||
	die "PROJECT_ID $PROJECT_ID is not a project ID (6 to 30 lower-case letters, digits or dashes)"
matches "$SERVICE" '[a-z]([a-z0-9-]{0,47}[a-z0-9])?' ||
	die "SERVICE $SERVICE is not a service name (lower-case letters, digits and dashes, starting with a letter)"
matches "$REGION" '[a-z]+-[a-z]+[0-9]+' || die "REGION $REGION is not a region (like europe-west1)"
matches "$TRUST" '[a-z-]+' || die "TRUST $TRUST is not a preset name"
[ -z "$ALLOWED_HOSTS" ] || matches "$ALLOWED_HOSTS" '[A-Za-z0-9*.:, -]+' ||
	die "ALLOWED_HOSTS $ALLOWED_HOSTS: want comma-separated host names"
case $TEMPORARY in true | false) ;; *) die "TEMPORARY $TEMPORARY: want true or false" ;; esac
case $ALLOW_UNAUTHENTICATED in
true) auth=--allow-unauthenticated ;;
false) auth=--no-allow-unauthenticated ;;
*) die "ALLOW_UNAUTHENTICATED $ALLOW_UNAUTHENTICATED: want true or false" ;;
esac

command -v gcloud >/dev/null 2>&1 || die "gcloud not found: install the Google Cloud CLI"

# The environment goes through a YAML file: --set-env-vars splits on
# commas, which ALLOWED_HOSTS contains. The values were validated above and
# hold no quote.
env_yaml=$(mktemp "${TMPDIR:-/tmp}/forcehttps-env.XXXXXX")
trap 'rm -f "$env_yaml"' EXIT
trap 'exit 130' INT TERM
write_env() {
	{
		printf "FORCEHTTPS_TRUST: '%s'\n" "$TRUST"
		printf "FORCEHTTPS_ALLOWED_HOSTS: '%s'\n" "$1"
		printf "FORCEHTTPS_TEMPORARY: '%s'\n" "$TEMPORARY"
	} >"$env_yaml"
}

# service_url prints the service's URL, or nothing if it does not exist.
service_url() {
	gcloud run services describe "$SERVICE" --project="$PROJECT_ID" --region="$REGION" --format='value(status.url)' 2>/dev/null || true
}

# names_of URL prints the host of the service URL, then the domains mapped
# to the service, one per line; what does not look like a host name is
# left out. Domain mappings exist only in some regions: where the listing
# fails, there are none.
names_of() {
	h=${1#https://}
	h=${h%%/*}
	maps=$(gcloud run domain-mappings list --project="$PROJECT_ID" --region="$REGION" \
		--filter="spec.routeName=$SERVICE" --format='value(metadata.name)' 2>/dev/null) || maps=
	printf '%s\n%s\n' "$h" "$maps" | while IFS= read -r n; do
		n=$(printf '%s' "$n" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
		if [ -n "$n" ] && matches "$n" '[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?'; then
			printf '%s\n' "$n"
		fi
	done
}

# join_lines joins its input lines with commas, in order, without
# duplicates.
join_lines() {
	out=
	while IFS= read -r l; do
		case ",$out," in *",$l,"*) continue ;; esac
		out=${out:+$out,}$l
	done
	printf '%s' "$out"
}

hosts=$ALLOWED_HOSTS
auto=false
if [ -z "$ALLOWED_HOSTS" ]; then
	auto=true
	# A service that exists already has its URL: deploy once, with it.
	before=$(service_url)
	[ -z "$before" ] || hosts=$(names_of "$before" | join_lines)
fi
write_env "$hosts"

printf 'deploy: building %s and deploying it as %s in %s (project %s)\n' "$root" "$SERVICE" "$REGION" "$PROJECT_ID"
[ "$auto" = false ] || [ -z "$hosts" ] || printf 'deploy: ALLOWED_HOSTS is empty: allowing the service URL and its domain mappings: %s\n' "$hosts"
gcloud run deploy "$SERVICE" \
	--project="$PROJECT_ID" \
	--region="$REGION" \
	--source="$root" \
	--port=8080 \
	--env-vars-file="$env_yaml" \
	"$auth" \
	--quiet

url=$(gcloud run services describe "$SERVICE" --project="$PROJECT_ID" --region="$REGION" --format='value(status.url)')
[ -n "$url" ] || die "gcloud did not report the service URL"
host=${url#https://}

if [ "$auto" = true ]; then
	now=$(names_of "$url" | join_lines)
	if [ "$now" != "$hosts" ]; then
		# A new service: its URL is known only now. Updating the
		# environment makes a new revision; nothing is rebuilt.
		printf 'deploy: ALLOWED_HOSTS is empty: allowing the service URL and its domain mappings: %s\n' "$now"
		write_env "$now"
		gcloud run services update "$SERVICE" \
			--project="$PROJECT_ID" \
			--region="$REGION" \
			--env-vars-file="$env_yaml" \
			--quiet
	fi
fi

cat <<MSG

Deployed: $url

Check it:
  curl -sI $url/headers          # 200, with Strict-Transport-Security
  curl -sI http://$host/headers  # a redirect to https (on run.app, Google's front end sends it)
  browse $url/headers            # the decision panel: trusted-proxy:x-forwarded-proto, secure

Plain HTTP reaches the container only through a front end that forwards it,
such as an external Application Load Balancer with an HTTP front end; there
the redirect comes from forcehttps, for the hosts in ALLOWED_HOSTS:
  curl -sI http://YOUR-DOMAIN/headers   # 302 with TEMPORARY=true, 301 without
MSG
