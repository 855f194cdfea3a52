// Tests of the deployment kit: the Dockerfile, .dockerignore and the Cloud
// Run scripts. Neither Docker nor gcloud runs here, so the Dockerfile is
// checked by parsing it, and deploy.sh runs for real against a fake gcloud
// that records its arguments.
package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = ".."

// fakeGcloud records each invocation in $GCLOUD_LOG: a "---" line, then one
// argument per line, then the content of an --env-vars-file. "run deploy"
// fails when $GCLOUD_FAIL is set, and otherwise creates the service; "run
// services describe" prints the service URL once the service exists (or
// from the start with $GCLOUD_EXISTS), and fails before; "run
// domain-mappings list" prints $GCLOUD_MAPPINGS, or fails with
// $GCLOUD_MAPPINGS_FAIL.
const fakeGcloud = `#!/bin/sh
log=${GCLOUD_LOG:?}
echo --- >>"$log"
for a in "$@"; do
	printf '%s\n' "$a" >>"$log"
done
for a in "$@"; do
	case $a in
	--env-vars-file=*)
		f=${a#--env-vars-file=}
		echo "[env-vars-file]" >>"$log"
		cat "$f" >>"$log"
		echo "$f" >"$log.envfile"
		;;
	esac
done
case "$1 $2 $3" in
"run deploy "*)
	[ -z "${GCLOUD_FAIL:-}" ] || { echo "ERROR: (gcloud.run.deploy) boom" >&2; exit 1; }
	: >"$log.deployed"
	;;
"run services describe")
	if [ -z "${GCLOUD_EXISTS:-}" ] && [ ! -e "$log.deployed" ]; then
		echo "ERROR: (gcloud.run.services.describe) Cannot find service [$4]" >&2
		exit 1
	fi
	echo "https://forcehttps-headers-123456789.europe-west1.run.app"
	;;
"run domain-mappings list")
	[ -z "${GCLOUD_MAPPINGS_FAIL:-}" ] || { echo "ERROR: (gcloud.run.domain-mappings.list) Domain mappings are not available in this region" >&2; exit 1; }
	printf '%s' "${GCLOUD_MAPPINGS:-}"
	;;
esac
`

// kit copies deploy.sh into a fresh tree (<tmp>/deploy/cloudrun/) with the
// env file given, and a fake gcloud in <tmp>/bin. It returns the tree's
// root and the directory of the fake.
func kit(t *testing.T, env string) (root, bin string) {
	t.Helper()
	root = t.TempDir()
	dir := filepath.Join(root, "deploy", "cloudrun")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "cloudrun", "deploy.sh"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "deploy.sh"), string(script), 0o755)
	if env != "" {
		write(t, filepath.Join(dir, "cloudrun.env"), env, 0o644)
	}
	bin = filepath.Join(root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(bin, "gcloud"), fakeGcloud, 0o755)
	// Only the tools the scripts use: a gcloud installed on the machine
	// must never run.
	for _, tool := range scriptTools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s is not on PATH: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return root, bin
}

// scriptTools are the commands deploy.sh and the fake gcloud run.
var scriptTools = []string{"sh", "dirname", "sed", "grep", "mktemp", "rm", "cat"}

