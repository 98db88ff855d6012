"""Component ids, defined once: the page's stable hooks for tests and scripts.

Plain strings are single components; the ``*_TYPE`` style names below are the
``type`` of pattern-matching ids, ``{"type": CHIP, "id": joke_id}`` and
``{"type": CARD, "id": batch_id}``.
"""

# Shell and routing.
URL = "url"
PAGE = "page"
PAGE_SEEN = "page-seen"

# Create form.
BATCH_SIZE = "batch-size"
BATCH_PROMPTS = "batch-prompts"
CREATE_BUTTON = "create-batch"
CREATE_MESSAGE = "create-message"
API_DISABLED = "batch-api-disabled"

# Finding a batch (their values live in the URL query).
SORT = "sort"
STATUS_FILTER = "status-filter"
TEXT_FILTER = "text-filter"
CREATED_FILTER = "created-filter"
PAGE_PREV = "page-prev"
PAGE_NEXT = "page-next"
PAGE_INFO = "page-info"
RESULT_COUNT = "result-count"

# Overview strip.
OVERVIEW = "overview"
OVERVIEW_TILES = "overview-tiles"
OVERVIEW_STATUS_CHART = "overview-status-chart"
OVERVIEW_RATE_CHART = "overview-rate-chart"
OVERVIEW_STATE = "overview-state"

# Grid and the live-update loop.
GRID = "batch-grid"
GRID_META = "grid-meta"
REFRESH = "grid-refresh"
POLL = "poll"
TICK = "poll-tick"
ACK = "poll-ack"
ACK_SEEN = "poll-ack-seen"
LIVE = "live-signal"
STREAM_STATE = "stream-state"
CARD_ACTION = "card-action"

# Per-card pattern-matching types: {"type": <one of these>, "id": batch_id}.
CARD = "batch-card"
CARD_STATE = "card-state"
BADGE = "card-badge"
PROGRESS = "card-progress"
COUNTS = "card-counts"
TIMES = "card-times"
ERROR = "card-error"
STALL = "card-stall"
RESUME = "card-resume"
CHIPS = "card-chips"
MORE = "card-more"

# Chips and the joke panel: {"type": CHIP, "id": joke_id}.
CHIP = "joke-chip"
JOKE_PANEL = "joke-panel"
JOKE_REQUEST = "joke-request"
JOKE_TEXT = "joke-text"
JOKE_META = "joke-meta"
JOKE_COPY = "joke-copy"
JOKE_CLOSE = "joke-close"

# Detail view at /batches/<batchId>.
DETAIL = "batch-detail"
DETAIL_HEADER = "detail-header"
DETAIL_STATS = "detail-stats"
DETAIL_ETA = "detail-eta"
DETAIL_POLL = "detail-poll"
DETAIL_TICK = "detail-tick"
DETAIL_ACK = "detail-ack"
DETAIL_ACK_SEEN = "detail-ack-seen"
DETAIL_LIVE = "detail-live"
DETAIL_STREAM = "detail-stream"
DETAIL_STATE = "detail-state"
EXPORT_CSV = "export-csv"
EXPORT_JSON = "export-json"
CHART_TIMELINE = "chart-timeline"
CHART_THROUGHPUT = "chart-throughput"
CHART_LATENCY = "chart-latency"
CHART_ATTEMPTS = "chart-attempts"
