#!/usr/bin/env bash
# Measures the forcehttps edge against nginx and Caddy on this machine and
# prints one Markdown table per scenario. See bench/README.md.
#
#   bench/run.sh                      # every scenario, 10 s runs, 2 rounds
#   PIN=1 bench/run.sh                # servers on CPU 0, load generator on CPU 1
#   QUICK=1 bench/run.sh              # ~2 s runs, small counts; fails only if a
#                                     # scenario produced no numbers (for CI)
#   SCENARIOS="1 3" SERVERS="nginx caddy" bench/run.sh
#
# Settings (environment):
#   SCENARIOS        which scenarios, "1 2 3 4 5 6 7"
#   SERVERS          which servers, "forcehttps nginx caddy"
#   LARGE_SERVERS    servers for scenario 6, "forcehttps nginx" (QUICK: and caddy)
#   DURATION         seconds per measured run, 10 (QUICK: 2)
#   WARMUP           seconds of warm-up per server and scenario, 1
#   ROUNDS           measured rounds, each server once per round, 2 (QUICK: 1)
#   CONNS            wrk connections (scenarios 1-3, 6), 64
#   FIXED_RATES      latency at a fixed rate: "SCENARIO:REQ_PER_S ...", after
#                    each wrk run of those scenarios (1, 2, 3 or 6), a
#                    `loadgen rate` run of DURATION at that rate (open loop,
#                    latency from each request's due time), "1:10000
#                    3:5000 6:10000"; empty: none
#   FIXED_CONNS      its connections, 64
#   HS_CONNS         concurrent handshakes (scenario 4), 16
#   H2_CONNS         h2load connections (scenario 7), 4
#   H2_STREAMS       concurrent streams per h2load connection (scenario 7), 64
#   IDLE_CONNS       idle TLS connections (scenario 5), 10000 (QUICK: 1000)
#   DOMAINS          domains of the large configuration (scenario 6), 100000 (QUICK: 10000)
#   DOMAINS_PER_APP  domains per app in it, 10
#   PIN              1: pin servers to SERVER_CPUS (0), load generator and
#                    backend to LOAD_CPUS (1); one worker or GOMAXPROCS=1 per
#                    core given to a server
#   MICRO            1: also run micro.sh (middleware against unrolled/secure,
#                    benchstat) and add its table, 1 (QUICK: 0)
#   MICRO_COUNT      its -count, 6
#   PORT_BASE        first of the loopback ports used, 28000 (28000-29999)
#   OUT              results directory, bench/results/<UTC timestamp>
#
# Everything listens on and connects to 127.0.0.1 only. Every process the
# script starts is recorded and stopped by PID on exit, error or signal.
set -euo pipefail

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$bench/.." && pwd)
scenario_dir=$bench/scenarios

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
	def_duration=2 def_rounds=1 def_idle=1000 def_domains=10000 def_large='forcehttps nginx caddy' def_micro=0
else
	# Caddy takes minutes to load 100 000 domains as site blocks.
	def_duration=10 def_rounds=2 def_idle=10000 def_domains=100000 def_large='forcehttps nginx' def_micro=1
fi
SCENARIOS=${SCENARIOS:-1 2 3 4 5 6 7}
SERVERS=${SERVERS:-forcehttps nginx caddy}
LARGE_SERVERS=${LARGE_SERVERS:-$def_large}
DURATION=${DURATION:-$def_duration}
WARMUP=${WARMUP:-1}
ROUNDS=${ROUNDS:-$def_rounds}
CONNS=${CONNS:-64}
FIXED_RATES=${FIXED_RATES-1:10000 3:5000 6:10000}
FIXED_CONNS=${FIXED_CONNS:-64}
HS_CONNS=${HS_CONNS:-16}
H2_CONNS=${H2_CONNS:-4}
H2_STREAMS=${H2_STREAMS:-64}
IDLE_CONNS=${IDLE_CONNS:-$def_idle}
DOMAINS=${DOMAINS:-$def_domains}
DOMAINS_PER_APP=${DOMAINS_PER_APP:-10}
PIN=${PIN:-0}
MICRO=${MICRO:-$def_micro}
MICRO_COUNT=${MICRO_COUNT:-6}
PORT_BASE=${PORT_BASE:-28000}
OUT=${OUT:-$bench/results/$(date -u +%Y%m%dT%H%M%SZ)}

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() {
	log "FAIL: $*"
	exit 1
}

for v in DURATION WARMUP ROUNDS CONNS FIXED_CONNS HS_CONNS H2_CONNS H2_STREAMS IDLE_CONNS DOMAINS DOMAINS_PER_APP PORT_BASE MICRO_COUNT; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v=${!v}: want a whole number"
done
((DURATION >= 1 && DURATION <= 300)) || die "DURATION=$DURATION: want 1 to 300 seconds"
((ROUNDS >= 1 && ROUNDS <= 20)) || die "ROUNDS=$ROUNDS: want 1 to 20"
((H2_CONNS >= 1 && H2_STREAMS >= 1)) || die "H2_CONNS and H2_STREAMS must be positive"
((PORT_BASE >= 1024 && PORT_BASE <= 63000)) || die "PORT_BASE=$PORT_BASE: want 1024 to 63000"
((DOMAINS >= 1 && DOMAINS_PER_APP >= 1)) || die "DOMAINS and DOMAINS_PER_APP must be positive"
for s in $SERVERS $LARGE_SERVERS; do
	case $s in forcehttps | nginx | caddy) ;; *) die "unknown server $s (want forcehttps, nginx, caddy)" ;; esac
done
for s in $SCENARIOS; do
	case $s in 1 | 2 | 3 | 4 | 5 | 6 | 7) ;; *) die "unknown scenario $s (want 1 to 7)" ;; esac
done
for f in $FIXED_RATES; do
	[[ $f =~ ^[1236]:[1-9][0-9]*$ ]] || die "FIXED_RATES entry $f: want SCENARIO:REQ_PER_S, scenario 1, 2, 3 or 6"
done
((FIXED_CONNS >= 1)) || die "FIXED_CONNS must be positive"

