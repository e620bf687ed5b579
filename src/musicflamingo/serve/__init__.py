"""``musicflamingo serve``: the audio model behind an OpenAI-compatible HTTP API, and a web page."""

MAX_BATCH = 8  # requests decoded together at most
# how long a batch waits for more requests after its first: clients that were just answered
# send again within a few milliseconds, and a batch that waits for them holds 8 concurrent
# clients' requests together instead of alternating half-batches (benchmarks/serve_load.py,
# 8 clients: 2.8x the throughput of one at a time with 20 ms, 1.9x with 5 ms); a lone request
# waits this long
BATCH_WINDOW = 0.02
