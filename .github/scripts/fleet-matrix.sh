#!/usr/bin/env bash
# The first job of inbound-fleet-drift.yml: validate the fleet file, and print one job per target.
# Needs no key. Exit: 0, or 1 when the fleet file is invalid. Outputs: matrix (JSON for fromJSON).
set -euo pipefail
# shellcheck source=SCRIPTDIR/fleet-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fleet-lib.sh"
fleet_init

if ! validate_config; then
  invalid_report "inbound-sync fleet" | summary
  exit 1
fi
set_output matrix "$(inbound-sync matrix "${CONFIG[@]}")"