if [[ $PIN == 1 ]]; then
	SERVER_CPUS=${SERVER_CPUS:-0}
	LOAD_CPUS=${LOAD_CPUS:-1}
	server_cores=$(taskset -c "$SERVER_CPUS" nproc)
else
	SERVER_CPUS='' LOAD_CPUS=''
	server_cores=$(nproc)
fi
BACKEND_CPUS=${BACKEND_CPUS:-$LOAD_CPUS}
WRK_THREADS=${WRK_THREADS:-$(if [[ -n $LOAD_CPUS ]]; then taskset -c "$LOAD_CPUS" nproc; else nproc; fi)}
clk_tck=$(getconf CLK_TCK)

# ---------------------------------------------------------------- processes

pids=()       # every process started, in start order
child_pids=() # their children seen while running (nginx workers)

alive() { # PID: running and not a zombie
	local st
	[[ -r /proc/$1/stat ]] || return 1
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ ${st:0:1} != Z ]]
}

# start NAME CPUS LOGFILE CMD...: starts CMD in the background, pinned to
# CPUS when given, and records its PID in $started.
start() {
	local name=$1 cpus=$2 logfile=$3
	shift 3
	if [[ -n $cpus ]]; then
		set -- taskset -c "$cpus" "$@"
	fi
	"$@" >"$logfile" 2>&1 &
	started=$!
	pids+=("$started")
	log "started $name (pid $started)"
}

# stop PID: SIGTERM, up to 10 s to exit, then SIGKILL; the same for the
# children it had.
stop() {
	local pid=$1 kids i
	kids=$(pgrep -P "$pid" || true)
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			log "pid $pid ignored SIGTERM; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
	for i in $kids; do
		if alive "$i"; then
			kill -KILL "$i" 2>/dev/null || true
		fi
	done
}

