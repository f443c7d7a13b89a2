"""Numbers and names that both Python and the Lua library rely on, defined here only.

routing/library.py writes them into the Lua source it loads, so the two cannot disagree.
"""

from __future__ import annotations

from channels.message import CHANNELS as CHANNELS  # the normalized message defines them

# The call ids' namespaces (gateway/calls.py CallStep.provider), each a `{p}call:<prov>:<id>`.
CALL_PROVIDERS = ("phone", "twilio", "mango")
EVENTS_MAXLEN = 1000  # each operator's event stream is capped near this many entries (XADD ~)

# Queue score: priority * PRIORITY_SCALE + arrival ms (ms stay below 1e13 until the year 2286).
PRIORITY_SCALE = 10**13
# Pool score: utilisation quantized to 1 / UTIL_SCALE, times SEQ_SCALE, plus the last
# assignment sequence; 1e6 * 2^33 stays below 2^53, so the score is an exact double.
UTIL_SCALE = 1_000_000
SEQ_SCALE = 2**33
# Upper bounds (seconds) of the reaction and resolution time histograms in /metrics.
SLA_BUCKETS = (60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 86400, 3 * 86400, 7 * 86400)
