"""社群运营知识库: curated, cited principles on running WeChat communities, served over HTTP, CLI and MCP.

The public surface: `KnowledgeBase` (service.kb) and `KBClient` (service.client), both satisfying
`Operations` (service.operations) over the request and response models of service.models; errors from
service.errors. Import them from their modules: this package imports nothing heavy on its own, so
`kb --help` stays instant.
"""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("community-ops-kb")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0.0.0"