cleanup() {
	local rc=$? i left=()
	trap - EXIT INT TERM
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		stop "${pids[i]}"
	done
	sleep 0.2
	for i in "${pids[@]}" "${child_pids[@]}"; do
		if alive "$i"; then
			left+=("$i")
		fi
	done
	if ((${#left[@]} > 0)); then
		log "FAIL: still running after cleanup: ${left[*]}"
		rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------- setup

mkdir -p "$OUT"/{bin,tls,run,raw}
OUT=$(cd "$OUT" && pwd)
rows=$OUT/rows.tsv # scenario server variant round metric=value...
: >"$rows"

log "installing what is missing"
"$root/scripts/apt.sh" nginx caddy wrk nghttp2-client openssl curl iproute2 procps util-linux >&2

log "building"
(cd "$bench" && go build -o "$OUT/bin/" ./cmd/backend ./cmd/loadgen)
loadgen=$OUT/bin/loadgen
if [[ " $SERVERS $LARGE_SERVERS " == *" forcehttps "* ]]; then
	(cd "$root" && go build -o "$OUT/bin/forcehttps" ./cmd/forcehttps) ||
		die "cannot build cmd/forcehttps; set SERVERS and LARGE_SERVERS without forcehttps to measure the others"
	usage=$("$OUT/bin/forcehttps" -h 2>&1 || true)
	grep -q '^ *edge ' <<<"$usage" ||
		die "this forcehttps has no edge command; set SERVERS and LARGE_SERVERS without forcehttps to measure the others"
fi

# Idle connections need a descriptor each, in the server and the client.
hard=$(ulimit -Hn)
if [[ $hard != unlimited ]] && ((hard < IDLE_CONNS + 1000)); then
	die "ulimit -Hn is $hard, too low for IDLE_CONNS=$IDLE_CONNS"
fi
ulimit -n "$hard"

tls_cert=$OUT/tls/cert.pem tls_key=$OUT/tls/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tls_key" -out "$tls_cert" -days 7 -subj /CN=bench.test \
	-addext 'subjectAltName=DNS:bench.test,DNS:*.bench.test,IP:127.0.0.1' 2>/dev/null
chmod 644 "$tls_key" # nginx workers and every server read the same files

port_free() { [[ -z $(ss -Htln "sport = :$1") ]]; }

server_index() {
	case $1 in forcehttps) echo 0 ;; nginx) echo 1 ;; caddy) echo 2 ;; esac
}
http_port() { # SERVER VARIANT
	local v=0
	[[ $2 == large ]] && v=1000
	echo $((PORT_BASE + v + 100 * $(server_index "$1") + 80))
}
https_port() {
	local v=0
	[[ $2 == large ]] && v=1000
	echo $((PORT_BASE + v + 100 * $(server_index "$1") + 43))
}
backend_port=$((PORT_BASE + 900))

# host VARIANT: the name requests use; in the large configuration, the
# last domain of the last app.
host_for() {
	if [[ $1 == large ]]; then echo "d$DOMAINS.bench.test"; else echo bench.test; fi
}

# ---------------------------------------------------------------- configs

# render_apps TEMPLATE STYLE VARIANT: one copy of TEMPLATE per app, with
# @APP@, @NAMES@, @HTTP_ADDRS@ and @HTTPS_ADDRS@ filled in. The small
# variant is one app for bench.test; the large one DOMAINS domains
# dN.bench.test, DOMAINS_PER_APP to an app.
render_apps() {
	awk -v style="$2" -v variant="$3" -v n="$DOMAINS" -v per="$DOMAINS_PER_APP" '
	{ tpl = tpl $0 "\n" }
	END {
		apps = variant == "large" ? int((n + per - 1) / per) : 1
		sep = style == "nginx" ? " " : ", "
		for (a = 0; a < apps; a++) {
			names = ""; httpa = ""; httpsa = ""
			for (k = a * per + 1; k <= (a + 1) * per && k <= n; k++) {
				d = variant == "large" ? "d" k ".bench.test" : "bench.test"
				if (names != "") { names = names sep; httpa = httpa ", "; httpsa = httpsa ", " }
				names = names d; httpa = httpa "http://" d; httpsa = httpsa "https://" d
				if (variant != "large") break
			}
			out = tpl
			gsub(/@APP@/, variant == "large" ? "app" (a + 1) : "bench", out)
			gsub(/@NAMES@/, names, out)
			gsub(/@HTTP_ADDRS@/, httpa, out)
			gsub(/@HTTPS_ADDRS@/, httpsa, out)
			printf "%s", out
		}
	}' "$1"
}

# render MAIN APP STYLE SERVER VARIANT DIR: writes the configuration.
render() {
	local main=$1 app=$2 style=$3 server=$4 variant=$5 dir=$6 name workers hash
	name=$(basename "$main")
	render_apps "$scenario_dir/$app" "$style" "$variant" >"$dir/apps.part"
	workers=$server_cores
	hash=$((2 * DOMAINS + 1024))
	sed -e "/^[[:space:]]*@APPS@[[:space:]]*\$/{r $dir/apps.part" -e 'd}' "$scenario_dir/$main" |
		sed -e "s|@HTTP_PORT@|$(http_port "$server" "$variant")|g" \
			-e "s|@HTTPS_PORT@|$(https_port "$server" "$variant")|g" \
			-e "s|@BACKEND_PORT@|$backend_port|g" \
			-e "s|@CERT@|$tls_cert|g" -e "s|@KEY@|$tls_key|g" \
			-e "s|@RUN@|$dir|g" -e "s|@WORKERS@|$workers|g" -e "s|@HASH_MAX@|$hash|g" \
			>"$dir/$name"
	rm -f "$dir/apps.part"
	if grep -q '@[A-Z_]*@' "$dir/$name"; then
		die "$dir/$name: a placeholder was left: $(grep -o '@[A-Z_]*@' "$dir/$name" | head -1)"
	fi
}

# ---------------------------------------------------------------- servers

declare -A spid sload

# server_pids KEY: the server's process and its children (nginx workers),
# on one line.
server_pids() {
	local p=${spid[$1]}
	{
		echo "$p"
		pgrep -P "$p" || true
	} | tr '\n' ' '
}

sum_status() { # FIELD PID...: sum of a /proc/PID/status field, KiB
	local field=$1 t=0 p v
	shift
	for p in "$@"; do
		v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null || true)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

pss_kib() { # PID...: proportional set size, shared pages split between the processes
	local t=0 p v
	for p in "$@"; do
		v=$(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || true)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

cpu_ticks() { # PID...: utime+stime, all threads, in clock ticks
	local t=0 p f
	for p in "$@"; do
		[[ -r /proc/$p/stat ]] || continue
		read -r -a f <<<"$(sed 's/^.*) //' "/proc/$p/stat")"
		t=$((t + f[11] + f[12]))
	done
	echo "$t"
}

# start_server SERVER VARIANT: renders the configuration, starts the
# server, waits for its first redirect and records the seconds that took
# in sload[SERVER/VARIANT].
start_server() {
	local server=$1 variant=$2 key=$1/$2 dir hp sp t0 env=() kids
	dir=$OUT/run/$server-$variant
	rm -rf "$dir"
	mkdir -p "$dir"
	hp=$(http_port "$server" "$variant") sp=$(https_port "$server" "$variant")
	if ! port_free "$hp" || ! port_free "$sp"; then
		die "port $hp or $sp is in use: set PORT_BASE"
	fi
	if [[ $PIN == 1 ]]; then
		env=(GOMAXPROCS="$server_cores")
	fi
	case $server in
	forcehttps)
		render edge.yaml edge-app.yaml yaml "$server" "$variant" "$dir"
		t0=$(date +%s%N)
		start "$key" "$SERVER_CPUS" "$dir/server.log" env "${env[@]}" "$OUT/bin/forcehttps" edge --config "$dir/edge.yaml" --watch-interval 0
		;;
	nginx)
		render nginx.conf nginx-app.conf nginx "$server" "$variant" "$dir"
		mkdir -p "$dir/nginx-tmp"
		t0=$(date +%s%N)
		start "$key" "$SERVER_CPUS" "$dir/server.log" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/nginx-error.log"
		;;
	caddy)
		render Caddyfile Caddyfile-app caddy "$server" "$variant" "$dir"
		t0=$(date +%s%N)
		start "$key" "$SERVER_CPUS" "$dir/server.log" env "${env[@]}" XDG_DATA_HOME="$dir" XDG_CONFIG_HOME="$dir" HOME="$dir" \
			caddy run --config "$dir/Caddyfile" --adapter caddyfile
		;;
	esac
	spid[$key]=$started
	if ! sload[$key]=$("$loadgen" wait -connect "127.0.0.1:$hp" -url "http://$(host_for "$variant"):$hp/" \
		-status 301 -since "$t0" -timeout 300s -pid "$started" 2>"$dir/wait.log"); then
		tail -n 20 "$dir/server.log" "$dir/wait.log" >&2 || true
		die "$key did not answer on port $hp"
	fi
	# Record the workers, so that they are checked at exit too.
	mapfile -t kids < <(pgrep -P "$started" || true)
	child_pids+=("${kids[@]}")
	log "$key ready in ${sload[$key]} s"
}

stop_server() { # KEY
	stop "${spid[$1]}"
	unset "spid[$1]"
}

start_backend() {
	port_free "$backend_port" || die "port $backend_port is in use: set PORT_BASE"
	start backend "$BACKEND_CPUS" "$OUT/run/backend.log" "$OUT/bin/backend" -addr "127.0.0.1:$backend_port"
	backend_pid=$started
	"$loadgen" wait -connect "127.0.0.1:$backend_port" -url "http://127.0.0.1:$backend_port/" -status 200 -timeout 30s >/dev/null ||
		die "backend did not start"
}

# ------------------------------------------------------------ equivalence

