"""The side-by-side benchmark of eusdp against Oxigraph and rdflib-endpoint.

Modules: ``procs`` (start, watch and stop server processes), ``loadgen`` (wrk or a
built-in asyncio HTTP/1.1 load generator), ``workloads`` (what is asked),
``servers`` (how each server is started and asked), ``check`` (same rows
everywhere before timing), ``report`` (Markdown and JSON).
"""
