"""Rule loading, the check registry, evaluation, waivers and scoring."""