# check_server SERVER: the answers every scenario relies on, and the TLS
# parameters each server negotiates, into equivalence.md. Fails on a
# wrong answer: numbers for a server that does not do the job are
# meaningless.
check_server() {
	local server=$1 hp sp h d
	hp=$(http_port "$server" small) sp=$(https_port "$server" small)
	d=$OUT/run/$server-small
	local curl_args=(-sS --max-time 5 --cacert "$tls_cert" --resolve "bench.test:$hp:127.0.0.1" --resolve "bench.test:$sp:127.0.0.1")
	{
		echo "## $server"
		echo
		echo '```'
		echo "\$ curl -s -D - -o /dev/null 'http://bench.test:$hp/a/b?x=1&y=2'"
		curl "${curl_args[@]}" -o /dev/null -D - "http://bench.test:$hp/a/b?x=1&y=2" | tr -d '\r' | tee "$d/check-redirect.txt"
		echo "\$ curl -s -D - --http1.1 https://bench.test:$sp/health"
		curl "${curl_args[@]}" --http1.1 -D - "https://bench.test:$sp/health" | tr -d '\r' | tee "$d/check-health.txt"
		echo "\$ curl -s -D - --http1.1 https://bench.test:$sp/"
		curl "${curl_args[@]}" --http1.1 -D - "https://bench.test:$sp/" | tr -d '\r' | tee "$d/check-proxy.txt"
		for v in tls1_3 tls1_2; do
			echo "\$ openssl s_client -$v -servername bench.test"
			openssl s_client -connect "127.0.0.1:$sp" -servername bench.test "-$v" -brief </dev/null 2>&1 |
				grep -E '^(Protocol version|Ciphersuite|Server Temp Key|Peer signature type)' || true
		done
		echo '```'
		echo
	} >>"$OUT/equivalence.md"
	h=$(grep -i '^location:' "$d/check-redirect.txt" | tr -d '\r' || true)
	grep -q '^HTTP/[0-9.]* 301' "$d/check-redirect.txt" || die "$server: plain HTTP did not answer 301"
	[[ ${h,,} == "location: https://bench.test:$sp/a/b?x=1&y=2" ]] || die "$server: redirect went to ${h#*: }"
	if grep -qi '^strict-transport-security' "$d/check-redirect.txt"; then
		die "$server: HSTS sent over plain HTTP"
	fi
	for f in check-health check-proxy; do
		grep -q '^HTTP/[0-9.]* 200' "$d/$f.txt" || die "$server: $f: not 200"
		grep -qix 'strict-transport-security: max-age=31536000' "$d/$f.txt" || die "$server: $f: no HSTS max-age=31536000"
	done
	grep -q '^hello from the backend$' "$d/check-proxy.txt" || die "$server: / was not proxied to the backend"
	grep -qx 'ok' "$d/check-health.txt" || die "$server: /health did not answer ok"
}

# ------------------------------------------------------------ measurement

# parse_wrk FILE: "rps requests p50_us p99_us socket_errors bad_status"
parse_wrk() {
	awk '
	function us(v) {
		if (v ~ /us$/) return v + 0
		if (v ~ /ms$/) return (v + 0) * 1000
		if (v ~ /m$/) return (v + 0) * 60000000
		if (v ~ /s$/) return (v + 0) * 1000000
		return v + 0
	}
	$1 == "50%" { p50 = us($2) }
	$1 == "99%" { p99 = us($2) }
	/ requests in / { req = $1 }
	/^Requests\/sec:/ { rps = $2 }
	/Socket errors:/ { gsub(",", ""); se = $4 + $6 + $8 + $10 }
	/Non-2xx or 3xx responses:/ { bad = $NF }
	END { printf "%s %d %d %d %d %d\n", rps + 0, req, p50, p99, se, bad }' "$1"
}

load() { # CMD...: runs the load generator, pinned when asked
	if [[ -n $LOAD_CPUS ]]; then
		taskset -c "$LOAD_CPUS" "$@"
	else
		"$@"
	fi
}