func write(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

// shells are the POSIX shells deploy.sh must run under, as present.
func shells(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, sh := range []string{"sh", "dash", "bash", "busybox"} {
		if p, err := exec.LookPath(sh); err == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Skip("no POSIX shell")
	}
	return out
}

type result struct {
	code           int
	stdout, stderr string
	calls          [][]string // gcloud invocations
	envYAMLs       []string   // content of the --env-vars-file of each call ("" without)
	envYAML        string     // that of the last call with one
	envFile        string     // its path
	dir            string     // the working directory it ran in
}

// runDeploy runs deploy.sh of the tree under shell with args, with PATH set
// to the fake gcloud's directory only.
func runDeploy(t *testing.T, shell, root, bin string, extraEnv []string, args ...string) result {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("deploy.sh is for Linux and macOS")
	}
	logPath := filepath.Join(t.TempDir(), "gcloud.log")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	argv := []string{filepath.Join(root, "deploy", "cloudrun", "deploy.sh")}
	if filepath.Base(shell) == "busybox" {
		argv = append([]string{"sh"}, argv...)
	}
	cmd := exec.CommandContext(ctx, shell, append(argv, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = append([]string{"PATH=" + bin, "GCLOUD_LOG=" + logPath, "TMPDIR=" + t.TempDir(), "HOME=" + t.TempDir()}, extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String(), dir: cmd.Dir}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running deploy.sh: %v", err)
	}
	logData, err := os.ReadFile(logPath)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, call := range strings.Split(string(logData), "---\n")[1:] {
		argsPart, yamlPart, _ := strings.Cut(call, "[env-vars-file]\n")
		res.calls = append(res.calls, strings.Split(strings.TrimSuffix(argsPart, "\n"), "\n"))
		res.envYAMLs = append(res.envYAMLs, yamlPart)
		if yamlPart != "" {
			res.envYAML = yamlPart
		}
	}
	if b, err := os.ReadFile(logPath + ".envfile"); err == nil {
		res.envFile = strings.TrimSpace(string(b))
	}
	return res
}

const goodEnv = `# a comment
PROJECT_ID=shop-prod-4821
SERVICE="forcehttps-headers"
  REGION='europe-west1'

TRUST=cloudrun
ALLOWED_HOSTS=shop.test, *.shop.test
TEMPORARY=true
ALLOW_UNAUTHENTICATED=false
`

// TestDeploySh runs deploy.sh under each available POSIX shell and checks
// the gcloud commands it ran, the environment it gave the service and what
// it printed.
func TestDeploySh(t *testing.T) {
	t.Parallel()
	for _, shell := range shells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				name string
				env  string
				args func(root string) []string
			}{
				{"default env file", goodEnv, func(string) []string { return nil }},
				{"env file argument", "", func(root string) []string {
					p := filepath.Join(root, "elsewhere.env")
					write(t, p, goodEnv, 0o644)
					return []string{p}
				}},
				{"CRLF env file", strings.ReplaceAll(goodEnv, "\n", "\r\n"), func(string) []string { return nil }},
			} {
				root, bin := kit(t, tc.env)
				res := runDeploy(t, shell, root, bin, nil, tc.args(root)...)
				if res.code != 0 {
					t.Fatalf("%s: deploy.sh exited %d\nstdout:\n%s\nstderr:\n%s", tc.name, res.code, res.stdout, res.stderr)
				}
				if len(res.calls) != 2 {
					t.Fatalf("%s: gcloud ran %d times, want 2: %q", tc.name, len(res.calls), res.calls)
				}
				wantDeploy := []string{
					"run", "deploy", "forcehttps-headers",
					"--project=shop-prod-4821",
					"--region=europe-west1",
					"--source=" + root,
					"--port=8080",
					"--env-vars-file=" + res.envFile,
					"--no-allow-unauthenticated",
					"--quiet",
				}
				if diff := cmp.Diff(wantDeploy, res.calls[0]); diff != "" {
					t.Errorf("%s: gcloud run deploy arguments mismatch (-want +got):\n%s", tc.name, diff)
				}
				wantDescribe := []string{"run", "services", "describe", "forcehttps-headers",
					"--project=shop-prod-4821", "--region=europe-west1", "--format=value(status.url)"}
				if diff := cmp.Diff(wantDescribe, res.calls[1]); diff != "" {
					t.Errorf("%s: gcloud run services describe arguments mismatch (-want +got):\n%s", tc.name, diff)
				}
				var env map[string]string
				if err := yaml.Unmarshal([]byte(res.envYAML), &env); err != nil {
					t.Fatalf("%s: --env-vars-file is not YAML: %v\n%s", tc.name, err, res.envYAML)
				}
				wantEnv := map[string]string{
					"FORCEHTTPS_TRUST":         "cloudrun",
					"FORCEHTTPS_ALLOWED_HOSTS": "shop.test, *.shop.test",
					"FORCEHTTPS_TEMPORARY":     "true",
				}
				if diff := cmp.Diff(wantEnv, env); diff != "" {
					t.Errorf("%s: service environment mismatch (-want +got):\n%s", tc.name, diff)
				}
				if _, err := os.Stat(res.envFile); !os.IsNotExist(err) {
					t.Errorf("%s: the env-vars file %s was left behind (%v)", tc.name, res.envFile, err)
				}
				for _, want := range []string{
					"Deployed: https://forcehttps-headers-123456789.europe-west1.run.app",
					"curl -sI https://forcehttps-headers-123456789.europe-west1.run.app/headers",
					"curl -sI http://forcehttps-headers-123456789.europe-west1.run.app/headers",
				} {
					if !strings.Contains(res.stdout, want) {
						t.Errorf("%s: output lacks %q:\n%s", tc.name, want, res.stdout)
					}
				}
			}
		})
	}
}

