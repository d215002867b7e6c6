"""pandera schemas and export profiles of the inbox sources."""

from schemas.deals import DEALS
from schemas.ga4_sessions import GA4_SESSIONS
from schemas.leads import LEADS
from schemas.spend import SPEND
from schemas.touchpoints import TOUCHPOINTS
from schemas.video import VIDEO

SOURCES = {s.name: s for s in (GA4_SESSIONS, LEADS, DEALS, SPEND, TOUCHPOINTS, VIDEO)}