# wrk takes the TLS server name (SNI) from its URL: connecting to
# 127.0.0.1, it would send "127.0.0.1", which no browser does. So that every
# server sees bench.test, as a browser would send it, wrk runs in a mount
# namespace of its own where /etc/hosts maps bench.test to 127.0.0.1; the
# machine's /etc/hosts is not touched. Where that is not allowed, wrk
# connects to 127.0.0.1 and the results say so.
hosts_file=$OUT/run/hosts
echo '127.0.0.1 bench.test' >"$hosts_file"
# shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
if unshare --mount -- sh -c 'mount --bind "$0" /etc/hosts && getent hosts bench.test' "$hosts_file" >/dev/null 2>&1; then
	tls_host=bench.test
	sni_wrap=(unshare --mount -- sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$hosts_file")
else
	log "no private mount namespace: wrk connects to https://127.0.0.1 and sends that as server name"
	tls_host=127.0.0.1
	sni_wrap=()
fi

# wrk_run ARGS... URL: runs wrk, with bench.test resolved to 127.0.0.1 for
# an https URL.
wrk_run() {
	if [[ ${*: -1} == https://* ]]; then
		load "${sni_wrap[@]}" wrk "$@"
	else
		load wrk "$@"
	fi
}

# h2load_run ARGS... URL: runs h2load, with bench.test resolved to
# 127.0.0.1 as for wrk.
h2load_run() {
	load "${sni_wrap[@]}" h2load "$@"
}

# parse_h2load FILE LOG: "rps requests p50_us p99_us errors bad_status",
# the percentiles from h2load's per-request log (its summary has none).
parse_h2load() {
	local p
	p=$(cut -f3 "$2" | sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "0 0"; exit }
		i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
		i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
		printf "%d %d\n", v[i50], v[i99] }')
	awk -v p="$p" '
	/^finished in/ { gsub(",", ""); rps = $4 }
	/^requests:/ { gsub(",", ""); req = $8; err = $10 + $12 + $14 }
	/^status codes:/ { gsub(",", ""); bad = $5 + $7 + $9 }
	END { split(p, q, " "); printf "%s %d %d %d %d %d\n", rps + 0, req, q[1], q[2], err, bad }' "$1"
}

# wrk_url SERVER VARIANT SCHEME PATH
wrk_url() {
	if [[ $3 == https ]]; then
		echo "https://$tls_host:$(https_port "$1" "$2")$4"
	else
		echo "http://127.0.0.1:$(http_port "$1" "$2")$4"
	fi
}

# measure SCENARIO SERVER VARIANT ROUND KIND URL_OR_PATH: one measured run
# of wrk (KIND wrk) or of loadgen handshake (KIND handshake), with the
# server's CPU time and peak RSS, appended to rows.tsv.
measure() {
	local scen=$1 server=$2 variant=$3 round=$4 kind=$5 target=$6 key=$2/$3 raw p c0 c1 req rps p50 p99 se bad cpu
	raw=$OUT/raw/s$scen-$server-$variant-r$round.txt
	read -r -a p <<<"$(server_pids "$key")"
	c0=$(cpu_ticks "${p[@]}")
	if [[ $kind == wrk ]]; then
		wrk_run -t "$WRK_THREADS" -c "$CONNS" -d "${DURATION}s" --latency -H "Host: $(host_for "$variant")" "$target" >"$raw" 2>&1 ||
			die "wrk failed: $(tail -n 3 "$raw")"
		c1=$(cpu_ticks "${p[@]}")
		read -r rps req p50 p99 se bad <<<"$(parse_wrk "$raw")"
	elif [[ $kind == h2load ]]; then
		h2load_run -t "$((WRK_THREADS < H2_CONNS ? WRK_THREADS : H2_CONNS))" -c "$H2_CONNS" -m "$H2_STREAMS" -D "$DURATION" --log-file="$raw.log" \
			-H ":authority: $(host_for "$variant")" "$target" >"$raw" 2>&1 || die "h2load failed: $(tail -n 3 "$raw")"
		c1=$(cpu_ticks "${p[@]}")
		read -r rps req p50 p99 se bad <<<"$(parse_h2load "$raw" "$raw.log")"
		rm -f "$raw.log"
	else
		load "$loadgen" handshake -connect "127.0.0.1:$(https_port "$server" "$variant")" -host bench.test -path "$target" \
			-cacert "$tls_cert" -c "$HS_CONNS" -d "${DURATION}s" >"$raw" 2>&1 || die "loadgen handshake failed: $(tail -n 3 "$raw")"
		c1=$(cpu_ticks "${p[@]}")
		req=$(awk '$1 == "requests" { print $2 }' "$raw")
		rps=$(awk '$1 == "rps" { print $2 }' "$raw")
		p50=$(awk '$1 == "p50_us" { print $2 }' "$raw")
		p99=$(awk '$1 == "p99_us" { print $2 }' "$raw")
		se=$(awk '$1 == "errors" { print $2 }' "$raw")
		bad=0
	fi
	cpu=0 req=${req:-0}
	if ((req > 0)); then
		cpu=$(((c1 - c0) * 1000000 / clk_tck / req))
	fi
	printf '%s\t%s\t%s\t%s\trps=%s\treq=%s\tp50=%s\tp99=%s\tcpu=%s\thwm=%s\terr=%s\tbad=%s\n' \
		"$scen" "$server" "$variant" "$round" "$rps" "$req" "$p50" "$p99" "$cpu" \
		"$(sum_status VmHWM "${p[@]}")" "$se" "$bad" >>"$rows"
	log "s$scen $server $variant r$round: $rps req/s, p50 ${p50} us, p99 ${p99} us, $cpu us CPU/req, errors $se, bad status $bad"
}

# fixed_rate SCENARIO: the rate FIXED_RATES asks for the scenario, or
# nothing.
fixed_rate() {
	local f
	for f in $FIXED_RATES; do
		if [[ ${f%%:*} == "$1" ]]; then
			echo "${f#*:}"
			return
		fi
	done
}

# measure_fixed SCENARIO SERVER VARIANT ROUND SCHEME PATH: one run of
# loadgen rate at the scenario's fixed rate, for as long as wrk ran,
# against the same URL; a row of scenario "<SCENARIO>f" in rows.tsv.
measure_fixed() {
	local scen=$1 server=$2 variant=$3 round=$4 scheme=$5 path=$6 rate raw args k val
	rate=$(fixed_rate "$scen")
	[[ -n $rate ]] || return 0
	raw=$OUT/raw/s${scen}f-$server-$variant-r$round.txt
	if [[ $scheme == https ]]; then
		args=(-connect "127.0.0.1:$(https_port "$server" "$variant")" -host "$(host_for "$variant")" -cacert "$tls_cert" -status 200)
	else
		args=(-connect "127.0.0.1:$(http_port "$server" "$variant")" -host "$(host_for "$variant")" -status 301)
	fi
	load "$loadgen" rate "${args[@]}" -path "$path" -rate "$rate" -c "$FIXED_CONNS" -d "${DURATION}s" >"$raw" 2>&1 ||
		die "loadgen rate failed: $(tail -n 3 "$raw")"
	declare -A v
	while read -r k val; do
		v[$k]=$val
	done < <(awk 'NF == 2' "$raw")
	printf '%s\t%s\t%s\t%s\tfixed_rate=%s\trps=%s\treq=%s\terr=%s\tfixed_p50=%s\tfixed_p99=%s\tfixed_p999=%s\tfixed_max=%s\tfixed_late=%s\n' \
		"${scen}f" "$server" "$variant" "$round" "$rate" "${v[rps]}" "${v[requests]}" "${v[errors]}" \
		"${v[p50_us]}" "${v[p99_us]}" "${v[p999_us]}" "${v[max_us]}" "${v[late_p99_us]}" >>"$rows"
	log "s$scen $server $variant r$round at $rate req/s: ${v[rps]} achieved, p50 ${v[p50_us]} us, p99 ${v[p99_us]} us, p99.9 ${v[p999_us]} us, max ${v[max_us]} us, generator late p99 ${v[late_p99_us]} us, errors ${v[errors]}"
	if grep -q '^warning ' "$raw"; then
		log "s$scen $server $variant r$round: $(grep '^warning ' "$raw")"
	fi
}

warm() { # SERVER VARIANT URL
	wrk_run -t 1 -c 8 -d "${WARMUP}s" -H "Host: $(host_for "$2")" "$3" >/dev/null 2>&1 || true
}

warm_h2() { # SERVER VARIANT URL
	h2load_run -t 1 -c 1 -m 8 -D "$WARMUP" -H ":authority: $(host_for "$2")" "$3" >/dev/null 2>&1 || true
}

# ------------------------------------------------------------- scenarios

scenario_title() {
	case $1 in
	1) echo "1. Plain HTTP → 301 redirect (wrk, keep-alive, $CONNS connections)" ;;
	2) echo "2. HTTPS keep-alive 200 with HSTS, answered by the server (wrk, $CONNS connections)" ;;
	3) echo "3. HTTPS → proxy to the backend, upstream keep-alive (wrk, $CONNS connections)" ;;
	4) echo "4. TLS full handshakes: new connection per request, no resumption (loadgen, $HS_CONNS at a time)" ;;
	5) echo "5. Memory per idle keep-alive TLS connection ($IDLE_CONNS connections)" ;;
	6) echo "6. $DOMAINS domains ($DOMAINS_PER_APP per app): load time, memory, lookup (HTTP → 301)" ;;
	7) echo "7. HTTP/2 clients → proxy to the HTTP/1.1 backend (h2load, $H2_CONNS connections × $H2_STREAMS streams)" ;;
	esac
}