// TestDeployShErrors: bad settings stop the script before gcloud runs,
// with exit status 2 and a message; a failing gcloud stops it too.
func TestDeployShErrors(t *testing.T) {
	t.Parallel()
	base := "PROJECT_ID=shop-prod-4821\nSERVICE=svc\nREGION=us-central1\nALLOWED_HOSTS=shop.test\n"
	tests := []struct {
		name     string
		env      string // "" : no env file at all
		noGcloud bool
		fail     bool
		code     int
		msg      string
		calls    int
	}{
		{"no env file", "", false, false, 2, "cloudrun.env not found: copy", 0},
		{"missing project", "SERVICE=svc\nREGION=us-central1\n", false, false, 2, "PROJECT_ID is required", 0},
		{"missing region", "PROJECT_ID=shop-prod-4821\nSERVICE=svc\n", false, false, 2, "REGION is required", 0},
		{"placeholder project", strings.Replace(base, "shop-prod-4821", "my-project-123", 1), false, false, 2, "PROJECT_ID my-project-123 is the example's placeholder", 0},
		{"example domain", strings.Replace(base, "shop.test", "www.example.com", 1), false, false, 2, "names an example domain", 0},
		{"unknown key", base + "PROJECT=x\n", false, false, 2, "unknown key PROJECT", 0},
		{"lower-case key", base + "trust=none\n", false, false, 2, "unknown key trust", 0},
		{"not key=value", base + "export FOO\n", false, false, 2, ":5: want KEY=VALUE", 0},
		{"bad service", strings.Replace(base, "svc", "My_Service", 1), false, false, 2, "SERVICE My_Service is not a service name", 0},
		{"bad project", strings.Replace(base, "shop-prod-4821", "p", 1), false, false, 2, "PROJECT_ID p is not a project ID", 0},
		{"bad region", strings.Replace(base, "us-central1", "moon", 1), false, false, 2, "REGION moon is not a region", 0},
		{"bad temporary", base + "TEMPORARY=yes\n", false, false, 2, "TEMPORARY yes: want true or false", 0},
		{"bad auth", base + "ALLOW_UNAUTHENTICATED=1\n", false, false, 2, "ALLOW_UNAUTHENTICATED 1", 0},
		{"command substitution is data", strings.Replace(base, "shop.test", "$(touch pwned)", 1), false, false, 2, "ALLOWED_HOSTS $(touch pwned)", 0},
		{"quote in hosts", strings.Replace(base, "shop.test", "a.com'", 1), false, false, 2, "want comma-separated host names", 0},
		{"no gcloud", base, true, false, 2, "gcloud not found", 0},
		{"gcloud fails", base, false, true, 1, "boom", 1},
	}
	shell := shells(t)[0]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root, bin := kit(t, tt.env)
			if tt.noGcloud {
				if err := os.Remove(filepath.Join(bin, "gcloud")); err != nil {
					t.Fatal(err)
				}
			}
			var extra []string
			if tt.fail {
				extra = []string{"GCLOUD_FAIL=1"}
			}
			res := runDeploy(t, shell, root, bin, extra)
			if res.code != tt.code {
				t.Errorf("deploy.sh exited %d, want %d\nstderr:\n%s", res.code, tt.code, res.stderr)
			}
			if !strings.Contains(res.stderr, tt.msg) {
				t.Errorf("deploy.sh stderr lacks %q:\n%s", tt.msg, res.stderr)
			}
			if len(res.calls) != tt.calls {
				t.Errorf("gcloud ran %d times, want %d: %q", len(res.calls), tt.calls, res.calls)
			}
			for _, d := range []string{root, filepath.Join(root, "deploy", "cloudrun"), res.dir} {
				if _, err := os.Stat(filepath.Join(d, "pwned")); err == nil {
					t.Errorf("a value of the env file was executed")
				}
			}
		})
	}
}

