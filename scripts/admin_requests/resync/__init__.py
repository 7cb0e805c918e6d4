"""The weekly repodata resync: is anaconda.org serving the patched repodata it should?

conda-forge's repodata patches (conda-forge-repodata-patches-feedstock) are applied by
anaconda.org when the feedstock's package is rebuilt. Once a week upstream's
``repodata_patching.yml`` runs the feedstock's ``recipe/show_diff.py``, which compares
the patches with what anaconda.org serves, and when they differ it opens an issue and
pushes an empty commit (the push rebuilds the patches). This package does the same in
two jobs of ``.github/workflows/repodata-resync.yml``:

- ``diff.py`` (``admin-requests resync-diff``): runs ``show_diff.py`` from a checkout of
  the feedstock, in a job with ``contents: read`` and no credential, with an environment
  built from an allowlist (the script is the feedstock's code and downloads
  repodata). Its output is the job's artifact.
- ``publish.py`` (``admin-requests resync``): in the job that holds a token scoped to the
  feedstock (``contents: write``, ``issues: write``): when the diff is not empty, the
  empty commit first, then one open issue updated (opened the first time, a comment
  each later week). Upstream opens the issue first and a new one every week; here a
  failed commit leaves no issue claiming a rebuild, and there is never a second issue.
"""
