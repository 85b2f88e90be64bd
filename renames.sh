#!/usr/bin/env bash
# Issue 27, part 4: edits that touch files other helpers change at the same time, written as a script so
# that the lead can re-apply them after merging. Run from the repository root: bash renames.sh
# Each step is idempotent (running it twice changes nothing more).
set -euo pipefail
cd "$(dirname "$0")"
FILES=$(git ls-files apexplorer tests apps notebooks README.md | grep -E '\.(py|ipynb|md|toml)$')

# --- Dead code in trainer.py (the state helper's file): the learner_class wrapper around
# methods.learner_class. Trainer.from_checkpoint imports the real one instead.
perl -0pi -e 's/\ndef learner_class\(kind: str\):\n    """The learner class of method ``kind`` \(see :mod:`apexplorer.methods`\)."""\n    from \.methods import learner_class as find\n\n    return find\(kind\)\n\n//' apexplorer/trainer.py
perl -0pi -e 's/,\s*"learner_class"(?=[,\]])//; s/"learner_class",\s*//' apexplorer/trainer.py
perl -0pi -e 's/(\n([ \t]+)cls_ = learner_class\(kind\))/\n$2from .methods import learner_class\n$2cls_ = learner_class(kind)/ unless /from \.methods import learner_class\n\s*cls_/' apexplorer/trainer.py

# --- network.py split (reservoirs.py, init.py, plan.py): imports in files other helpers own.
perl -pi -e 's/^(\s*)from \.\.network import cancellable$/$1from ..init import cancellable/' apexplorer/app/runner.py
perl -pi -e 's/^(\s*)from \.network import Init$/$1from .init import Init/; s/apexplorer\.network\.Init\b/apexplorer.init.Init/g' apexplorer/sections.py apexplorer/trainer.py
perl -ni -e 'print unless /^from \.init import cancellable  # noqa: F401/' apexplorer/network.py

# ============================================================================================
# Names: one word per idea.  Files are found by what they contain, so that code moved into new
# files by the other helpers is renamed too.
# ============================================================================================
has() { git grep -lE "$1" -- apexplorer tests apps notebooks README.md 2>/dev/null || true; }
sub() {  # sub PERL-EXPRESSION FILE...: apply in place to the files that exist
  local expr=$1; shift
  [ "$#" -gt 0 ] && perl -pi -e "$expr" "$@"
  return 0
}

# --- 1. "trace": one test sample recorded through both phases (apexplorer.probe.Probe, the explorer's
# "probe" events, the player's and trajectory views' set_probe/on_probe).  "probe" keeps one meaning:
# a measurement on a network in a sweep (paper/probes.py, the tables' "probe" column, result files).
[ -f apexplorer/probe.py ] && git mv apexplorer/probe.py apexplorer/trace.py
# imports and the function (before the generic rules below)
sub 's/\bfrom (\.+|apexplorer\.)probe import probe\b/from $1trace import trace_sample/g;
     s/\bfrom (\.+|apexplorer\.)probe import Probe\b/from $1trace import Trace/g;
     s/\bfrom (\.+|apexplorer\.)probe import /from $1trace import /g' $(has 'probe import')
# identifiers that only ever meant the recorded sample, wherever they are
sub 's/\b(set|on|request)_probe\b/$1_trace/g; s/\bprobe_(task|index|every)\b/trace_$1/g;
     s/\b_(latest|last)_probe\b/_$1_trace/g' \
    $(has '(set|on|request)_probe|probe_(task|index|every)|_(latest|last)_probe')
# the module itself, the explorer (app/) and the tests and lessons that use it: every other "probe" there
# is the recorded sample
SAMPLE_FILES="apexplorer/trace.py $(git ls-files 'apexplorer/app/*.py') $(has 'trace_sample|\bTrace\b|_trace\b' | grep -E '^(tests|notebooks)/')"
sub 's/(?<!`)`probe`(?!`)/`trace_sample`/g;
     s/\bdef probe\(/def trace_sample(/g; s/(?<![\w.])probe\(/trace_sample(/g;
     s/\bProbe\b/Trace/g; s/\b_probe\b/_trace/g; s/\bprobes\b/traces/g; s/\bprobe\b/trace/g;
     s/\btest_probe_/test_trace_/g' $(for f in $SAMPLE_FILES; do [ -f "$f" ] && echo "$f"; done | sort -u)

# --- 2. "try_writing": checkpoint.probe_folder (make the folder, create and remove a file in it)
sub 's/\bprobe_folder\b/try_writing/g' $(has 'probe_folder')

# --- 3. "baselines": the BP/FA/EP runs trained beside AP (were: side, companions, SideBySide)
[ -f apexplorer/side_by_side.py ] && git mv apexplorer/side_by_side.py apexplorer/baseline_runs.py
sub 's/\bside_by_side\b/baseline_runs/g' $(has 'side_by_side')
sub 's/\bcompanions\b/baseline_experiments/g; s/\bSideBySide\b/BaselineRuns/g' $(has 'companions|SideBySide')
sub 's/\bBaselineRuns, baseline_hidden, baseline_experiments\b/BaselineRuns, baseline_experiments, baseline_hidden/' \
    $(has 'BaselineRuns, baseline_hidden, baseline_experiments')
# the runner's baselines, its "side" events and the views that take them
sub 's/``side``/``baseline``/g; s/("side"|\x27side\x27)(?=\s*:)/"baselines"/g; s/\.get\("side"\)/.get("baselines")/g;
     s/"side"/"baseline"/g; s/\b_side_gens\b/_baseline_gens/g; s/\b_pull_side\b/_pull_baseline/g;
     s/\bon_side\b/on_baseline/g; s/\.side\b(?![-\w])/.baselines/g' \
    $(has '"side"|_side_gens|_pull_side|on_side|\.runner\.side\b|self\.side\b|r\.side\b')
# local names for the same runs, only in the files that handle them (elsewhere "side" is geometry or layout)
sub 's/(?<![\w."\x27-])side(?![\w"\x27-])/baselines/g' \
    $(has '_baseline_gens|baseline_experiments\(' | grep -E '^apexplorer/app/') $(ls tests/app/test_compare.py 2>/dev/null)