// TestDeployShHelp: --help prints the prerequisites, without an env file
// and without running gcloud.
func TestDeployShHelp(t *testing.T) {
	t.Parallel()
	root, bin := kit(t, "")
	res := runDeploy(t, shells(t)[0], root, bin, nil, "--help")
	if res.code != 0 || len(res.calls) != 0 {
		t.Fatalf("deploy.sh --help: exit %d, %d gcloud calls\nstderr:\n%s", res.code, len(res.calls), res.stderr)
	}
	for _, want := range []string{"run.googleapis.com", "cloudbuild.googleapis.com", "artifactregistry.googleapis.com",
		"roles/run.sourceDeveloper", "roles/run.builder", "cloud-run-source-deploy", "ALLOWED_HOSTS empty"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("deploy.sh --help lacks %q:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stdout, "set -eu") || strings.Contains(res.stdout, "#!/bin/sh") {
		t.Errorf("deploy.sh --help prints code:\n%s", res.stdout)
	}
}

// TestEnvExample: the example file holds exactly the keys both scripts
// read, and deploy.sh accepts it as it is.
func TestEnvExample(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "cloudrun", "cloudrun.env.example"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for line := range strings.SplitSeq(string(example), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("cloudrun.env.example: %q is not KEY=VALUE", line)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)

	sh, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "cloudrun", "deploy.sh"))
	if err != nil {
		t.Fatal(err)
	}
	shKeys := regexp.MustCompile(`(?m)^\t([A-Z_]+)\) [A-Z_]+=\$value ;;$`).FindAllStringSubmatch(string(sh), -1)
	ps1, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "cloudrun", "deploy.ps1"))
	if err != nil {
		t.Fatal(err)
	}
	psKeys := regexp.MustCompile(`(?m)^    ([A-Z_]+) +=`).FindAllStringSubmatch(string(ps1), -1)
	for name, found := range map[string][][]string{"deploy.sh": shKeys, "deploy.ps1": psKeys} {
		var got []string
		for _, m := range found {
			got = append(got, m[1])
		}
		slices.Sort(got)
		if diff := cmp.Diff(keys, got); diff != "" {
			t.Errorf("keys of %s mismatch the example (-example +script):\n%s", name, diff)
		}
	}

	// The example as it is holds a placeholder project: refused before
	// gcloud runs. With a real project ID it deploys.
	root, bin := kit(t, string(example))
	if res := runDeploy(t, shells(t)[0], root, bin, nil); res.code != 2 || len(res.calls) != 0 || !strings.Contains(res.stderr, "placeholder") {
		t.Errorf("deploy.sh with the example file unedited: exit %d, %d gcloud calls, want 2 and none\nstderr:\n%s", res.code, len(res.calls), res.stderr)
	}
	edited := regexp.MustCompile(`(?m)^PROJECT_ID=.*$`).ReplaceAllString(string(example), "PROJECT_ID=shop-prod-4821")
	root, bin = kit(t, edited)
	if res := runDeploy(t, shells(t)[0], root, bin, nil); res.code != 0 || len(res.calls) < 2 {
		t.Errorf("deploy.sh with the example file and a project ID: exit %d, %d gcloud calls\nstderr:\n%s", res.code, len(res.calls), res.stderr)
	}

	// The placeholders deploy.sh refuses are those deploy.ps1 refuses,
	// and include the example's.
	placeholders := func(name, src, re string) []string {
		m := regexp.MustCompile(re).FindStringSubmatch(src)
		if m == nil {
			t.Fatalf("%s: no list of placeholder project IDs (%s)", name, re)
		}
		out := regexp.MustCompile(`[A-Za-z0-9_-]+`).FindAllString(m[1], -1)
		slices.Sort(out)
		return out
	}
	shList := placeholders("deploy.sh", string(sh), `(?m)^([a-zA-Z0-9_ |-]+)\)\n\tdie "\$env_file: PROJECT_ID`)
	psList := placeholders("deploy.ps1", string(ps1), `\$placeholderProjects = @\(([^)]*)\)`)
	if diff := cmp.Diff(shList, psList); diff != "" {
		t.Errorf("placeholder project IDs of deploy.sh and deploy.ps1 differ (-sh +ps1):\n%s", diff)
	}
	exampleID := regexp.MustCompile(`(?m)^PROJECT_ID=(.*)$`).FindStringSubmatch(string(example))
	if exampleID == nil || !slices.Contains(shList, exampleID[1]) {
		t.Errorf("the example's PROJECT_ID %q is not among the placeholders refused: %q", exampleID, shList)
	}
}

