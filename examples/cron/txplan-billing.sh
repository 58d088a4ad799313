#!/usr/bin/env bash
# Runs txplan's billing batch for one workspace, logs one line per run, and
# alerts when a charge failed (exit 3) or the run could not work (other codes).
#
#   txplan-billing.sh WORKSPACE [ALERT_EMAIL]
#
# Environment: TXPLAN_BIN, the full path of the txplan to run (default: the txplan this wrapper came
# with, else `txplan` on the PATH below); TXPLAN_ENV_FILE (default /etc/txplan/billing.env, read if it
# exists and only if no one but its owner can read it) for the processor's secret key; TXPLAN_LOG_DIR
# (default WORKSPACE/.txplan/logs, one file a month: billing-YYYY-MM.log); TXPLAN_ALERT_EMAIL.
#
# cron starts jobs with PATH=/usr/bin:/bin, where npm's global bin folder and a Node installed with nvm,
# Volta or a tarball are not. The wrapper adds /usr/local/bin, the folder of txplan and the folder of
# TXPLAN_NODE (a Node elsewhere than beside txplan) to the PATH itself.
#
# Exit codes of `txplan billing run` (see "Exit codes" in the README): 0 all charged, 3 at least one
# charge failed, 4 another run holds the lock (this one waits up to 10 minutes). The wrapper's own:
# 127 txplan or node could not be found (one line on stderr and in the log saying what to set),
# 1 the environment file can be read by others.
#
# It bills each clinic's today and never passes --date. To rehearse a day that has not come (on a
# copy of the workspace, with the sandbox processor), move txplan's clock instead:
#   TXPLAN_NOW=2027-01-01 txplan-billing.sh /tmp/clinic-copy
# txplan then warns on stderr (kept out of the log) and refuses a live processor.
set -uo pipefail

workspace=${1:?usage: txplan-billing.sh WORKSPACE [ALERT_EMAIL]}
alert_to=${2:-${TXPLAN_ALERT_EMAIL:-}}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for dir in /bin /usr/bin /usr/local/bin; do
  case ":${PATH:-}:" in *":$dir:"*) ;; *) PATH="$dir${PATH:+:$PATH}" ;; esac
done
export PATH
log_dir=${TXPLAN_LOG_DIR:-$workspace/.txplan/logs}
mkdir -p "$log_dir" && chmod 700 "$log_dir"
log="$log_dir/billing-$(date +%Y-%m).log"

alert() {
  local subject=$1
  if [ -n "$alert_to" ] && command -v mail >/dev/null 2>&1; then
    printf '%s\n\nSee "txplan billing charges --status failed" in %s.\n' "$subject" "$workspace" | mail -s "$subject" "$alert_to"
  fi
  logger -t txplan-billing -- "$subject" 2>/dev/null || true
  echo "$subject" >&2
}

# Could not start the run: one line in the log, the alert, and a documented exit code instead of the shell's
# silent 127.
cannot_start() {
  printf '%s exit=127 %s\n' "$(date -Is)" "$1" >> "$log"
  alert "txplan-billing: $1"
  exit 127
}

# The txplan to run: TXPLAN_BIN, else the one this wrapper ships with (a checkout or an installed package
# keeps it at bin/txplan, two folders up), else the first on the PATH.
txplan_bin=${TXPLAN_BIN:-}
if [ -z "$txplan_bin" ]; then
  if [ -x "$here/../../bin/txplan" ]; then
    txplan_bin=$here/../../bin/txplan
  else
    txplan_bin=$(command -v txplan || true)
  fi
fi
if [ -z "$txplan_bin" ] || [ ! -x "$txplan_bin" ] || [ -d "$txplan_bin" ]; then
  if [ -n "${TXPLAN_BIN:-}" ]; then where="at TXPLAN_BIN=$TXPLAN_BIN"; else where="on PATH $PATH"; fi
  cannot_start "txplan not found $where; set TXPLAN_BIN to the output of \`command -v txplan\` in the crontab"
fi
# txplan runs on `node` from the PATH: npm installs txplan beside the node it was installed with.
PATH="$(dirname "$txplan_bin")${TXPLAN_NODE:+:$(dirname "$TXPLAN_NODE")}:$PATH"
if ! command -v node >/dev/null 2>&1; then
  cannot_start "node not found beside $txplan_bin nor on PATH $PATH; set TXPLAN_NODE to the output of \`command -v node\` in the crontab"
fi

# With payments.gateway: stripe, the secret key comes from an environment file only the billing user can
# read (never from the crontab, the workspace or its repository): lines such as STRIPE_SECRET_KEY=sk_live_…
env_file=${TXPLAN_ENV_FILE:-/etc/txplan/billing.env}
if [ -f "$env_file" ]; then
  if [ -n "$(find "$env_file" -perm /077 2>/dev/null)" ]; then
    echo "txplan-billing: $env_file can be read by others; run: chmod 600 $env_file" >&2
    exit 1
  fi
  set -a
  # shellcheck source=/dev/null
  . "$env_file"
  set +a
fi

export TXPLAN_ACTOR=cron
output=$("$txplan_bin" --workspace "$workspace" --no-color billing run --wait 600 2>&1)
status=$?
# The summary line carries counts and amounts only: no patient data reaches the log.
printf '%s exit=%s %s\n' "$(date -Is)" "$status" "$(printf '%s' "$output" | grep '^billing run' | tail -n 1)" >> "$log"

case $status in
  0) ;;
  3) alert "txplan billing: some charges were declined ($(date +%F))" ;;
  4) alert "txplan billing: another run held the lock for 10 minutes ($(date +%F))" ;;
  # The run's own sentence says what to fix (a missing key, a broken txplan.yaml, a database on hold).
  *) alert "txplan billing: the run failed with exit $status ($(date +%F)): $(printf '%s' "$output" | grep '^txplan: ' | grep -v '^txplan: warning:' | tail -n 1 | cut -c 9-)" ;;
esac
exit "$status"
