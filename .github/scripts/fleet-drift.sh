#!/usr/bin/env bash
# The matrix job of inbound-fleet-drift.yml: one target compared with git, with its key alone.
# The Markdown report goes to the job summary and to $OUT/drift-issue.md, the body of the
# target's drift issue that github_report.py opens, updates or closes.
#
# Exit: 0 when the comparison ran (in sync or drifted), 1 invalid config or error.
# Outputs: status (clean | drift | error), exit-code (drift's: 0, 2, or 1), body-file.
set -euo pipefail
# shellcheck source=SCRIPTDIR/fleet-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fleet-lib.sh"
fleet_init

title="inbound-sync drift (${INBOUND_SYNC_TARGETS:-fleet})"
body="$OUT/drift-issue.md"
set_output body-file "$body"

if ! validate_config; then
  invalid_report "$title" | summary
  set_output status error
  set_output exit-code 1
  exit 1
fi

code=0
with_keys inbound-sync drift "${CONFIG[@]}" --format markdown >"$OUT/drift.md" 2>"$OUT/drift.err" || code=$?
cat "$OUT/drift.err" >&2
set_output exit-code "$code"
case $code in
  0) status=clean ;;
  2) status=drift ;;
  *)
    failed_report "$title" "$code" "$OUT/drift.err" | summary
    set_output status error
    exit 1
    ;;
esac

retitle "$title" "$OUT/drift.md" >"$body"
summary <"$body"
set_output status "$status"
if [[ $status == drift ]]; then
  echo "::warning title=$title::the account has drifted from git; see the job summary"
else
  echo "$title: in sync"
fi
