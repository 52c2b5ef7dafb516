# runtime-tools-conformance/tap-status.awk - judge one validation program.
#
#   awk -v rc=EXIT_STATUS -f tap-status.awk TEST.tap
#
# Prints one tab-separated line: ok, not_ok, skip, todo, plan, status.
# ok counts passing results that are not skips; plan is the sum of the
# plans, "-" when a TAP document has none.
#
# A program's stdout may hold several TAP documents (each starts with "TAP
# version"; runtimetest's report from inside the container is one of them).
# Statuses, first match wins:
#   TIMEOUT                  killed by timeout(1) (rc 124 or 137)
#   FAIL                     a "not ok" that is not marked TODO
#   ERROR(exit N)            non-zero exit status
#   ERROR(bail out)          a "Bail out!" line
#   ERROR(error diagnostic, no result)
#                            a document without results whose YAML block has
#                            an "error:" key: how the lifecycle and hook
#                            programs (prestart, poststop_fail, ...) fail
#   PASS(exit 0, no TAP)     no output at all: a *_fail program whose runtime
#                            rejected the config, as it must
#   ERROR(plan P, ran N)     a document without a plan or with a wrong one
#   PASS(1..0, no error)     no results and no error: a lifecycle program
#                            that passed (they assert nothing on success)
#   SKIP                     every result is a skip
#   PASS                     otherwise
# The run counts PASS*, SKIP as passed and everything else as failed.

function close_doc() {
	if (!open) return
	if (!doc_planned) unplanned++
	else {
		planned += doc_plan
		if (doc_plan != doc_results) misplanned++
	}
	if (doc_results == 0 && doc_error) error_docs++
	open = 0
}
function open_doc() {
	close_doc()
	open = 1; doc_results = 0; doc_planned = 0; doc_plan = 0; doc_error = 0; in_yaml = 0
}

BEGIN { lines = 0 }
{ lines++ }
/^TAP version / { open_doc(); next }
/^(not )?ok([ \t]|$)/ {
	if (!open) open_doc()
	in_yaml = 0
	results++; doc_results++
	directive = tolower($0)
	sub(/^[^#]*/, "", directive) # "# SKIP ..." / "# TODO ..." or empty
	if ($1 == "ok") {
		if (directive ~ /^#[ \t]*skip/) skips++; else oks++
	} else {
		if (directive ~ /^#[ \t]*todo/) todos++; else not_oks++
	}
	next
}
/^1\.\.[0-9]+/ {
	if (!open) open_doc()
	doc_planned = 1
	doc_plan = substr($1, 4) + 0
	next
}
/^  ---[ \t]*$/ { in_yaml = 1; next }
/^  \.\.\.[ \t]*$/ { in_yaml = 0; next }
in_yaml && /^  error:/ { doc_error = 1; next }
/^Bail out!/ { bailed = 1 }

END {
	close_doc()
	if (rc == 124 || rc == 137) status = "TIMEOUT"
	else if (not_oks > 0) status = "FAIL"
	else if (rc != 0) status = "ERROR(exit " rc ")"
	else if (bailed) status = "ERROR(bail out)"
	else if (error_docs > 0) status = "ERROR(error diagnostic, no result)"
	else if (lines == 0) status = "PASS(exit 0, no TAP)"
	else if (unplanned > 0 || misplanned > 0)
		status = "ERROR(plan " (unplanned ? "-" : planned) ", ran " results ")"
	else if (results == 0) status = "PASS(1..0, no error)"
	else if (oks == 0) status = "SKIP"
	else status = "PASS"
	printf "%d\t%d\t%d\t%d\t%s\t%s\n", oks, not_oks, skips, todos, (unplanned ? "-" : planned + 0), status
}
