"""Deterministic sample exports in the `native` profile (docs/inputs.md), and YouTube Studio's own export.

`generate_sample_exports` writes a realistic, self-consistent set of B2B
marketing and sales exports: daily GA4 traffic, successive full snapshots of
the MA lead list and of the CRM deals, ad / offline spend, lead touchpoints and
the YouTube channel's monthly Studio exports.
Everything is drawn from one `numpy.random.default_rng(seed)` in a fixed order and
written with fixed formatting, so the files are a pure function of the arguments
(byte-identical on every call). Volumes scale linearly with `scale` and all
per-record work is vectorised, so large benchmark inputs stay quick.

Modules:
  timeline     the shared calendar: days, months, seasonality, snapshot dates, the generator
  ga4          GA4 traffic (day x source/medium/campaign/landing page), one file per month
  leads        web leads from the sessions, offline leads, life lines, lead snapshots
  deals        deals of the leads and of the CRM alone, deal snapshots
  touchpoints  the leads' touches (optional source), from a generator of their own
  spend        ad spend following the paid sessions, monthly offline spend
  video        the YouTube channel's Studio exports and the leads who watched its videos
  profiles     channel profiles and facts several sources share
  formatting   dates, yen, ids, names and raw spellings as text
  writing      formula-safe CSV files dated by their snapshot
  exports      generate_sample_exports: the sources in draw order
  cli          the command line and the size options of `funnel generate` / `funnel bench`
"""

from pipelines.dev.generate.cli import add_size_arguments, main, size_arguments

__all__ = ["generate_sample_exports", "add_size_arguments", "size_arguments", "neutralise_formulas", "main"]


def __getattr__(name: str):
    """The generator itself is imported on first use: every `funnel` command builds the size options of
    `funnel generate`, and numpy's import cost about 0.5 s of each."""
    if name == "generate_sample_exports":
        from pipelines.dev.generate.exports import generate_sample_exports
        return generate_sample_exports
    if name == "neutralise_formulas":
        from pipelines.dev.generate.writing import neutralise_formulas
        return neutralise_formulas
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