// TestDeployShAllowedHosts: with ALLOWED_HOSTS empty, deploy.sh allows
// the service URL's host and the domains mapped to the service: before the
// deploy when the service exists, with one update after it when the
// service is new.
func TestDeployShAllowedHosts(t *testing.T) {
	t.Parallel()
	const env = "PROJECT_ID=shop-prod-4821\nSERVICE=forcehttps-headers\nREGION=europe-west1\nTEMPORARY=false\n"
	const runApp = "forcehttps-headers-123456789.europe-west1.run.app"
	describe := []string{"run", "services", "describe", "forcehttps-headers", "--project=shop-prod-4821", "--region=europe-west1", "--format=value(status.url)"}
	mappings := []string{"run", "domain-mappings", "list", "--project=shop-prod-4821", "--region=europe-west1", "--filter=spec.routeName=forcehttps-headers", "--format=value(metadata.name)"}
	tests := []struct {
		name  string
		extra []string
		calls [][]string // the calls' first arguments (up to the service name)
		hosts []string   // FORCEHTTPS_ALLOWED_HOSTS of each call with an env file
	}{
		{
			name:  "new service",
			extra: []string{"GCLOUD_MAPPINGS=shop.test\n www.shop.test\nnot a host!\n"},
			calls: [][]string{describe, {"run", "deploy"}, describe, mappings, {"run", "services", "update"}},
			hosts: []string{"", runApp + ",shop.test,www.shop.test"},
		},
		{
			name:  "existing service",
			extra: []string{"GCLOUD_EXISTS=1", "GCLOUD_MAPPINGS=shop.test\n"},
			calls: [][]string{describe, mappings, {"run", "deploy"}, describe, mappings},
			hosts: []string{runApp + ",shop.test"},
		},
		{
			name:  "no domain mappings in the region",
			extra: []string{"GCLOUD_EXISTS=1", "GCLOUD_MAPPINGS_FAIL=1"},
			calls: [][]string{describe, mappings, {"run", "deploy"}, describe, mappings},
			hosts: []string{runApp},
		},
	}
	for _, shell := range shells(t) {
		for _, tt := range tests {
			t.Run(filepath.Base(shell)+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				root, bin := kit(t, env)
				res := runDeploy(t, shell, root, bin, tt.extra)
				if res.code != 0 {
					t.Fatalf("deploy.sh exited %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
				}
				var got [][]string
				var hosts []string
				for i, c := range res.calls {
					want := tt.calls[min(i, len(tt.calls)-1)]
					got = append(got, c[:min(len(c), len(want))])
					if y := res.envYAMLs[i]; y != "" {
						var m map[string]string
						if err := yaml.Unmarshal([]byte(y), &m); err != nil {
							t.Fatalf("call %d: env file is not YAML: %v\n%s", i, err, y)
						}
						hosts = append(hosts, m["FORCEHTTPS_ALLOWED_HOSTS"])
						if m["FORCEHTTPS_TRUST"] != "cloudrun" || m["FORCEHTTPS_TEMPORARY"] != "false" {
							t.Errorf("call %d: env %v lost the other settings", i, m)
						}
					}
				}
				if diff := cmp.Diff(tt.calls, got); diff != "" {
					t.Errorf("gcloud calls mismatch (-want +got):\n%s\nall: %q", diff, res.calls)
				}
				if diff := cmp.Diff(tt.hosts, hosts); diff != "" {
					t.Errorf("FORCEHTTPS_ALLOWED_HOSTS per deploy/update mismatch (-want +got):\n%s", diff)
				}
				if last := tt.hosts[len(tt.hosts)-1]; !strings.Contains(res.stdout, "allowing the service URL and its domain mappings: "+last) {
					t.Errorf("output does not say which hosts were allowed (%s):\n%s", last, res.stdout)
				}
			})
		}
	}
}

