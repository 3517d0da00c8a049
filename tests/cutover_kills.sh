#!/usr/bin/env bash
# Sourced by tests/fleet.sh and tests/crash.sh: the controller killed right after each step of the
# one cut-over (playbooks/tasks/cutover.yml) in turn, each run resuming what the last left.
#   cutover_kills NAME WRITABLE-FUNCTION ARGS...
# runs `ansible-playbook "${inv[@]}" ARGS...` five times, killed (SIGKILL to its process group, by
# tests/fleet/callback_plugins/helix_kill_after.py) after cut-over step 1, 2, ... 5 (or the steps in
# $cutover_kill_steps); after each
# kill WRITABLE-FUNCTION (the number of writable copies) must say at most 1. Logs: $out/NAME-K.log.
# The caller runs the last, uninterrupted rerun and checks the end state.
cutover_steps=("Cut-over 1/5 - make the source trees read-only" "Cut-over 2/5 - take the final snapshot"
  "Cut-over 3/5 - send the final incremental" "Cut-over 4/5 - mark the sources"
  "Cut-over 5/5 - make the target trees writable")
# shellcheck disable=SC2154  # out, inv and fail are the sourcing script's
cutover_kills() {
  local name=$1 writable=$2 k at log; shift 2
  for k in ${cutover_kill_steps:-1 2 3 4 5}; do
    at=${cutover_steps[$((k - 1))]} log=$out/$name-$k.log
    # setsid: the callback kills ansible-playbook's process group, not this script; the subshell
    # (made a real one by its `exit`) keeps bash's "Killed" notice out of the output.
    if (HELIX_KILL_AFTER="$at" ANSIBLE_CALLBACK_PLUGINS=tests/fleet/callback_plugins \
        ANSIBLE_CALLBACKS_ENABLED=helix_kill_after ANSIBLE_CALLBACK_RESULT_FORMAT=json \
        setsid bash -c 'exec "$@"' _ ansible-playbook "${inv[@]}" "$@" >"$log" 2>&1; exit $?) 2>/dev/null; then
      fail "the $name run meant to be killed after \"$at\" finished: see $log"
    fi
    grep -q "TASK \[$at" "$log" || fail "the $name run did not reach \"$at\" (killed earlier?): see $log"
    [ "$("$writable")" -le 1 ] || fail "$name: two writable copies after a kill after \"$at\""
    echo "    $name killed after cut-over step $k/5 ($SECONDS s): $("$writable") writable"
  done
}
