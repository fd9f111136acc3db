"""View models built from runs: badges, guidance, decision truth and summaries.

Every surface renders only what this package hands it; templates print fields.
"""

from app.presenter.badges import Badge, badge
from app.presenter.banners import AttentionCounts, attention_summary, banner
from app.presenter.guidance import decision_truth, guidance
from app.presenter.runs import api_fields, run_view, run_views

__all__ = [
    "AttentionCounts",
    "Badge",
    "api_fields",
    "attention_summary",
    "badge",
    "banner",
    "decision_truth",
    "guidance",
    "run_view",
    "run_views",
]