// TestDeployPs1 checks, as far as it can be checked without PowerShell,
// that the Windows script runs the same gcloud commands as deploy.sh and
// that the .bat wrapper calls it.
func TestDeployPs1(t *testing.T) {
	t.Parallel()
	ps1, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "cloudrun", "deploy.ps1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"& gcloud run deploy $settings.SERVICE",
		`"--project=$($settings.PROJECT_ID)"`,
		`"--region=$($settings.REGION)"`,
		`"--source=$root"`,
		`'--port=8080'`,
		`"--env-vars-file=$($envYaml.FullName)"`,
		`'--allow-unauthenticated'`,
		`'--no-allow-unauthenticated'`,
		`'--quiet'`,
		`& gcloud run services describe $settings.SERVICE`,
		`'--format=value(status.url)'`,
		`"FORCEHTTPS_TRUST: '$($settings.TRUST)'"`,
		`"FORCEHTTPS_ALLOWED_HOSTS: '$Hosts'"`,
		`& gcloud run domain-mappings list "--project=$($settings.PROJECT_ID)" "--region=$($settings.REGION)" "--filter=spec.routeName=$($settings.SERVICE)" '--format=value(metadata.name)'`,
		`& gcloud run services update $settings.SERVICE`,
		`$auto = $settings.ALLOWED_HOSTS -eq ''`,
		`allowing the service URL and its domain mappings`,
		`is the example's placeholder`,
		"artifactregistry.googleapis.com",
		"roles/run.sourceDeveloper",
		"roles/run.builder",
		`"FORCEHTTPS_TEMPORARY: '$($settings.TEMPORARY)'"`,
		"Set-StrictMode -Version Latest",
		"$ErrorActionPreference = 'Stop'",
	} {
		if !bytes.Contains(ps1, []byte(want)) {
			t.Errorf("deploy.ps1 lacks %s", want)
		}
	}
	// Balanced braces and parentheses outside strings and comments is the
	// least a parse would need.
	if err := balanced(string(ps1)); err != nil {
		t.Errorf("deploy.ps1: %v", err)
	}
	bat, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "cloudrun", "deploy.bat"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(bat, []byte(`-File "%~dp0deploy.ps1" %*`)) {
		t.Errorf("deploy.bat does not run deploy.ps1 with its arguments:\n%s", bat)
	}
	if n, crlf := bytes.Count(bat, []byte("\n")), bytes.Count(bat, []byte("\r\n")); n != crlf {
		t.Errorf("deploy.bat has %d line ends, %d of them CRLF: cmd.exe wants CRLF", n, crlf)
	}
}

