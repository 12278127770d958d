#!/usr/bin/env bash
# The plan step of inbound-plan.yml: validate the config, then plan it twice against the account,
#   1. --format github: annotations at the config lines (shown in the pull request's diff) and the
#      Markdown report in the job summary;
#   2. --format markdown: the body of the sticky pull-request comment, $OUT/plan-comment.md.
# The comment body is written in every case (invalid config, API error, refused plan), so the
# pull request always says why the check is red.
#
# Exit: 0 plan made, 1 invalid config or error, 3 refused by a safety guard.
# Outputs: exit-code, body-file.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
init

title="inbound-sync plan${INBOUND_SYNC_INSTANCE:+ ($INBOUND_SYNC_INSTANCE)}"
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
inbound-sync plan "${CONFIG[@]}" --format github 2>"$OUT/plan.err" || code=$?
cat "$OUT/plan.err" >&2
if [[ $code -ne 0 && $code -ne 3 ]]; then
  failed_report "$title" "$code" "$OUT/plan.err" >"$body"
  summary <"$body"
  finish "$code"
fi

again=0
inbound-sync plan "${CONFIG[@]}" --format markdown >"$OUT/plan.md" 2>"$OUT/plan-markdown.err" || again=$?
if [[ $again -ne 0 && $again -ne 3 ]]; then
  cat "$OUT/plan-markdown.err" >&2
  failed_report "$title" "$again" "$OUT/plan-markdown.err" >"$body"
  finish "$again"
fi

# A refusal's Markdown names the override that applies (thresholds or protect) itself.
retitle "$title" "$OUT/plan.md" >"$body"

if [[ $code -eq 3 || $again -eq 3 ]]; then
  finish 3
fi
finish 0
