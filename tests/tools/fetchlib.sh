# Sourced by the erofs-fetch tests (t40-t44) after tests/lib.sh: the
# fetch binary, free ports on loopback, and real servers started and
# stopped by the test itself.
# $FETCH comes from lib.sh (this tree's build, or $EROFS_BUILD's)
[ -x "$FETCH" ] || fail "erofs-fetch not built: $FETCH"

_servers=()
_fetch_cleanup() {
	local p
	for p in "${_servers[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${_servers[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	_cleanup
}
trap _fetch_cleanup EXIT

# expect_exit CODE TEXT ARGS...: exit status CODE and TEXT in stderr
expect_exit() {
	local code=$1 text=$2 rc=0
	shift 2
	"$FETCH" "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" = "$code" ] || fail "erofs-fetch $*: exit $rc, expected $code: $(cat "$T/err")"
	grep -q -- "$text" "$T/err" ||
		fail "erofs-fetch $*: no '$text' in: $(cat "$T/err")"
	echo "ok: erofs-fetch $* -> $code ($(head -n 1 "$T/err"))"
}

# a TCP port nobody listens on now
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT
wait_port() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# start_nginx ROOT [CERT KEY]: serves ROOT on a free port, sets
# NGINX_PORT; /norange/ serves the same files but ignores Range
# (max_ranges 0) and /moved/ redirects to /.  With CERT and KEY, https
# too, on NGINX_TLS_PORT.
start_nginx() {
	local root=$1 d="$T/nginx" tls=""
	command -v nginx >/dev/null || skip "nginx is not installed (scripts/install-deps.sh)"
	NGINX_PORT=$(free_port)
	if [ -n "${2:-}" ]; then
		NGINX_TLS_PORT=$(free_port)
		tls="listen 127.0.0.1:$NGINX_TLS_PORT ssl; ssl_certificate $2; ssl_certificate_key $3;"
	fi
	mkdir -p "$d/tmp"
	# workers run as an unprivileged user: let them reach ROOT
	chmod 755 "$T"
	cat >"$d/nginx.conf" <<EOF
worker_processes 2;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 512; }
http {
	log_format fetch '\$connection \$status \$request_method \$uri \$http_range';
	access_log $d/access.log fetch;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	sendfile on;
	keepalive_requests 100000;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		$tls
		root $root;
		location /norange/ { alias $root/; max_ranges 0; }
		location /moved/ { rewrite ^/moved/(.*)\$ /\$1 redirect; }
	}
}
EOF
	nginx -c "$d/nginx.conf" -p "$d" -g 'daemon off;' 2>"$d/stderr" &
	_servers+=($!)
	wait_port "$NGINX_PORT" || fail "nginx did not start: $(cat "$d/stderr" "$d/error.log" 2>/dev/null)"
}

# start_faultserver ROOT [ARGS...]: tests/tools/faultserver.py on a free
# port, sets FAULT_PORT; faults are chosen per request by the URL (see the
# tool); every request is logged to $T/fault.log
start_faultserver() {
	local root=$1; shift
	FAULT_PORT=$(free_port)
	"$PY" "$TOOLS/faultserver.py" --port "$FAULT_PORT" --root "$root" \
		--log "$T/fault.log" "$@" 2>"$T/fault.stderr" &
	_servers+=($!)
	wait_port "$FAULT_PORT" || fail "fault server did not start: $(cat "$T/fault.stderr")"
}

# Debian's docker-registry (scripts/install-deps.sh installs it)
REGISTRY=/usr/bin/docker-registry

# start_registry DIR [AUTHFILE]: Debian's docker-registry ($REGISTRY) on a
# free port, with htpasswd auth if AUTHFILE is given; sets REG
start_registry() {
	local dir=$1 port
	port=$(free_port)
	mkdir -p "$dir/data"
	{
		echo "version: 0.1"
		echo "log: {level: error, accesslog: {disabled: true}}"
		echo "storage: {filesystem: {rootdirectory: $dir/data}}"
		echo "http: {addr: 127.0.0.1:$port}"
		[ -z "${2:-}" ] || echo "auth: {htpasswd: {realm: erofs-test, path: $2}}"
	} >"$dir/config.yml"
	"$REGISTRY" serve "$dir/config.yml" >"$dir/log" 2>&1 &
	_servers+=($!)
	wait_port "$port" 20 || fail "docker-registry did not start: $(cat "$dir/log")"
	REG="127.0.0.1:$port"
}

# json_field FILE NAME: a number from the --json stats line
json_field() {
	"$PY" -c 'import json, sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]])' "$1" "$2"
}

# same_range FILE1 FILE2 OFF LEN: the bytes agree
same_range() {
	cmp -s -i "$3:$3" -n "$4" "$1" "$2"
}

# build_sourcetest: tests/tools/sourcetest.c linked with this build's
# libraries (instrumented too when the build is); sets SOURCETEST
build_sourcetest() {
	local libs="$BUILD/lib/.libs" san=""
	command -v cc >/dev/null || skip "no C compiler for tests/tools/sourcetest.c"
	[ -f "$libs/libsource.a" ] || fail "no $libs/libsource.a in the build"
	grep -q __asan_ <<<"$(nm "$libs/libsource.a" 2>/dev/null)" &&
		san="-fsanitize=address,undefined"
	SOURCETEST="$T/sourcetest"
	# shellcheck disable=SC2046
	cc -g $san -include "$BUILD/config.h" -I"$TOP/include" -pthread \
		-o "$SOURCETEST" "$TOOLS/sourcetest.c" "$libs/libsource.a" \
		"$libs/liberofs.a" $(pkg-config --libs libcurl liblz4 liblzma uuid zlib) ||
		fail "cannot build sourcetest"
}

# push FILE DIGEST [CURL OPTIONS]: POST an upload to $REG/$repo, PUT the
# bytes with ?digest=
push() {
	local file=$1 digest=$2 loc; shift 2
	loc=$(curl -sS -D - -o /dev/null -X POST "$@" "http://$REG/v2/$repo/blobs/uploads/" |
		tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
	[ -n "$loc" ] || fail "registry gave no upload location"
	case "$loc" in /*) loc="http://$REG$loc" ;; esac
	case "$loc" in *\?*) loc="$loc&" ;; *) loc="$loc?" ;; esac
	code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT "$@" \
		-H 'Content-Type: application/octet-stream' --data-binary "@$file" \
		"${loc}digest=sha256:$digest")
	[ "$code" = 201 ] || fail "push of $file: HTTP $code"
}
