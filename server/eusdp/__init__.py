"""eusdp: the knowledge graph of the EU's Security and Defence Partnerships.

Data flows one way: files -> graph (loader) -> inference -> store -> query -> HTTP.
"""

__version__ = "0.1.0"