// balanced checks (), {} and [] nesting in PowerShell source, skipping
// comments, here-strings and quoted strings.
func balanced(src string) error {
	var stack []byte
	pairs := map[byte]byte{')': '(', '}': '{', ']': '['}
	line := 1
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\n':
			line++
		case strings.HasPrefix(src[i:], "<#"):
			j := strings.Index(src[i:], "#>")
			if j < 0 {
				return fmt.Errorf("line %d: unterminated block comment", line)
			}
			line += strings.Count(src[i:i+j], "\n")
			i += j + 1
		case c == '#':
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				return nil
			}
			i += j - 1
		case strings.HasPrefix(src[i:], "@\"\n") || strings.HasPrefix(src[i:], "@'\n"):
			end := "\n" + string(src[i+1]) + "@"
			j := strings.Index(src[i+2:], end)
			if j < 0 {
				return fmt.Errorf("line %d: unterminated here-string", line)
			}
			line += strings.Count(src[i:i+2+j+len(end)], "\n")
			i += 2 + j + len(end) - 1
		case c == '\'':
			j := strings.IndexByte(src[i+1:], '\'')
			if j < 0 {
				return fmt.Errorf("line %d: unterminated string", line)
			}
			i += j + 1
		case c == '"':
			// "$(...)" subexpressions may contain quotes; count nesting.
			depth, j := 0, i+1
			for ; j < len(src); j++ {
				if src[j] == '`' {
					j++
					continue
				}
				if strings.HasPrefix(src[j:], "$(") {
					depth++
					j++
					continue
				}
				if depth > 0 && src[j] == ')' {
					depth--
					continue
				}
				if depth == 0 && src[j] == '"' {
					break
				}
			}
			if j >= len(src) {
				return fmt.Errorf("line %d: unterminated string", line)
			}
			line += strings.Count(src[i:j], "\n")
			i = j
		case c == '(' || c == '{' || c == '[':
			stack = append(stack, c)
		case c == ')' || c == '}' || c == ']':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return fmt.Errorf("line %d: unbalanced %q", line, c)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed %q", stack)
	}
	return nil
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case
	args string
	line int
}

func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args), start})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("Dockerfile ends with a continuation line")
	}
	return out
}

