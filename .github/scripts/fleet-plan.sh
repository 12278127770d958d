#!/usr/bin/env bash
# The plan step of inbound-fleet-plan.yml: validate every target's config, then plan the fleet,
#   1. --format github: annotations at the config lines, the Markdown report in the job summary;
#   2. --format markdown: the body of the sticky pull-request comment, $OUT/plan-comment.md:
#      a section per target (collapsed when it has no changes), the moves, the fleet summary.
# The comment body is written in every case, so the pull request always says why the check is red.
#
# Exit: 0 plan made, 1 invalid config or error (a target that could not be read), 3 refused.
# Outputs: exit-code, body-file.
set -euo pipefail
# shellcheck source=SCRIPTDIR/fleet-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fleet-lib.sh"
fleet_init

title="inbound-sync fleet plan${INBOUND_SYNC_INSTANCE:+ ($INBOUND_SYNC_INSTANCE)}"
body="$OUT/plan-comment.md"
set_output body-file "$body"

finish() {
  set_output exit-code "$1"
  exit "$1"
}

if ! validate_config; then
  invalid_report "$title" >"$body"
  summary <"$body"
  finish 1
fi

code=0
with_keys inbound-sync plan "${CONFIG[@]}" --format github 2>"$OUT/plan.err" || code=$?
cat "$OUT/plan.err" >&2

# The Markdown is kept when some target failed: it shows the others, and names the failed one.
again=0
with_keys inbound-sync plan "${CONFIG[@]}" --format markdown >"$OUT/plan.md" 2>"$OUT/plan-markdown.err" || again=$?
if [[ ! -s "$OUT/plan.md" ]]; then
  cat "$OUT/plan-markdown.err" >&2
  failed_report "$title" "$again" "$OUT/plan-markdown.err" >"$body"
  summary <"$body"
  finish "$again"
fi
retitle "$title" "$OUT/plan.md" >"$body"
if [[ $again -eq 1 ]]; then
  printf '\n**inbound-sync failed (exit 1):**\n\n' >>"$body"
  fenced "$OUT/plan-markdown.err" >>"$body"
fi
if [[ $code -ne 0 ]]; then
  finish "$code"
fi
finish "$again"
