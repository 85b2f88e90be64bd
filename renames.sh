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
