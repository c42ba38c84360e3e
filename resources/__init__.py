"""Dagster resources (installed as curation_platform.resources)."""

from curation_platform.resources.curation import CurationResource, EmbeddingsResource, LangIdResource, LLMResource, default_data_root

__all__ = ["CurationResource", "EmbeddingsResource", "LangIdResource", "LLMResource", "default_data_root"]
