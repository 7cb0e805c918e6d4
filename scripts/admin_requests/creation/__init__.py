"""Feedstock creation: recipes merged into staged-recipes become feedstock repositories.

conda-forge/admin-requests' ``create_feedstocks.yml`` does this every 10 minutes with an
admin personal token, exits 0 whatever happens and deletes recipes it failed to push.
Here each recipe is a resumable sequence of idempotent steps (docs/feedstock-creation.md):

- ``recipes.py`` finds the recipes (``recipes/*/meta.yaml`` and ``recipes/*/recipe.yaml``)
  and holds the one list of examples that are never turned into feedstocks;
- ``render.py`` runs conda-smithy on each recipe in the unprivileged job (no credential)
  and writes a rendering per recipe; the privileged job checks it before using it;
- ``progress.py`` keeps each recipe's attempts, backoff, parking and steps in
  ``creation-state/`` with the queue's own state model and decision rule;
- ``steps.py`` is the sequence: create the repository, set and verify its ruleset, push
  the content, register CI, issue the feedstock token, register the outputs, write
  ``.recipe_maintainers.json``. Each step looks before it writes, so a step done by an
  interrupted run is recognised and never done twice;
- ``engine.py`` runs the sequence for each recipe on its own (one bad recipe never blocks
  another), then removes the recipes whose steps are all verified from staged-recipes in
  one commit, and tells each recipe's pull request (``notify.py``);
- ``credentials.py`` is what the engine asks for: one scoped token per step, from the
  credential broker.
"""
