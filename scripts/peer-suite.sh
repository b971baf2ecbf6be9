#!/bin/bash
# Runs OSTree's own installed test suite with arbor in ostree's place and
# compares the outcome with scripts/peer-suite-baseline.txt (the tests that
# pass with the real ostree on this machine).
#
#   scripts/peer-suite.sh [REGEX | repo | remote | admin | other | all]
#
# REGEX is matched (grep -E) against the test's .test path, exactly as the
# shared runner does, e.g. 'test-(refs|prune)\.sh'. The words select groups:
#   repo    repository-level tests: basic*, refs, prune, fsck, corruption,
#           commit-timestamp, parent, reset, local-pull, xattrs, archive(z),
#           config, export, help
#   remote  pull*, remote*, *summary*, *signed*, commit-sign, local-pull*
#   admin   test-admin-*
#   other   every installed test in none of the three groups above
#   all     everything (the default)
# Env: ARBOR (binary to test, default $PWD/bin/arbor), PEER_SUITE_OUT (log
# dir, default a fresh /tmp/peer-suite.XXXXXX), PEER_SUITE_RUNNER.
# It is a report, not a gate: exits 0 unless the runner itself failed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
td=/usr/share/installed-tests/libostree
baseline=$root/scripts/peer-suite-baseline.txt
runner=${PEER_SUITE_RUNNER:-}
if [ -z "$runner" ]; then
  for c in "$root/../shared/tools/run-ostree-suite.sh" /work/shared/tools/run-ostree-suite.sh; do
    [ -x "$c" ] && { runner=$c; break; }
  done
fi
[ -n "$runner" ] || { echo "peer-suite: run-ostree-suite.sh not found (set PEER_SUITE_RUNNER)" >&2; exit 2; }

re_repo='/test-(basic(-[a-z-]+)?\.sh|basic-c|refs(-collections)?\.sh|prune(-collections)?\.sh|fsck-(collections|delete)\.sh|corruption\.sh|commit-timestamp\.sh|parent\.sh|reset-nonlinear\.sh|local-pull(-depth)?\.sh|xattrs\.sh|archivez\.sh|config\.sh|export\.sh|help\.sh)\.test$'
re_remote='/test-(pull[^/]*|pull2-[^/]*|(find-)?remotes?[^/]*|[^/]*summary[^/]*|[^/]*signed[^/]*|commit-sign\.sh|local-pull[^/]*)\.test$'
re_admin='/test-admin-[^/]*\.test$'

sel=${1:-all}
case "$sel" in
  repo) pat=$re_repo ;;
  remote) pat=$re_remote ;;
  admin) pat=$re_admin ;;
  all) pat=. ;;
  other)
    names=$(ls "$td"/*.test 2>/dev/null | grep -Ev "$re_repo|$re_remote|$re_admin" \
      | sed 's#.*/##; s#\.test$##; s#[.]#\\.#g' | paste -sd'|')
    pat="/($names)\.test\$" ;;
  *) pat=$sel ;;
esac

export ARBOR=${ARBOR:-$root/bin/arbor}
if [ "$ARBOR" = "$root/bin/arbor" ] && [ ! -f "$root/dist-cjs/cli/main.js" ]; then
  echo "peer-suite: warning: $root/dist-cjs/cli/main.js is missing; run 'npm run build' first (every test will fail)" >&2
fi
out=${PEER_SUITE_OUT:-$(mktemp -d /tmp/peer-suite.XXXXXX)}
mkdir -p "$out"
echo "peer-suite: ARBOR=$ARBOR, selection '$sel', logs in $out" >&2

# Live progress on stderr; the report below goes to stdout.
"$runner" "$out" "$pat" | tee "$out/runner.out" >&2
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ] || ! grep -q '^suite: ' "$out/runner.out"; then
  echo "peer-suite: the runner failed (exit $rc); see $out/runner.out" >&2
  exit "${rc/#0/1}"
fi

# Baseline: "STATUS name [...]" lines; "#" lines are comments.
declare -A base=() indep=()
if [ -f "$baseline" ]; then
  # "# cli-independent: a b c" lists tests that pass even when `ostree` always fails.
  for t in $(sed -n 's/^# cli-independent: *//p' "$baseline"); do indep[$t]=1; done
  while read -r st name _; do
    case "$st" in PASS|FAIL|SKIP) base[$name]=$st ;; esac
  done < <(grep -v '^#' "$baseline")
else
  echo "peer-suite: warning: no baseline at $baseline" >&2
fi

n=0; m=0; k=0
printf '%-6s %-9s %s\n' arbor baseline test
while read -r st name rest; do
  case "$st" in PASS|FAIL|SKIP) ;; *) continue ;; esac
  b=${base[$name]:-none}
  note=""
  [ "$st" = FAIL ] && note="  $rest log: $out/$name.log"
  [ "$b" = PASS ] && { m=$((m+1)); [ "$st" = PASS ] && { n=$((n+1)); [ -n "${indep[$name]:-}" ] && k=$((k+1)); }; }
  printf '%-6s %-9s %s%s\n' "$st" "$b" "$name" "$note"
done < "$out/runner.out"
grep '^suite: ' "$out/runner.out"
[ "$k" -gt 0 ] && echo "peer-suite: $k of these pass without running the ostree CLI at all (cli-independent in the baseline)"
echo "peer-suite: $n of $m baseline-passing tests pass with arbor ($sel)"
exit 0