// TestDockerfile checks what can be checked without Docker: a multi-stage
// build of a static binary, a small final image that runs as a non-root
// user, and nothing fetched by ADD.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := parseDockerfile(t)
	known := map[string]bool{"FROM": true, "WORKDIR": true, "COPY": true, "RUN": true, "USER": true, "EXPOSE": true,
		"ENTRYPOINT": true, "CMD": true, "ENV": true, "ARG": true, "LABEL": true, "ADD": true, "HEALTHCHECK": true, "STOPSIGNAL": true}
	var froms []int
	for i, in := range ins {
		if !known[in.cmd] {
			t.Errorf("Dockerfile:%d: unknown instruction %q", in.line, in.cmd)
		}
		if in.cmd == "FROM" {
			froms = append(froms, i)
		}
		if in.cmd == "ADD" {
			t.Errorf("Dockerfile:%d: ADD (use COPY; ADD fetches URLs and unpacks archives)", in.line)
		}
	}
	if len(froms) < 2 || froms[0] != 0 {
		t.Fatalf("Dockerfile: %d FROM instructions, first at %v: want a multi-stage build", len(froms), froms)
	}

	// The builder: the Go version of go.mod, cgo off, reproducible flags.
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (1\.\d+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	if want := "golang:" + string(m[1]) + " AS build"; ins[0].args != want {
		t.Errorf("Dockerfile:%d: FROM %s, want FROM %s (the go directive of go.mod)", ins[0].line, ins[0].args, want)
	}
	var build string
	for _, in := range ins[:froms[len(froms)-1]] {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags="-s -w"`, "./cmd/forcehttps"} {
		if !strings.Contains(build, want) {
			t.Errorf("Dockerfile: the go build step %q lacks %s", build, want)
		}
	}

	// The final stage.
	final := ins[froms[len(froms)-1]:]
	base := final[0].args
	if !strings.HasPrefix(base, "gcr.io/distroless/static") && base != "scratch" {
		t.Errorf("Dockerfile: final stage FROM %s, want distroless/static or scratch", base)
	}
	got := map[string]string{}
	for _, in := range final[1:] {
		switch in.cmd {
		case "RUN":
			t.Errorf("Dockerfile:%d: RUN in the final stage (it has no shell)", in.line)
		case "COPY":
			if !strings.HasPrefix(in.args, "--from=") {
				t.Errorf("Dockerfile:%d: COPY from the build context into the final stage", in.line)
			}
		}
		got[in.cmd] = in.args
	}
	user, _, _ := strings.Cut(got["USER"], ":")
	if user == "" || user == "0" || user == "root" || strings.Trim(user, "0123456789") != "" {
		t.Errorf("Dockerfile: final USER %q, want a numeric non-root uid", got["USER"])
	}
	if got["EXPOSE"] != "8080" {
		t.Errorf("Dockerfile: EXPOSE %q, want 8080", got["EXPOSE"])
	}
	var entry []string
	if err := json.Unmarshal([]byte(got["ENTRYPOINT"]), &entry); err != nil {
		t.Errorf("Dockerfile: ENTRYPOINT %q is not in exec (JSON) form: %v", got["ENTRYPOINT"], err)
	}
	if !slices.Equal(entry, []string{"/forcehttps", "headers"}) {
		t.Errorf("Dockerfile: ENTRYPOINT %q, want [\"/forcehttps\", \"headers\"]", entry)
	}
}

// TestDockerignore: nothing the build needs is left out of the build
// context. The files needed are those of every package of this module that
// ./cmd/forcehttps imports (Go and embedded files), plus go.mod and go.sum.
func TestDockerignore(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []*regexp.Regexp
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			t.Fatalf(".dockerignore: exceptions (%q) are not supported by this test", line)
		}
		patterns = append(patterns, ignoreRegexp(strings.TrimPrefix(line, "/")))
	}
	ignored := func(rel string) bool {
		// A pattern matches the path or any of its parent directories.
		for p := rel; p != "."; p = filepath.Dir(p) {
			for _, re := range patterns {
				if re.MatchString(filepath.ToSlash(p)) {
					return true
				}
			}
		}
		return false
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "list", "-deps", "-json=Dir,GoFiles,EmbedFiles,Module", "./cmd/forcehttps")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	need := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var pkg struct {
			Dir                 string
			GoFiles, EmbedFiles []string
			Module              *struct{ Main bool }
		}
		if err := dec.Decode(&pkg); err != nil {
			t.Fatal(err)
		}
		if pkg.Module == nil || !pkg.Module.Main {
			continue
		}
		dir, err := filepath.Rel(abs, pkg.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range slices.Concat(pkg.GoFiles, pkg.EmbedFiles) {
			need = append(need, filepath.Join(dir, f))
		}
	}
	if len(need) < 5 {
		t.Fatalf("go list found only %q", need)
	}
	for _, f := range need {
		if ignored(f) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", f)
		}
	}
	for _, f := range []string{".git/config", "bench/go.mod", "internal/inspect/inspect_test.go", "internal/inspect/testdata/tls.json", "forcehttps"} {
		if !ignored(f) {
			t.Errorf(".dockerignore keeps %s in the build context", f)
		}
	}
}

// ignoreRegexp turns a .dockerignore pattern (Go filepath.Match syntax plus
// "**", relative to the context root) into an anchored regexp.
func ignoreRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