# run_throughput SCENARIO KIND SCHEME PATH: scenarios 1 to 4 and 7. Every server
# is started fresh for the scenario, warmed up, then measured once per
# round, in the same order each round (A B C A B C).
run_throughput() {
	local scen=$1 kind=$2 scheme=$3 path=$4 s r
	log "scenario $(scenario_title "$scen")"
	for s in $SERVERS; do
		start_server "$s" small
		if [[ $kind == h2load ]]; then
			warm_h2 "$s" small "$(wrk_url "$s" small "$scheme" "$path")"
		else
			warm "$s" small "$(wrk_url "$s" small "$scheme" "$path")"
		fi
	done
	for ((r = 1; r <= ROUNDS; r++)); do
		for s in $SERVERS; do
			if [[ $kind == wrk || $kind == h2load ]]; then
				measure "$scen" "$s" small "$r" "$kind" "$(wrk_url "$s" small "$scheme" "$path")"
				if [[ $kind == wrk ]]; then
					measure_fixed "$scen" "$s" small "$r" "$scheme" "$path"
				fi
			else
				measure "$scen" "$s" small "$r" handshake "$path"
			fi
		done
	done
	for s in $SERVERS; do
		stop_server "$s/small"
	done
}

# run_idle: scenario 5. Memory does not go back down once a server has
# held the connections, so each round starts every server afresh.
run_idle() {
	local s r key p before after hwm ready raw lpid open failed closed i per
	log "scenario $(scenario_title 5)"
	for ((r = 1; r <= ROUNDS; r++)); do
		for s in $SERVERS; do
			key=$s/small
			start_server "$s" small
			warm "$s" small "$(wrk_url "$s" small https /health)"
			sleep 1
			read -r -a p <<<"$(server_pids "$key")"
			before=$(sum_status VmRSS "${p[@]}")
			ready=$OUT/run/idle.ready raw=$OUT/raw/s5-$s-small-r$r.txt
			rm -f "$ready"
			start "loadgen idle" "$LOAD_CPUS" "$raw" "$loadgen" idle -connect "127.0.0.1:$(https_port "$s" small)" \
				-host bench.test -path /health -cacert "$tls_cert" -n "$IDLE_CONNS" -ready "$ready" -hold 5m
			lpid=$started
			for ((i = 0; i < 3000; i++)); do
				[[ -f $ready ]] && break
				alive "$lpid" || break
				sleep 0.1
			done
			[[ -f $ready ]] || die "loadgen idle did not open its connections: $(tail -n 3 "$raw")"
			after=$(sum_status VmRSS "${p[@]}")
			hwm=$(sum_status VmHWM "${p[@]}")
			open=$(awk '$1 == "open" { print $2 }' "$ready")
			failed=$(awk '$1 == "failed" { print $2 }' "$ready")
			rm -f "$ready"
			for ((i = 0; i < 300; i++)); do
				alive "$lpid" || break
				sleep 0.1
			done
			stop "$lpid"
			closed=$(awk '$1 == "closed_during_hold" { print $2 }' "$raw")
			per=0
			if ((open > 0)); then
				per=$(((after - before) * 1000 / open))
			fi
			printf '%s\t%s\t%s\t%s\topen=%s\tfailed=%s\tclosed=%s\tbefore=%s\tafter=%s\tper_milli=%s\thwm=%s\n' \
				5 "$s" small "$r" "$open" "$failed" "${closed:-0}" "$before" "$after" "$per" "$hwm" >>"$rows"
			log "s5 $s r$r: $open open ($failed failed, ${closed:-0} closed by the server), RSS $before → $after KiB: $((per / 1000)).$(printf '%03d' $((per % 1000))) KiB/conn"
			stop_server "$key"
		done
	done
}

# run_domains: scenario 6. The one-domain server runs throughout; the
# large one is started afresh each round, for its load time.
run_domains() {
	local s r p
	log "scenario $(scenario_title 6)"
	for s in $LARGE_SERVERS; do
		start_server "$s" small
		warm "$s" small "$(wrk_url "$s" small http /)"
	done
	for ((r = 1; r <= ROUNDS; r++)); do
		for s in $LARGE_SERVERS; do
			start_server "$s" large
			read -r -a p <<<"$(server_pids "$s/large")"
			printf '%s\t%s\t%s\t%s\tload=%s\tpss=%s\trss=%s\n' 6 "$s" large "$r" "${sload[$s/large]}" \
				"$(pss_kib "${p[@]}")" "$(sum_status VmRSS "${p[@]}")" >>"$rows"
			read -r -a p <<<"$(server_pids "$s/small")"
			printf '%s\t%s\t%s\t%s\tload=%s\tpss=%s\trss=%s\n' 6 "$s" small "$r" "${sload[$s/small]}" \
				"$(pss_kib "${p[@]}")" "$(sum_status VmRSS "${p[@]}")" >>"$rows"
			warm "$s" large "$(wrk_url "$s" large http /)"
			measure 6 "$s" small "$r" wrk "$(wrk_url "$s" small http /)"
			measure 6 "$s" large "$r" wrk "$(wrk_url "$s" large http /)"
			measure_fixed 6 "$s" large "$r" http /
			stop_server "$s/large"
		done
	done
	for s in $LARGE_SERVERS; do
		stop_server "$s/small"
	done
}

# ---------------------------------------------------------------- report

