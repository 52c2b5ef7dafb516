# tests/docs/man.sh - sourced by tests/docs/run.sh: the manual pages.

# relay_results CMD...: counts CMD's "ok X" / "FAIL X: why" lines as tests.
relay_results() {
	local line seen=0
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "${line#ok }"; seen=1 ;;
		"FAIL "*) failed=$((failed + 1)); echo "$line"; seen=1 ;;
		*" passed, "*" failed") ;;
		*) echo "  $line" ;;
		esac
	done < <("$@" 2>&1)
	[ $seen = 1 ] || fail "$*" "printed no results"
}

# man_renders PAGE: groff and man-db format it without a single warning.
man_renders() {
	local page=$1 err out
	case $page in *.gz)
		zcat "$page" >"$TMP/page.8" || return 1
		page=$TMP/page.8 ;;
	esac
	err=$(groff -ww -man -Tutf8 -z "$page" 2>&1) || { echo "groff failed: $err"; return 1; }
	[ -z "$err" ] || { echo "groff: $err"; return 1; }
	err=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || { echo "man -l failed: $err"; return 1; }
	[ -z "$err" ] || { echo "man: $err"; return 1; }
	out=$(MANWIDTH=80 man -l "$page" 2>/dev/null | col -b)
	grep -q '^NAME' <<<"$out" || { echo "no NAME section in the rendered page"; return 1; }
	grep -q "^SYNOPSIS" <<<"$out" || { echo "no SYNOPSIS section in the rendered page"; return 1; }
}

test_man() {
	command -v groff >/dev/null && command -v man >/dev/null || {
		fail man "groff and man (groff-base, man-db) are not installed"
		return
	}
	# Every option of every command (from the binary) is in its page, and
	# the pages document no option kiln does not have.
	relay_results python3 tests/docs/check-man.py "$KILN" man "$REPO"

	# The check itself notices a missing option.
	local t=$TMP/man-mutated
	mkdir -p "$t" && cp man/*.8 "$t/"
	python3 - "$t/kiln-run.8" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
i = s.index(".TP\n\\fB\\-\\-keep\\fR")
j = s.index(".TP", i + 3)
open(p, "w").write(s[:i] + s[j:])
EOF
	local res
	res=$(python3 tests/docs/check-man.py "$KILN" "$t" "$REPO")
	if grep -q '^FAIL kiln-run.8.*--keep is not documented' <<<"$res"; then
		ok "man check notices kiln-run.8 without --keep"
	else
		fail "man check notices kiln-run.8 without --keep" "check-man.py passed a page that lacks --keep"
	fi

	local page why
	for page in man/*.8; do
		if why=$(man_renders "$page"); then
			ok "${page#man/} renders without warnings"
		else
			fail "${page#man/} renders without warnings" "$why"
		fi
	done
}
