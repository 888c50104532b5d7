"""Recategorization: propose sub-categories of a shallow category by clustering its stored vectors, then adopt them.

    report = recluster(store, "Shoes", "out/shoes", reference="native_category")   # writes report + proposal.json
    # ... edit out/shoes/proposal.json: rename, merge_into, drop ...
    apply_proposal(store, "out/shoes/proposal.json")                              # taxonomy + payloads updated

Steps: select.py (products under the category) -> image_filter.py (odd shots set aside) ->
features.py / terms.py (vectors) -> cluster.py (UMAP + cascade) -> placement.py (a shop that clusters
by itself placed by its titles) -> naming.py (c-TF-IDF names) ->
report.py / figures.py (report.md, report.html, pictures) and proposal.py (proposal.json) -> apply.py.
"""

from .apply import ApplyResult, apply_proposal, assign_to_nearest, recategorized
from .pipeline import recluster
from .proposal import Proposal, ProposalError, ProposedCluster
from .purity import cluster_purity, purity
from .report import ClusterSummary, LevelSummary, Report
from .select import CategoryError, Selection, resolve_category, select_category

__all__ = [
    "ApplyResult", "CategoryError", "ClusterSummary", "LevelSummary", "Proposal", "ProposalError", "ProposedCluster",
    "Report", "Selection", "apply_proposal", "assign_to_nearest", "cluster_purity", "purity", "recategorized",
    "recluster", "resolve_category", "select_category",
]