# awk_median: the awk function median(LIST), the median of the numbers in
# a space-separated list ("" for none), for the report's tables.
awk_median='
	function median(list,    n, a, i, j, t) {
		n = split(list, a, " ")
		if (n == 0) return ""
		for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}'

# table SCENARIO: the Markdown table of a scenario from rows.tsv, medians
# over the rounds.
table() {
	awk -F '\t' -v scen="$1" -v servers="$2" "$awk_median"'
	function ratio(x, y) { return (y + 0 > 0 && x != "") ? sprintf("%.2f×", x / y) : "–" }
	function mib(k) { return k == "" ? "–" : sprintf("%.1f", k / 1024) }
	function num(x, f) { return x == "" ? "–" : sprintf(f, x) }
	$1 == scen {
		k = $2 "/" $3
		for (i = 5; i <= NF; i++) {
			split($i, kv, "=")
			v[k, kv[1]] = v[k, kv[1]] " " kv[2]
			if (kv[1] == "hwm" && kv[2] + 0 > peak[k]) peak[k] = kv[2] + 0
		}
	}
	END {
		ns = split(servers, srv, " ")
		if (scen <= 4 || scen == 7) {
			print "| server | req/s | p50 | p99 | CPU/req | peak RSS MiB | errors | vs nginx |"
			print "|---|--:|--:|--:|--:|--:|--:|--:|"
			base = median(v["nginx/small", "rps"])
			for (i = 1; i <= ns; i++) {
				k = srv[i] "/small"; rps = median(v[k, "rps"])
				name = srv[i]
				printf "| %s | %s | %s µs | %s µs | %s µs | %s | %s | %s |\n", name, num(rps, "%.0f"),
					num(median(v[k, "p50"]), "%.0f"), num(median(v[k, "p99"]), "%.0f"),
					num(median(v[k, "cpu"]), "%.0f"), mib(peak[k]), num(median(v[k, "err"]) + median(v[k, "bad"]), "%d"), ratio(rps, base)
			}
		} else if (scen == 5) {
			print "| server | open | RSS before MiB | RSS after MiB | KiB/conn | peak RSS MiB | vs nginx |"
			print "|---|--:|--:|--:|--:|--:|--:|"
			base = median(v["nginx/small", "per_milli"])
			for (i = 1; i <= ns; i++) {
				k = srv[i] "/small"; per = median(v[k, "per_milli"])
				printf "| %s | %s | %s | %s | %s | %s | %s |\n", srv[i], num(median(v[k, "open"]), "%d"),
					mib(median(v[k, "before"])), mib(median(v[k, "after"])), num(per == "" ? "" : per / 1000, "%.1f"),
					mib(peak[k]), ratio(per, base)
			}
		} else {
			print "| server | load time | memory 1 domain MiB | memory large MiB | req/s 1 domain | req/s large | large/1 | p99 large | CPU/req large | vs nginx (large) |"
			print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
			base = median(v["nginx/large", "rps"])
			for (i = 1; i <= ns; i++) {
				s = srv[i]; rl = median(v[s "/large", "rps"]); rs = median(v[s "/small", "rps"])
				printf "| %s | %s s | %s | %s | %s | %s | %s | %s µs | %s µs | %s |\n", s, num(median(v[s "/large", "load"]), "%.2f"),
					mib(median(v[s "/small", "pss"])), mib(median(v[s "/large", "pss"])), num(rs, "%.0f"), num(rl, "%.0f"),
					ratio(rl, rs), num(median(v[s "/large", "p99"]), "%.0f"), num(median(v[s "/large", "cpu"]), "%.0f"), ratio(rl, base)
			}
		}
	}' "$rows"
}

# fixed_table SCENARIO SERVERS: the table of the scenario's fixed-rate
# runs: medians over the rounds, but the largest maximum.
fixed_table() {
	awk -F '\t' -v scen="$1f" -v servers="$2" "$awk_median"'
	function num(x, f) { return x == "" ? "–" : sprintf(f, x) }
	function ms(x) { return x == "" ? "–" : x + 0 >= 1000 ? sprintf("%.2f ms", x / 1000) : sprintf("%.0f µs", x) }
	$1 == scen {
		s = $2
		for (i = 5; i <= NF; i++) {
			split($i, kv, "=")
			v[s, kv[1]] = v[s, kv[1]] " " kv[2]
			if (kv[1] == "fixed_max" && (!(s in top) || kv[2] + 0 > top[s])) top[s] = kv[2] + 0
		}
	}
	END {
		ns = split(servers, srv, " ")
		print "| server | asked req/s | achieved | p50 | p99 | p99.9 | max | generator late p99 | errors | p99 vs nginx |"
		print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
		base = median(v["nginx", "fixed_p99"])
		for (i = 1; i <= ns; i++) {
			s = srv[i]; p99 = median(v[s, "fixed_p99"])
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s, num(median(v[s, "fixed_rate"]), "%d"),
				num(median(v[s, "rps"]), "%.0f"), ms(median(v[s, "fixed_p50"])), ms(p99), ms(median(v[s, "fixed_p999"])),
				ms(top[s]), ms(median(v[s, "fixed_late"])), num(median(v[s, "err"]), "%d"),
				(base + 0 > 0 && p99 != "") ? sprintf("%.2f×", p99 / base) : "–"
		}
	}' "$rows"
}

# ---------------------------------------------------------------- main

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "# forcehttps edge, nginx and Caddy"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r)"
	echo "- load average before: $load_before"
	echo "- servers: forcehttps $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?') ($(go env GOVERSION)), $(nginx -v 2>&1 | sed 's|.*/|nginx |'), caddy $(caddy version | cut -d' ' -f1) ($(caddy build-info 2>/dev/null | awk '$1 == "go" { print $2 }'))"
	echo "- settings: PIN=$PIN (server CPUs: ${SERVER_CPUS:-all}, load CPUs: ${LOAD_CPUS:-all}, backend CPUs: ${BACKEND_CPUS:-all}), workers/GOMAXPROCS $server_cores, DURATION=${DURATION}s, ROUNDS=$ROUNDS, CONNS=$CONNS, FIXED_RATES=\"$FIXED_RATES\", FIXED_CONNS=$FIXED_CONNS, HS_CONNS=$HS_CONNS, H2_CONNS=$H2_CONNS, H2_STREAMS=$H2_STREAMS, IDLE_CONNS=$IDLE_CONNS, DOMAINS=$DOMAINS, wrk threads $WRK_THREADS"
	echo "- TLS server name sent by wrk: $tls_host"
	echo "- command: $(if [[ $QUICK == 1 ]]; then printf 'QUICK=1 '; fi)$(if [[ $PIN == 1 ]]; then printf 'PIN=1 '; fi)bench/run.sh"
	echo
} >"$OUT/header.md"
{
	echo "# What each server answered"
	echo
} >"$OUT/equivalence.md"

