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

# linux.memoryPolicy: set_mempolicy for the payload and every exec'd
# process; numa_maps shows the policy of each mapping (the process's, where
# the mapping has none of its own).
test_memory_policy() {
	[ -r /proc/self/numa_maps ] || skip "kernel without NUMA (no /proc/self/numa_maps)"
	local id b node bad
	node=$(sed 's/[-,].*//' /sys/devices/system/node/online)
	id=$(new_id)
	b=$(mkb "$id" sh -c 'grep -m1 -o "^[0-9a-f]* [^ ]*" /proc/self/numa_maps | cut -d" " -f2; sleep 30')
	jedit "$b" "c['linux']['memoryPolicy'] = {'mode': 'MPOL_BIND', 'nodes': '$node', 'flags': ['MPOL_F_STATIC_NODES']}"
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d with memoryPolicy"
	cap rt exec "$id" sh -c 'grep -m1 -o "^[0-9a-f]* [^ ]*" /proc/self/numa_maps | cut -d" " -f2'
	expect_ok "exec"
	expect_out_eq "bind=static:$node" "exec'd process's memory policy"
	cap rt delete -f "$id"
	id=$(new_id)
	b=$(mkb "$id" sh -c 'grep -m1 -o "^[0-9a-f]* [^ ]*" /proc/self/numa_maps | cut -d" " -f2')
	jedit "$b" "c['linux']['memoryPolicy'] = {'mode': 'MPOL_INTERLEAVE', 'nodes': '$node'}"
	cap rt run --bundle "$b" "$id"
	expect_ok "run with MPOL_INTERLEAVE"
	expect_out_eq "interleave:$node" "payload's memory policy"
	# A node the host does not have: the kernel refuses, kiln names the field.
	bad=$(($(sed 's/.*[-,]//' /sys/devices/system/node/possible) + 1))
	id=$(new_id)
	b=$(mkb "$id" true)
	jedit "$b" "c['linux']['memoryPolicy'] = {'mode': 'MPOL_BIND', 'nodes': '$bad'}"
	cap rt run --bundle "$b" "$id"
	expect_rc 1 "memoryPolicy with a node the host lacks"
	[ "$RT_NAME" != kiln ] || expect_err_has "linux.memoryPolicy: set_mempolicy MPOL_BIND nodes $bad: Invalid argument"
	assert_clean "$id"
}
