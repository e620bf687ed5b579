"""``musicflamingo serve``: the audio model behind an OpenAI-compatible HTTP API, and a web page."""
