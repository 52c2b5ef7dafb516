#!/usr/bin/env bash
# runtime-tools-conformance/selftest.sh - check the runner's own parts
# without running containers: tap-status.awk's verdicts on sample TAP
# outputs and, when Go is installed, tap/tap.go's unit tests.
# Prints "N passed, N failed"; exit status 1 on a failure.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
passed=0 failed=0

# verdict WANT RC TAP: tap-status.awk must print WANT as counts + status.
verdict() {
	local got
	got=$(printf '%b' "$3" | awk -v rc="$2" -f "$HERE/tap-status.awk")
	if [ "$got" = "$1" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		printf 'FAIL: rc=%s tap=%q\n  got:  %s\n  want: %s\n' "$2" "$3" "$got" "$1"
	fi
}
T=$'\t'
v13='TAP version 13\n'
verdict "2${T}0${T}0${T}0${T}2${T}PASS" 0 "${v13}ok 1 - a\nok 2 - b\n1..2\n"
verdict "1${T}1${T}0${T}0${T}2${T}FAIL" 0 "${v13}ok 1 - a\nnot ok 2 - b\n1..2\n"
verdict "1${T}1${T}0${T}0${T}2${T}FAIL" 1 "${v13}ok 1 - a\nnot ok 2 - b\n1..2\n"
verdict "1${T}0${T}0${T}1${T}2${T}PASS" 0 "${v13}ok 1 - a\nnot ok 2 # TODO later\n1..2\n"
verdict "0${T}0${T}2${T}0${T}2${T}SKIP" 0 "${v13}1..2\nok 1 # SKIP no\nok 2 # skip no\n"
verdict "1${T}0${T}0${T}0${T}1${T}TIMEOUT" 124 "${v13}ok 1 - a\n1..1\n"
verdict "1${T}0${T}0${T}0${T}1${T}TIMEOUT" 137 "${v13}ok 1 - a\n1..1\n"
verdict "0${T}0${T}0${T}0${T}0${T}ERROR(exit 1)" 1 ""
verdict "0${T}0${T}0${T}0${T}0${T}PASS(exit 0, no TAP)" 0 ""
verdict "0${T}0${T}0${T}0${T}0${T}PASS(1..0, no error)" 0 "${v13}1..0\n"
verdict "0${T}0${T}0${T}0${T}0${T}ERROR(error diagnostic, no result)" 0 \
	"${v13}  ---\n  error: |-\n    hook not run\n  ...\n1..0\n"
# a document with results is judged by them, whatever its YAML blocks say
verdict "1${T}0${T}0${T}0${T}1${T}PASS" 0 "${v13}ok 1 - a\n  ---\n  error: none\n  ...\n1..1\n"
verdict "1${T}0${T}0${T}0${T}-${T}ERROR(plan -, ran 1)" 0 "${v13}ok 1 - a\n"
verdict "1${T}0${T}0${T}0${T}3${T}ERROR(plan 3, ran 1)" 0 "${v13}1..3\nok 1 - a\n"
verdict "1${T}0${T}0${T}0${T}1${T}ERROR(bail out)" 0 "${v13}ok 1 - a\n1..1\nBail out! no runtime\n"
# two documents (the program's and runtimetest's), each with its own plan
verdict "3${T}0${T}0${T}0${T}3${T}PASS" 0 "${v13}ok 1 - a\n1..1\n${v13}ok 1 - b\nok 2 - c\n1..2\n"
verdict "3${T}0${T}0${T}0${T}3${T}ERROR(plan 3, ran 3)" 0 "${v13}ok 1 - a\n1..2\n${v13}ok 1 - b\nok 2 - c\n1..1\n"

if command -v go >/dev/null && [ -d /usr/share/gocode/src/gopkg.in/yaml.v2 ]; then
	gp=$(mktemp -d "${TMPDIR:-/tmp}/kiln-tap-test.XXXXXX")
	mkdir -p "$gp/src/github.com/mndrix/tap-go"
	cp "$HERE"/tap/*.go "$gp/src/github.com/mndrix/tap-go/"
	if (cd "$gp/src/github.com/mndrix/tap-go" && GO111MODULE=off GOPROXY=off GOFLAGS='' \
		GOPATH="$gp:/usr/share/gocode" GOCACHE="$gp/cache" go test ./ 2>&1); then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: go test of tap/"
	fi
	rm -rf "$gp"
else
	echo "selftest: no go or yaml.v2 (golang-gopkg-yaml.v2-dev): tap/ not tested"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
