#!/usr/bin/env bash
# The matrix job of inbound-fleet-apply.yml: one target, or the targets a move links, applied
# with their keys alone. As apply.sh: validate, save a plan, apply exactly that plan file, and
# keep the evidence in $OUT (the workflow uploads it whatever the outcome).
#
# Exit: 0 applied or nothing to do, 1 invalid config / error / not converged, 3 refused by a
#       safety guard, 4 the account changed between plan and apply, 130 interrupted.
# Outputs: exit-code, out-dir. INBOUND_SYNC_CONCURRENCY sets apply --concurrency (default 8).
set -euo pipefail
# shellcheck source=SCRIPTDIR/fleet-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fleet-lib.sh"
fleet_init
rm -f "$OUT/plan.json" "$OUT/audit.jsonl" "$OUT/undo-plan.json"
set_output out-dir "$OUT"

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

code=0
with_keys inbound-sync apply "${CONFIG[@]}" --plan "$OUT/plan.json" --format github \
  --concurrency "${INBOUND_SYNC_CONCURRENCY:-8}" \
  --log-file "$OUT/audit.jsonl" --undo-out "$OUT/undo-plan.json" || code=$?
if [[ $code -eq 4 ]]; then
  echo "::error title=inbound-sync fleet apply::the account changed between plan and apply; nothing was written. Re-run this workflow to plan again."
fi
finish "$code"
