# shellcheck shell=bash
# runtime-spec 1.3 fields and the runtime behaviours engines rely on (issue
# #14): each test looks at the kernel's view from inside the container
# (/proc/self/status, numa_maps, mountinfo, the interfaces of its netns).

# runc ignores capabilities it does not know, with a warning; so does kiln.
test_unknown_capabilities_warn() {
	local id
	id=$(new_id)
	C_CAPS='"CAP_KILL","CAP_BOGUS","cap_chown"' run_in "$id" sh -c 'grep ^CapEff /proc/self/status'
	expect_ok "run with unknown capabilities"
	expect_out_eq $'CapEff:\t0000000000000020' "only CAP_KILL applied"
	expect_err_has "ignoring unknown or unavailable capabilities: [CAP_BOGUS cap_chown]"
}