start_backend
log "checking that every server gives the same answers"
all_servers=$(echo "$SERVERS $LARGE_SERVERS" | tr -s ' ' '\n' | awk 'NF && !seen[$0]++' | tr '\n' ' ')
for s in $all_servers; do
	start_server "$s" small
	check_server "$s"
	stop_server "$s/small"
done

for scen in $SCENARIOS; do
	case $scen in
	1) run_throughput 1 wrk http / ;;
	2) run_throughput 2 wrk https /health ;;
	3) run_throughput 3 wrk https / ;;
	4) run_throughput 4 handshake https / ;;
	7) run_throughput 7 h2load https / ;;
	5) run_idle ;;
	6) run_domains ;;
	esac
done
stop "$backend_pid"

if [[ $MICRO == 1 ]]; then
	log "middleware microbenchmarks (micro.sh, count $MICRO_COUNT)"
	if [[ -n $SERVER_CPUS ]]; then
		taskset -c "$SERVER_CPUS" "$bench/micro.sh" "$MICRO_COUNT" >"$OUT/raw/micro.txt" 2>&1 || die "micro.sh failed: $(tail -n 5 "$OUT/raw/micro.txt")"
	else
		"$bench/micro.sh" "$MICRO_COUNT" >"$OUT/raw/micro.txt" 2>&1 || die "micro.sh failed: $(tail -n 5 "$OUT/raw/micro.txt")"
	fi
fi

{
	cat "$OUT/header.md"
	echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	for scen in $SCENARIOS; do
		echo "## $(scenario_title "$scen")"
		echo
		if [[ $scen == 6 ]]; then
			table "$scen" "$LARGE_SERVERS"
		else
			table "$scen" "$SERVERS"
		fi
		echo
		case $scen in
		4) printf '%s\n\n' "CPU/req is the server's CPU time per new connection: the handshake, one request, the close." ;;
		7) printf '%s\n\n' "p50 and p99 from h2load's per-request log; errors: failed, errored and timed-out requests." ;;
		5) printf '%s\n\n' "KiB/conn: (RSS with the connections open and idle − RSS before) ÷ connections open." ;;
		6) printf '%s\n\n' "Load time: from starting the process to its first redirect for the last domain. Memory: PSS after loading, summed over the server's processes (nginx's workers share the configuration with the master). req/s: a redirect for that domain, against the same server with one domain." ;;
		esac
		if [[ -n $(fixed_rate "$scen") ]]; then
			echo "### Latency at a fixed rate: $(fixed_rate "$scen") req/s$(if [[ $scen == 6 ]]; then echo ", the large configuration's last domain"; fi) (loadgen rate, $FIXED_CONNS connections)"
			echo
			if [[ $scen == 6 ]]; then
				fixed_table "$scen" "$LARGE_SERVERS"
			else
				fixed_table "$scen" "$SERVERS"
			fi
			echo
			printf '%s\n\n' "Open loop: request i is sent at start + i/rate whatever the answers, and its latency runs from that time, so the queue behind a stall of the server counts. Medians of the rounds; max: the largest. Generator late p99: how late loadgen itself sent the requests it had a free connection for; when it is not far below the p99 (load generator not pinned, or a busy machine), loadgen's own delays are part of the figures."
		fi
	done
	if [[ $MICRO == 1 ]]; then
		echo "## Middleware: forcehttps against unrolled/secure (micro.sh, benchstat, count $MICRO_COUNT)"
		echo
		echo '```'
		# benchstat's table follows go test's closing "ok" line.
		awk 'table; /^ok / { table = 1 }' "$OUT/raw/micro.txt" | sed '/./,$!d'
		echo '```'
		echo
	fi
	echo "Medians of $ROUNDS round(s). Raw outputs: raw/. What each server answered: equivalence.md."
} >"$OUT/results.md"
rm -f "$OUT/header.md"
cat "$OUT/results.md"

# Every scenario must have produced numbers for every server, and every
# response must have had the expected status. No timing is judged.
passed=0 failed=0
for scen in $SCENARIOS; do
	list=$SERVERS
	[[ $scen == 6 ]] && list=$LARGE_SERVERS
	for s in $list; do
		if [[ -n $(fixed_rate "$scen") ]]; then
			ok=$(awk -F '\t' -v c="${scen}f" -v s="$s" '$1 == c && $2 == s && $7 ~ /^req=[1-9]/ && $8 == "err=0" { n++ } END { print n + 0 }' "$rows")
			if ((ok == ROUNDS)); then
				passed=$((passed + 1))
			else
				failed=$((failed + 1))
				log "no numbers, or errors, at the fixed rate of scenario $scen, $s ($ok of $ROUNDS runs)"
			fi
		fi
		case $scen in
		5) ok=$(awk -F '\t' -v s="$s" '$1 == 5 && $2 == s && $5 ~ /^open=[1-9]/ && $6 == "failed=0" { n++ } END { print n + 0 }' "$rows") ;;
		*) ok=$(awk -F '\t' -v c="$scen" -v s="$s" '$1 == c && $2 == s && $6 ~ /^req=[1-9]/ && $12 == "bad=0" { n++ } END { print n + 0 }' "$rows") ;;
		esac
		want=$ROUNDS
		[[ $scen == 6 ]] && want=$((2 * ROUNDS))
		if ((ok == want)); then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			log "no numbers, or wrong answers, for scenario $scen, $s ($ok of $want runs)"
		fi
	done
done
echo
echo "results: $OUT"
echo "bench: $passed passed, $failed failed"
((failed == 0))
