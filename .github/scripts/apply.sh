#!/usr/bin/env bash
# The apply step of inbound-apply.yml: validate, save a plan, then apply exactly that plan file.
#   plan --out $OUT/plan.json --format github     annotations, and the plan in the job summary
#   apply --plan $OUT/plan.json --format github   the apply report in the job summary, with
#     --log-file $OUT/audit.jsonl                 one JSON line per API call
#     --undo-out $OUT/undo-plan.json              a saved plan restoring every changed number
# The workflow uploads $OUT as an artifact whatever the outcome.
#
# Runs only on the branch INBOUND_SYNC_BRANCH names (the workflow passes the default branch),
# so that a manual run from a feature branch cannot apply unreviewed mappings.
#
# Exit: 0 applied or nothing to do, 1 invalid config / error / not converged, 3 refused by a
#       safety guard, 4 the account changed between plan and apply, 130 interrupted.
# Outputs: exit-code, out-dir. INBOUND_SYNC_CONCURRENCY sets apply --concurrency (default 8).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
init
rm -f "$OUT/plan.json" "$OUT/audit.jsonl" "$OUT/undo-plan.json"
set_output out-dir "$OUT"

finish() {
  set_output exit-code "$1"
  exit "$1"
}

if [[ -n "${INBOUND_SYNC_BRANCH:-}" && "${GITHUB_REF:-}" != "refs/heads/$INBOUND_SYNC_BRANCH" ]]; then
  echo "::error title=inbound-sync apply::apply runs only on $INBOUND_SYNC_BRANCH, not ${GITHUB_REF:-an unknown ref}; nothing was written"
  finish 1
fi

if ! validate_config; then
  invalid_report "inbound-sync apply" | summary
  finish 1
fi

code=0
inbound-sync plan "${CONFIG[@]}" --out "$OUT/plan.json" --format github || code=$?
if [[ $code -ne 0 ]]; then
  finish "$code"
fi

code=0
inbound-sync apply --plan "$OUT/plan.json" --format github \
  --concurrency "${INBOUND_SYNC_CONCURRENCY:-8}" \
  --log-file "$OUT/audit.jsonl" --undo-out "$OUT/undo-plan.json" || code=$?
if [[ $code -eq 4 ]]; then
  echo "::error title=inbound-sync apply::the account changed between plan and apply; nothing was written. Re-run this workflow to plan again."
fi
finish "$code"
