#!/usr/bin/env bash
# The first job of inbound-fleet-apply.yml: validate, plan the whole fleet, and print its jobs.
#   plan --fleet --out $OUT/plan.json --format github   annotations, and the plan in the summary
#   matrix --fleet --plan $OUT/plan.json                one job per changed target; the ends of
#                                                       each move share one
# Runs only on INBOUND_SYNC_BRANCH (the default branch), like apply.sh.
#
# Exit: 0 planned, 1 invalid config / error, 3 refused by a safety guard.
# Outputs: exit-code, matrix (JSON for fromJSON), changes (true when some target has changes).
set -euo pipefail
# shellcheck source=SCRIPTDIR/fleet-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fleet-lib.sh"
fleet_init
rm -f "$OUT/plan.json"

finish() {
  set_output exit-code "$1"
  exit "$1"
}

if ! on_branch "inbound-sync fleet apply"; then
  finish 1
fi
if ! validate_config; then
  invalid_report "inbound-sync fleet apply" | summary
  finish 1
fi

code=0
with_keys inbound-sync plan "${CONFIG[@]}" --out "$OUT/plan.json" --format github || code=$?
if [[ $code -ne 0 ]]; then
  finish "$code"
fi

matrix=$(inbound-sync matrix "${CONFIG[@]}" --plan "$OUT/plan.json")
set_output matrix "$matrix"
if [[ $matrix == '{"include":[]}' ]]; then
  set_output changes false
  echo "inbound-sync fleet apply: no changes"
else
  set_output changes true
fi
finish 0
