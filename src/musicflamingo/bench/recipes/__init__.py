"""One module per benchmark (loader, prompt kind, scoring rule, the paper's numbers), each
defining ``RECIPES``; `musicflamingo.bench.registry` discovers them. Adding a benchmark
means adding a module here."""
