# tests/docs/completions.sh - sourced by tests/docs/run.sh: the bash, zsh and
# fish completions, as `meson install` installs them, loaded the way each
# shell loads them (bash-completion's loader by command name, zsh's fpath
# and compinit, fish's vendor_completions.d), asked real questions.

# The scenarios: NAME|LINE|CHECK. CHECK is "only:W" (exactly that match),
# "has:W1 W2" (at least those), "hasnt:W" (not that one).
completion_cases() {
	local run_flags
	run_flags=$(python3 - "$KILN" <<'EOF'
import sys
sys.path.insert(0, "tools")
import kiln_cli
print(" ".join(s for f in kiln_cli.load(sys.argv[1]).command("run").flags for s in f.spellings() if s.startswith("--")))
EOF
)
	cat <<EOF
kiln cre -> create|kiln cre|only:create
kiln run -- lists every option of run|kiln run --|has:$run_flags
kiln --log-format -> text json|kiln --log-format |has:text json
kiln --root R state -> ids from kiln --root R list -q|kiln --root /x/r state |has:box1 box2
kiln kill ID -> signal names|kill-signal|has:KILL TERM
kiln-km cre -> create (the KM link)|kiln-km cre|only:create
kiln exec ID CMD -- offers no kiln option|kiln exec box1 ls --|hasnt:--detach
EOF
}

# A stand-in kiln on PATH for the container-id completion: prints two ids
# and logs how it was called.
fake_kiln() {
	mkdir -p "$TMP/fakebin"
	cat >"$TMP/fakebin/kiln" <<EOF
#!/bin/sh
echo "\$*" >>"$TMP/fakebin/calls"
printf 'box1\nbox2\n'
EOF
	chmod +x "$TMP/fakebin/kiln"
	ln -sf kiln "$TMP/fakebin/kiln-km"
}

# judge NAME CHECK OUTPUT: ok/FAIL on the candidates in OUTPUT (words).
judge() {
	local name=$1 check=$2 words w missing=()
	words=$(tr -s ' \t' '\n\n' <<<"$3" | grep -v '^$' | sort -u)
	case $check in
	only:*)
		[ "$words" = "${check#only:}" ] ||
			{ fail "$name" "wanted only ${check#only:}, got: $(tr '\n' ' ' <<<"$words" | cut -c1-200)"; return; }
		;;
	has:*)
		for w in ${check#has:}; do grep -qxF -- "$w" <<<"$words" || missing+=("$w"); done
		[ ${#missing[@]} = 0 ] || { fail "$name" "missing ${missing[*]} in: $(tr '\n' ' ' <<<"$words" | cut -c1-200)"; return; }
		;;
	hasnt:*)
		! grep -qxF -- "${check#hasnt:}" <<<"$words" ||
			{ fail "$name" "offered ${check#hasnt:}: $(tr '\n' ' ' <<<"$words" | cut -c1-200)"; return; }
		;;
	esac
	ok "$name"
}

# root_passed SHELL: the id completion ran `kiln --root R list -q`.
root_passed() {
	if grep -qx -- '--root /x/r list -q' "$TMP/fakebin/calls"; then
		ok "$1: container ids are listed under the --root given"
	else
		fail "$1: container ids are listed under the --root given" "kiln was called as: $(tr '\n' ';' <"$TMP/fakebin/calls")"
	fi
}

# The line of a case ("kill-signal" needs the id first).
case_line() { [ "$1" = kill-signal ] && echo "kiln kill box1 " || echo "$1"; }

bash_complete() { # LINE: candidates, one per line, from bash-completion's loader
	local share=$1 line=$2
	XDG_DATA_DIRS=$share:/usr/share PATH=$TMP/fakebin:$PATH bash --norc --noprofile -c '
		. /usr/share/bash-completion/bash_completion || exit 2
		read -ra COMP_WORDS <<<"$1"
		[[ $1 == *" " ]] && COMP_WORDS+=("")
		__load_completion "${COMP_WORDS[0]}" || { echo "no completion loaded for ${COMP_WORDS[0]}" >&2; exit 2; }
		spec=$(complete -p "${COMP_WORDS[0]}") || exit 2
		fn=${spec#*-F }; fn=${fn%% *}
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE=$1; COMP_POINT=${#1}; COMPREPLY=()
		"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' bash "$line"
}

fish_complete() { # LINE: candidates from fish's vendor_completions.d
	local share=$1 line=$2
	mkdir -p "$TMP/fishhome"
	HOME=$TMP/fishhome XDG_CONFIG_HOME=$TMP/fishhome/.config XDG_DATA_HOME=$TMP/fishhome/.local/share \
		XDG_DATA_DIRS=$share:/usr/share PATH=$TMP/fakebin:$PATH \
		fish -c 'complete -C"$argv[1]"' "$line" | cut -f1
}

# ask_each SHELL FN SHARE: every case through FN SHARE LINE (one shell per line).
ask_each() {
	local shell=$1 fn=$2 share=$3 c name line check out
	for c in "${cases[@]}"; do
		IFS='|' read -r name line check <<<"$c"
		: >"$TMP/fakebin/calls"
		out=$("$fn" "$share" "$(case_line "$line")" 2>&1)
		judge "$shell: $name" "$check" "$out"
		case $name in *"--root R"*) root_passed "$shell" ;; esac
	done
}

test_completions() {
	if ! stage_install; then
		fail completions "meson install failed: $(tail -n 3 "$TMP/install.log" | tr '\n' ' ')"
		return
	fi
	local bash_f zsh_f fish_f
	bash_f=$(staged bash-completion/completions/kiln)
	zsh_f=$(staged 'zsh/*/_kiln')
	fish_f=$(staged fish/vendor_completions.d/kiln.fish)
	relay_results python3 tests/docs/check-completions.py "$KILN" "$bash_f" "$zsh_f" "$fish_f"
	fake_kiln
	local name line check out cases
	mapfile -t cases < <(completion_cases)

	# bash
	if [ -f /usr/share/bash-completion/bash_completion ]; then
		ask_each bash bash_complete "${bash_f%/bash-completion/*}"
	else
		fail "bash completion" "bash-completion is not installed"
	fi

	# zsh
	if command -v zsh >/dev/null; then
		local lines=() all
		for c in "${cases[@]}"; do
			IFS='|' read -r name line check <<<"$c"
			lines+=("$(case_line "$line")")
		done
		: >"$TMP/fakebin/calls"
		all=$(PATH=$TMP/fakebin:$PATH HOME=$TMP/zhome timeout 120 zsh -f tests/docs/zcomplete.zsh "$(dirname "$zsh_f")" "${lines[@]}" 2>&1)
		for c in "${cases[@]}"; do
			IFS='|' read -r name line check <<<"$c"
			line=$(case_line "$line")
			out=$(awk -v h="=== $line" '$0 == h {on = 1; next} /^=== / {on = 0} on' <<<"$all")
			# "only": the word completed into the line; else the list shown
			if [ "${check%%:*}" = only ]; then
				out=$(sed -n 's/^BUF<\(.*\)>$/\1/p' <<<"$out" | awk '{print $NF}')
			else
				out=$(grep -v '^BUF<' <<<"$out")
			fi
			judge "zsh: $name" "$check" "$out"
		done
		root_passed zsh
	else
		fail "zsh completion" "zsh is not installed"
	fi

	# fish
	if command -v fish >/dev/null; then
		ask_each fish fish_complete "${fish_f%/fish/*}"
	else
		fail "fish completion" "fish is not installed"
	fi
}
